#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r'''
---
module: video_check
short_description: Check the video scenario's received mp4 against the sent one, frame by frame
description:
  - Decodes the sent video O(sent) and the video the receiver (C(rcv)) wrote, O(received), with GStreamer's
    command-line tools on the target host, and compares them frame by frame.
  - Each file is first read by C(gst-discoverer-1.0 -v) for its size, frame rate and duration. A file it cannot
    read is not a valid mp4; a receiver stopped without SIGINT leaves such a file (C(mp4mux) writes the C(moov)
    index only at the end of the stream).
  - Each file is then decoded with C(gst-launch-1.0 -q filesrc ! qtdemux ! avdec_h264 ! videoconvert ! fdsink)
    to raw I420 frames, read from the pipe one frame at a time (never the whole video in memory), and each frame's
    visible bytes are hashed (SHA-256). The digests are compared index by index, from the first frame.
  - On CPU the chain (C(send), C(pip) relaying the RTP/H.264 packets unchanged, C(rcv) depayloading them into an
    mp4 without re-encoding) must deliver the very frames that were sent. With O(expect=relayed), at least
    O(min_identical_ratio) of the sent frames must be identical and both videos must have the same size. A lost
    packet corrupts the frames up to the next keyframe; RV(first_mismatch) tells where.
  - With O(expect=processed) (a function changes the picture, for example GPU inference drawing boxes), at least
    one compared frame must differ; identity is not required.
  - With both, the received video must have at least O(min_frame_ratio) of the sent frames and durations at most
    O(duration_tolerance) seconds apart.
  - With O(contact_sheet), a PNG is written there with O(sheet_frames) thumbnails of the sent video (top row) and
    the received frames of the same indexes (bottom row; black where the received video has none), so a person
    can see what arrived. This is the only thing the module writes.
  - Needs C(gst-launch-1.0) and C(gst-discoverer-1.0) (Debian packages C(gstreamer1.0-tools),
    C(gstreamer1.0-plugins-base-apps)) with C(qtdemux) (C(gstreamer1.0-plugins-good)) and C(avdec_h264)
    (C(gstreamer1.0-libav)) on the target host. C(h264parse) (C(gstreamer1.0-plugins-bad)) is not needed.
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  sent:
    description:
      - The mp4 (H.264) that the sender streamed, on the target host.
    type: path
    required: true
  received:
    description:
      - The mp4 the receiver wrote (C(rcv_video.mp4) copied out of the C(rcv) pod), on the target host.
    type: path
    required: true
  expect:
    description:
      - V(relayed) when the chain must deliver the sent pictures unchanged, V(processed) when a function changes them.
    type: str
    choices: [relayed, processed]
    default: relayed
  min_frame_ratio:
    description:
      - The least share of the sent frames that the received video must have, from V(0) to V(1).
    type: float
    default: 0.95
  duration_tolerance:
    description:
      - The largest difference, in seconds, between the durations C(gst-discoverer-1.0) reports for both files.
    type: float
    default: 1.0
  min_identical_ratio:
    description:
      - With O(expect=relayed), the least share of the sent frames that must be identical, index by index, in the
        received video.
    type: float
    default: 0.95
  contact_sheet:
    description:
      - Where to write the PNG contact sheet; V('') writes none.
      - Its directory must exist. The file is rewritten only when its bytes would change.
    type: path
    default: ''
  sheet_frames:
    description:
      - How many frames the contact sheet shows per row, spread evenly over the sent video, the first and the
        last included.
    type: int
    default: 5
  sheet_width:
    description:
      - The width in pixels of each thumbnail; its height keeps the sent video's aspect ratio, rounded to even.
    type: int
    default: 256
  fail_on_mismatch:
    description:
      - Fail when the videos do not match (RV(matched) is V(false)), including when O(received) is missing or
        is not a valid mp4.
      - When V(false), the module reports RV(matched) and RV(reasons) and never fails for that. A missing or
        unreadable O(sent) always fails.
    type: bool
    default: true
  gst_launch:
    description:
      - The C(gst-launch-1.0) program, a name looked up on C(PATH) or a path.
    type: path
    default: gst-launch-1.0
  gst_discoverer:
    description:
      - The C(gst-discoverer-1.0) program, a name looked up on C(PATH) or a path.
    type: path
    default: gst-discoverer-1.0
attributes:
  check_mode:
    support: full
    description: Reads and decodes the same in check mode, writes no contact sheet and reports C(changed) when it would.
  diff_mode:
    support: none
    description: The only file written is a PNG; there is no text to diff.
  platform:
    support: full
    platforms: posix
    description: Runs the GStreamer tools on the target host, where the files are.
  idempotent:
    support: full
    description: The contact sheet's bytes depend only on the videos; an unchanged sheet is not rewritten.
notes:
  - The comparison is index-aligned from the first frame, so the receiver must be running before the sender
    starts. A receiver that joins late starts at a later keyframe and every frame differs.
  - Each file is decoded once for the digests and once more for the thumbnails when O(contact_sheet) is set.
    Two 10 s 1280x720 15 fps files take about 1.6 s (3 s with a contact sheet) on two cores; the module holds
    one raw frame at a time (about 30 MB of Python), each C(gst-launch-1.0) about 80 MB.
'''

EXAMPLES = r'''
- name: Copy the received video out of the receiver pod
  ansible.builtin.command: >-
    kubectl cp -n cpufunc-video {{ rcv_pod }}:/tmp/rcv_video.mp4 /tmp/rcv_video.mp4
  changed_when: false

- name: The chain send -> pip -> rcv delivered the sent frames unchanged
  openkasugai.all_in_one.video_check:
    sent: /opt/openkasugai/video/sample.mp4
    received: /tmp/rcv_video.mp4
    contact_sheet: /tmp/video-check.png

- name: GPU inference drew on the pictures; report only
  openkasugai.all_in_one.video_check:
    sent: /opt/openkasugai/video/sample.mp4
    received: /tmp/rcv_video.mp4
    expect: processed
    fail_on_mismatch: false
  register: video

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ video.summary }}"
'''

RETURN = r'''
matched:
  description: Whether the received video meets O(expect) (see RV(reasons) when not).
  returned: always
  type: bool
  sample: true
sent:
  description: The sent video as read.
  returned: always
  type: dict
  contains:
    frames: {description: Frames decoded., type: int}
    duration: {description: Duration in seconds as C(gst-discoverer-1.0) reports it., type: float}
    width: {description: Width in pixels., type: int}
    height: {description: Height in pixels., type: int}
    framerate: {description: The frame rate as a fraction C(N/D)., type: str}
    fps: {description: The frame rate as a number (V(0) for a variable rate)., type: float}
  sample: {frames: 150, duration: 10.0, width: 1280, height: 720, framerate: 15/1, fps: 15.0}
received:
  description:
    - The received video as read, with the same keys as RV(sent).
    - When O(received) is missing or not a valid mp4 (only returned so with O(fail_on_mismatch=false)), C(frames) is
      V(0) and the other keys are V(null).
  returned: always
  type: dict
  sample: {frames: 150, duration: 10.0, width: 1280, height: 720, framerate: 15/1, fps: 15.0}
compared:
  description: How many frame indexes both videos have.
  returned: always
  type: int
  sample: 150
identical:
  description: How many of the compared frames are identical, byte for byte once decoded.
  returned: always
  type: int
  sample: 150
first_mismatch:
  description:
    - The index (from V(0)) of the first compared frame that differs, or of the first frame past the shorter video
      when the compared ones are all identical but the lengths differ; V(null) when the videos are identical.
  returned: always
  type: int
  sample: null
reasons:
  description: Why RV(matched) is V(false); empty when it is V(true).
  returned: always
  type: list
  elements: str
  sample: ["received 15 frames, fewer than the 29 needed (0.95 of the 30 sent)"]
summary:
  description: One line with both videos, the identical frames and the verdict (C(OK) or C(MISMATCH)).
  returned: always
  type: str
  sample: "sent 150 frames 10.0 s 1280x720@15/1, received 150 frames 10.0 s: 150/150 identical: OK"
contact_sheet:
  description: The path of the contact sheet (written, or that would be written in check mode), or V('') when none.
  returned: always
  type: str
  sample: /tmp/video-check.png
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import video

ENV = {'LC_ALL': 'C', 'LANG': 'C'}
INFO_KEYS = ('frames', 'duration', 'width', 'height', 'framerate', 'fps')


class VideoError(Exception):
    """A file that cannot be read: the message names it, the tool and the tool's last lines; ``short`` says
    what is wrong in a few words (for the summary)."""

    def __init__(self, message, short):
        super().__init__(message)
        self.short = short


def _tool(module, name):
    if os.sep in name:
        if not (os.path.isfile(name) and os.access(name, os.X_OK)):
            module.fail_json(msg=f'{name} is not an executable file')
        return name
    path = module.get_bin_path(name)
    if not path:
        module.fail_json(msg=f'{name} is not on PATH (Debian: gstreamer1.0-tools, gstreamer1.0-plugins-base-apps)')
    return path


def discover(module, discoverer, label, path):
    """The discoverer's info of ``path``; VideoError when it is missing or not a valid mp4."""
    if not os.path.exists(path):
        raise VideoError(f'{label} {path} does not exist', 'file missing')
    if not os.path.isfile(path):
        raise VideoError(f'{label} {path} is not a file', 'not a file')
    rc, out, err = module.run_command([discoverer, '-v', path], environ_update=ENV)
    if rc != 0:
        raise VideoError(f'{label} {path} is not a valid mp4: {os.path.basename(discoverer)} exited {rc}: '
                         f'{video.tail(err or out)}', 'not a valid mp4')
    try:
        return video.parse_discoverer(out)
    except ValueError as exc:
        detail = f'\n{video.tail(err)}' if err.strip() else ''
        raise VideoError(f'{label} {path} is not a valid mp4: {exc}{detail}', 'not a valid mp4') from None


def decode(gst_launch, label, path, caps, frame_size, consume):
    """Decode ``path`` to raw frames (``caps`` after videoconvert) and hand each (``frame_size`` bytes) to
    ``consume`` as it comes out of gst-launch's stdout; VideoError when that fails."""
    rc, stderr, problem = video.stream_frames(video.decode_argv(gst_launch, path, caps), frame_size, consume, env=ENV)
    if rc != 0 or problem:
        what = problem or f'{os.path.basename(gst_launch)} exited {rc}'
        raise VideoError(f'{label} {path} could not be decoded: {what}: {video.tail(stderr) or "(no output)"}', 'not decodable')


def digests(gst_launch, label, path, info):
    frame_size, planes = video.i420_layout(info['width'], info['height'])
    found = []

    def consume(frames):
        found.extend(video.digest_frames(frames, planes))
    decode(gst_launch, label, path, ['video/x-raw,format=I420'], frame_size, consume)
    return found


def thumbnails(gst_launch, label, path, size, indexes):
    """The RGB thumbnails (visible bytes) of the frames at ``indexes``; None for those past the end."""
    width, height = size
    frame_size, planes = video.rgb_layout(width, height)
    wanted = set(indexes)
    kept = {}

    def consume(frames):
        for index, frame in enumerate(frames):
            if index in wanted:
                kept[index] = video.visible(frame, planes)
    decode(gst_launch, label, path, ['videoscale', '!', f'video/x-raw,format=RGB,width={width},height={height}'],
           frame_size, consume)
    return [kept.get(index) for index in indexes]


def _write_sheet(module, path, data):
    """Write ``data`` to ``path`` unless it holds it already; returns whether it changed (or would)."""
    try:
        with open(path, 'rb') as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        module.fail_json(msg=f'cannot read the contact sheet {path}: {exc}')
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        module.fail_json(msg=f'the directory of the contact sheet {path} does not exist')
    if module.check_mode:
        return True
    try:
        handle, temp = tempfile.mkstemp(prefix='.video_check-', suffix='.png', dir=directory)
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
    except OSError as exc:
        module.fail_json(msg=f'cannot write the contact sheet {path}: {exc}')
    module.atomic_move(temp, os.path.abspath(path))
    return True


def _info(info, frames):
    if info is None:
        return {key: (0 if key == 'frames' else None) for key in INFO_KEYS}
    return dict({key: info[key] for key in INFO_KEYS if key != 'frames'}, frames=frames)


def main():
    module = AnsibleModule(
        argument_spec={
            'sent': {'type': 'path', 'required': True},
            'received': {'type': 'path', 'required': True},
            'expect': {'type': 'str', 'choices': list(video.EXPECTS), 'default': 'relayed'},
            'min_frame_ratio': {'type': 'float', 'default': 0.95},
            'duration_tolerance': {'type': 'float', 'default': 1.0},
            'min_identical_ratio': {'type': 'float', 'default': 0.95},
            'contact_sheet': {'type': 'path', 'default': ''},
            'sheet_frames': {'type': 'int', 'default': 5},
            'sheet_width': {'type': 'int', 'default': 256},
            'fail_on_mismatch': {'type': 'bool', 'default': True},
            'gst_launch': {'type': 'path', 'default': 'gst-launch-1.0'},
            'gst_discoverer': {'type': 'path', 'default': 'gst-discoverer-1.0'},
        },
        supports_check_mode=True,
    )
    p = module.params
    for name in ('min_frame_ratio', 'min_identical_ratio'):
        if not 0 <= p[name] <= 1:
            module.fail_json(msg=f'{name} must be between 0 and 1, not {p[name]}')
    if p['duration_tolerance'] < 0:
        module.fail_json(msg=f"duration_tolerance must not be negative, not {p['duration_tolerance']}")
    sheet = p['contact_sheet'] or ''
    if sheet and (p['sheet_frames'] < 1 or p['sheet_width'] < 2):
        module.fail_json(msg='sheet_frames must be at least 1 and sheet_width at least 2')
    gst_launch = _tool(module, p['gst_launch'])
    discoverer = _tool(module, p['gst_discoverer'])

    try:
        sent_info = discover(module, discoverer, 'sent', p['sent'])
        sent_digests = digests(gst_launch, 'sent', p['sent'], sent_info)
    except VideoError as exc:
        module.fail_json(msg=str(exc))
    sent = _info(sent_info, len(sent_digests))

    received_info, received_digests, problem = None, [], None
    try:
        received_info = discover(module, discoverer, 'received', p['received'])
        received_digests = digests(gst_launch, 'received', p['received'], received_info)
    except VideoError as exc:
        if p['fail_on_mismatch']:
            module.fail_json(msg=str(exc), sent=sent)
        received_info, received_digests, problem = None, [], exc
    received = _info(received_info, len(received_digests))
    comparison = video.compare(sent_digests, received_digests)

    if problem:
        matched, reasons = False, [str(problem)]
    else:
        matched, reasons = video.verdict(sent, received, comparison, p['expect'], p['min_frame_ratio'],
                                         p['duration_tolerance'], p['min_identical_ratio'])
    line = video.summary(sent, received, comparison, matched, problem=problem.short if problem else None)

    changed = False
    if sheet:
        indexes = video.sheet_indexes(sent['frames'], p['sheet_frames'])
        if indexes:
            size = video.thumbnail_size(sent['width'], sent['height'], p['sheet_width'])
            try:
                rows = [thumbnails(gst_launch, 'sent', p['sent'], size, indexes)]
                rows.append(thumbnails(gst_launch, 'received', p['received'], size, indexes) if not problem else [None] * len(indexes))
            except VideoError as exc:
                module.fail_json(msg=str(exc), sent=sent, received=received)
            width, height, rgb = video.contact_sheet(rows, size[0], size[1], gap=max(2, size[0] // 32))
            changed = _write_sheet(module, sheet, video.png_bytes(width, height, rgb))
        else:
            sheet = ''

    result = {'changed': changed, 'matched': matched, 'sent': sent, 'received': received, 'reasons': reasons,
              'summary': line, 'contact_sheet': sheet, **comparison}
    if not matched and p['fail_on_mismatch']:
        module.fail_json(msg='; '.join(reasons), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
