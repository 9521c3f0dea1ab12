# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The netns keeper (roles/devices/files/okl_netns_keeper.py) installed as the role installs it (with the
module_utils it imports under lib/: role_program.py) and run the way tests/e2e/run.sh runs it, once.

Real: the process, its imports from its own lib/ only (python -I), the cli/docker_cli/netns code reading
this machine's namespaces. Fake: docker (a script printing an inspect answer). Moving real netdevs is
molecule's devices scenario and tests/unit/plugins/module_utils/test_netns.py.
"""

import json
import os
import subprocess
import sys

from ansible_collections.openkasugai.all_in_one.tests.unit.roles.role_program import install


def run_once(tmp_path, config):
    keeper = install('devices', str(tmp_path / 'netns-keeper'))
    path = tmp_path / 'netns-keeper' / 'config.json'
    path.write_text(json.dumps(config))
    return subprocess.run([sys.executable, '-I', keeper, '--config', str(path), '--once'],
                          capture_output=True, text=True, timeout=60, check=False)


def fake_docker(tmp_path, containers):
    path = tmp_path / 'docker'
    path.write_text('#!/bin/sh\ncat <<\'EOF\'\n%s\nEOF\n' % json.dumps(containers))
    path.chmod(0o755)
    return str(path)


def test_the_installed_keeper_runs_on_its_own_files(tmp_path):
    proc = run_once(tmp_path, {'interval': 0.1, 'attachments': []})
    assert proc.returncode == 0, proc.stderr
    assert 'INFO watching 0 node(s)' in proc.stderr


def test_a_missing_docker_is_said_and_the_keeper_goes_on(tmp_path):
    config = {'docker': str(tmp_path / 'no-docker'), 'attachments': [{'container': 'node1', 'names': ['veth9']}]}
    proc = run_once(tmp_path, config)
    assert proc.returncode == 0, proc.stderr
    assert f'WARNING node1: "docker" in {tmp_path}/netns-keeper/config.json {tmp_path}/no-docker is not an executable file' in proc.stderr


def test_a_node_in_the_hosts_namespace_is_refused_with_the_reason(tmp_path):
    """A node sharing the host's netns (here: this test's own PID) reaches netns.ensure, which refuses it."""
    docker = fake_docker(tmp_path, [{'Name': '/node1', 'Id': 'abc', 'State': {'Running': True, 'Pid': os.getpid()}}])
    proc = run_once(tmp_path, {'docker': docker, 'attachments': [{'container': 'node1', 'names': ['veth9']}]})
    assert proc.returncode == 0, proc.stderr
    assert f'INFO node1: running as PID {os.getpid()}' in proc.stderr
    assert f'ERROR node1: PID {os.getpid()} shares the network namespace of the host' in proc.stderr
