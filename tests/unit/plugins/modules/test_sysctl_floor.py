"""Tests of the sysctl_floor module. Faked: /proc/sys (a tree of files under tmp_path, procfs_root); the drop-in is a
real file under tmp_path. The real /proc/sys is read once, never written."""

import os
import stat

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.modules import sysctl_floor
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

WATCHES, INSTANCES = 'fs.inotify.max_user_watches', 'fs.inotify.max_user_instances'


@pytest.fixture
def proc(tmp_path):
    inotify = tmp_path / 'proc' / 'sys' / 'fs' / 'inotify'
    inotify.mkdir(parents=True)
    (inotify / 'max_user_watches').write_text('8192\n')
    (inotify / 'max_user_instances').write_text('1024\n')
    return tmp_path / 'proc'


def _args(proc, tmp_path, **settings):
    return {'settings': settings or {WATCHES: 524288, INSTANCES: 512}, 'file': str(tmp_path / 'sysctl.d' / '90-lab.conf'),
            'procfs_root': str(proc.parent)}


def test_raises_the_lower_keeps_the_higher_and_persists_both(proc, tmp_path):
    failed, result = run_module(sysctl_floor.main, _args(proc, tmp_path))
    assert not failed, result
    assert result['changed'] and result['raised'] == [WATCHES] and result['file_changed']
    assert result['settings'] == {WATCHES: {'before': 8192, 'after': 524288}, INSTANCES: {'before': 1024, 'after': 1024}}
    assert (proc / 'sys' / 'fs' / 'inotify' / 'max_user_watches').read_text() == '524288\n'
    assert (proc / 'sys' / 'fs' / 'inotify' / 'max_user_instances').read_text() == '1024\n'
    dropin = tmp_path / 'sysctl.d' / '90-lab.conf'
    assert dropin.read_text() == 'fs.inotify.max_user_watches=524288\nfs.inotify.max_user_instances=1024\n'
    assert stat.S_IMODE(os.stat(dropin).st_mode) == 0o644


def test_a_second_run_changes_nothing(proc, tmp_path):
    run_module(sysctl_floor.main, _args(proc, tmp_path))
    failed, result = run_module(sysctl_floor.main, _args(proc, tmp_path))
    assert not failed and not result['changed'] and result['raised'] == [] and not result['file_changed']


def test_a_value_raised_since_by_someone_else_is_kept_and_persisted(proc, tmp_path):
    run_module(sysctl_floor.main, _args(proc, tmp_path))
    (proc / 'sys' / 'fs' / 'inotify' / 'max_user_watches').write_text('1048576\n')
    failed, result = run_module(sysctl_floor.main, _args(proc, tmp_path))
    assert not failed and result['changed'] and result['raised'] == [] and result['file_changed']
    assert (tmp_path / 'sysctl.d' / '90-lab.conf').read_text().startswith('fs.inotify.max_user_watches=1048576\n')


def test_check_mode_reports_and_changes_nothing(proc, tmp_path):
    failed, result = run_module(sysctl_floor.main, _args(proc, tmp_path), check_mode=True, diff=True)
    assert not failed and result['changed'] and result['raised'] == [WATCHES]
    assert result['diff']['before'] == '' and 'max_user_watches=524288' in result['diff']['after']
    assert (proc / 'sys' / 'fs' / 'inotify' / 'max_user_watches').read_text() == '8192\n'
    assert not (tmp_path / 'sysctl.d').exists()


@pytest.mark.parametrize('settings,message', [
    ({'fs.inotify.no_such_limit': 1}, 'settings.fs.inotify.no_such_limit: this kernel has no such setting'),
    ({WATCHES: 'many'}, "settings.fs.inotify.max_user_watches: 'many' is not an integer"),
    ({'inotify': 1}, "settings: 'inotify' is not a sysctl name"),
    ({'fs.inotify': 1}, 'cannot be read: Is a directory'),   # a directory of settings, not one
])
def test_bad_settings_are_refused_before_any_change(proc, tmp_path, settings, message):
    failed, result = run_module(sysctl_floor.main, _args(proc, tmp_path, **{INSTANCES: 4096}, **settings))
    assert failed and message in result['msg']
    assert (proc / 'sys' / 'fs' / 'inotify' / 'max_user_instances').read_text() == '1024\n'
    assert not (tmp_path / 'sysctl.d').exists()


def test_reads_the_real_kernels_settings():
    settings = sysctl_floor.plan({WATCHES: 1, INSTANCES: 1}, '/')
    assert all(value['before'] > 0 and value['after'] == value['before'] for value in settings.values())
