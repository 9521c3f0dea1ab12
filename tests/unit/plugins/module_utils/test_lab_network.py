# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""lab_network against a fake docker CLI that keeps networks and endpoints as the daemon does.

What is fake: the docker daemon (FakeDocker answers the argv lists the module sends, with the JSON
shapes of docker 20.10's inspect). The real daemon is exercised by the e2e (tests/e2e/run.sh: create,
pinned addresses in `docker inspect`, a daemon restart).
"""

import ipaddress
import json

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import lab_model, lab_network
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError

NET = dict(name='kind-lab', subnet='172.30.0.0/24', **lab_model.network_plan('172.30.0.0/24', 3))
NODES = ['lab-control-plane', 'lab-worker', 'lab-worker2']


class FakeDocker(Cli):
    """The docker CLI with the daemon's networks in memory: this object runs its commands."""

    def __init__(self):
        super().__init__('docker', runner=self)
        self.networks = {}
        self.calls = []

    def add(self, name, subnet, ip_range='', gateway=''):
        self.networks[name] = dict(subnet=subnet, ip_range=ip_range, gateway=gateway or str(ipaddress.ip_network(subnet)[1]), endpoints={})

    def attach(self, network, container, address=None, pinned=False):
        net = self.networks[network]
        if address is None:  # docker's allocator: first free address of ip_range (else of the subnet)
            pool = ipaddress.ip_network(net['ip_range'] or net['subnet'])
            used = {e['address'] for e in net['endpoints'].values()} | {net['gateway']}
            address = next(str(a) for a in pool.hosts() if str(a) not in used)
        net['endpoints'][container] = dict(address=address, pinned=pinned)

    def __call__(self, argv, data=None):
        self.calls.append(argv[1:])
        if argv[1] == 'inspect':
            kind, names = argv[3], argv[4:]
            if kind == 'network':
                out = [self._network_obj(n) for n in names if n in self.networks]
                return (0 if len(out) == len(names) else 1), json.dumps(out), '' if out else 'Error: network %s not found' % names[0]
            return 0, json.dumps([self._container_obj(n) for n in names]), ''
        op = argv[2]
        if op == 'create':
            opts = dict(zip(argv[3:-1:2], argv[4:-1:2], strict=False))
            self.add(argv[-1], opts['--subnet'], opts['--ip-range'], opts['--gateway'])
        elif op == 'rm':
            if self.networks[argv[3]]['endpoints']:
                return 1, '', 'error: network has active endpoints'
            del self.networks[argv[3]]
        elif op == 'disconnect':
            del self.networks[argv[4]]['endpoints'][argv[5]]
        elif op == 'connect':
            self.attach(argv[5], argv[6], address=argv[4], pinned=True)
        return 0, '', ''

    def _network_obj(self, name):
        net = self.networks[name]
        config = dict(Subnet=net['subnet'], Gateway=net['gateway'])
        if net['ip_range']:
            config['IPRange'] = net['ip_range']
        return dict(Name=name, IPAM=dict(Config=[config]),
                    Containers={'id-' + c: dict(Name=c, IPv4Address=e['address'] + '/24') for c, e in net['endpoints'].items()})

    def _container_obj(self, name):
        networks = {}
        for net_name, net in self.networks.items():
            ep = net['endpoints'].get(name)
            if ep:
                networks[net_name] = dict(IPAddress=ep['address'], IPAMConfig={'IPv4Address': ep['address']} if ep['pinned'] else None)
        return dict(Name='/' + name, Id='id-' + name, NetworkSettings=dict(Networks=networks))


def kind_creates_nodes(docker):
    for node in NODES[::-1]:  # kind creates them concurrently: any order
        docker.attach(NET['name'], node)


def test_plan_is_the_network_at_the_bottom_of_the_subnet():
    assert NET['gateway'] == '172.30.0.1'
    assert NET['node_range'] == '172.30.0.0/28' and NET['ip_range'] == '172.30.0.16/28'
    assert NET['node_addresses'] == ['172.30.0.2', '172.30.0.3', '172.30.0.4']


def test_create_pin_and_then_nothing():
    docker = FakeDocker()
    steps = lab_network.plan_creating(NET, lab_network.observe(docker, NET['name']))
    assert steps == [('create', '172.30.0.0/28')]
    lab_network.apply(docker, NET, steps)
    kind_creates_nodes(docker)
    assert {e['address'] for e in docker.networks[NET['name']]['endpoints'].values()} == set(NET['node_addresses'])
    before = {n: e['address'] for n, e in docker.networks[NET['name']]['endpoints'].items()}

    seen = lab_network.observe(docker, NET['name'])
    steps = lab_network.plan_pinned(NET, seen, NODES, lab_network.pinned_addresses(docker, NODES, NET['name']))
    assert [s[0] for s in steps] == ['disconnect'] * 3 + ['remove', 'create'] + ['connect'] * 3
    lab_network.apply(docker, NET, steps)
    net = docker.networks[NET['name']]
    assert net['ip_range'] == NET['ip_range']  # docker's own allocation is clear of every node
    assert {n: e['address'] for n, e in net['endpoints'].items()} == before  # where kubeadm set them up
    assert all(e['pinned'] for e in net['endpoints'].values())
    assert lab_network.pinned_addresses(docker, NODES, NET['name']) == before

    seen = lab_network.observe(docker, NET['name'])
    assert lab_network.plan_pinned(NET, seen, NODES, lab_network.pinned_addresses(docker, NODES, NET['name'])) == []
    # Another container on the network now gets an address from docker's range, never a node's.
    docker.attach(NET['name'], 'client')
    assert ipaddress.ip_address(docker.networks[NET['name']]['endpoints']['client']['address']) in ipaddress.ip_network(NET['ip_range'])


def test_a_network_left_in_docker_shape_is_made_again_before_kind_creates_nodes():
    docker = FakeDocker()
    docker.add(NET['name'], NET['subnet'], NET['ip_range'])
    assert lab_network.plan_creating(NET, lab_network.observe(docker, NET['name'])) == [('remove',), ('create', NET['node_range'])]
    docker.attach(NET['name'], 'someone')
    with pytest.raises(CliError, match='containers are attached to it: someone'):
        lab_network.plan_creating(NET, lab_network.observe(docker, NET['name']))


def test_a_network_of_another_subnet_is_refused():
    docker = FakeDocker()
    docker.add(NET['name'], '10.9.0.0/24')
    with pytest.raises(CliError, match='has subnet 10.9.0.0/24, the lab model says 172.30.0.0/24'):
        lab_network.plan_creating(NET, lab_network.observe(docker, NET['name']))


def test_an_older_lab_inside_the_node_block_is_pinned():
    docker = FakeDocker()
    docker.add(NET['name'], NET['subnet'])  # made before addresses were fixed: no ip_range
    kind_creates_nodes(docker)
    seen = lab_network.observe(docker, NET['name'])
    steps = lab_network.plan_pinned(NET, seen, NODES, lab_network.pinned_addresses(docker, NODES, NET['name']))
    lab_network.apply(docker, NET, steps)
    assert docker.networks[NET['name']]['ip_range'] == NET['ip_range']
    assert all(e['pinned'] for e in docker.networks[NET['name']]['endpoints'].values())


def test_an_older_lab_outside_the_node_block_is_refused_with_the_way_out():
    docker = FakeDocker()
    docker.add(NET['name'], NET['subnet'])
    for i, node in enumerate(NODES):
        docker.attach(NET['name'], node, address='172.30.0.%d' % (40 + i))
    seen = lab_network.observe(docker, NET['name'])
    with pytest.raises(CliError, match=r'lab-control-plane \(172.30.0.40\).*Delete it and create it again'):
        lab_network.plan_pinned(NET, seen, NODES, lab_network.pinned_addresses(docker, NODES, NET['name']))
    assert [c[0] for c in docker.calls] == ['inspect', 'inspect']  # nothing changed


def test_a_stranger_on_the_network_stops_pinning_before_any_change():
    docker = FakeDocker()
    docker.add(NET['name'], NET['subnet'], NET['node_range'])
    kind_creates_nodes(docker)
    docker.attach(NET['name'], 'registry')
    seen = lab_network.observe(docker, NET['name'])
    with pytest.raises(CliError, match='other containers are attached to it: registry'):
        lab_network.plan_pinned(NET, seen, NODES, lab_network.pinned_addresses(docker, NODES, NET['name']))


def test_a_missing_network_or_node_is_said():
    docker = FakeDocker()
    with pytest.raises(CliError, match='is gone while its cluster exists'):
        lab_network.plan_pinned(NET, None, NODES, {})
    docker.add(NET['name'], NET['subnet'], NET['node_range'])
    docker.attach(NET['name'], NODES[0])
    with pytest.raises(CliError, match='nodes lab-worker, lab-worker2 are not on docker network kind-lab'):
        lab_network.plan_pinned(NET, lab_network.observe(docker, NET['name']), NODES, {})


def test_a_failing_step_names_its_command():
    docker = FakeDocker()
    docker.add(NET['name'], NET['subnet'])
    docker.attach(NET['name'], 'x')
    with pytest.raises(CliError, match='network rm kind-lab failed: error: network has active endpoints') as info:
        lab_network.apply(docker, NET, [('remove',)])
    assert info.value.cmd == ['docker', 'network', 'rm', 'kind-lab']
