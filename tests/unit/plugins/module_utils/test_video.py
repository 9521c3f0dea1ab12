# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""module_utils/video.py: the half of video_check that needs no GStreamer.

Real: the parsing, hashing, comparison, verdict, layout and PNG code, run on bytes and text, and
stream_frames' process handling, run on a Python child.
Stand-ins: the discoverer outputs are transcripts of ``gst-discoverer-1.0 -v`` (GStreamer 1.22,
Debian 12) on files made with ``videotestsrc ! x264enc ! mp4mux`` (1280x720 and 160x96) and on one
cut at half its size (no ``moov``), trailing blanks written as \\x20; the audio-only one is
hand-trimmed from the same shape. A Python child stands in for gst-launch-1.0. Raw frames are
made-up bytes in GStreamer's I420/RGB layouts; the PNG is decoded back with zlib only.
"""

import hashlib
import io
import struct
import sys
import zlib

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import video

DISCOVERED_720P = """Analyzing file:///tmp/s.mp4
Done discovering file:///tmp/s.mp4

Properties:
  Duration: 0:00:10.000000000
  Seekable: yes
  Live: no
  Tags:\x20
      video codec: H.264 / AVC
      maximum bitrate: 2048000
      bitrate: 2045540
      encoder: x264
      datetime: 2026-12-04T17:24:56Z
      container format: ISO MP4/M4A
  container #0: video/quicktime, variant=(string)iso
    Tags:
      datetime: 2026-12-04T17:24:56Z
      container format: ISO MP4/M4A
\x20\x20\x20\x20
    video #1: video/x-h264, stream-format=(string)avc, alignment=(string)au, level=(string)3.1, profile=(string)high, \
codec_data=(buffer)0164001fffe1001c6764001facd9405005bb016a02020280000003008000000f478c18cb01000468efbcb0, width=(int)1280, \
height=(int)720, framerate=(fraction)15/1, pixel-aspect-ratio=(fraction)1/1, colorimetry=(string)bt709
      Tags:
        video codec: H.264 / AVC
        maximum bitrate: 2048000
        bitrate: 2045540
        encoder: x264
\x20\x20\x20\x20\x20\x20
      Codec:
        video/x-h264, stream-format=(string)avc, alignment=(string)au, level=(string)3.1, profile=(string)high, \
codec_data=(buffer)0164001fffe1001c6764001facd9405005bb016a02020280000003008000000f478c18cb01000468efbcb0, width=(int)1280, \
height=(int)720, framerate=(fraction)15/1, pixel-aspect-ratio=(fraction)1/1, colorimetry=(string)bt709
      Stream ID: 9158125cb0eb2eceeb27038bdfeff7b53829e047811494774c68bc8ec84240b0/001
      Width: 1280
      Height: 720
      Depth: 24
      Frame rate: 15/1
      Pixel aspect ratio: 1/1
      Interlaced: false
      Bitrate: 2045540
      Max bitrate: 2048000

"""

DISCOVERED_SMALL = """Analyzing file:///tmp/vc/a.mp4
Done discovering file:///tmp/vc/a.mp4

Properties:
  Duration: 0:00:02.000000000
  Seekable: yes
  Live: no
  Tags:\x20
      video codec: H.264 / AVC
      container format: ISO MP4/M4A
  container #0: video/quicktime, variant=(string)iso
    video #1: video/x-h264, stream-format=(string)avc, alignment=(string)au, level=(string)1.3, profile=(string)high-4:4:4, \
width=(int)160, height=(int)96, framerate=(fraction)15/1, pixel-aspect-ratio=(fraction)1/1, colorimetry=(string)bt601
      Stream ID: 85add9c9c44044fabf8bc535c6bd377fcafd228815768f8a8cbf50034fdf9a71/001
      Width: 160
      Height: 96
      Depth: 30
      Frame rate: 15/1
      Pixel aspect ratio: 1/1
      Interlaced: false
      Bitrate: 241248
      Max bitrate: 2097152

"""

# A file cut at half its size (what a receiver killed without SIGINT leaves: no moov). The discoverer exits 0.
DISCOVERED_TRUNCATED = """Analyzing file:///tmp/vc/half.mp4
Done discovering file:///tmp/vc/half.mp4
An error was encountered while discovering the file
 This file contains no playable streams.

"""

DISCOVERED_AUDIO_ONLY = """Analyzing file:///tmp/a.m4a
Done discovering file:///tmp/a.m4a

Properties:
  Duration: 0:00:03.000000000
  container #0: video/quicktime, variant=(string)iso
    audio #1: audio/mpeg, mpegversion=(int)4
      Stream ID: 0123/001
      Language: <unknown>
      Channels: 2 (front-left, front-right)
      Sample rate: 48000

"""


# --- gst-discoverer-1.0 -----------------------------------------------------------------------

def test_discoverer_720p():
    assert video.parse_discoverer(DISCOVERED_720P) == {
        'width': 1280, 'height': 720, 'framerate': '15/1', 'fps': 15.0, 'duration': 10.0}


def test_discoverer_small():
    info = video.parse_discoverer(DISCOVERED_SMALL)
    assert (info['width'], info['height'], info['framerate'], info['duration']) == (160, 96, '15/1', 2.0)


def test_discoverer_error_is_its_message():
    with pytest.raises(ValueError, match='^This file contains no playable streams.$'):
        video.parse_discoverer(DISCOVERED_TRUNCATED)


def test_discoverer_no_video_stream():
    with pytest.raises(ValueError, match='no video stream'):
        video.parse_discoverer(DISCOVERED_AUDIO_ONLY)


def test_discoverer_names_missing_fields():
    text = DISCOVERED_720P.replace('      Frame rate: 15/1\n', '').replace('  Duration: 0:00:10.000000000\n', '')
    with pytest.raises(ValueError, match='has no Frame rate, Duration$'):
        video.parse_discoverer(text)


def test_discoverer_unknown_duration_is_missing():
    with pytest.raises(ValueError, match='has no Duration'):
        video.parse_discoverer(DISCOVERED_720P.replace('0:00:10.000000000', '99:99:99.999999999'))


def test_discoverer_reads_hours_and_ntsc_rate():
    info = video.parse_discoverer(DISCOVERED_720P.replace('0:00:10.000000000', '1:02:03.500000000')
                                  .replace('Frame rate: 15/1', 'Frame rate: 30000/1001'))
    assert info['duration'] == 3723.5
    assert info['framerate'] == '30000/1001' and info['fps'] == pytest.approx(29.97, abs=0.001)


def test_discoverer_takes_the_first_video_stream():
    second = ('    video #2: video/x-h264\n      Width: 640\n      Height: 360\n      Frame rate: 30/1\n')
    info = video.parse_discoverer(DISCOVERED_SMALL + second)
    assert (info['width'], info['height'], info['framerate']) == (160, 96, '15/1')


@pytest.mark.parametrize('text,expected', [('15/1', ('15/1', 15.0)), ('25', ('25/1', 25.0)), ('0/1', ('0/1', 0.0)),
                                           ('5/0', ('5/0', 0.0))])
def test_parse_framerate(text, expected):
    assert video.parse_framerate(text) == expected


def test_parse_framerate_refuses():
    with pytest.raises(ValueError, match='not N/D'):
        video.parse_framerate('fast')


# --- layouts and digests ------------------------------------------------------------------------

def test_i420_layout_of_aligned_sizes_is_packed():
    size, planes = video.i420_layout(1280, 720)
    assert size == 1280 * 720 * 3 // 2
    assert planes == [(0, 1280, 1280, 720), (921600, 640, 640, 360), (1152000, 640, 640, 360)]


def test_i420_layout_pads_rows_like_gstreamer():
    # gst-launch-1.0 ... 162x98 ! video/x-raw,format=I420 ! fdsink wrote 24304 bytes a frame
    size, planes = video.i420_layout(162, 98)
    assert size == 24304
    assert planes[0] == (0, 164, 162, 98) and planes[1][1:] == (84, 81, 49)


def test_rgb_layout_pads_rows_to_4_bytes():
    assert video.rgb_layout(256, 144) == (256 * 3 * 144, [(0, 768, 768, 144)])
    assert video.rgb_layout(250, 150)[0] == 752 * 150  # what fdsink wrote for 250x150 RGB


def test_digests_read_frame_by_frame():
    frames = [bytes([i]) * 12 for i in range(4)]
    digests = video.frame_digests(io.BytesIO(b''.join(frames)), 12)
    assert digests == [hashlib.sha256(frame).hexdigest() for frame in frames]


def test_digests_of_an_empty_stream():
    assert video.frame_digests(io.BytesIO(b''), 12) == []


def test_digests_refuse_a_partial_frame():
    with pytest.raises(ValueError, match='ends inside a frame: 5 bytes after 2 whole frames of 12 bytes'):
        video.frame_digests(io.BytesIO(bytes(29)), 12)


class Trickle(io.RawIOBase):
    """A pipe that hands out at most 5 bytes a read."""

    def __init__(self, data):
        self.data = io.BytesIO(data)
        self.sizes = []

    def readable(self):
        return True

    def read(self, size=-1):
        self.sizes.append(size)
        return self.data.read(min(size, 5))


def test_digests_join_short_reads_and_never_ask_more_than_a_frame():
    data = bytes(range(36))
    stream = Trickle(data)
    assert video.frame_digests(stream, 12) == [hashlib.sha256(data[i:i + 12]).hexdigest() for i in (0, 12, 24)]
    assert max(stream.sizes) == 12


def test_digests_hash_only_visible_bytes():
    # 2 rows of 3 visible bytes padded to a stride of 4: the padding byte differs, the digest does not
    planes = [(0, 4, 3, 2)]
    first = video.frame_digests(io.BytesIO(b'abc\x00def\x00'), 8, planes)
    second = video.frame_digests(io.BytesIO(b'abc\xffdef\x7f'), 8, planes)
    assert first == second == [hashlib.sha256(b'abcdef').hexdigest()]
    assert video.visible(b'abc\x00def\x00', planes) == b'abcdef'


def test_digest_algorithm():
    assert video.frame_digests(io.BytesIO(b'abcd'), 4, algorithm='md5') == [hashlib.md5(b'abcd').hexdigest()]


def test_frame_size_must_be_positive():
    with pytest.raises(ValueError, match='positive'):
        video.frame_digests(io.BytesIO(b'x'), 0)


# --- compare and verdict -----------------------------------------------------------------------

def test_compare_identical():
    assert video.compare(['a', 'b', 'c'], ['a', 'b', 'c']) == {'compared': 3, 'identical': 3, 'first_mismatch': None}


def test_compare_index_aligned():
    assert video.compare(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'y']) == {'compared': 4, 'identical': 2, 'first_mismatch': 1}


def test_compare_shorter_received():
    assert video.compare(['a', 'b', 'c'], ['a', 'b']) == {'compared': 2, 'identical': 2, 'first_mismatch': 2}
    assert video.compare(['a'], []) == {'compared': 0, 'identical': 0, 'first_mismatch': 0}


def _info(frames=150, duration=10.0, width=1280, height=720):
    return {'frames': frames, 'duration': duration, 'width': width, 'height': height, 'framerate': '15/1', 'fps': 15.0}


def _comparison(sent, received, identical):
    return video.compare(['f%d' % i for i in range(sent)],
                         ['f%d' % i if i < identical else 'g%d' % i for i in range(received)])


def test_verdict_relayed_ok():
    assert video.verdict(_info(), _info(), _comparison(150, 150, 150), 'relayed') == (True, [])


def test_verdict_relayed_tolerates_the_ratio():
    # 0.95 * 150 = 142.5 -> 143 needed
    assert video.verdict(_info(), _info(), _comparison(150, 150, 143), 'relayed')[0] is True
    matched, reasons = video.verdict(_info(), _info(), _comparison(150, 150, 142), 'relayed')
    assert not matched
    assert reasons == ['142 of 150 sent frames identical, fewer than the 143 needed (0.95), the first differing at frame 142']


def test_verdict_relayed_mismatch_names_the_first_frame():
    comparison = video.compare(['a'] * 30, ['a'] * 10 + ['b'] * 20)
    matched, reasons = video.verdict(_info(30, 2.0), _info(30, 2.0), comparison, 'relayed')
    assert not matched and 'first differing at frame 10' in reasons[0]


def test_verdict_processed_needs_a_change():
    assert video.verdict(_info(), _info(), _comparison(150, 150, 0), 'processed') == (True, [])
    assert video.verdict(_info(), _info(), _comparison(150, 150, 149), 'processed') == (True, [])
    matched, reasons = video.verdict(_info(), _info(), _comparison(150, 150, 150), 'processed')
    assert not matched and reasons == ['all 150 compared frames are identical to the sent ones: the picture was not processed']


def test_verdict_processed_ignores_size():
    assert video.verdict(_info(), _info(width=640, height=360), _comparison(150, 150, 0), 'processed') == (True, [])


@pytest.mark.parametrize('expect', ['relayed', 'processed'])
def test_verdict_short_video(expect):
    matched, reasons = video.verdict(_info(30, 2.0), _info(15, 1.0), _comparison(30, 15, 15 if expect == 'relayed' else 0), expect)
    assert not matched
    assert reasons[0] == 'received 15 frames, fewer than the 29 needed (0.95 of the 30 sent)'


def test_verdict_frame_ratio_is_configurable():
    assert video.verdict(_info(30, 2.0), _info(15, 1.5), _comparison(30, 15, 15), 'relayed', min_frame_ratio=0.5,
                         min_identical_ratio=0.5) == (True, [])


def test_verdict_duration_off():
    matched, reasons = video.verdict(_info(), _info(duration=11.5), _comparison(150, 150, 150), 'relayed')
    assert not matched and reasons == ['received 11.500 s, sent 10.000 s: 1.500 s apart (more than 1 s)']
    assert video.verdict(_info(), _info(duration=11.0), _comparison(150, 150, 150), 'relayed') == (True, [])
    assert video.verdict(_info(), _info(duration=11.5), _comparison(150, 150, 150), 'relayed', duration_tolerance=2)[0]


def test_verdict_size_differs_when_relayed():
    matched, reasons = video.verdict(_info(), _info(width=640, height=360), _comparison(150, 150, 0), 'relayed')
    assert not matched
    assert reasons[0] == 'received 640x360, sent 1280x720: a relay keeps the size'
    assert len(reasons) == 2  # and no frame is identical


def test_verdict_empty_sent_video():
    matched, reasons = video.verdict(_info(0, 0.0), _info(0, 0.0), video.compare([], []), 'processed')
    assert not matched and reasons == ['the sent video has no frames', 'no frame to compare']


def test_verdict_refuses_unknown_expect():
    with pytest.raises(ValueError, match='expect must be one of relayed, processed'):
        video.verdict(_info(), _info(), _comparison(1, 1, 1), 'copied')


@pytest.mark.parametrize('ratio,total,expected', [(0.95, 150, 143), (0.95, 20, 19), (0.95, 30, 29), (1.0, 30, 30),
                                                  (0.0, 30, 0), (0.1, 30, 3), (0.5, 0, 0)])
def test_needed(ratio, total, expected):
    assert video.needed(ratio, total) == expected


def test_summary_ok():
    line = video.summary(_info(), _info(), _comparison(150, 150, 150), True)
    assert line == 'sent 150 frames 10.0 s 1280x720@15/1, received 150 frames 10.0 s: 150/150 identical: OK'


def test_summary_mismatch_with_other_size():
    line = video.summary(_info(), _info(149, 9.9, 640, 360), _comparison(150, 149, 0), False)
    assert line == 'sent 150 frames 10.0 s 1280x720@15/1, received 149 frames 9.9 s 640x360: 0/150 identical: MISMATCH'


def test_summary_problem():
    line = video.summary(_info(), None, video.compare(['a'], []), False, problem='not a valid mp4')
    assert line == 'sent 150 frames 10.0 s 1280x720@15/1, received not a valid mp4: MISMATCH'


# --- thumbnails, contact sheet, PNG -----------------------------------------------------------

@pytest.mark.parametrize('frames,count,expected', [
    (150, 5, [0, 37, 74, 112, 149]), (30, 5, [0, 7, 14, 22, 29]), (3, 5, [0, 1, 2]), (1, 5, [0]),
    (150, 1, [0]), (150, 2, [0, 149]), (0, 5, []), (10, 0, [])])
def test_sheet_indexes(frames, count, expected):
    assert video.sheet_indexes(frames, count) == expected


@pytest.mark.parametrize('size,width,expected', [((1280, 720), 256, (256, 144)), ((160, 96), 256, (256, 154)),
                                                 ((1920, 1080), 100, (100, 56)), ((1000, 1), 100, (100, 2))])
def test_thumbnail_size_keeps_aspect_rounded_to_even(size, width, expected):
    assert video.thumbnail_size(size[0], size[1], width) == expected


def test_thumbnail_size_refuses_zero():
    with pytest.raises(ValueError, match='positive'):
        video.thumbnail_size(0, 720, 256)


def _solid(w, h, rgb):
    return bytes(rgb) * (w * h)


def _pixel(image, width, x, y):
    offset = 3 * (y * width + x)
    return tuple(image[offset:offset + 3])


def test_contact_sheet_geometry_and_colours():
    red, blue, green = _solid(4, 3, (255, 0, 0)), _solid(4, 3, (0, 0, 255)), _solid(4, 3, (0, 255, 0))
    width, height, image = video.contact_sheet([[red, blue, red], [green]], 4, 3, gap=2)
    assert (width, height) == (3 * 4 + 2 * 2, 2 * 3 + 2)
    assert len(image) == width * height * 3
    assert _pixel(image, width, 0, 0) == (255, 0, 0)
    assert _pixel(image, width, 4, 0) == (128, 128, 128)  # gap between frames
    assert _pixel(image, width, 6, 2) == (0, 0, 255)
    assert _pixel(image, width, 15, 2) == (255, 0, 0)
    assert _pixel(image, width, 5, 3) == (128, 128, 128)  # gap between rows
    assert _pixel(image, width, 0, 5) == (0, 255, 0)
    assert _pixel(image, width, 6, 5) == (0, 0, 0)  # missing received frames are black
    assert _pixel(image, width, 15, 7) == (0, 0, 0)


def test_contact_sheet_none_is_black():
    image = video.contact_sheet([[_solid(2, 2, (9, 9, 9))], [None]], 2, 2, gap=1)[2]
    assert image[-3:] == b'\x00\x00\x00'


def test_contact_sheet_refuses_wrong_sizes():
    with pytest.raises(ValueError, match='not 12'):
        video.contact_sheet([[bytes(11)]], 2, 2)
    with pytest.raises(ValueError, match='at least one frame'):
        video.contact_sheet([[], []], 2, 2)


def decode_png(data):
    """Enough of a PNG decoder for what write_png writes: (width, height, bit depth, colour type, rgb)."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack('>I', data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack('>I', data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xffffffff
        chunks.append((kind, body))
        position += 12 + length
    assert chunks[0][0] == b'IHDR' and chunks[-1] == (b'IEND', b'')
    width, height, depth, colour, compression, filtering, interlace = struct.unpack('>IIBBBBB', chunks[0][1])
    assert (compression, filtering, interlace) == (0, 0, 0)
    raw = zlib.decompress(b''.join(body for kind, body in chunks if kind == b'IDAT'))
    line = 3 * width
    assert len(raw) == height * (line + 1)
    rows = [raw[y * (line + 1):(y + 1) * (line + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter type 0 on every row
    return width, height, depth, colour, b''.join(row[1:] for row in rows)


def test_png_round_trip(tmp_path):
    rgb = bytes((x * 7 + y * 13 + c) % 256 for y in range(5) for x in range(3) for c in range(3))
    path = tmp_path / 'a.png'
    data = video.write_png(str(path), 3, 5, rgb)
    assert path.read_bytes() == data
    assert decode_png(data) == (3, 5, 8, 2, rgb)


def test_png_to_a_file_object_and_deterministic():
    rgb = _solid(4, 4, (1, 2, 3))
    out = io.BytesIO()
    video.write_png(out, 4, 4, rgb)
    assert out.getvalue() == video.png_bytes(4, 4, rgb)
    assert decode_png(out.getvalue())[4] == rgb


def test_png_refuses_wrong_length():
    with pytest.raises(ValueError, match='is not a 2x2 RGB image'):
        video.png_bytes(2, 2, bytes(11))


def test_contact_sheet_as_png():
    width, height, image = video.contact_sheet([[_solid(8, 6, (200, 10, 10))] * 3, [_solid(8, 6, (10, 200, 10))] * 2], 8, 6, gap=2)
    assert decode_png(video.png_bytes(width, height, image))[:2] == (28, 14)


# --- running the decoder (a Python child stands in for gst-launch-1.0) ---------------------------

def test_decode_argv_keeps_the_path_one_word():
    assert video.decode_argv('/usr/bin/gst-launch-1.0', '/tmp/with space/a.mp4', ['video/x-raw,format=I420']) == [
        '/usr/bin/gst-launch-1.0', '-q', 'filesrc', 'location=/tmp/with space/a.mp4', '!', 'qtdemux', '!', 'avdec_h264', '!',
        'videoconvert', '!', 'video/x-raw,format=I420', '!', 'fdsink', 'fd=1']


def _child(code):
    return [sys.executable, '-c', 'import sys, os\n' + code]


def test_stream_frames_hands_frames_as_they_come():
    seen = []
    rc, stderr, problem = video.stream_frames(
        _child("sys.stderr.write('warn\\n' * 20000)\nfor i in range(50): sys.stdout.buffer.write(bytes([i]) * 100000)"),
        100000, lambda frames: seen.extend(frame[:1] for frame in frames))
    # 2 MB of frames and 100 kB of stderr: neither pipe stalls the child
    assert (rc, problem) == (0, None) and seen == [bytes([i]) for i in range(50)]
    assert stderr.count('warn') == 20000


def test_stream_frames_reports_rc_stderr_and_a_partial_frame():
    rc, stderr, problem = video.stream_frames(_child("sys.stdout.buffer.write(b'x' * 15)\nsys.stderr.write('bad')\nsys.exit(3)"),
                                              10, list)
    assert rc == 3 and stderr == 'bad'
    assert problem == 'the stream ends inside a frame: 5 bytes after 1 whole frames of 10 bytes'


def test_stream_frames_passes_the_environment():
    found = []
    video.stream_frames(_child("sys.stdout.buffer.write(os.environ['LC_ALL'].encode())"), 1,
                        found.extend, env={'LC_ALL': 'C'})
    assert found == [b'C']


def test_tail():
    assert video.tail('a\n\nb\nc\n  \nd', 2) == 'c\nd'
    assert video.tail(None) == ''
