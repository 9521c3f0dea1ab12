"""Tests of the kind_cluster module, run for real through `ansible localhost -m` (JSON callback).

Real: the kind binary (tests/unit/kind_binary.py), docker. Without a node image nothing is created, so the
real part here is: check-mode planning against the real `kind get clusters`, absent on a missing cluster,
config validation, the missing-binary message.
Skipped with the reason when no node image (kindest/node:* or localhost/okl-node:*) is in docker: the full
create -> no-op -> drift refused -> recreate in check mode -> delete cycle (test_real_lifecycle).
"""

import json
import os
import subprocess
import uuid

import pytest
from ansible_collections.openkasugai.all_in_one.tests.unit.kind_binary import SKIP_REASON, find_kind


KIND = find_kind()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
pytestmark = pytest.mark.skipif(KIND is None, reason=SKIP_REASON)


def module(args, check=False, diff=False):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collection-root'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0')
    argv = ['ansible', 'localhost', '-m', 'openkasugai.all_in_one.kind_cluster', '-a', json.dumps(args)]
    argv += ['--check'] if check else []
    argv += ['--diff'] if diff else []
    p = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, cwd=ROOT)
    out = json.loads(p.stdout)
    return out['plays'][0]['tasks'][0]['hosts']['localhost']


def config(image='kindest/node:v1.32.2', workers=1):
    return {'kind': 'Cluster', 'apiVersion': 'kind.x-k8s.io/v1alpha4',
            'nodes': [{'role': 'control-plane', 'image': image}] + [{'role': 'worker', 'image': image}] * workers}


def test_check_mode_plans_a_create_without_touching_anything():
    name = f'okl-ut-{uuid.uuid4().hex[:6]}'
    r = module({'name': name, 'config': config(), 'kind_path': KIND, 'kubeconfig': f'/tmp/{name}/kubeconfig'}, check=True, diff=True)
    assert r['changed'] is True and r['actions'] == ['create', 'write kubeconfig']
    assert r['fingerprint'].startswith('sha256:') and r['nodes'] == []
    assert '"role": "worker"' in r['diff']['after'] and r['diff']['before'] == ''
    assert not os.path.exists(f'/tmp/{name}')


def test_absent_on_a_missing_cluster_is_no_change():
    r = module({'name': 'okl-ut-missing', 'state': 'absent', 'kind_path': KIND})
    assert r['changed'] is False and r['actions'] == [] and not r.get('failed')


@pytest.mark.parametrize('bad,message', [
    ({'kind': 'Cluster', 'apiVersion': 'kind.x-k8s.io/v1alpha3'}, 'config.apiVersion'),
    (dict(config(), name='other'), "differs from the cluster name"),
    ({'kind': 'Cluster', 'apiVersion': 'kind.x-k8s.io/v1alpha4', 'nodes': [{'role': 'worker'}]}, 'at least one control-plane'),
])
def test_invalid_config_fails_before_anything(bad, message):
    r = module({'name': 'okl-ut-bad', 'config': bad, 'kind_path': KIND}, check=True)
    assert r['failed'] and message in r['msg']


def test_missing_binary_says_what_to_do():
    r = module({'name': 'x', 'state': 'absent', 'kind_path': '/nonexistent/kind'})
    assert r['failed'] and 'set kind_path' in r['msg']


def node_image():
    """The node image tests/e2e/run.sh built and verified; it runs this test with OKL_NODE_IMAGE set."""
    return os.environ.get('OKL_NODE_IMAGE') or None


@pytest.mark.skipif(node_image() is None, reason='needs a working kind node image in OKL_NODE_IMAGE: none can be pulled here; '
                    'tests/e2e/run.sh builds one and runs this test with it')
def test_real_lifecycle(tmp_path):
    image = node_image()
    name = f'okl-ut-{uuid.uuid4().hex[:6]}'
    kubeconfig = str(tmp_path / 'kubeconfig')
    base = {'name': name, 'kind_path': KIND, 'kubeconfig': kubeconfig}
    try:
        r = module(dict(base, config=config(image, workers=0), wait='3m', ready_timeout=180))
        assert r['changed'] and r['actions'][0] == 'create', r  # and its node Ready, or it failed naming it
        assert os.stat(kubeconfig).st_mode & 0o777 == 0o600
        assert [n['role'] for n in r['nodes']] == ['control-plane'] and r['nodes'][0]['pid'] > 0
        again = module(dict(base, config=config(image, workers=0)))
        assert again['changed'] is False and again['fingerprint'] == r['fingerprint']
        drift = module(dict(base, config=config(image, workers=1)))
        assert drift['failed'] and 'recreate: true' in drift['msg'] and '"role": "worker"' in drift['msg']
        plan = module(dict(base, config=config(image, workers=1), recreate=True), check=True)
        assert plan['actions'][:2] == ['delete', 'create']
    finally:
        gone = module(dict(base, state='absent'))
        assert gone['actions'][0] == 'delete'
    assert module(dict(base, state='absent'))['changed'] is False


def test_check_mode_renders_from_the_lab_model():
    import yaml
    fixture = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'kind_config')
    with open(os.path.join(fixture, 'gpu_sriov.input.yml')) as f:
        data = yaml.safe_load(f)
    with open(os.path.join(fixture, 'gpu_sriov.expected.yml')) as f:
        expected = yaml.safe_load(f)
    name = f'okl-ut-{uuid.uuid4().hex[:6]}'
    cluster = dict(data['cluster'], name=name)
    r = module({'name': name, 'lab_cluster': cluster, 'lab_registry': dict(data['registry'], password='s3cret'),
                'node_images': data['images'], 'certs_dir': data['certs_dir'], 'kind_path': KIND}, check=True)
    assert r['changed'] and r['actions'] == ['create']
    assert r['config'] == dict(expected, name=name)
    assert 's3cret' not in json.dumps(r)


def test_check_mode_plans_the_network_and_the_fixed_addresses():
    import yaml
    from ansible_collections.openkasugai.all_in_one.plugins.module_utils.lab_model import network_plan
    with open(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'kind_config', 'gpu_sriov.input.yml')) as f:
        data = yaml.safe_load(f)
    name = f'okl-ut-{uuid.uuid4().hex[:6]}'
    network = dict(name='kind-' + name, subnet='172.31.251.0/24', **network_plan('172.31.251.0/24', len(data['cluster']['nodes'])))
    cluster = dict(data['cluster'], name=name, docker_network=network)
    r = module({'name': name, 'lab_cluster': cluster, 'lab_registry': data['registry'], 'node_images': data['images'],
                'certs_dir': data['certs_dir'], 'kind_path': KIND}, check=True)
    assert r['changed'] and r['actions'] == ['create the network with docker allocating from 172.31.251.0/28', 'create', 'pin node addresses']
    seen = subprocess.run(['docker', 'network', 'inspect', network['name']], capture_output=True, text=True, check=False)
    assert seen.returncode != 0  # check mode created nothing
