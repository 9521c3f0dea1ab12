"""The lab's status as a table and a picture: what they show, checked on their content.

Real: the lab model's normalize() (the localhost-cpu-like model of test_lab_model), lab_health.assess()
on docker-inspect and API-server objects shaped as they are, the SVG parsed by the standard library's
XML parser. Fake: those objects themselves (no cluster here), written as docker and Kubernetes return
them; tests/e2e checks the same files on the real e2e cluster.
"""

import xml.etree.ElementTree as ET

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import lab_health, lab_status, lab_model
from ansible_collections.openkasugai.all_in_one.tests.unit.plugins.module_utils.test_lab_model import CPU_LAB, validated

NS = {'svg': 'http://www.w3.org/2000/svg'}


def _container(name, address, running=True):
    endpoint = {'IPAddress': address, 'IPAMConfig': {'IPv4Address': address}}
    return {'Name': '/' + name, 'State': {'Running': running, 'Status': 'running' if running else 'exited', 'ExitCode': 0 if running else 137},
            'NetworkSettings': {'Networks': {'kind-kasugai': endpoint}}}


def _node(name, ready=True):
    return {'metadata': {'name': name}, 'status': {'conditions': [{'type': 'Ready', 'status': 'True' if ready else 'False',
                                                                   'message': 'kubelet is posting ready status'}]}}


LINKS = [
    {'ifname': 'lo'}, {'ifname': 'eth0', 'linkinfo': {'info_kind': 'veth'}},
    {'ifname': 'okl0', 'linkinfo': {'info_kind': 'bridge'}},              # the node's pod network bridge
    {'ifname': 'veth1a2b3c4d', 'linkinfo': {'info_kind': 'veth'}},        # a pod's veth (kindnet)
    {'ifname': 'net1', 'linkinfo': {'info_kind': 'veth'}, 'operstate': 'UP'},   # a veth standing in for a VF
    {'ifname': 'ens1f0v0', 'parentbus': 'pci', 'parentdev': '0000:3b:02.0', 'operstate': 'DOWN'},
]


def snapshot(worker2_running=True):
    model = lab_model.normalize(validated(CPU_LAB))
    cluster = model['clusters'][0]
    names = [n['name'] for n in cluster['nodes']]
    containers = {name: _container(name, '172.30.0.%d' % (2 + i), running=(worker2_running or name != 'kasugai-worker2'))
                  for i, name in enumerate(names)}
    health = lab_health.assess(cluster, containers, [_node(n) for n in names], [], [])
    workloads = lab_status.workload_entries(
        [{'metadata': {'namespace': 'metallb-system', 'name': 'controller'}, 'spec': {'replicas': 1}, 'status': {'readyReplicas': 1}},
         {'metadata': {'namespace': 'cpufunction-system', 'name': 'cpufunction-controller-manager'}, 'spec': {'replicas': 1}, 'status': {}}],
        [{'metadata': {'namespace': 'metallb-system', 'name': 'speaker'}, 'status': {'desiredNumberScheduled': 3, 'numberReady': 3}}])
    links = {'kasugai-control-plane': LINKS[:3], 'kasugai-worker': LINKS, 'kasugai-worker2': None}
    dataflows = [{'kind': 'DataFlow', 'namespace': 'cpufunc-calcapp', 'name': 'calcapp', 'status': 'Running'}]
    results = {'calc-basic': {'matched': True, 'chain': ['send', 'plus', 'minus', 'rcv'], 'seconds_from_dataflow_applied': 41}}
    part = lab_status.cluster_snapshot(cluster, health, links, workloads, dataflows, results)
    return dict(host='lab-host', taken='2026-12-03T20:00:00Z', registry=model['registry'], clusters=[part])


def test_a_node_holds_the_devices_moved_into_it_not_the_plain_links_of_every_node():
    devices = lab_status.node_devices(LINKS)
    assert devices == [dict(name='net1', kind='veth', pci='', state='UP'), dict(name='ens1f0v0', kind='pci', pci='0000:3b:02.0', state='DOWN')]


def test_addons_are_ready_when_all_their_workloads_are():
    addons = {a['name']: a for a in snapshot()['clusters'][0]['addons']}
    assert addons['metallb']['ready'] and addons['metallb']['detail'] == 'speaker 3/3, controller 1/1'
    assert not addons['openkasugai']['ready'] and 'cpufunction-controller-manager 0/1' in addons['openkasugai']['detail']


def test_the_table_names_every_node_device_addon_dataflow_and_result():
    text = lab_status.markdown(snapshot())
    assert '## Cluster kasugai: whole' in text
    assert '| kasugai-worker | worker | yes | yes | 172.30.0.3 | net1 (veth), ens1f0v0 (pci 0000:3b:02.0) | - |' in text
    assert '| kasugai-worker2 | worker | yes | yes | 172.30.0.4 | (could not be read) | - |' in text
    assert '| metallb | yes | speaker 3/3, controller 1/1 |' in text
    assert '| DataFlow/calcapp | cpufunc-calcapp | Running |' in text
    assert '| calc-basic | passed | chain send -> plus -> minus -> rcv, 41 s from DataFlow applied |' in text
    assert 'On lab-host. Taken 2026-12-03T20:00:00Z. Registry: local 172.30.0.1:5443.' in text


def test_the_picture_draws_every_node_on_its_network_with_its_devices():
    root = ET.fromstring(lab_status.svg(snapshot()))
    texts = [t.text for t in root.iter('{http://www.w3.org/2000/svg}text')]
    for name in ('kasugai-control-plane', 'kasugai-worker', 'kasugai-worker2'):
        assert name in texts
    assert 'net1 (veth)' in texts and 'ens1f0v0 (pci 0000:3b:02.0)' in texts
    assert 'docker network kind-kasugai 172.30.0.0/24' in texts
    assert '\u2714 metallb' in texts and '\u2718 openkasugai' in texts
    assert 'calc-basic: passed' in texts and 'DataFlow/calcapp: Running' in texts
    assert 'cluster kasugai - whole' in texts
    # one box per node on the bus: the cluster box, then three node boxes
    assert len(root.findall('svg:rect', NS)) == 1 + 1 + 3


def test_a_stopped_node_turns_its_box_and_its_cluster_red_and_says_why():
    part = snapshot(worker2_running=False)
    text = lab_status.markdown(part)
    assert '## Cluster kasugai: NOT whole' in text
    assert '- node kasugai-worker2: its container is exited (exit code 137)' in text
    root = ET.fromstring(lab_status.svg(part))
    red = [r for r in root.findall('svg:rect', NS) if r.get('stroke') == '#c62828']
    assert len(red) == 2  # the cluster and kasugai-worker2
    assert 'not Ready, container stopped' not in text  # the table says it with its own columns
    assert 'cluster kasugai - NOT whole' in [t.text for t in root.iter('{http://www.w3.org/2000/svg}text')]


def test_scenarios_not_run_yet_say_so():
    model = lab_model.normalize(validated(CPU_LAB))
    assert lab_status.scenario_entries(model['clusters'][0], {}) == [dict(name='calc-basic', result='not run', detail='')]


def test_without_a_time_the_files_say_none_so_they_change_only_with_the_lab():
    part = dict(snapshot(), taken='')
    assert 'On lab-host. Registry: local 172.30.0.1:5443.' in lab_status.markdown(part)
    texts = [t.text for t in ET.fromstring(lab_status.svg(part)).iter('{http://www.w3.org/2000/svg}text')]
    assert 'registry: local 172.30.0.1:5443' in texts
