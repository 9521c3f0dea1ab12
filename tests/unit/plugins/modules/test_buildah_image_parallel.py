"""How buildah_image handles several images side by side (run_images): the order they start in, the slots,
the cache groups, the first failure. The builds are stand-ins that start and end when the test says so
(buildah itself is exercised by test_buildah_image.py); the threads and the scheduler are the module's own."""

from __future__ import annotations

import threading
from concurrent.futures import wait

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.modules import buildah_image
from ansible_collections.openkasugai.all_in_one.plugins.modules.buildah_image import run_images

WAIT = 10


class Builds:
    """Stand-in builds: each records what had ended and how many ran when it started, then waits to be finished."""

    def __init__(self, fail=()):
        self.cond = threading.Condition()
        self.started = []
        self.ended = []
        self.ended_at_start = {}
        self.running = 0
        self.most_running = 0
        self.finished = set()
        self.fail = set(fail)

    def handle(self, index):
        with self.cond:
            self.started.append(index)
            self.ended_at_start[index] = set(self.ended)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            self.cond.notify_all()
            assert self.cond.wait_for(lambda: index in self.finished, timeout=WAIT), f'image {index} was never finished'
            self.running -= 1
            self.ended.append(index)
            self.cond.notify_all()
        if index in self.fail:
            raise CliError(f'building image {index} failed')
        return {'name': index, 'changed': True}

    def wait_started(self, count):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.started) >= count, timeout=WAIT), self.started
            return list(self.started)

    def finish(self, *indexes):
        with self.cond:
            self.finished.update(indexes)
            self.cond.notify_all()


def drive(builds, count, groups, parallel, steps):
    """Run run_images in a thread; ``steps``: (images started so far, images to finish then), in order."""
    out = {}

    def run():
        out['results'], out['failed'] = run_images(count, builds.handle, groups, parallel)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        for started, finish in steps:
            assert builds.wait_started(len(started)) == started
            builds.finish(*(finish() if callable(finish) else finish))
    finally:
        builds.finish(*range(count))
        thread.join(WAIT)
    assert not thread.is_alive()
    return out['results'], out['failed']


def test_two_at_a_time_the_next_starting_when_a_slot_frees():
    builds = Builds()
    results, failed = drive(builds, 4, [None] * 4, 2, [([0, 1], [1]), ([0, 1, 2], [0]), ([0, 1, 2, 3], [2, 3])])
    assert failed is None and [r['name'] for r in results] == [0, 1, 2, 3]
    assert builds.most_running == 2
    # image 2 took the slot of image 1 while image 0 still ran
    assert builds.ended_at_start[2] == {1}


def test_an_image_of_a_group_waits_for_the_first_of_its_group_not_for_the_others():
    builds = Builds()
    groups = ['go', 'go', None, 'go', 'other']
    # 0 and 2 start (1 waits for 0); when 2 ends, 4 takes its slot, not 1 or 3; when 0 ends, 1 and 3 may start
    _results, failed = drive(builds, 5, groups, 2, [([0, 2], [2]), ([0, 2, 4], [0]), ([0, 2, 4, 1], [4, 1]), ([0, 2, 4, 1, 3], [3])])
    assert failed is None
    assert 0 in builds.ended_at_start[1] and 0 in builds.ended_at_start[3]
    assert builds.most_running == 2


def test_one_at_a_time_is_the_list_order():
    builds = Builds()
    results, failed = drive(builds, 3, ['g', None, 'g'], 1, [([0], [0]), ([0, 1], [1]), ([0, 1, 2], [2])])
    assert failed is None and [r['name'] for r in results] == [0, 1, 2]
    assert builds.ended_at_start == {0: set(), 1: {0}, 2: {0, 1}}


def test_the_first_failure_starts_nothing_more_and_lets_the_running_finish(monkeypatch):
    builds = Builds(fail={0})
    # image 1 is finished once the scheduler has taken image 0's failure in (it waits again, on what still runs):
    # finished at once, its end could be taken in first (threads), which frees a slot before anything failed
    waiting_on = []

    def watched_wait(running, **kwargs):
        with builds.cond:
            waiting_on.append(sorted(running.values()))
            builds.cond.notify_all()
        return wait(running, **kwargs)

    monkeypatch.setattr(buildah_image, 'wait', watched_wait)

    def failure_taken_in():
        with builds.cond:
            assert builds.cond.wait_for(lambda: [1] in waiting_on, timeout=WAIT), waiting_on
        return [1]

    results, failed = drive(builds, 4, [None] * 4, 2, [([0, 1], [0]), ([0, 1], failure_taken_in)])
    assert builds.started == [0, 1] and waiting_on == [[0, 1], [1]]
    assert results == [None, {'name': 1, 'changed': True}, None, None]
    index, exc = failed
    assert index == 0 and isinstance(exc, CliError) and exc.msg == 'building image 0 failed'


@pytest.mark.parametrize('parallel', [1, 3])
def test_nothing_to_build(parallel):
    assert run_images(0, None, [], parallel) == ([], None)
