"""Which node image each node runs and which images the node_image stage builds.

Real: the lab model as the lab_model module normalizes it (its node features), the plan and refs
functions the node_image role's filters call. Nothing is faked.
"""

import hashlib

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import lab_model
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import node_image_plan as nip

BASE = 'docker.io/kindest/node:{kubernetes_version}'
SHA = 'sha256:' + 'a' * 64


def model(*clusters):
    downloads = {name: {'version': 'v1', 'url': 'https://example.invalid/%s' % name, 'checksum': SHA}
                 for name in ('kind', 'kubectl', 'hardware_drivers', 'parson', 'multus_manifest', 'sriov_cni_manifest',
                              'sriov_device_plugin_manifest')}
    normalized, problems = lab_model.check({'downloads': downloads, 'clusters': list(clusters)})
    assert problems == []
    return normalized


def cluster(name, subnet, nodes, **extra):
    return dict(name=name, docker_network={'subnet': subnet}, nodes=nodes, **extra)


def key(version, features, base):
    return '%s-%s-%s' % (version, '-'.join(features), hashlib.sha1(base.encode()).hexdigest()[:8])


def test_plain_nodes_run_the_base_and_devices_share_one_build_per_feature_set():
    lab = model(cluster('kasugai', '172.30.0.0/24', [
        {'role': 'control-plane'},
        {'role': 'worker', 'nics': [{'pf': 'ens1f0', 'num_vfs': 4}]},
        {'role': 'worker', 'nics': [{'pf': 'ens1f1', 'num_vfs': 4}]},
        {'role': 'worker', 'gpus': [{'pci_address': '0000:86:00.0'}], 'nics': [{'pf': 'ens2f0'}]},
    ]))
    plan = nip.plan(lab, BASE)
    base = 'docker.io/kindest/node:v1.34.1'
    sriov, gpu = key('v1.34.1', ['sriov'], base), key('v1.34.1', ['gpu', 'sriov'], base)
    assert [(n['node'], n['build'], n['key'], n['ref']) for n in plan['nodes']] == [
        ('kasugai-control-plane', False, '', base),
        ('kasugai-worker', True, sriov, ''),
        ('kasugai-worker2', True, sriov, ''),
        ('kasugai-worker3', True, gpu, ''),
    ]
    assert plan['specs'] == [dict(key=sriov, base=base, features=['sriov'], kubernetes_version='v1.34.1'),
                             dict(key=gpu, base=base, features=['gpu', 'sriov'], kubernetes_version='v1.34.1')]
    refs = nip.refs(plan['nodes'], {sriov: 'localhost/kind-node:sriov', gpu: 'localhost/kind-node:gpu'})
    assert refs == {'kasugai-control-plane': base, 'kasugai-worker': 'localhost/kind-node:sriov',
                    'kasugai-worker2': 'localhost/kind-node:sriov', 'kasugai-worker3': 'localhost/kind-node:gpu',
                    'control_plane': base, 'worker': 'localhost/kind-node:sriov', 'gpu_worker': 'localhost/kind-node:gpu'}


def test_a_clusters_own_image_and_base_override_win_and_kinds_that_disagree_are_left_out():
    lab = model(cluster('one', '172.30.0.0/24', [{'role': 'control-plane'}, {'role': 'worker'}], node_image='harbor.example.com/my/node:v1'),
                cluster('two', '172.31.0.0/24', [{'role': 'control-plane'}, {'role': 'worker', 'nics': [{'pf': 'ens1f0'}]}],
                        kubernetes_version='v1.33.4'))
    plan = nip.plan(lab, BASE, {'two': 'harbor.example.com/mirror/kindest/node:v1.33.4'})
    assert [(n['node'], n['build'], n['ref']) for n in plan['nodes']] == [
        ('one-control-plane', False, 'harbor.example.com/my/node:v1'),
        ('one-worker', False, 'harbor.example.com/my/node:v1'),
        ('two-control-plane', False, 'harbor.example.com/mirror/kindest/node:v1.33.4'),
        ('two-worker', True, ''),
    ]
    assert plan['specs'][0]['base'] == 'harbor.example.com/mirror/kindest/node:v1.33.4'
    # the control planes of the two clusters differ, and so do the workers (one's build not done yet): no key by kind
    refs = nip.refs(plan['nodes'], {})
    assert refs == {'one-control-plane': 'harbor.example.com/my/node:v1', 'one-worker': 'harbor.example.com/my/node:v1',
                    'two-control-plane': 'harbor.example.com/mirror/kindest/node:v1.33.4'}
