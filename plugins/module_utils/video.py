# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The video scenario: does the received mp4 hold the sent video's pictures?

No Ansible import: the video_check module runs gst-discoverer-1.0 itself and gst-launch-1.0 through
stream_frames() (the one function here that starts a process; it lives here because a module must not
call subprocess.Popen, and run_command would buffer the whole raw video), and feeds their output to the
pure functions; the unit tests feed hand-made text and bytes.

On CPU the chain is ``send -> pip -> rcv``: the sender streams RTP/H.264, ``pip`` relays the packets
unchanged and ``rcv`` depayloads them into ``rcv_video.mp4`` (``rtph264depay ! h264parse ! mp4mux``).
Nothing re-encodes, so the received file decodes to the very frames the sent one decodes to, byte
for byte: the frames are compared by digest, index by index. A lost packet corrupts the frames up to
the next keyframe; a receiver stopped without SIGINT leaves an mp4 without ``moov``, which
``gst-discoverer-1.0`` cannot read. A function that changes the picture (GPU inference drawing
boxes) makes every frame differ; then only the frame count, the duration and "something changed"
are checked.

Raw frames come from ``gst-launch-1.0 ... ! fdsink fd=1`` in GStreamer's default layout: rows are
padded to a multiple of 4 bytes (I420: ``stride = round_up_4(width)`` for Y and
``round_up_4(round_up_2(width) / 2)`` for U and V, the planes ``round_up_2(height)`` and half of it
rows high; RGB: ``round_up_4(3 * width)``). The padding bytes are not part of the picture (their
value is whatever the allocator left), so only the visible bytes are hashed or drawn.
"""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import hashlib
import os
import re
import struct
import subprocess
import tempfile
import zlib

EXPECTS = ('relayed', 'processed')
GREY = 128
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
DISCOVERER_ERROR = 'An error was encountered while discovering the file'
_STREAM = re.compile(r'^\s*(video|audio|subtitles|container|unknown|image)\s+#\d+\s*:', re.IGNORECASE)
_FIELD = re.compile(r'^\s*(Width|Height|Frame rate)\s*:\s*(\S+)\s*$')
_DURATION = re.compile(r'^\s*Duration\s*:\s*(\d+):(\d+):(\d+(?:\.\d+)?)\s*$')


def _round_up(value, multiple):
    return (value + multiple - 1) // multiple * multiple


# --- gst-discoverer-1.0 -----------------------------------------------------------------------

def parse_framerate(text):
    """``'15/1'`` -> ``('15/1', 15.0)``; ``'30000/1001'`` -> 29.97...; a zero denominator gives 0.0."""
    match = re.match(r'^(\d+)(?:/(\d+))?$', text.strip())
    if not match:
        raise ValueError(f'frame rate {text!r} is not N/D')
    num, den = int(match.group(1)), int(match.group(2) or 1)
    return f'{num}/{den}', (num / den if den else 0.0)


def parse_discoverer(text):
    """Read ``gst-discoverer-1.0 -v FILE``'s output: the first video stream's width, height and frame
    rate and the file's duration.

    Returns ``{width, height, framerate ('N/D'), fps (float), duration (float seconds)}``. Raises
    ValueError with the discoverer's own message when it could not read the file (it exits 0 even
    then), with "no video stream" when there is none, or naming the fields that are missing.
    """
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == DISCOVERER_ERROR:
            detail = ' '.join(rest.strip() for rest in lines[index + 1:index + 3] if rest.strip())
            raise ValueError(detail or DISCOVERER_ERROR)
    duration = None
    fields = {}
    in_video = False
    seen_video = False
    for line in lines:
        match = _DURATION.match(line)
        if match and duration is None:
            hours, minutes, seconds = int(match.group(1)), int(match.group(2)), float(match.group(3))
            if not (hours == 99 and minutes == 99):  # GST_CLOCK_TIME_NONE prints 99:99:99.999999999
                duration = hours * 3600 + minutes * 60 + seconds
            continue
        stream = _STREAM.match(line)
        if stream:
            in_video = stream.group(1).lower() == 'video' and not seen_video
            seen_video = seen_video or in_video
            continue
        field = _FIELD.match(line)
        if field and in_video and field.group(1) not in fields:
            fields[field.group(1)] = field.group(2)
    if not seen_video:
        raise ValueError('no video stream')
    missing = [name for name in ('Width', 'Height', 'Frame rate') if name not in fields]
    if duration is None:
        missing.append('Duration')
    if missing:
        raise ValueError('gst-discoverer-1.0 output has no ' + ', '.join(missing))
    try:
        width, height = int(fields['Width']), int(fields['Height'])
    except ValueError:
        raise ValueError(f"width {fields['Width']!r} or height {fields['Height']!r} is not a number") from None
    framerate, fps = parse_framerate(fields['Frame rate'])
    return {'width': width, 'height': height, 'framerate': framerate, 'fps': fps, 'duration': duration}


# --- raw frames -------------------------------------------------------------------------------

def i420_layout(width, height):
    """``(frame_size, planes)`` of an I420 frame as GStreamer lays it out by default; ``planes`` is a list
    of ``(offset, stride, row_bytes, rows)``."""
    rows_y = _round_up(height, 2)
    stride_y = _round_up(width, 4)
    chroma_w = _round_up(width, 2) // 2
    stride_c = _round_up(chroma_w, 4)
    rows_c = rows_y // 2
    offset_u = stride_y * rows_y
    offset_v = offset_u + stride_c * rows_c
    planes = [(0, stride_y, width, height), (offset_u, stride_c, chroma_w, (height + 1) // 2),
              (offset_v, stride_c, chroma_w, (height + 1) // 2)]
    return offset_v + stride_c * rows_c, planes


def rgb_layout(width, height):
    """``(frame_size, planes)`` of a packed RGB frame as GStreamer lays it out by default (rows padded to 4 bytes)."""
    stride = _round_up(3 * width, 4)
    return stride * height, [(0, stride, 3 * width, height)]


def _packed(planes, frame_size):
    """True when the planes cover the frame without any padding."""
    position = 0
    for offset, stride, row_bytes, rows in planes:
        if offset != position or stride != row_bytes:
            return False
        position += stride * rows
    return position == frame_size


def visible_rows(frame, planes):
    """The visible bytes of ``frame`` (without row padding), plane after plane, as memoryviews."""
    view = memoryview(frame)
    for offset, stride, row_bytes, rows in planes:
        for row in range(rows):
            start = offset + row * stride
            yield view[start:start + row_bytes]


def visible(frame, planes=None):
    """``frame`` without its row padding, as bytes."""
    if planes is None or _packed(planes, len(frame)):
        return bytes(frame)
    return b''.join(visible_rows(frame, planes))


def read_frames(stream, frame_size):
    """Yield the frames of a binary stream one by one (each ``frame_size`` bytes, never more in memory).

    Raises ValueError when the stream ends inside a frame.
    """
    if frame_size <= 0:
        raise ValueError(f'frame size must be positive, not {frame_size}')
    count = 0
    while True:
        chunk = stream.read(frame_size)
        if not chunk:
            return
        parts = [chunk]
        got = len(chunk)
        while got < frame_size:  # a raw pipe may return less than asked
            more = stream.read(frame_size - got)
            if not more:
                raise ValueError(f'the stream ends inside a frame: {got} bytes after {count} whole frames of {frame_size} bytes')
            parts.append(more)
            got += len(more)
        yield parts[0] if len(parts) == 1 else b''.join(parts)
        count += 1


def digest_frames(frames, planes=None, algorithm='sha256'):
    """Hex digests of an iterable of raw frames; with ``planes`` (from i420_layout/rgb_layout) only the
    visible bytes are hashed."""
    digests = []
    for frame in frames:
        digest = hashlib.new(algorithm)
        if planes is None or _packed(planes, len(frame)):
            digest.update(frame)
        else:
            for row in visible_rows(frame, planes):
                digest.update(row)
        digests.append(digest.hexdigest())
    return digests


def frame_digests(stream, frame_size, planes=None, algorithm='sha256'):
    """Hex digests of the frames of a binary stream, read ``frame_size`` bytes at a time.

    With ``planes`` only the visible bytes are hashed. A trailing partial frame raises ValueError.
    """
    return digest_frames(read_frames(stream, frame_size), planes, algorithm)


def compare(sent_digests, received_digests):
    """Index-aligned comparison: ``{compared, identical, first_mismatch}``.

    ``compared`` is the number of indexes both have; ``first_mismatch`` the first of them whose frames
    differ, or the first index past the shorter list when they differ only in length, or None.
    """
    compared = min(len(sent_digests), len(received_digests))
    identical = 0
    first_mismatch = None
    for index in range(compared):
        if sent_digests[index] == received_digests[index]:
            identical += 1
        elif first_mismatch is None:
            first_mismatch = index
    if first_mismatch is None and len(sent_digests) != len(received_digests):
        first_mismatch = compared
    return {'compared': compared, 'identical': identical, 'first_mismatch': first_mismatch}


def needed(ratio, total):
    """The least whole count that is at least ``ratio * total`` (float noise aside)."""
    exact = ratio * total
    rounded = round(exact)
    return int(rounded) if abs(exact - rounded) < 1e-9 else int(exact) + 1


def verdict(sent_info, received_info, comparison, expect='relayed', min_frame_ratio=0.95, duration_tolerance=1.0,
            min_identical_ratio=0.95):
    """``(matched, reasons)`` for a sent and a received video.

    ``sent_info``/``received_info`` carry ``frames``, ``duration``, ``width`` and ``height``;
    ``comparison`` is compare()'s result. Both expectations need at least
    ``min_frame_ratio`` times the sent frames and durations within ``duration_tolerance`` seconds.
    ``relayed`` also needs the same size and at least ``min_identical_ratio`` times the sent frames
    identical; ``processed`` needs at least one compared frame that differs.
    """
    if expect not in EXPECTS:
        raise ValueError(f"expect must be one of {', '.join(EXPECTS)}, not {expect!r}")
    reasons = []
    sent_frames, received_frames = sent_info['frames'], received_info['frames']
    if sent_frames == 0:
        reasons.append('the sent video has no frames')
    least = needed(min_frame_ratio, sent_frames)
    if received_frames < least:
        reasons.append(f'received {received_frames} frames, fewer than the {least} needed '
                       f'({min_frame_ratio:g} of the {sent_frames} sent)')
    difference = abs(received_info['duration'] - sent_info['duration'])
    if difference > duration_tolerance + 1e-9:
        reasons.append(f"received {received_info['duration']:.3f} s, sent {sent_info['duration']:.3f} s: "
                       f'{difference:.3f} s apart (more than {duration_tolerance:g} s)')
    if expect == 'relayed':
        sent_size = (sent_info['width'], sent_info['height'])
        received_size = (received_info['width'], received_info['height'])
        if sent_size != received_size:
            reasons.append('received %dx%d, sent %dx%d: a relay keeps the size' % (received_size + sent_size))
        identical_needed = needed(min_identical_ratio, sent_frames)
        if comparison['identical'] < identical_needed:
            where = '' if comparison['first_mismatch'] is None else f", the first differing at frame {comparison['first_mismatch']}"
            reasons.append(f"{comparison['identical']} of {sent_frames} sent frames identical, fewer than the "
                           f'{identical_needed} needed ({min_identical_ratio:g}){where}')
    else:
        if comparison['compared'] == 0:
            reasons.append('no frame to compare')
        elif comparison['identical'] == comparison['compared']:
            reasons.append(f"all {comparison['compared']} compared frames are identical to the sent ones: "
                           'the picture was not processed')
    return not reasons, reasons


def summary(sent_info, received_info, comparison, matched, problem=None):
    """One line: ``sent 150 frames 10.0 s 1280x720@15/1, received 150 frames 10.0 s: 150/150 identical: OK``.

    ``problem`` (e.g. "not a valid mp4") replaces the received part when the received file could not be read.
    """
    sent = (f"sent {sent_info['frames']} frames {sent_info['duration']:.1f} s "
            f"{sent_info['width']}x{sent_info['height']}@{sent_info['framerate']}")
    if problem:
        received = f'received {problem}'
    else:
        received = f"received {received_info['frames']} frames {received_info['duration']:.1f} s"
        if (received_info['width'], received_info['height']) != (sent_info['width'], sent_info['height']):
            received += f" {received_info['width']}x{received_info['height']}"
        received += f": {comparison['identical']}/{sent_info['frames']} identical"
    return f"{sent}, {received}: {'OK' if matched else 'MISMATCH'}"


# --- thumbnails and the contact sheet --------------------------------------------------------

def sheet_indexes(frames, count):
    """``count`` frame indexes spread evenly over ``frames`` frames, the first and the last included."""
    if frames <= 0 or count <= 0:
        return []
    if count == 1:
        return [0]
    return sorted({round(i * (frames - 1) / (count - 1)) for i in range(count)})


def thumbnail_size(width, height, thumb_width):
    """``(thumb_width, h)`` with ``h`` keeping the aspect ratio of ``width x height``, rounded to even, at least 2."""
    if width <= 0 or height <= 0 or thumb_width <= 0:
        raise ValueError(f'sizes must be positive: {width}x{height} to width {thumb_width}')
    return thumb_width, max(2, int(round(thumb_width * height / width / 2.0)) * 2)


def contact_sheet(rows, frame_w, frame_h, gap=4):
    """Tile rows of RGB frames (``frame_w * frame_h * 3`` bytes each, or None: black) into one image.

    Row 0 is the sent video, row 1 the received one; a row shorter than the longest is filled with
    black frames. Frames and rows are ``gap`` pixels of grey apart. Returns ``(width, height, rgb)``.
    """
    frame_bytes = frame_w * frame_h * 3
    columns = max((len(row) for row in rows), default=0)
    if not rows or columns == 0:
        raise ValueError('a contact sheet needs at least one frame')
    width = columns * frame_w + (columns - 1) * gap
    height = len(rows) * frame_h + (len(rows) - 1) * gap
    grey_gap = bytes([GREY]) * (3 * gap)
    black = bytes(frame_bytes)
    out = bytearray()
    for row_index, row in enumerate(rows):
        if row_index:
            out += bytes([GREY]) * (3 * width * gap)
        frames = [row[i] if i < len(row) and row[i] is not None else black for i in range(columns)]
        for frame in frames:
            if len(frame) != frame_bytes:
                raise ValueError(f'a frame has {len(frame)} bytes, not {frame_bytes} ({frame_w}x{frame_h} RGB)')
        line = 3 * frame_w
        for y in range(frame_h):
            start = y * line
            out += grey_gap.join(bytes(frame[start:start + line]) for frame in frames)
    return width, height, bytes(out)


def _chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def png_bytes(width, height, rgb):
    """A PNG (8-bit RGB, no interlace, filter 0 on every row) of ``rgb`` (``width * height * 3`` bytes)."""
    line = 3 * width
    if width <= 0 or height <= 0 or len(rgb) != line * height:
        raise ValueError(f'{len(rgb)} bytes is not a {width}x{height} RGB image')
    raw = b''.join(b'\x00' + rgb[y * line:(y + 1) * line] for y in range(height))
    return (PNG_SIGNATURE
            + _chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + _chunk(b'IDAT', zlib.compress(raw, 6))
            + _chunk(b'IEND', b''))


def write_png(path_or_file, width, height, rgb):
    """Write png_bytes() to a path or a binary file object; returns the bytes written."""
    data = png_bytes(width, height, rgb)
    if hasattr(path_or_file, 'write'):
        path_or_file.write(data)
    else:
        with open(path_or_file, 'wb') as handle:
            handle.write(data)
    return data


# --- running the decoder ----------------------------------------------------------------------

def decode_argv(gst_launch, path, caps):
    """``gst-launch-1.0 -q filesrc location=PATH ! qtdemux ! avdec_h264 ! videoconvert ! CAPS... ! fdsink fd=1``.

    ``caps`` is a list of pipeline words after videoconvert (``['video/x-raw,format=I420']`` or
    ``['videoscale', '!', 'video/x-raw,format=RGB,width=W,height=H']``). gst-launch escapes the spaces
    of each argv word, so a path with spaces stays one ``location``. ``-q`` keeps gst-launch's own
    messages off stdout, where the frames go. No h264parse (gstreamer1.0-plugins-bad): qtdemux gives
    avdec_h264 whole access units already.
    """
    argv = [gst_launch, '-q', 'filesrc', f'location={path}', '!', 'qtdemux', '!', 'avdec_h264', '!', 'videoconvert', '!']
    return argv + list(caps) + ['!', 'fdsink', 'fd=1']


def stream_frames(argv, frame_size, consume, env=None):
    """Run ``argv`` and hand ``consume`` an iterator over the ``frame_size``-byte frames of its stdout as they
    come out of the pipe (read_frames: never more than a frame in memory).

    stderr goes to a temporary file, not a pipe, so a chatty tool cannot stall on it while its stdout
    is read. Returns ``(rc, stderr, problem)``: ``problem`` is read_frames' message when the output
    ends inside a frame, else None.
    """
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                env=None if env is None else dict(os.environ, **env))
        problem = None
        try:
            consume(read_frames(proc.stdout, frame_size))
        except ValueError as exc:
            problem = str(exc)
        finally:
            proc.stdout.close()
            rc = proc.wait()
        errors.seek(0)
        stderr = errors.read().decode('utf-8', 'replace')
    return rc, stderr, problem


def tail(text, lines=10):
    """The last ``lines`` non-empty lines of a tool's output."""
    kept = [line for line in (text or '').splitlines() if line.strip()]
    return '\n'.join(kept[-lines:])
