"""Tests of plugins/module_utils/kind.py.

Real: the kind binary (installed by tests/bed/setup.sh; found through $OKL_KIND, PATH or the test
cache's go/bin) for `kind version` and `kind get clusters`/`get nodes` parsing; skipped when absent.
Fake: a tiny shell script standing in for an old kind, to prove the version floor fails clearly.
"""

import pytest
from ansible_collections.openkasugai.all_in_one.tests.unit.kind_binary import SKIP_REASON, find_kind
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import (
    kind as kind_mod,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError


KIND = find_kind()
needs_kind = pytest.mark.skipif(KIND is None, reason=SKIP_REASON)


def test_parse_names():
    assert kind_mod.parse_names('a\n\nkasugai\n') == ['a', 'kasugai']
    assert kind_mod.parse_names('No kind clusters found.\n') == []
    assert kind_mod.parse_names('enabling experimental podman provider\nx\n') == ['x']


def test_old_kind_is_refused(tmp_path):
    fake = tmp_path / 'kind'
    fake.write_text('#!/bin/sh\necho "kind v0.17.0 go1.19 linux/amd64"\n')
    fake.chmod(0o755)
    with pytest.raises(CliError, match='needs kind 0.20.0 or later'):
        kind_mod.Kind(str(fake)).version()


def test_failures_carry_the_command(tmp_path):
    fake = tmp_path / 'kind'
    fake.write_text('#!/bin/sh\necho "ERROR: boom" >&2\nexit 3\n')
    fake.chmod(0o755)
    with pytest.raises(CliError) as exc:
        kind_mod.Kind(str(fake)).clusters()
    assert exc.value.rc == 3 and exc.value.cmd == [str(fake), 'get', 'clusters'] and 'boom' in exc.value.msg


@needs_kind
def test_real_kind_version():
    assert kind_mod.Kind(KIND).version() >= kind_mod.MIN_VERSION


@needs_kind
def test_real_kind_lists_clusters_and_nodes():
    k = kind_mod.Kind(KIND)
    clusters = k.clusters()
    assert isinstance(clusters, list) and all(c and ' ' not in c for c in clusters)
    assert 'okl-no-such-cluster' not in clusters
    assert k.nodes('okl-no-such-cluster') == []  # kind prints "No kind nodes found ..." on stderr, rc 0


def _node(name, **ready):
    conditions = [{'type': 'MemoryPressure', 'status': 'False'}] + ([dict(type='Ready', **ready)] if ready else [])
    return {'metadata': {'name': name}, 'status': {'conditions': conditions}}


def test_nodes_not_ready_names_each_waiting_node_and_why():
    listed = {'items': [_node('lab-control-plane', status='True'),
                        _node('lab-worker', status='False', reason='KubeletNotReady', message='container runtime network not ready'),
                        _node('lab-worker2')]}
    assert kind_mod.nodes_not_ready(listed, ['lab-control-plane', 'lab-worker', 'lab-worker2', 'lab-worker3']) == {
        'lab-worker': 'Ready=False (KubeletNotReady: container runtime network not ready)',
        'lab-worker2': 'no Ready condition yet',
        'lab-worker3': 'not registered',
    }


def test_nodes_not_ready_reads_kubectls_json_text():
    import json
    text = json.dumps({'kind': 'List', 'items': [_node('a', status='True'), _node('b', status='True')]})
    assert kind_mod.nodes_not_ready(text, ['a', 'b']) == {}
    assert kind_mod.nodes_not_ready('{"items": null}', ['a']) == {'a': 'not registered'}
