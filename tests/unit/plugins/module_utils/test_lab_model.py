"""The lab model's rules: every broken model is refused naming the field and the fix.

Real: ansible-core's ArgumentSpecValidator applies the module's argument spec (types,
defaults, choices) exactly as the module does; the rules run on its output; host rules
read a sysfs/procfs tree through the real Sysfs reader.
Fake: the tree itself (tests/unit/fakesys.py builds the seed's kind-host: uplink eno1,
ConnectX-5 PFs ens1f0/ens1f1 on bus 0x3b and ens2f0 on 0xaf with 8 VFs each, an A100 at
0000:86:00.0), since this machine has no GPU or SR-IOV NIC.
"""

import copy
import shutil
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import addon_images, lab_model
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs, default_route_interfaces, host_routes

from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys

SHA = 'sha256:' + 'a' * 64
DOWNLOADS = {
    'kind': {'version': 'v0.27.0', 'url': 'https://example.invalid/kind', 'checksum': SHA},
    'kubectl': {'version': 'v1.34.1', 'url': 'file:///srv/mirror/kubectl', 'checksum': SHA},
    'metallb_manifest': {'version': 'v0.14.8', 'url': 'https://example.invalid/metallb-native.yaml', 'checksum': SHA},
    'hardware_drivers': {'version': '7d90364', 'url': 'file:///srv/mirror/hardware-drivers.tar.gz', 'checksum': SHA},
    'parson': {'version': 'ba29f4e', 'url': 'file:///srv/mirror/parson.tar.gz', 'checksum': SHA},
    'gst_perf_source': {'version': '01df710', 'url': 'file:///srv/mirror/gst-perf-01df710.tar.gz', 'checksum': SHA},
}
SRIOV_DOWNLOADS = dict(DOWNLOADS, **{
    name: {'version': 'v1', 'url': 'https://example.invalid/%s.yaml' % name, 'checksum': SHA}
    for name in ('multus_manifest', 'sriov_cni_manifest', 'sriov_device_plugin_manifest', 'nv_ipam_source')})
# The add-ons' source archives, for lab_build_from_source: [addon_images].
SOURCES = {name: {'version': 'v1', 'url': 'file:///srv/mirror/%s.tar.gz' % name, 'checksum': SHA}
           for name in ('multus_source', 'sriov_cni_source', 'sriov_device_plugin_source')}

CPU_LAB = {
    'registry': {'type': 'local', 'url': '172.30.0.1:5443'},
    'downloads': DOWNLOADS,
    'clusters': [{
        'name': 'kasugai',
        'docker_network': {'subnet': '172.30.0.0/24'},
        'nodes': [{'role': 'control-plane'}, {'role': 'worker'}, {'role': 'worker'}],
        'addons': {'metallb': {'enabled': True}},
        'scenarios': [{'name': 'calc-basic', 'chain': ['send', 'plus', 'minus', 'rcv']}],
    }],
}

GPU_SRIOV_LAB = {
    'registry': {'type': 'external', 'url': 'harbor.example.com', 'ca_file': '/etc/harbor-ca.crt',
                 'username': 'admin', 'password': 'secret'},
    'downloads': SRIOV_DOWNLOADS,
    'clusters': [{
        'name': 'kasugai',
        'docker_network': {'subnet': '172.30.0.0/24'},
        'nodes': [
            {'role': 'control-plane'},
            {'role': 'worker', 'gpus': [{'pci_address': '86:00.0'}],
             'nics': [{'pf': 'ens1f0', 'num_vfs': 8, 'pf_address': '192.168.91.11/24'}]},
            {'role': 'worker', 'nics': [{'pf': '0000:af:00.0', 'num_vfs': 8, 'pf_address': '192.168.91.12/24'}]},
        ],
        'addons': {
            'metallb': {'addresses': ['192.168.91.240-192.168.91.249']},
            'nv_ipam': {'subnet': '192.168.91.0/24', 'gateway': '192.168.91.1',
                        'exclusions': ['192.168.91.0-192.168.91.199', '192.168.91.240-192.168.91.255']},
        },
        'scenarios': [{'name': name} for name in ('calc-basic', 'calc-sriov', 'video-p1c1', 'video-p1c2', 'video-p3c1',
                                                  'video-p2c1', 'video-p2c2', 'video-p2c3', 'video-p2c4')]
        + [{'name': 'video-p1c1', 'multi_worker': True}],
    }],
}


def validated(raw):
    """What the module sees after AnsibleModule applied the argument spec."""
    result = ArgumentSpecValidator(lab_model.ARGUMENT_SPEC).validate(copy.deepcopy(raw))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def problems_of(raw):
    """Every problem of the model as the module finds them: types part by part, then the cross-field rules."""
    return lab_model.check(copy.deepcopy(raw))[1]


@pytest.fixture
def machine(tmp_path):
    return FakeSys(tmp_path).build_lab_machine(totalvfs=8)


def host_problems(raw, machine, ca_exists=True):
    model = lab_model.normalize(validated(raw))
    return lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root),
                                path_exists=lambda path: ca_exists, routes=host_routes(machine.root))


def test_both_sample_models_pass(machine):
    assert problems_of(CPU_LAB) == []
    assert problems_of(GPU_SRIOV_LAB) == []
    assert host_problems(GPU_SRIOV_LAB, machine) == []


def test_normalize_names_nodes_as_kind_does_and_fills_defaults():
    model = lab_model.normalize(validated(GPU_SRIOV_LAB))
    cluster = model['clusters'][0]
    assert [n['name'] for n in cluster['nodes']] == ['kasugai-control-plane', 'kasugai-worker', 'kasugai-worker2']
    assert cluster['docker_network']['name'] == 'kind-kasugai'
    assert cluster['kubeconfig'] == '/var/lib/openkasugai-lab/kasugai/kubeconfig'
    assert model['registry']['host'] == 'harbor.example.com' and model['registry']['port'] == 443
    assert model['gpus'] == [{'cluster': 'kasugai', 'selected': True, 'node': 'kasugai-worker', 'gpu_method': 'node_driver',
                              'pci_address': '0000:86:00.0'}]
    assert [(n['node'], n['pf'], n['num_vfs']) for n in model['nics']] == [
        ('kasugai-worker', 'ens1f0', 8), ('kasugai-worker2', '0000:af:00.0', 8)]


def test_normalize_gives_each_node_its_image_features_each_pf_its_attachment_and_each_scenario_its_id():
    model = lab_model.normalize(validated(GPU_SRIOV_LAB))
    cluster = model['clusters'][0]
    assert [n['features'] for n in cluster['nodes']] == [[], ['gpu', 'sriov'], ['sriov']]
    assert model['nics'][0]['attachment'] == dict(container='kasugai-worker', pf='ens1f0', include_pf=True, names=[],
                                                  addresses={'ens1f0': '192.168.91.11/24'}, rename={})
    assert model['nics'][1]['attachment']['addresses'] == {'0000:af:00.0': '192.168.91.12/24'}
    assert [s['id'] for s in cluster['scenarios']][-1] == 'video-p1c1-multi-worker'
    raw = copy.deepcopy(GPU_SRIOV_LAB)
    raw['clusters'][0]['gpu_method'] = 'container_toolkit'
    assert lab_model.normalize(validated(raw))['clusters'][0]['nodes'][1]['features'] == ['sriov', 'toolkit']


def test_a_pf_moved_into_its_node_is_found_by_its_recorded_address(machine, tmp_path):
    """A re-run of a built lab: ens1f0 (move_pf) sits in kasugai-worker's netns, the host no longer sees it by name."""
    for path in (Path(machine.root) / 'sys/class/net/ens1f0', Path(machine.root) / 'sys/bus/pci/devices/0000:3b:00.0/net/ens1f0'):
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
    model = lab_model.normalize(validated(GPU_SRIOV_LAB))

    def problems(recorded):
        found = lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root),
                                     path_exists=lambda path: True, routes=host_routes(machine.root), recorded_pfs=recorded)
        return [p.field for p in found]
    assert problems({}) == ['lab_clusters (kasugai, kasugai-worker).nics (ens1f0).pf']
    record = tmp_path / 'original-state.json'
    record.write_text('{"pfs": {"ens1f0": {"pci_address": "0000:3b:00.0", "netdev": "ens1f0", "sriov_numvfs": 0}}}')
    assert lab_model.read_recorded_pfs(str(record)) == {'ens1f0': '0000:3b:00.0'}
    assert problems(lab_model.read_recorded_pfs(str(record))) == []
    assert lab_model.read_recorded_pfs(str(tmp_path / 'none.json')) == {}
    assert model['accelerators_state_file'] == '/var/lib/openkasugai-lab/accelerators/original-state.json'


def test_default_metallb_pool_sits_at_the_top_of_the_docker_network():
    model = lab_model.normalize(validated(CPU_LAB))
    assert model['clusters'][0]['addons']['metallb']['addresses'] == ['172.30.0.244-172.30.0.253']
    assert model['registry']['ca_file'] == '/var/lib/openkasugai-lab/registry/ca.crt'


def test_node_addresses_are_fixed_below_dockers_own_range():
    network = lab_model.normalize(validated(CPU_LAB))['clusters'][0]['docker_network']
    assert network['gateway'] == '172.30.0.1'
    assert network['node_range'] == '172.30.0.0/28' and network['node_addresses'] == ['172.30.0.2', '172.30.0.3', '172.30.0.4']
    assert network['ip_range'] == '172.30.0.16/28'
    # 20 nodes need a bigger block; docker's range follows it and stays below the MetalLB pool at the top
    assert lab_model.network_plan('10.1.0.0/24', 20) == dict(
        gateway='10.1.0.1', node_range='10.1.0.0/27', ip_range='10.1.0.32/27',
        node_addresses=['10.1.0.%d' % i for i in range(2, 22)])
    assert lab_model.network_plan('10.1.0.0/27', 3) is None
    assert lab_model.network_plan('not-a-net', 3) is None


def test_fpgas_turn_the_device_plugin_on_for_their_nodes(machine):
    raw = copy.deepcopy(GPU_SRIOV_LAB)
    raw['clusters'][0]['nodes'][2]['fpgas'] = [{'pci_address': 'd8:00.0'}]
    model = lab_model.normalize(validated(raw))
    plugin = model['clusters'][0]['addons']['device_plugin']
    assert plugin == {'enabled': True, 'nodes': ['kasugai-worker2']}
    assert model['device_plugin'] is True
    assert model['fpgas'] == [{'cluster': 'kasugai', 'selected': True, 'node': 'kasugai-worker2', 'pci_address': '0000:d8:00.0'}]
    assert problems_of(raw) == [] and host_problems(raw, machine) == []
    assert '  kasugai-worker2: FPGAs 0000:d8:00.0, advertised by the accelerator device plugin' in lab_model.plan(model)
    without = lab_model.normalize(validated(GPU_SRIOV_LAB))
    assert without['clusters'][0]['addons']['device_plugin']['enabled'] is False and without['device_plugin'] is False


def test_lab_only_narrows_the_clusters_and_keeps_every_labs_devices():
    raw = broken(GPU_SRIOV_LAB, _second_cluster(docker_network={'subnet': '172.31.0.0/24'}, addons={},
                                                nodes=[{'role': 'control-plane'}, {'role': 'worker', 'nics': [{'pf': 'ens2f1'}]}]))
    raw['only'] = ['second']
    model, problems = lab_model.check(raw)
    assert problems == []
    assert [c['name'] for c in model['clusters']] == ['second']
    assert model['only'] == ['second'] and model['others'] == ['kasugai']
    # the host's devices stay whole: the accelerators stage keeps every lab's VFs, the keeper every lab's netdevs
    assert [(n['cluster'], n['pf'], n['selected']) for n in model['nics']] == [
        ('kasugai', 'ens1f0', False), ('kasugai', '0000:af:00.0', False), ('second', 'ens2f1', True)]
    assert [g['selected'] for g in model['gpus']] == [False]
    assert model['selected_nodes'] == ['second-control-plane', 'second-worker']
    # the add-ons whose images each cluster runs: second's PF has no VFs, so no add-on is on there
    assert model['clusters'][0]['image_addons'] == []
    assert 'lab_only: acting on second; left alone: kasugai' in lab_model.plan(model)
    # no selection: every cluster, nothing left alone
    whole = lab_model.check(dict(raw, only=[]))[0]
    assert [c['name'] for c in whole['clusters']] == ['kasugai', 'second'] and whole['others'] == [] and whole['only'] == []
    assert all(n['selected'] for n in whole['nics']) and len(whole['selected_nodes']) == 5
    assert whole['clusters'][0]['image_addons'] == ['metallb', 'multus', 'nv_ipam', 'sriov_cni', 'sriov_device_plugin']


def test_plan_says_what_will_be_built():
    text = '\n'.join(lab_model.plan(lab_model.normalize(validated(GPU_SRIOV_LAB))))
    assert 'cluster kasugai: 1 control-plane + 2 workers' in text
    assert 'kasugai-worker: GPU 0000:86:00.0 (host driver unloaded, loaded inside kasugai-worker)' in text
    assert 'node addresses fixed in 172.30.0.0/28 (172.30.0.2, 172.30.0.3, 172.30.0.4), docker allocates from 172.30.0.16/28' in text
    assert 'kasugai-worker2: PF 0000:af:00.0 -> 8 VFs + the PF with 192.168.91.12/24 moved into the node' in text
    assert 'scenario video-p1c1' in text and '(multi-worker)' in text


def broken(base, edit):
    raw = copy.deepcopy(base)
    edit(raw)
    return raw


def _set(path, value):
    def edit(raw):
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _cluster(edit_cluster):
    def edit(raw):
        edit_cluster(raw['clusters'][0])
    return edit


def _chain(*edits):
    def edit(raw):
        for one in edits:
            one(raw)
    return edit


def _second_cluster(**changes):
    def edit(raw):
        other = copy.deepcopy(raw['clusters'][0])
        other.update(name='second', scenarios=[])
        other.update(changes)
        raw['clusters'].append(other)
    return edit


# (id, base model, edit, field that must be named, words of the message, words of the fix)
MODEL_CASES = [
    ('pod-overlaps-service', CPU_LAB, _cluster(lambda c: c.update(pod_subnet='10.96.0.0/12')),
     'lab_clusters[0] (kasugai).service_subnet', 'overlaps pod_subnet', 'non-overlapping'),
    ('subnet-not-cidr', CPU_LAB, _cluster(lambda c: c.update(pod_subnet='10.244.0.1/16')),
     'lab_clusters[0] (kasugai).pod_subnet', 'not a network in CIDR form', 'prefix'),
    ('docker-networks-overlap', CPU_LAB, _second_cluster(docker_network={'subnet': '172.30.0.128/25'}),
     'lab_clusters[1] (second).docker_network.subnet', 'overlaps the docker network of lab_clusters[0]', 'its own'),
    ('docker-network-too-small', CPU_LAB, _cluster(lambda c: c.update(docker_network={'subnet': '172.30.0.0/27'})),
     'lab_clusters[0] (kasugai).docker_network.subnet', 'too small for 3 nodes', '/26 or larger'),
    ('metallb-pool-on-node-addresses', CPU_LAB, _cluster(lambda c: c['addons']['metallb'].update(addresses=['172.30.0.3-172.30.0.9'])),
     'lab_clusters[0] (kasugai).addons.metallb.addresses[0]', "overlaps the nodes' fixed addresses", 'above 172.30.0.16/28'),
    ('metallb-pool-in-dockers-range', CPU_LAB, _cluster(lambda c: c['addons']['metallb'].update(addresses=['172.30.0.16/30'])),
     'lab_clusters[0] (kasugai).addons.metallb.addresses[0]', "overlaps docker's automatic allocation", 'above'),
    ('cluster-twice', CPU_LAB, _second_cluster(name='kasugai', docker_network={'subnet': '172.31.0.0/24'}),
     'lab_clusters[1].name', 'described twice', 'its own name'),
    ('bad-cluster-name', CPU_LAB, _cluster(lambda c: c.update(name='Kasugai_Lab')),
     'lab_clusters[0].name', 'not a valid kind cluster name', 'lowercase'),
    ('no-control-plane', CPU_LAB, _cluster(lambda c: c.update(nodes=[{'role': 'worker'}])),
     'lab_clusters[0] (kasugai).nodes', 'no control-plane', 'role: control-plane'),
    ('gpu-on-control-plane', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][0].update(gpus=[{'pci_address': '0000:87:00.0'}])),
     'nodes[0] (kasugai-control-plane)', 'cannot own GPUs, NICs or FPGAs', 'worker'),
    ('fpga-on-control-plane', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][0].update(fpgas=[{'pci_address': '0000:d8:00.0'}])),
     'nodes[0] (kasugai-control-plane)', 'cannot own GPUs, NICs or FPGAs', 'worker'),
    ('fpga-not-a-pci-address', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][1].update(fpgas=[{'pci_address': 'd8:00'}])),
     'nodes[1] (kasugai-worker).fpgas[0].pci_address', 'not a PCI address', 'lspci -D'),
    ('fpga-to-two-nodes', GPU_SRIOV_LAB, _cluster(lambda c: (c['nodes'][1].update(fpgas=[{'pci_address': '0000:d8:00.0'}]),
                                                             c['nodes'][2].update(fpgas=[{'pci_address': 'd8:00.0'}]))),
     'lab_clusters (kasugai, kasugai-worker2).fpgas', 'FPGA 0000:d8:00.0 is already given to kasugai-worker', 'one node of one cluster'),
    ('gpu-to-two-nodes', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2].update(gpus=[{'pci_address': '0000:86:00.0'}])),
     'lab_clusters (kasugai, kasugai-worker2).gpus', 'already given to kasugai-worker', 'one node'),
    ('gpu-to-two-clusters', GPU_SRIOV_LAB,
     _second_cluster(docker_network={'subnet': '172.31.0.0/24'}, addons={},
                     nodes=[{'role': 'control-plane'}, {'role': 'worker', 'gpus': [{'pci_address': '0000:86:00.0'}]}]),
     'lab_clusters (second, second-worker).gpus', 'already given to kasugai-worker in cluster kasugai', 'one cluster'),
    ('node-driver-gpus-on-two-nodes', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2].update(gpus=[{'pci_address': '0000:87:00.0'}])),
     'lab_clusters[*].gpu_method', 'loaded once per host', 'container_toolkit'),
    ('pf-to-two-nodes', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2]['nics'].append({'pf': 'ens1f0'})),
     'lab_clusters (kasugai, kasugai-worker2).nics', 'PF ens1f0 is already given', 'one node'),
    ('bad-gpu-address', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][1].update(gpus=[{'pci_address': 'gpu0'}])),
     'gpus[0].pci_address', 'not a PCI address', '0000:3b:00.0'),
    ('pf-address-twice', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2]['nics'][0].update(pf_address='192.168.91.11/24')),
     'pf_address', 'also the address of PF ens1f0', 'its own address'),
    ('address-for-pf-left-on-host', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2]['nics'][0].update(move_pf=False)),
     'nics[0].pf_address', 'stays on the host', 'move_pf: true'),
    ('metallb-outside-networks', CPU_LAB, _cluster(lambda c: c.update(addons={'metallb': {'enabled': True, 'addresses': ['10.1.0.10-10.1.0.20']}})),
     'addons.metallb.addresses[0]', 'outside the docker network', 'inside 172.30.0.0/24'),
    ('metallb-not-a-range', CPU_LAB, _cluster(lambda c: c.update(addons={'metallb': {'enabled': True, 'addresses': ['pool-a']}})),
     'addons.metallb.addresses[0]', 'neither a range', 'e.g.'),
    ('metallb-pools-overlap', CPU_LAB,
     _second_cluster(docker_network={'subnet': '172.31.0.0/24'},
                     addons={'metallb': {'enabled': True, 'addresses': ['172.30.0.250-172.30.0.252']}}),
     'lab_clusters[1] (second).addons.metallb.addresses[0]', 'overlaps the MetalLB pool 172.30.0.244-172.30.0.253 of lab_clusters[0]',
     'its own addresses'),
    ('metallb-overlaps-nv-ipam', GPU_SRIOV_LAB,
     _cluster(lambda c: c['addons']['nv_ipam'].update(exclusions=['192.168.91.0-192.168.91.199'])),
     'addons.metallb.addresses', 'overlaps the nv-ipam pool nv-pool1 (192.168.91.240', 'exclusions'),
    ('nv-ipam-gateway-outside', GPU_SRIOV_LAB, _cluster(lambda c: c['addons']['nv_ipam'].update(gateway='10.0.0.1')),
     'addons.nv_ipam.gateway', 'not an address inside 192.168.91.0/24', 'SR-IOV network'),
    ('unknown-scenario', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'video-p9c9'}])),
     'scenarios[0].name', 'got: video-p9c9', 'calc-basic'),
    ('video-sriov-scenario-without-vfs', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'video-p3c1'}])),
     'scenarios[0].name', 'video-p3c1 runs over SR-IOV but no worker of the cluster has VFs', 'num_vfs > 0'),
    ('sriov-scenario-without-vfs', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'calc-sriov'}])),
     'scenarios[0].name', 'no worker of the cluster has VFs', 'num_vfs > 0'),
    ('gpu-scenario-without-gpu', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'video-p2c1'}])),
     'scenarios[0].name', 'no worker of the cluster has a GPU', 'CPU-only'),
    ('multi-worker-on-one-worker', CPU_LAB,
     _cluster(lambda c: c.update(nodes=[{'role': 'control-plane'}, {'role': 'worker'}],
                                 scenarios=[{'name': 'calc-basic', 'multi_worker': True}])),
     'scenarios[0].multi_worker', 'at least 2 workers', 'add a worker'),
    ('scenario-without-metallb', CPU_LAB, _cluster(lambda c: c.update(addons={'metallb': {'enabled': False}}, scenarios=[{'name': 'video-p1c1'}])),
     'scenarios[0].name', 'needs MetalLB', 'enable addons.metallb'),
    ('chain-with-unknown-function', CPU_LAB, _cluster(lambda c: c['scenarios'][0].update(chain=['send', 'modulo', 'rcv'])),
     'scenarios[0].chain[1]', "unknown function 'modulo'", 'plus'),
    ('chain-not-from-send-to-rcv', CPU_LAB, _cluster(lambda c: c['scenarios'][0].update(chain=['plus', 'rcv'])),
     'scenarios[0].chain', 'starts with send and ends with rcv', 'send, plus'),
    ('registry-url-with-scheme', GPU_SRIOV_LAB, _set(['registry', 'url'], 'https://harbor.example.com/'),
     'lab_registry.url', 'carries a scheme', 'harbor.example.com'),
    ('external-registry-without-ca', GPU_SRIOV_LAB, _set(['registry', 'ca_file'], ''),
     'lab_registry.ca_file', 'needs the CA', 'PEM file'),
    ('username-without-password', GPU_SRIOV_LAB, _set(['registry', 'password'], ''),
     'lab_registry.password', 'both a username and a password', 'vault'),
    ('download-over-plain-http', CPU_LAB, _set(['downloads', 'kind', 'url'], 'http://example.invalid/kind'),
     'lab_downloads.kind.url', 'plain HTTP', 'https://'),
    ('download-without-checksum-algorithm', CPU_LAB, _set(['downloads', 'kubectl', 'checksum'], 'a' * 64),
     'lab_downloads.kubectl.checksum', 'is not sha256:', 'algorithm prefix'),
    ('download-missing', CPU_LAB, lambda raw: raw['downloads'].pop('kubectl'),
     'lab_downloads.kubectl', 'no download is described', 'version, url and checksum'),
    ('addon-manifest-missing', GPU_SRIOV_LAB, lambda raw: raw['downloads'].pop('multus_manifest'),
     'lab_downloads.multus_manifest', 'the multus add-on of lab_clusters[0] (kasugai) is enabled', 'or disable the add-on'),
    ('libfpga-sources-missing', CPU_LAB, lambda raw: raw['downloads'].pop('parson'),
     'lab_downloads.parson', 'EthernetConnection controller is a cgo program', 'lab_downloads.parson {version, url, checksum}'),
    ('gst-perf-missing', CPU_LAB, _chain(lambda raw: raw['downloads'].pop('gst_perf_source'),
                                         _cluster(lambda c: c.update(scenarios=[{'name': 'video-p1c1'}]))),
     'lab_downloads.gst_perf_source', 'the gst-perf source the video tools are built with', 'lab_downloads.gst_perf_source'),
    ('video-on-a-calc-scenario', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'calc-basic', 'video': '/srv/videos/a.mp4'}])),
     'scenarios[0].video', 'only the video scenarios stream a video', 'remove video'),
    ('video-not-an-absolute-mp4', CPU_LAB, _cluster(lambda c: c.update(scenarios=[{'name': 'video-p1c1', 'video': 'videos/a.mp4'}])),
     'scenarios[0].video', 'is not an absolute path to an mp4 file', '/srv/videos/traffic.mp4'),
    ('nv-ipam-source-missing', GPU_SRIOV_LAB, lambda raw: raw['downloads'].pop('nv_ipam_source'),
     'lab_downloads.nv_ipam_source', 'the nv_ipam add-on of lab_clusters[0] (kasugai) is enabled', 'lab_downloads.nv_ipam_source'),
    ('addon-source-missing', GPU_SRIOV_LAB, lambda raw: raw.update(build_from_source=['addon_images']),
     'lab_downloads.multus_source', "builds the multus add-on's images", 'lab_downloads.multus_source'),
    ('build-from-source-not-a-choice', CPU_LAB, lambda raw: raw.update(build_from_source=['controllers']),
     'lab_build_from_source', 'controllers', 'node_image'),
    ('cni-calico-dropped', CPU_LAB, _cluster(lambda c: c.update(cni='calico')),
     'lab_clusters[0] (kasugai).cni', 'got: calico', 'kindnet'),
    ('local-manifest-without-version', GPU_SRIOV_LAB, _set(['downloads', 'metallb_manifest'], {'path': '/srv/metallb.yaml'}),
     'lab_downloads.metallb_manifest.version', 'is missing', 'local path'),
    ('sriov-without-multus', GPU_SRIOV_LAB, _cluster(lambda c: c['addons'].update(multus={'enabled': False})),
     'addons.sriov.enabled', 'Multus, which is disabled', 'enable addons.multus'),
    ('nv-ipam-without-subnet', CPU_LAB, _cluster(lambda c: c.update(addons={'nv_ipam': {'enabled': True}})),
     'addons.nv_ipam.subnet', 'enabled without a pool subnet', 'disable addons.nv_ipam'),
    ('empty-image-override', CPU_LAB, _cluster(lambda c: c.update(addons={'image_overrides': [{'name': 'quay.io/metallb/controller'}]})),
     'addons.image_overrides[0]', 'overridden with nothing', 'new_name'),
    ('scenario-without-openkasugai', CPU_LAB, _cluster(lambda c: c.update(addons={'openkasugai': {'enabled': False}})),
     'scenarios[0].name', 'OpenKasugai controllers, which are disabled', 'enable addons.openkasugai'),
    ('sriov-scenario-with-sriov-disabled', GPU_SRIOV_LAB, _cluster(lambda c: c['addons'].update(sriov={'enabled': False})),
     'scenarios[1].name', 'SR-IOV CNI and device plugin, which are disabled', 'enable addons.sriov'),
    ('controller-path-not-given', CPU_LAB, _set(['controller_source'], {'type': 'path'}),
     'lab_controller_source.path', 'required with type path', 'git, path, archive'),
    ('controller-archive-bad-checksum', CPU_LAB,
     _set(['controller_source'], {'type': 'archive', 'archive_url': 'https://example.invalid/c.tar.gz', 'checksum': 'md5:00'}),
     'lab_controller_source.checksum', 'is not sha256', 'algorithm prefix'),
    ('controller-git-over-http', CPU_LAB, _set(['controller_source'], {'git_url': 'http://example.invalid/controller.git'}),
     'lab_controller_source.git_url', 'plain HTTP', 'https://'),
]


# Names docker, kind or Kubernetes would reject, shell-like characters named.
def _addons(section, **values):
    return _cluster(lambda c: c['addons'].setdefault(section, {}).update(values))


NAME_CASES = [
    ('name-cluster-with-space', CPU_LAB, _cluster(lambda c: c.update(name='kas ugai')),
     'lab_clusters[0].name', "not a valid kind cluster name (it contains ' ')", 'lowercase letters'),
    ('name-cluster-too-long', CPU_LAB, _cluster(lambda c: c.update(name='a' * 40)),
     'lab_clusters[0].name', 'not a valid kind cluster name', 'at most 32 characters'),
    ('name-cluster-leading-dash', CPU_LAB, _cluster(lambda c: c.update(name='-kasugai')),
     'lab_clusters[0].name', 'not a valid kind cluster name', 'starting and ending with a letter or digit'),
    ('name-docker-network-shell', CPU_LAB, _cluster(lambda c: c['docker_network'].update(name='kind;rm -rf')),
     'lab_clusters[0] (kasugai).docker_network.name', "not a name docker accepts for a network (it contains ' ', ';')", '_ . and -'),
    ('name-docker-network-leading-dot', CPU_LAB, _cluster(lambda c: c['docker_network'].update(name='.lab')),
     'lab_clusters[0] (kasugai).docker_network.name', "'.lab' is not a name docker accepts", 'starting with a letter or digit'),
    ('name-namespace-uppercase', CPU_LAB, _addons('openkasugai', namespaces=['CpuFunc']),
     'addons.openkasugai.namespaces[0]', "'CpuFunc' is not a Kubernetes namespace name (DNS-1123 label)", 'lowercase'),
    ('name-namespace-too-long', CPU_LAB, _addons('openkasugai', namespaces=['n' * 64]),
     'addons.openkasugai.namespaces[0]', 'DNS-1123 label', 'at most 63 characters'),
    ('name-namespace-with-dollar', CPU_LAB, _addons('openkasugai', namespaces=['ns-$USER']),
     'addons.openkasugai.namespaces[0]', "(it contains '$')", 'lowercase'),
    ('name-pool-with-underscore', GPU_SRIOV_LAB, _addons('nv_ipam', pool_name='nv_pool1'),
     'addons.nv_ipam.pool_name', "'nv_pool1' is not a Kubernetes object name (DNS-1123 subdomain)", 'dashes and dots'),
    ('name-pool-with-quote', GPU_SRIOV_LAB, _addons('nv_ipam', pool_name="nv-pool'1"),
     'addons.nv_ipam.pool_name', '(it contains "\'")', 'lowercase'),
    ('name-registry-project-with-backtick', GPU_SRIOV_LAB, _set(['registry', 'project'], 'open`id`'),
     'lab_registry.project', "(it contains '`')", 'lowercase letters and digits'),
    ('name-sriov-resource-with-space', GPU_SRIOV_LAB, _addons('sriov', resource_name='mlnx sriov'),
     'addons.sriov.resource_name', "not a Kubernetes resource name (it contains ' ')", 'at most 63'),
]

# Versions that are not vX.Y.Z, and controller versions that do not pin the source.
VERSION_CASES = [
    ('version-kubernetes-without-v', CPU_LAB, _cluster(lambda c: c.update(kubernetes_version='1.34.1')),
     'lab_clusters[0] (kasugai).kubernetes_version', "'1.34.1' is not a version vX.Y.Z", 'v1.34.1'),
    ('version-kubernetes-minor-only', CPU_LAB, _cluster(lambda c: c.update(kubernetes_version='v1.34')),
     'lab_clusters[0] (kasugai).kubernetes_version', 'not a version vX.Y.Z', 'node images'),
    ('version-kubernetes-latest', CPU_LAB, _cluster(lambda c: c.update(kubernetes_version='latest')),
     'lab_clusters[0] (kasugai).kubernetes_version', "'latest' is not a version", 'v1.34.1'),
    ('version-controller-branch', CPU_LAB, _set(['controller_source'], {'version': 'main'}),
     'lab_controller_source.version', "'main' is neither a release tag vX.Y.Z nor a full 40-character commit", 'pin a tag'),
    ('version-controller-short-commit', CPU_LAB, _set(['controller_source'], {'version': '445aa90'}),
     'lab_controller_source.version', 'a short commit cannot be cloned shallow', 'git rev-parse 445aa90'),
]

# A state directory that is relative or a system directory.
STATE_DIR_CASES = [
    ('state-dir-relative', CPU_LAB, _set(['state_dir'], 'lab-state'),
     'lab_state_dir', "'lab-state' is relative", '/var/lib/openkasugai-lab'),
    ('state-dir-root', CPU_LAB, _set(['state_dir'], '/'),
     'lab_state_dir', '/ is a system directory', '/var/lib/openkasugai-lab'),
    ('state-dir-etc-with-slash', CPU_LAB, _set(['state_dir'], '/etc/'),
     'lab_state_dir', '/etc/ is a system directory', '/var/lib/openkasugai-lab'),
    ('state-dir-tmp', CPU_LAB, _set(['state_dir'], '/tmp'),
     'lab_state_dir', 'teardown removes them', '/var/lib/openkasugai-lab'),
    ('state-dir-var-lib', CPU_LAB, _set(['state_dir'], '/var/lib'),
     'lab_state_dir', 'system directory', 'of the lab\'s own'),
    ('build-cache-relative', CPU_LAB, _set(['build_cache_dir'], 'cache'),
     'lab_build_cache_dir', "'cache' is relative", '/var/cache/openkasugai-lab'),
    ('build-cache-var-cache', CPU_LAB, _set(['build_cache_dir'], '/var/cache'),
     'lab_build_cache_dir', '/var/cache is a system directory', '/var/cache/openkasugai-lab'),
]

# A registry address the kind nodes cannot reach.
REGISTRY_ADDRESS_CASES = [
    ('registry-ip-in-pod-subnet', CPU_LAB, _set(['registry', 'url'], '10.244.0.5:5443'),
     'lab_registry.url', 'inside lab_clusters[0] (kasugai).pod_subnet 10.244.0.0/16: pods would route it into the cluster',
     'outside the pod and service subnets'),
    ('registry-ip-in-service-subnet', GPU_SRIOV_LAB, _set(['registry', 'url'], '10.96.0.10'),
     'lab_registry.url', 'inside lab_clusters[0] (kasugai).service_subnet', 'outside the pod and service subnets'),
    ('registry-on-loopback', CPU_LAB, _set(['registry', 'url'], '127.0.0.1:5443'),
     'lab_registry.url', 'it is each node itself', 'docker network gateway'),
    ('registry-localhost', CPU_LAB, _set(['registry', 'url'], 'localhost:5443'),
     'lab_registry.url', 'localhost is each kind node itself', 'docker network gateway'),
    ('registry-local-not-on-the-gateway', CPU_LAB, _set(['registry', 'url'], '172.30.0.5:5443'),
     'lab_registry.url', 'where the kind-host only has the gateway 172.30.0.1', 'use 172.30.0.1:5443'),
]

# IPv6 subnets: kind_config renders no ipFamily.
IPV6_CASES = [
    ('ipv6-docker-subnet', CPU_LAB, _cluster(lambda c: c['docker_network'].update(subnet='fd00:30::/64')),
     'lab_clusters[0] (kasugai).docker_network.subnet', "is IPv6, which the lab does not wire through kind's ipFamily yet", '172.30.0.0/24'),
    ('ipv6-pod-subnet', CPU_LAB, _cluster(lambda c: c.update(pod_subnet='fd00:10:244::/56')),
     'lab_clusters[0] (kasugai).pod_subnet', 'is IPv6', 'use an IPv4 subnet, e.g. 10.244.0.0/16'),
    ('ipv6-service-subnet', CPU_LAB, _cluster(lambda c: c.update(service_subnet='fd00:10:96::/112')),
     'lab_clusters[0] (kasugai).service_subnet', 'is IPv6', 'use an IPv4 subnet, e.g. 10.96.0.0/16'),
]

# Topology the collection does not build.
TOPOLOGY_CASES = [
    ('topology-two-control-planes', CPU_LAB,
     _cluster(lambda c: c.update(nodes=[{'role': 'control-plane'}, {'role': 'control-plane'}, {'role': 'worker'}])),
     'lab_clusters[0] (kasugai).nodes', '2 control-plane nodes; the collection supports one control plane only', 'make the others workers'),
    ('topology-scenarios-without-workers', CPU_LAB, _cluster(lambda c: c.update(nodes=[{'role': 'control-plane'}])),
     'lab_clusters[0] (kasugai).scenarios', 'the cluster has no worker', 'add a node with role: worker'),
]

# Ranges written backwards and blank addresses.
RANGE_CASES = [
    ('range-metallb-backwards', CPU_LAB, _cluster(lambda c: c.update(addons={'metallb': {'enabled': True, 'addresses': ['172.30.0.250-172.30.0.240']}})),
     'addons.metallb.addresses[0]', 'written backwards: 172.30.0.250-172.30.0.240', 'lowest address first: 172.30.0.240-172.30.0.250'),
    ('range-nv-ipam-exclusion-backwards', GPU_SRIOV_LAB,
     _addons('nv_ipam', exclusions=['192.168.91.199-192.168.91.0', '192.168.91.240-192.168.91.255']),
     'addons.nv_ipam.exclusions[0]', 'written backwards: 192.168.91.199-192.168.91.0', '192.168.91.0-192.168.91.199'),
    ('blank-gpu-pci-address', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][1].update(gpus=[{'pci_address': ''}])),
     'nodes[1] (kasugai-worker).gpus[0].pci_address', 'is empty', 'lspci -D'),
    ('blank-fpga-pci-address', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2].update(fpgas=[{'pci_address': ' '}])),
     'nodes[2] (kasugai-worker2).fpgas[0].pci_address', 'is empty', 'lspci -D'),
    ('blank-pf', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][2]['nics'][0].update(pf='')),
     'nodes[2] (kasugai-worker2).nics[0].pf', 'is empty', 'netdev name or PCI address'),
]

# Type, choice and missing-field errors, named at their field path (the argument spec, part by part).
TYPE_CASES = [
    ('type-num-vfs-not-a-number', GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][1]['nics'][0].update(num_vfs='eight')),
     'lab_clusters[0] (kasugai).nodes[1].nics[0].num_vfs', 'unable to convert to int', 'a whole number'),
    ('type-role-not-a-choice', CPU_LAB, _cluster(lambda c: c['nodes'][0].update(role='master')),
     'lab_clusters[0] (kasugai).nodes[0].role', 'must be one of: control-plane, worker', 'use one of: control-plane, worker'),
    ('type-cni-not-a-choice', CPU_LAB, _cluster(lambda c: c.update(cni='flannel')),
     'lab_clusters[0] (kasugai).cni', 'got: flannel', 'kindnet'),
    ('type-registry-type-not-a-choice', CPU_LAB, _set(['registry', 'type'], 'harbor'),
     'lab_registry.type', 'got: harbor', 'local, external, none'),
    ('type-docker-network-missing', CPU_LAB, _cluster(lambda c: c.pop('docker_network')),
     'lab_clusters[0] (kasugai).docker_network', 'is missing', 'required'),
    ('type-unknown-field', CPU_LAB, _cluster(lambda c: c.update(pod_subnets='10.244.0.0/16')),
     'lab_clusters[0] (kasugai).pod_subnets', 'is not a field here', 'pod_subnet'),
    ('type-node-not-a-mapping', CPU_LAB, _cluster(lambda c: c['nodes'].append('worker')),
     'lab_clusters[0] (kasugai).nodes[3]', "is 'worker', not a mapping", 'role'),
    ('type-downloads-not-a-mapping', CPU_LAB, _set(['downloads'], ['kind', 'kubectl']),
     'lab_downloads', 'is of type', 'a mapping'),
    ('type-multi-worker-not-a-bool', CPU_LAB, _cluster(lambda c: c['scenarios'][0].update(multi_worker='sometimes')),
     'lab_clusters[0] (kasugai).scenarios[0].multi_worker', 'unable to convert to bool', 'true or false'),
]

# A selection of labs (lab_only) that names no cluster; the others are validated whichever is selected.
SELECTION_CASES = [
    ('lab-only-unknown', CPU_LAB, _set(['only'], ['second']),
     'lab_only', "'second' is not a cluster of lab_clusters (kasugai)", 'leave lab_only unset'),
    ('lab-only-still-checks-the-others', CPU_LAB,
     lambda raw: (_second_cluster(docker_network={'subnet': '172.30.0.128/25'})(raw), raw.update(only=['second'])),
     'lab_clusters[1] (second).docker_network.subnet', 'overlaps the docker network of lab_clusters[0]', 'its own'),
]

MODEL_CASES += SELECTION_CASES + NAME_CASES + VERSION_CASES + STATE_DIR_CASES + REGISTRY_ADDRESS_CASES + IPV6_CASES + TOPOLOGY_CASES + RANGE_CASES + TYPE_CASES


@pytest.mark.parametrize('base, edit, field, message, fix', [case[1:] for case in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_broken_model_is_refused_naming_field_and_fix(base, edit, field, message, fix):
    raw = broken(base, edit)
    problems = problems_of(raw)
    matching = [p for p in problems if field in p.field and message in p.message]
    assert matching, 'expected a problem on %r saying %r, got:\n%s' % (field, message, '\n'.join(map(str, problems)))
    assert fix in matching[0].fix
    assert str(matching[0]).startswith(matching[0].field + ': ')


HOST_CASES = [
    ('pf-does-not-exist', _cluster(lambda c: c['nodes'][1]['nics'][0].update(pf='ens9f9')),
     'nics (ens9f9).pf', 'no network device or PCI function', 'ip -br link'),
    ('more-vfs-than-total', _cluster(lambda c: c['nodes'][1]['nics'][0].update(num_vfs=16)),
     'nics (ens1f0).num_vfs', '16 VFs asked but ens1f0 supports at most 8', 'lower num_vfs to 8'),
    ('pf-given-twice-by-name-and-address', _cluster(lambda c: c['nodes'][2]['nics'].append({'pf': '0000:3b:00.0', 'move_pf': False})),
     'nics (0000:3b:00.0).pf', 'same PCI function 0000:3b:00.0', 'once'),
    ('fpga-missing', _cluster(lambda c: c['nodes'][1].update(fpgas=[{'pci_address': '0000:d9:00.0'}])),
     'fpgas (0000:d9:00.0).pci_address', 'no PCI device 0000:d9:00.0', 'lspci -D'),
    ('gpu-missing', _cluster(lambda c: c['nodes'][1].update(gpus=[{'pci_address': '0000:87:00.0'}])),
     'gpus (0000:87:00.0).pci_address', 'no PCI device', 'lspci'),
    ('gpu-address-is-a-nic', _cluster(lambda c: c['nodes'][1].update(gpus=[{'pci_address': '0000:02:00.0'}])),
     'gpus (0000:02:00.0).pci_address', 'not a display/3D controller', 'lspci'),
    ('route-docker-subnet-on-docker0', _cluster(lambda c: c['docker_network'].update(subnet='172.17.0.0/24')),
     'lab_clusters[0] (kasugai).docker_network.subnet', 'overlaps 172.17.0.0/16, a network of the host (routed through docker0)', 'ip route'),
    ('route-pod-subnet-over-docker0', _cluster(lambda c: c.update(pod_subnet='172.16.0.0/12')),
     'lab_clusters[0] (kasugai).pod_subnet', '172.16.0.0/12 overlaps 172.17.0.0/16', 'no network or route of the host'),
    ('route-service-subnet-in-docker0', _cluster(lambda c: c.update(service_subnet='172.17.128.0/17')),
     'lab_clusters[0] (kasugai).service_subnet', 'routed through docker0', 'ip route'),
]


@pytest.mark.parametrize('edit, field, message, fix', [case[1:] for case in HOST_CASES], ids=[c[0] for c in HOST_CASES])
def test_model_the_host_cannot_carry_is_refused(machine, edit, field, message, fix):
    problems = host_problems(broken(GPU_SRIOV_LAB, edit), machine)
    matching = [p for p in problems if field in p.field and message in p.message]
    assert matching, 'expected %r / %r, got:\n%s' % (field, message, '\n'.join(map(str, problems)))
    assert fix in matching[0].fix


def test_uplink_pf_is_refused_when_it_would_move(machine):
    machine.set_routes(['ens1f0'])
    problems = host_problems(GPU_SRIOV_LAB, machine)
    assert [p.field for p in problems] == ['lab_clusters (kasugai, kasugai-worker).nics (ens1f0).move_pf']
    assert 'cut the host off' in problems[0].message
    # Creating VFs on the uplink while the PF stays is allowed.
    kept = broken(GPU_SRIOV_LAB, _cluster(lambda c: c['nodes'][1]['nics'][0].update(move_pf=False, pf_address='')))
    assert host_problems(kept, machine) == []


def test_missing_controller_source_is_refused_before_any_change(machine, tmp_path):
    raw = broken(CPU_LAB, _set(['controller_source'], {'type': 'path', 'path': str(tmp_path / 'controller')}))
    model = lab_model.normalize(validated(raw))
    problems = lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root))
    assert [p.field for p in problems] == ['lab_controller_source.path']
    assert 'does not exist on the kind-host' in problems[0].message and 'git clone' in problems[0].fix
    # A source tree without the scenario's sample data is refused naming the scenario.
    (tmp_path / 'controller').mkdir()
    problems = lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root))
    assert [p.field for p in problems] == ['lab_clusters[0] (kasugai).scenarios[0].name']
    assert 'no sample data for calc-basic' in problems[0].message
    (tmp_path / 'controller' / lab_model.SAMPLE_DATA_DIR / 'calc-func' / 'basic').mkdir(parents=True)
    assert lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root)) == []


def test_addons_follow_the_devices_unless_set():
    cpu = lab_model.normalize(validated(CPU_LAB))['clusters'][0]
    assert [m['download'] for m in cpu['addon_manifests']] == ['metallb_manifest']
    # calc-basic is entered inside its send function: no LoadBalancer, so no MetalLB unless asked for.
    bare = broken(CPU_LAB, _cluster(lambda c: c.pop('addons')))
    assert lab_model.normalize(validated(bare))['clusters'][0]['addon_manifests'] == []
    assert not cpu['addons']['sriov']['enabled'] and not cpu['addons']['multus']['enabled'] and not cpu['addons']['nv_ipam']['enabled']
    lab = lab_model.normalize(validated(GPU_SRIOV_LAB))['clusters'][0]
    assert [m['addon'] for m in lab['addon_manifests']] == ['multus', 'sriov_cni', 'sriov_device_plugin', 'nv_ipam', 'metallb']
    # nv-ipam is rendered from its source archive's kustomize overlay
    nv_ipam = [m for m in lab['addon_manifests'] if m['addon'] == 'nv_ipam']
    assert [(m['download'], m['kustomize']) for m in nv_ipam] == [('nv_ipam_source', 'deploy/overlays/no-webhook')]
    # unpacked under the same pin-named directory the images stage uses for that archive
    assert nv_ipam[0]['source_id'] == addon_images.source_id('nv_ipam_source', SRIOV_DOWNLOADS)
    assert nv_ipam[0]['source_id'].startswith('nv_ipam_source-')


def test_addon_images_are_built_only_when_asked_and_wired_per_cluster():
    pulled = lab_model.normalize(validated(GPU_SRIOV_LAB))
    assert pulled['addon_images'] == [] and pulled['clusters'][0]['addons']['images'] == []
    raw = broken(GPU_SRIOV_LAB, lambda raw: raw.update(build_from_source=['addon_images'], downloads=dict(SRIOV_DOWNLOADS, **SOURCES)))
    raw['clusters'][0]['addons']['image_overrides'] = [{'name': 'quay.io/metallb/speaker', 'new_name': 'harbor.example.com/mine/speaker'}]
    model = lab_model.normalize(validated(raw))
    assert model['image_prefix'] == 'harbor.example.com/openkasugai'
    assert [(i['name'], i['tag'], i['source'] or i['go_module']) for i in model['addon_images']] == [
        ('metallb-controller', 'v0.14.8', 'go.universe.tf/metallb'), ('metallb-speaker', 'v0.14.8', 'go.universe.tf/metallb'),
        ('multus-cni', 'v1', 'multus_source'), ('sriov-cni', 'v1', 'sriov_cni_source'),
        ('sriov-network-device-plugin', 'v1', 'sriov_device_plugin_source'), ('nvidia-k8s-ipam', 'v1', 'nv_ipam_source')]
    images = model['clusters'][0]['addons']['images']
    # the user's override wins; every other image points at the lab's build
    assert images[0] == {'name': 'quay.io/metallb/speaker', 'new_name': 'harbor.example.com/mine/speaker', 'new_tag': '', 'digest': ''}
    assert {i['name']: '%s:%s' % (i['new_name'], i['new_tag']) for i in images[1:]} == {
        'quay.io/metallb/controller': 'harbor.example.com/openkasugai/metallb-controller:v0.14.8',
        'ghcr.io/k8snetworkplumbingwg/multus-cni': 'harbor.example.com/openkasugai/multus-cni:v1',
        'ghcr.io/k8snetworkplumbingwg/sriov-cni': 'harbor.example.com/openkasugai/sriov-cni:v1',
        'ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin': 'harbor.example.com/openkasugai/sriov-network-device-plugin:v1',
        'ghcr.io/mellanox/nvidia-k8s-ipam': 'harbor.example.com/openkasugai/nvidia-k8s-ipam:v1'}
    # a CPU lab builds only what its clusters enable (MetalLB), and names it for the nodes without a registry
    cpu = lab_model.normalize(validated(broken(CPU_LAB, lambda raw: raw.update(build_from_source=['addon_images'], registry={'type': 'none'}))))
    assert [i['name'] for i in cpu['addon_images']] == ['metallb-controller', 'metallb-speaker']
    assert [i['new_name'] for i in cpu['clusters'][0]['addons']['images']] == ['localhost/metallb-controller', 'localhost/metallb-speaker']


def test_missing_ca_file_is_refused(machine):
    problems = host_problems(GPU_SRIOV_LAB, machine, ca_exists=False)
    assert [str(p) for p in problems] == [
        'lab_registry.ca_file: /etc/harbor-ca.crt does not exist on the kind-host. Fix: copy the registry CA there, or point ca_file at it.']


def test_type_errors_come_from_the_argument_spec():
    raw = broken(CPU_LAB, _cluster(lambda c: c['nodes'][1].update(nics=[{'pf': 'ens1f0', 'num_vfs': 'eight'}])))
    result = ArgumentSpecValidator(lab_model.ARGUMENT_SPEC).validate(raw)
    assert any("num_vfs" in m and 'clusters -> nodes -> nics' in m for m in result.error_messages), result.error_messages


def _two_clusters(raw):
    _second_cluster(docker_network={'subnet': '172.31.0.0/24'})(raw)


def _custom_chain(raw):
    raw['clusters'][0]['scenarios'] = [{'name': 'calc-basic', 'chain': ['send', 'multiply', 'divide', 'average_results', 'rcv'],
                                        'inputs': ['10', '2']}]


def _fpgas(raw):
    raw['clusters'][0]['nodes'][2]['fpgas'] = [{'pci_address': '0000:d8:00.0'}]


def _pinned_elsewhere(raw):
    raw.update(state_dir='/srv/openkasugai-lab', controller_source={'version': 'v1.1.0'})
    raw['clusters'][0]['docker_network']['name'] = 'lab_net.1'


GOOD_VARIANTS = [
    ('two-clusters', CPU_LAB, _two_clusters),
    ('custom-calc-chain', CPU_LAB, _custom_chain),
    ('cluster-with-fpgas', GPU_SRIOV_LAB, _fpgas),
    ('tag-state-dir-and-network-name', CPU_LAB, _pinned_elsewhere),
    ('sample-cpu-lab', CPU_LAB, lambda raw: None),
    ('sample-gpu-sriov-lab', GPU_SRIOV_LAB, lambda raw: None),
]


@pytest.mark.parametrize('base, edit', [case[1:] for case in GOOD_VARIANTS], ids=[c[0] for c in GOOD_VARIANTS])
def test_good_variants_are_accepted(machine, base, edit):
    raw = broken(base, edit)
    assert problems_of(raw) == []
    assert host_problems(raw, machine) == []


@pytest.mark.parametrize('inventory, expected', [
    ('localhost-cpu', []),
    ('gpu-sriov', []),
])
def test_the_sample_inventories_models_pass(inventory, expected):
    group_vars = Path(__file__).resolve().parents[4] / 'inventory' / inventory / 'group_vars' / 'all'
    variables = {}
    for name in ('lab.yml', 'registry.yml', 'downloads.yml'):
        variables.update(yaml.safe_load((group_vars / name).read_text()))
    raw = {key: variables[name] for key, name in lab_model.INVENTORY_NAMES.items() if name in variables}
    assert [p.field for p in problems_of(raw)] == expected


def test_a_type_error_hides_no_other_problem():
    raw = broken(CPU_LAB, _second_cluster(docker_network={'subnet': '172.30.0.128/25'}, kubernetes_version='1.34'))
    raw = broken(raw, _cluster(lambda c: c['nodes'][1].update(num_vfs=1)))      # not a field of a node
    raw = broken(raw, _set(['registry', 'url'], 'https://172.30.0.1:5443'))      # a cross-field error elsewhere
    fields = [p.field for p in problems_of(raw)]
    assert 'lab_clusters[0] (kasugai).nodes[1].num_vfs' in fields       # the type error, at its path
    assert 'lab_registry.url' in fields                                  # the registry, which validated
    # The second cluster keeps its index though the first was set aside; its own rules still run.
    assert 'lab_clusters[1] (second).kubernetes_version' in fields
    # A rule that would compare with the broken cluster does not run on a guess.
    assert 'lab_clusters[1] (second).docker_network.subnet' not in fields


def test_a_broken_variable_takes_its_defaults_without_false_problems():
    raw = broken(CPU_LAB, _set(['downloads'], 'kind kubectl'))
    problems = problems_of(raw)
    assert [p.field for p in problems] == ['lab_downloads']  # not "no download is described for kind"


def test_host_routes_are_read_from_procfs(machine):
    machine.add_route('br-3f2a1b4c5d6e', '172.30.0.0/24')
    routes = [(iface, str(net)) for iface, net in host_routes(machine.root)]
    assert ('docker0', '172.17.0.0/16') in routes and ('br-3f2a1b4c5d6e', '172.30.0.0/24') in routes
    assert '0.0.0.0/0' not in [net for iface, net in routes]


def test_a_rerun_with_the_labs_own_network_is_accepted(machine):
    # The lab's docker network from an earlier run: docker's bridge br-<network id> routes exactly its subnet.
    machine.add_route('br-3f2a1b4c5d6e', '172.30.0.0/24')
    assert host_problems(GPU_SRIOV_LAB, machine) == []
    # The same subnet on another interface, or a bigger network around it, is someone else's.
    machine.add_route('eth1', '172.30.0.0/24')
    machine.add_route('br-0123456789ab', '172.30.0.0/16')
    problems = host_problems(GPU_SRIOV_LAB, machine)
    assert [str(p) for p in problems] == [
        'lab_clusters[0] (kasugai).docker_network.subnet: 172.30.0.0/24 overlaps 172.30.0.0/24, a network of the host (routed through eth1). '
        'Fix: choose a subnet that no network or route of the host uses (see ip route).',
        'lab_clusters[0] (kasugai).docker_network.subnet: 172.30.0.0/24 overlaps 172.30.0.0/16, a network of the host '
        '(routed through br-0123456789ab). Fix: choose a subnet that no network or route of the host uses (see ip route).']


def test_a_video_lab_says_so_and_what_each_video_pattern_expects():
    model = lab_model.normalize(validated(GPU_SRIOV_LAB))
    expects = {s['name']: s.get('video_expect') for s in model['clusters'][0]['scenarios']}
    assert model['video'] is True
    assert expects['video-p1c1'] == 'relayed' and expects['video-p3c1'] == 'relayed'
    assert expects['video-p2c1'] == 'processed' and expects['calc-basic'] is None
    assert lab_model.normalize(validated(CPU_LAB))['video'] is False


def test_a_scenarios_own_video_must_exist_on_the_kind_host(machine):
    raw = copy.deepcopy(GPU_SRIOV_LAB)
    raw['clusters'][0]['scenarios'] = [{'name': 'video-p1c1', 'video': '/srv/videos/traffic.mp4'}]
    model = lab_model.normalize(validated(raw))
    problems = lab_model.check_host(model, Sysfs(machine.root), default_route_interfaces(machine.root),
                                    path_exists=lambda path: path != '/srv/videos/traffic.mp4', routes=host_routes(machine.root))
    assert [p.field for p in problems] == ['lab_clusters[0] (kasugai).scenarios[0].video']
    assert '/srv/videos/traffic.mp4 does not exist on the kind-host' in problems[0].message


def test_scenario_families_follow_the_selected_labs():
    raw = copy.deepcopy(CPU_LAB)
    second = copy.deepcopy(raw['clusters'][0])
    second.update(name='second', docker_network={'subnet': '172.30.8.0/24'}, pod_subnet='10.250.0.0/16', service_subnet='10.101.0.0/16',
                  scenarios=[{'name': 'video-p1c1'}])
    raw['clusters'][0]['scenarios'] = [{'name': 'calc-basic'}]
    raw['clusters'].append(second)
    model, problems = lab_model.check(copy.deepcopy(raw))
    assert model['scenario_families'] == ['calc', 'video'] and model['video'] is True
    raw['only'] = [raw['clusters'][0]['name']]
    model, problems = lab_model.check(raw)
    assert model['scenario_families'] == ['calc']
    assert model['video'] is True   # lab-wide: the host's packages serve every lab
