"""Golden tests of plugins/module_utils/kind_config.py (pure functions; nothing is faked or real: data in, data out).

The inputs are lab_model pieces under tests/unit/fixtures/kind_config/*.input.yml; the expected kind configs
are the *.expected.yml beside them. After an intended change: OKL_UPDATE_GOLDEN=1 pytest ... then review the diff.
"""

import copy
import os
import pathlib

import pytest
import yaml
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import (
    kind_config as kc,
)

FIXTURES = pathlib.Path(__file__).parents[2] / 'fixtures' / 'kind_config'
CASES = sorted(p.name[:-len('.input.yml')] for p in FIXTURES.glob('*.input.yml'))


def load(case):
    return yaml.safe_load((FIXTURES / (f'{case}.input.yml')).read_text())


def rendered(case):
    data = load(case)
    return kc.render(data['cluster'], data['registry'], data['images'], data['certs_dir'])


@pytest.mark.parametrize('case', CASES)
def test_golden(case):
    got = rendered(case)
    expected_file = FIXTURES / (f'{case}.expected.yml')
    if os.environ.get('OKL_UPDATE_GOLDEN'):
        expected_file.write_text(yaml.safe_dump(got, sort_keys=False, default_flow_style=False))
    assert got == yaml.safe_load(expected_file.read_text())
    assert kc.validate(got, got['name']) == []


def test_cases_present():
    assert CASES == ['cpu', 'gpu_sriov']


def test_gpu_sriov_details():
    got = rendered('gpu_sriov')
    _cp, w1, w2 = got['nodes']
    assert 'disableDefaultCNI' not in got['networking']  # kindnet, kind's own CNI, carries pod traffic
    assert w1['image'].startswith('localhost/okl-node:v1.32.2-gpu-') and w2['image'].startswith('localhost/okl-node:v1.32.2-sriov-')
    assert w1['labels'] == {kc.LABEL_GPU: 'true', kc.LABEL_SRIOV: 'true', kc.LABEL_SRIOV_PF: 'ens1f0'}
    assert w2['labels'][kc.LABEL_SRIOV_PF] == '0000-af-00.0'
    assert {'hostPath': '/lib/modules', 'containerPath': '/lib/modules', 'readOnly': True} in w1['extraMounts']
    assert all(n['extraMounts'][0]['containerPath'] == kc.CERTS_D for n in got['nodes'])
    assert 'config_path = "/etc/containerd/certs.d"' in got['containerdConfigPatches'][0]


def test_cpu_defaults_to_published_node_image_and_kindnet():
    got = rendered('cpu')
    assert [n['role'] for n in got['nodes']] == ['control-plane', 'worker', 'worker']
    assert {n['image'] for n in got['nodes']} == {'kindest/node:v1.32.2'}
    assert 'disableDefaultCNI' not in got['networking'] and 'labels' not in got['nodes'][1]


def test_no_registry_no_patch_and_container_toolkit_mount():
    data = load('gpu_sriov')
    cluster = dict(data['cluster'], gpu_method='container_toolkit')
    got = kc.render(cluster, {'type': 'none', 'url': ''}, data['images'])
    assert 'containerdConfigPatches' not in got
    assert got['nodes'][1]['extraMounts'] == [{'hostPath': '/dev/null', 'containerPath': '/var/run/nvidia-container-devices/all'}]
    with pytest.raises(ValueError, match='certs_dir'):
        kc.render(data['cluster'], data['registry'], data['images'])


def test_fingerprint_ignores_key_order_and_sees_changes():
    a = rendered('cpu')
    b = yaml.safe_load(yaml.safe_dump(a, sort_keys=True))
    assert kc.fingerprint(a) == kc.fingerprint(b) and kc.fingerprint(a).startswith('sha256:')
    c = copy.deepcopy(a)
    c['nodes'][1]['image'] = 'kindest/node:v1.31.0'
    assert kc.fingerprint(c) != kc.fingerprint(a)
    d = kc.diff(a, c)
    assert '-      "image": "kindest/node:v1.32.2"' in d and '+      "image": "kindest/node:v1.31.0"' in d
    assert kc.diff(a, b) == ''


@pytest.mark.parametrize('mutate,message', [
    (lambda c: c.update(kind='Pod'), 'config.kind must be "Cluster"'),
    (lambda c: c.update(apiVersion='kind.x-k8s.io/v1alpha3'), 'config.apiVersion'),
    (lambda c: c.update(name='other'), "differs from the cluster name 'lab'"),
    (lambda c: c['nodes'].__setitem__(0, {'role': 'master'}), 'config.nodes[0].role'),
    (lambda c: c.update(nodes=[{'role': 'worker'}]), 'at least one control-plane'),
    (lambda c: c['nodes'][1].update(labels={'x': '0000:af:00.0'}), 'config.nodes[1].labels.x'),
    (lambda c: c['nodes'][1].update(extraMounts=[{'hostPath': '/x'}]), 'extraMounts[0] needs'),
])
def test_validate_names_the_field(mutate, message):
    config = rendered('cpu')
    mutate(config)
    problems = kc.validate(config, 'lab')
    assert problems and any(message in p for p in problems), problems
