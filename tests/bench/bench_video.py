# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The video patterns' numbers: what the check costs, and what the last e2e run measured through the chain.

1. Makes the scenario stage's sample video (videotestsrc, 1280x720, 15 frames/s, 10 s, x264enc, mp4mux: the
   stage's pipeline and settings) with GStreamer on this host and times it.
2. Decodes it and hashes every frame with video_check's own code (module_utils.video: avdec_h264 to I420,
   frames streamed from the pipe one at a time), as the check does for each of the sent and received videos;
   prints seconds and decoded frames per second.
3. Prints what the last e2e run's video phase recorded for p1c1 and p1c2 ($OKL_E2E_STATE, default
   /var/lib/openkasugai-e2e: scenario-output/okl-e2e/<pattern>/result.json): seconds from the DataFlow applied
   to the video checked, the seconds the send tool streamed, frames per second through the chain (frames
   received over those seconds; the send tool paces the stream at the video's own 15 frames/s), frames identical.

Never asserts on time. Needs gst-launch-1.0 with x264enc and avdec_h264 (the host stage's host_video_packages).
Run by tests/bench/run.sh.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import video

WIDTH, HEIGHT, FPS, SECONDS, KBPS = 1280, 720, 15, 10, 2000


def make_sample(path):
    subprocess.run(['gst-launch-1.0', '-q', '-e', 'videotestsrc', f'num-buffers={FPS * SECONDS}', 'pattern=smpte', 'horizontal-speed=8', '!',
                    f'video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1', '!', 'x264enc', f'key-int-max={FPS}', f'bitrate={KBPS}',
                    'speed-preset=veryfast', '!', 'video/x-h264,profile=high', '!', 'mp4mux', '!', 'filesink', f'location={path}'],
                   check=True)


def decode_and_hash(path):
    frame_size, planes = video.i420_layout(WIDTH, HEIGHT)
    found = []
    rc, stderr, problem = video.stream_frames(video.decode_argv('gst-launch-1.0', path, ['video/x-raw,format=I420']), frame_size,
                                              lambda frames: found.extend(video.digest_frames(frames, planes)))
    if rc != 0 or problem:
        raise SystemExit(f'decoding {path} failed: {problem or video.tail(stderr)}')
    return found


def main():
    if not shutil.which('gst-launch-1.0'):
        print('gst-launch-1.0 is not installed: nothing measured')
        return
    with tempfile.TemporaryDirectory() as tmp:
        sample = os.path.join(tmp, 'sample.mp4')
        start = time.monotonic()
        make_sample(sample)
        made = time.monotonic() - start
        start = time.monotonic()
        digests = decode_and_hash(sample)
        decoded = time.monotonic() - start
    print(f'sample video {WIDTH}x{HEIGHT} {FPS} frames/s {SECONDS} s: made in {made:.1f} s')
    print(f'decode and hash one video (video_check does it for the sent and the received one): {len(digests)} frames in '
          f'{decoded:.2f} s, {len(digests) / decoded:.0f} frames/s')

    state = os.environ.get('OKL_E2E_STATE', '/var/lib/openkasugai-e2e')
    for pattern in ('video-p1c1', 'video-p1c2'):
        path = os.path.join(state, 'scenario-output', 'okl-e2e', pattern, 'result.json')
        if not os.path.isfile(path):
            print(f'{pattern}: no e2e result at {path}')
            continue
        with open(path, encoding='utf-8') as handle:
            result = json.load(handle)
        when = time.strftime('%Y-%m-%d %H:%M', time.gmtime(os.path.getmtime(path)))
        print(f"{pattern} (last e2e, {when} UTC): {result['seconds_from_dataflow_applied']} s from the DataFlow applied to the video "
              f"checked; streamed in {result['stream_seconds']} s, {result['frames_per_second']} frames/s through the chain; "
              f"{result['identical']}/{result['sent']['frames']} frames identical")


if __name__ == '__main__':
    main()
