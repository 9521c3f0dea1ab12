"""Tests of the directories module, on real directories under pytest's tmp_path (nothing faked)."""

import os
import stat

from ansible_collections.openkasugai.all_in_one.plugins.modules import directories
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_creates_each_path_and_its_parents_with_the_mode(tmp_path):
    wanted = [str(tmp_path / 'a' / 'b' / 'c'), str(tmp_path / 'a' / 'd'), str(tmp_path / 'a' / 'b' / 'c')]
    failed, result = run_module(directories.main, {'paths': wanted, 'mode': '0750'})
    assert not failed, result
    assert result['changed'] is True
    assert result['created'] == [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b'), str(tmp_path / 'a' / 'b' / 'c'), str(tmp_path / 'a' / 'd')]
    assert all(_mode(path) == 0o750 for path in result['created'])


def test_a_second_run_changes_nothing(tmp_path):
    args = {'paths': [str(tmp_path / 'x' / 'y'), str(tmp_path / 'z')]}
    assert run_module(directories.main, args)[1]['changed'] is True
    failed, result = run_module(directories.main, args)
    assert not failed and result['changed'] is False and result['created'] == [] and result['changed_paths'] == []


def test_sets_the_mode_of_a_directory_that_exists_but_not_of_its_parents(tmp_path):
    (tmp_path / 'p' / 'q').mkdir(parents=True)
    os.chmod(tmp_path / 'p', 0o700)
    os.chmod(tmp_path / 'p' / 'q', 0o700)
    failed, result = run_module(directories.main, {'paths': [str(tmp_path / 'p' / 'q')], 'mode': '0755'}, diff=True)
    assert not failed, result
    assert result['changed'] is True and result['created'] == [] and result['changed_paths'] == [str(tmp_path / 'p' / 'q')]
    assert _mode(tmp_path / 'p' / 'q') == 0o755 and _mode(tmp_path / 'p') == 0o700
    assert result['diff'] == [{'before_header': str(tmp_path / 'p' / 'q'), 'after_header': str(tmp_path / 'p' / 'q'),
                               'before': {'mode': '0700'}, 'after': {'mode': '0755'}}]


def test_check_mode_reports_and_creates_nothing(tmp_path):
    (tmp_path / 'old').mkdir(mode=0o700)
    failed, result = run_module(directories.main, {'paths': [str(tmp_path / 'new' / 'sub'), str(tmp_path / 'old')]}, check_mode=True, diff=True)
    assert not failed, result
    assert result['changed'] is True
    assert result['created'] == [str(tmp_path / 'new'), str(tmp_path / 'new' / 'sub')] and result['changed_paths'] == [str(tmp_path / 'old')]
    assert not (tmp_path / 'new').exists() and _mode(tmp_path / 'old') == 0o700
    assert {'before_header': str(tmp_path / 'new'), 'after_header': str(tmp_path / 'new'),
            'before': {'state': 'absent'}, 'after': {'state': 'directory'}} in result['diff']


def test_a_file_in_the_way_fails_before_anything_is_created(tmp_path):
    (tmp_path / 'f').write_text('not a directory')
    failed, result = run_module(directories.main, {'paths': [str(tmp_path / 'first'), str(tmp_path / 'f' / 'sub')]})
    assert failed and result['msg'] == '{} exists and is not a directory'.format(tmp_path / 'f')
    assert not (tmp_path / 'first').exists()


def test_relative_paths_are_refused(tmp_path):
    failed, result = run_module(directories.main, {'paths': [str(tmp_path / 'ok'), 'rel/dir']})
    assert failed and 'paths must be absolute: ' in result['msg'] and 'rel/dir' in result['msg']
    assert not (tmp_path / 'ok').exists()
