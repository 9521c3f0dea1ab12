# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""video_check run in-process through AnsibleModule (tests/unit/fakesys.run_module) on real mp4 files.

Real: GStreamer's gst-launch-1.0 and gst-discoverer-1.0 on this host make the videos
(``videotestsrc ! video/x-raw,format=I420 ! x264enc ! mp4mux``, no h264parse; without I420 x264enc
takes videotestsrc's 4:4:4), read and decode them; the PNG written is decoded back with zlib.
Stand-ins: the sent and received files are made here, not by an OpenKasugai chain. A received file
is the sent one, another picture, a shorter encoding, the sent one's first 15 packets remuxed
unchanged (a receiver stopped early), or the sent one cut at half its size (no moov, as a receiver
killed without SIGINT leaves it); the failing decoders are two-line shell scripts.
"""

import os
import shutil
import stat
import struct
import subprocess
import zlib

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import video
from ansible_collections.openkasugai.all_in_one.plugins.modules import video_check
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

GST_LAUNCH = shutil.which('gst-launch-1.0')
pytestmark = pytest.mark.skipif(GST_LAUNCH is None, reason='gst-launch-1.0 is not on PATH (Debian: gstreamer1.0-tools, '
                                '-plugins-base, -plugins-base-apps, -plugins-good, -plugins-ugly, -libav)')


def make_video(path, frames=30, pattern='smpte', width=160, height=96):
    subprocess.run([GST_LAUNCH, '-q', '-e', 'videotestsrc', f'num-buffers={frames}', f'pattern={pattern}', 'horizontal-speed=8', '!',
                    f'video/x-raw,format=I420,width={width},height={height},framerate=15/1', '!', 'x264enc', 'key-int-max=15', '!',
                    'mp4mux', '!', 'filesink', f'location={path}'], check=True, timeout=120)
    return str(path)


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos') / 'with space'  # gst-launch gets location=... as one argv word
    root.mkdir()
    sent = make_video(root / 'sent.mp4')
    data = open(sent, 'rb').read()
    half = root / 'half.mp4'
    half.write_bytes(data[:len(data) // 2])
    cut = root / 'cut.mp4'  # the sent stream's first 15 buffers, remuxed as they are (rcv stopped early)
    subprocess.run([GST_LAUNCH, '-q', '-e', 'filesrc', f'location={sent}', '!', 'qtdemux', '!', 'identity', 'eos-after=15', '!',
                    'm.video_0', 'mp4mux', 'name=m', '!', 'filesink', f'location={cut}'], check=True, timeout=120)
    return {
        'sent': sent,
        'cut': str(cut),
        'ball': make_video(root / 'ball.mp4', pattern='ball'),
        'short': make_video(root / 'short.mp4', frames=15),
        'odd': make_video(root / 'odd.mp4', frames=6, width=162, height=98),
        'half': str(half),
    }


def _run(check_mode=False, **args):
    return run_module(video_check.main, args, check_mode=check_mode)


def read_png(path):
    """(width, height, rgb) of a PNG as write_png writes it (8-bit RGB, filter 0)."""
    data = open(path, 'rb').read()
    assert data[:8] == video.PNG_SIGNATURE
    position, idat, header = 8, b'', None
    while position < len(data):
        (length,) = struct.unpack('>I', data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        position += 12 + length
    width, height, depth, colour = header[:4]
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(idat)
    line = 3 * width
    assert len(raw) == height * (line + 1)
    return width, height, b''.join(raw[y * (line + 1) + 1:(y + 1) * (line + 1)] for y in range(height))


def tile(image, sheet_width, x0, y0, w, h):
    return b''.join(image[3 * ((y0 + y) * sheet_width + x0):3 * ((y0 + y) * sheet_width + x0 + w)] for y in range(h))


def test_same_file_matches_and_writes_the_sheet_once(videos, tmp_path):
    sheet = str(tmp_path / 'sheet.png')
    failed, result = _run(sent=videos['sent'], received=videos['sent'], contact_sheet=sheet, sheet_width=64)
    assert not failed, result
    assert result['matched'] is True and result['reasons'] == []
    assert (result['compared'], result['identical'], result['first_mismatch']) == (30, 30, None)
    assert result['sent'] == result['received'] == {'frames': 30, 'duration': 2.0, 'width': 160, 'height': 96,
                                                    'framerate': '15/1', 'fps': 15.0}
    assert result['summary'] == 'sent 30 frames 2.0 s 160x96@15/1, received 30 frames 2.0 s: 30/30 identical: OK'
    assert result['changed'] is True and result['contact_sheet'] == sheet
    # 5 thumbnails of 64x38 (96/160*64 = 38.4, rounded to even) 2 px apart, two rows
    width, height, image = read_png(sheet)
    assert (width, height) == (5 * 64 + 4 * 2, 2 * 38 + 2)
    assert tile(image, width, 0, 0, 64, 38) == tile(image, width, 0, 40, 64, 38)  # frame 0 sent == received
    assert tile(image, width, 0, 0, 64, 38) != tile(image, width, 66, 0, 64, 38)  # the picture moves
    assert image[3 * 64:3 * 66] == bytes([video.GREY]) * 6

    before = os.stat(sheet).st_mtime_ns
    failed, again = _run(sent=videos['sent'], received=videos['sent'], contact_sheet=sheet, sheet_width=64)
    assert not failed and again['changed'] is False and again['matched'] is True
    assert os.stat(sheet).st_mtime_ns == before


def test_no_sheet_by_default(videos):
    failed, result = _run(sent=videos['sent'], received=videos['sent'])
    assert not failed and result['changed'] is False and result['contact_sheet'] == ''


def test_other_picture_is_not_relayed(videos):
    failed, result = _run(sent=videos['sent'], received=videos['ball'])
    assert failed and result['matched'] is False
    assert (result['compared'], result['identical'], result['first_mismatch']) == (30, 0, 0)
    assert result['reasons'] == ['0 of 30 sent frames identical, fewer than the 29 needed (0.95), the first differing at frame 0']
    assert result['msg'] == result['reasons'][0]
    assert result['summary'].endswith(': 0/30 identical: MISMATCH')


def test_other_picture_reported_only(videos):
    failed, result = _run(sent=videos['sent'], received=videos['ball'], fail_on_mismatch=False)
    assert not failed and result['matched'] is False and len(result['reasons']) == 1


def test_other_picture_is_processed(videos):
    failed, result = _run(sent=videos['sent'], received=videos['ball'], expect='processed')
    assert not failed, result
    assert result['matched'] is True and result['summary'].endswith(': 0/30 identical: OK')


def test_same_picture_was_not_processed(videos):
    failed, result = _run(sent=videos['sent'], received=videos['sent'], expect='processed')
    assert failed and result['reasons'] == ['all 30 compared frames are identical to the sent ones: the picture was not processed']


def test_shorter_video_misses_frames(videos):
    """Encoded with 15 frames: fewer frames, and x264 (lookahead, B-frames at the end) encodes them otherwise."""
    failed, result = _run(sent=videos['sent'], received=videos['short'])
    assert failed and result['matched'] is False
    assert result['received']['frames'] == 15 and result['received']['duration'] == 1.0
    assert result['compared'] == 15 and result['identical'] < 15
    assert result['reasons'][0] == 'received 15 frames, fewer than the 29 needed (0.95 of the 30 sent)'
    assert len(result['reasons']) == 2 and result['reasons'][1].startswith(f"{result['identical']} of 30 sent frames identical")


def test_cut_stream_is_an_identical_prefix(videos, tmp_path):
    """The sent packets up to a point, not re-encoded: every frame received is identical, the rest is missing."""
    sheet = str(tmp_path / 'cut.png')
    failed, result = _run(sent=videos['sent'], received=videos['cut'], contact_sheet=sheet, sheet_width=32)
    assert failed and result['matched'] is False
    frames = result['received']['frames']
    assert 10 <= frames <= 15  # 15 buffers in decode order; B-frames whose references were cut are not output
    assert (result['compared'], result['identical'], result['first_mismatch']) == (frames, frames, frames)
    assert result['reasons'][0] == f'received {frames} frames, fewer than the 29 needed (0.95 of the 30 sent)'
    assert result['reasons'][-1] == (f'{frames} of 30 sent frames identical, fewer than the 29 needed (0.95), '
                                     f'the first differing at frame {frames}')
    # the sheet is written all the same: frames 0, 7 received and identical, 22 and 29 black (32x20 thumbnails, 2 px gaps)
    assert result['changed'] is True
    width, height, image = read_png(sheet)
    assert (width, height) == (5 * 32 + 4 * 2, 2 * 20 + 2)
    for column, index in enumerate(video.sheet_indexes(30, 5)):
        received = tile(image, width, column * 34, 22, 32, 20)
        if index < frames:
            assert received == tile(image, width, column * 34, 0, 32, 20)
        else:
            assert received == bytes(len(received))


def test_truncated_received_is_not_a_valid_mp4(videos):
    failed, result = _run(sent=videos['sent'], received=videos['half'])
    assert failed
    assert result['msg'].startswith(f"received {videos['half']} is not a valid mp4: ")
    assert 'no playable streams' in result['msg']
    assert result['sent']['frames'] == 30


def test_truncated_received_reported_only(videos, tmp_path):
    sheet = str(tmp_path / 'half.png')
    failed, result = _run(sent=videos['sent'], received=videos['half'], fail_on_mismatch=False, contact_sheet=sheet, sheet_width=32)
    assert not failed, result
    assert result['matched'] is False and 'not a valid mp4' in result['reasons'][0]
    assert result['received'] == {'frames': 0, 'duration': None, 'width': None, 'height': None, 'framerate': None, 'fps': None}
    assert result['summary'] == 'sent 30 frames 2.0 s 160x96@15/1, received not a valid mp4: MISMATCH'
    width, height, image = read_png(sheet)
    for column in range(5):  # the received row is black
        assert tile(image, width, column * 34, 22, 32, 20) == bytes(3 * 32 * 20)


def test_missing_received(videos, tmp_path):
    missing = str(tmp_path / 'rcv_video.mp4')
    failed, result = _run(sent=videos['sent'], received=missing)
    assert failed and result['msg'] == f'received {missing} does not exist'
    failed, result = _run(sent=videos['sent'], received=missing, fail_on_mismatch=False)
    assert not failed and result['matched'] is False
    assert result['summary'].endswith('received file missing: MISMATCH')


def test_invalid_sent_always_fails(videos, tmp_path):
    failed, result = _run(sent=videos['half'], received=videos['sent'], fail_on_mismatch=False)
    assert failed and result['msg'].startswith(f"sent {videos['half']} is not a valid mp4")
    missing = str(tmp_path / 'nothing.mp4')
    failed, result = _run(sent=missing, received=videos['sent'], fail_on_mismatch=False)
    assert failed and result['msg'] == f'sent {missing} does not exist'


def test_check_mode_writes_nothing(videos, tmp_path):
    sheet = tmp_path / 'sheet.png'
    failed, result = _run(check_mode=True, sent=videos['sent'], received=videos['sent'], contact_sheet=str(sheet), sheet_width=32)
    assert not failed and result['changed'] is True and result['matched'] is True
    assert not sheet.exists() and os.listdir(tmp_path) == []
    failed, result = _run(sent=videos['sent'], received=videos['sent'], contact_sheet=str(sheet), sheet_width=32)
    assert result['changed'] is True and sheet.exists()
    failed, result = _run(check_mode=True, sent=videos['sent'], received=videos['sent'], contact_sheet=str(sheet), sheet_width=32)
    assert not failed and result['changed'] is False
    sheet.write_bytes(b'old')
    failed, result = _run(check_mode=True, sent=videos['sent'], received=videos['sent'], contact_sheet=str(sheet), sheet_width=32)
    assert result['changed'] is True and sheet.read_bytes() == b'old'


def test_sheet_directory_must_exist(videos, tmp_path):
    sheet = str(tmp_path / 'nowhere' / 'sheet.png')
    failed, result = _run(sent=videos['sent'], received=videos['sent'], contact_sheet=sheet)
    assert failed and result['msg'] == f'the directory of the contact sheet {sheet} does not exist'


def test_padded_rows_odd_size(videos, tmp_path):
    """162x98: I420 and RGB rows carry padding that must not reach the digests or the sheet."""
    sheet = str(tmp_path / 'odd.png')
    failed, result = _run(sent=videos['odd'], received=videos['odd'], contact_sheet=sheet, sheet_width=50, sheet_frames=3)
    assert not failed, result
    assert (result['sent']['width'], result['sent']['height'], result['identical']) == (162, 98, 6)
    assert read_png(sheet)[:2] == (3 * 50 + 2 * 2, 2 * 30 + 2)  # 98/162*50 = 30.2 -> 30


def _script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text('#!/bin/sh\n' + body + '\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_decode_failure_names_the_file_and_stderr(videos, tmp_path):
    broken = _script(tmp_path, 'gst-launch', 'echo "WARNING: erroneous pipeline: no element \\"avdec_h264\\"" >&2; exit 1')
    failed, result = _run(sent=videos['sent'], received=videos['sent'], gst_launch=broken)
    assert failed
    assert result['msg'] == f"sent {videos['sent']} could not be decoded: gst-launch exited 1: " \
                            'WARNING: erroneous pipeline: no element "avdec_h264"'


def test_partial_frame_is_a_decode_failure(videos, tmp_path):
    short = _script(tmp_path, 'gst-launch', 'printf 0123456789')
    failed, result = _run(sent=videos['sent'], received=videos['sent'], gst_launch=short)
    assert failed and 'could not be decoded: the stream ends inside a frame: 10 bytes after 0 whole frames of 23040 bytes' in result['msg']


def test_tools_must_exist(videos, tmp_path):
    failed, result = _run(sent=videos['sent'], received=videos['sent'], gst_discoverer='no-such-gst-discoverer')
    assert failed and result['msg'].startswith('no-such-gst-discoverer is not on PATH')
    missing = str(tmp_path / 'gst-launch-1.0')
    failed, result = _run(sent=videos['sent'], received=videos['sent'], gst_launch=missing)
    assert failed and result['msg'] == f'{missing} is not an executable file'


@pytest.mark.parametrize('args,error', [
    ({'min_frame_ratio': 1.5}, 'min_frame_ratio must be between 0 and 1'),
    ({'min_identical_ratio': -0.1}, 'min_identical_ratio must be between 0 and 1'),
    ({'duration_tolerance': -1}, 'duration_tolerance must not be negative'),
    ({'contact_sheet': '/tmp/x.png', 'sheet_frames': 0}, 'sheet_frames must be at least 1'),
    ({'expect': 'copied'}, 'value of expect must be one of: relayed, processed'),
])
def test_bad_options(videos, args, error):
    failed, result = _run(sent=videos['sent'], received=videos['sent'], **args)
    assert failed and error in result['msg']
