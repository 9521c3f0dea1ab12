"""Tests of the node_file module against real containers (the test bed's Debian image, standing in for kind nodes:
the module needs only docker exec, stat, cat, rm and docker cp, which a kind node has the same)."""

import subprocess
import uuid

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.modules import node_file
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

IMAGE = 'localhost/okl-debian:bookworm-systemd'
PATH = '/etc/k8s_node/config'


def _docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), check=check, capture_output=True, text=True)


@pytest.fixture
def nodes():
    if _docker('image', 'inspect', IMAGE, check=False).returncode != 0:
        pytest.skip(f'needs docker and {IMAGE}')
    names = ['okl-node-file-{}-{}'.format(uuid.uuid4().hex[:8], i) for i in range(2)]
    try:
        for name in names:
            _docker('run', '-d', '--rm', '--name', name, '--entrypoint', 'sleep', IMAGE, 'infinity')
        yield names
    finally:
        _docker('rm', '-f', *names, check=False)


def _stat(name, path):
    result = _docker('exec', name, 'stat', '-c', '%a %u %g', path, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def test_writes_the_file_and_its_directory_into_every_node_then_changes_nothing(nodes):
    args = {'containers': nodes, 'path': PATH, 'content': 'apiVersion: v1\nkind: Config\n', 'mode': '0640'}
    failed, result = run_module(node_file.main, args)
    assert not failed, result
    assert result['changed'] is True and result['changed_containers'] == nodes
    for name in nodes:
        assert _docker('exec', name, 'cat', PATH).stdout == 'apiVersion: v1\nkind: Config\n'
        assert _stat(name, PATH) == '640 0 0' and _stat(name, '/etc/k8s_node') == '755 0 0'
    failed, result = run_module(node_file.main, args)
    assert not failed and result['changed'] is False and result['changed_containers'] == []


def test_rewrites_only_the_node_whose_copy_differs(nodes):
    args = {'containers': nodes, 'path': PATH, 'content': 'one\n'}
    assert run_module(node_file.main, args)[1]['changed'] is True
    _docker('exec', nodes[1], 'chmod', '600', PATH)
    failed, result = run_module(node_file.main, args)
    assert not failed and result['changed_containers'] == [nodes[1]] and _stat(nodes[1], PATH) == '644 0 0'
    failed, result = run_module(node_file.main, dict(args, content='two\n'))
    assert result['changed_containers'] == nodes and _docker('exec', nodes[0], 'cat', PATH).stdout == 'two\n'


def test_check_mode_reports_and_writes_nothing(nodes):
    failed, result = run_module(node_file.main, {'containers': nodes, 'path': PATH, 'content': 'x'}, check_mode=True)
    assert not failed and result['changed_containers'] == nodes
    assert all(_stat(name, PATH) is None for name in nodes)


def test_absent_removes_it_where_it_is(nodes):
    assert run_module(node_file.main, {'containers': nodes[:1], 'path': PATH, 'content': 'x'})[1]['changed'] is True
    args = {'containers': nodes, 'path': PATH, 'state': 'absent'}
    failed, result = run_module(node_file.main, args, check_mode=True)
    assert not failed and result['changed_containers'] == nodes[:1] and _stat(nodes[0], PATH) is not None
    failed, result = run_module(node_file.main, args)
    assert not failed and result['changed_containers'] == nodes[:1] and _stat(nodes[0], PATH) is None
    assert run_module(node_file.main, args)[1]['changed'] is False


def test_a_directory_at_the_path_is_refused(nodes):
    failed, result = run_module(node_file.main, {'containers': nodes, 'path': '/etc', 'content': 'x'})
    assert failed and result['msg'] == '{}: /etc is a directory, not a file'.format(nodes[0])


def test_a_missing_container_fails_with_dockers_error(nodes):
    failed, result = run_module(node_file.main, {'containers': ['okl-node-file-no-such-node'], 'path': PATH, 'content': 'x'})
    assert failed and 'okl-node-file-no-such-node: stat /etc/k8s_node/config failed: ' in result['msg']
    assert 'No such container' in result['msg']


@pytest.mark.parametrize('args,message', [
    ({'path': 'etc/x', 'content': 'token'}, 'path must be an absolute path of a file: etc/x'),
    ({'path': '/etc/x', 'content': 'token', 'mode': 'rw'}, 'mode must be an octal string such as "0644": rw'),
    ({'path': '/etc/x'}, 'state is present but all of the following are missing: content'),
])
def test_bad_arguments_are_refused(args, message):
    failed, result = run_module(node_file.main, dict(args, containers=['okl-node-file-unused']))
    assert failed and result['msg'] == message
