# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""A lab's docker network with fixed node addresses, through the docker CLI.

kind gives its nodes whatever address docker's allocator hands out and sets etcd, the API server and
the kubelet up with it; after a daemon restart docker hands addresses out again, in another order,
and a multi-node cluster never comes back (kind issue 2045). So the network lives in two shapes:

- **creating**: ``ip_range`` is the lab model's ``node_range``, so the nodes kind creates take
  addresses from the block kept for them;
- **pinned**: ``ip_range`` is the lab model's ``ip_range`` (docker's own block, clear of the nodes),
  and every node is connected with ``--ip`` at the address it was set up with, which docker stores in
  the endpoint's IPAM config and hands back after every restart.

``plan`` compares what docker shows with the model and says which steps bring it to the shape wanted;
``apply`` runs them. The model's fields (``lab_model.clusters[].docker_network``): name, subnet,
gateway, node_range, ip_range, node_addresses (see lab_model.network_plan).
"""

import ipaddress

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError

LABEL = 'io.openkasugai.lab.network'


def observe(docker, name):
    """{subnet, gateway, ip_range, endpoints: {container: {address, pinned}}} of a network, or None (``docker``: a cli.Cli)."""
    obj = docker_cli.inspect(docker, [name], kind='network').get(name)
    if obj is None:
        return None
    config = (((obj.get('IPAM') or {}).get('Config')) or [{}])[0]
    endpoints = {}
    for ep in (obj.get('Containers') or {}).values():
        address = (ep.get('IPv4Address') or '').split('/')[0]
        endpoints[ep.get('Name', '')] = dict(address=address, pinned=False)
    return dict(subnet=config.get('Subnet', ''), gateway=config.get('Gateway', ''), ip_range=config.get('IPRange', ''),
                endpoints=endpoints)


def pinned_addresses(docker, names, network):
    """{container: the address stored in its endpoint's IPAM config on network (None: not pinned)}."""
    result = {}
    for name, obj in docker_cli.inspect(docker, names).items():
        endpoint = ((obj.get('NetworkSettings') or {}).get('Networks') or {}).get(network) or {}
        result[name] = ((endpoint.get('IPAMConfig') or {}).get('IPv4Address')) or None
    return result


def create_args(net, ip_range):
    return ['network', 'create', '--driver', 'bridge', '--subnet', net['subnet'], '--gateway', net['gateway'],
            '--ip-range', ip_range, '--label', '%s=%s' % (LABEL, net['name']), net['name']]


def plan_creating(net, seen):
    """Steps so that kind, creating nodes now, gives them addresses from the node range."""
    if seen is None:
        return [('create', net['node_range'])]
    if seen['subnet'] != net['subnet']:
        raise CliError('docker network %s has subnet %s, the lab model says %s: delete the network '
                       '(docker network rm %s) or give the model its subnet' % (net['name'], seen['subnet'], net['subnet'], net['name']))
    if seen['ip_range'] == net['node_range']:
        return []
    if seen['endpoints']:
        raise CliError('docker network %s must be made again for the nodes to be created with fixed addresses, '
                       'but containers are attached to it: %s; detach them (docker network disconnect %s NAME)'
                       % (net['name'], ', '.join(sorted(seen['endpoints'])), net['name']))
    return [('remove',), ('create', net['node_range'])]


def plan_pinned(net, seen, nodes, pinned):
    """Steps that pin ``nodes`` (their container names) at the addresses they have now, docker's range set aside.

    ``pinned``: pinned_addresses() of the nodes. Raises CliError when a node sits outside the node
    range (it was set up with that address, so moving it would break it) or another container is attached.
    """
    if seen is None:
        raise CliError('docker network %s is gone while its cluster exists; delete the cluster and create it again' % net['name'])
    node_range = ipaddress.ip_network(net['node_range'])
    missing = sorted(set(nodes) - set(seen['endpoints']))
    if missing:
        raise CliError('nodes %s are not on docker network %s' % (', '.join(missing), net['name']))
    strangers = sorted(set(seen['endpoints']) - set(nodes))
    outside = sorted('%s (%s)' % (n, seen['endpoints'][n]['address']) for n in nodes
                     if ipaddress.ip_address(seen['endpoints'][n]['address']) not in node_range)
    if seen['ip_range'] == net['ip_range'] and all(pinned.get(n) == seen['endpoints'][n]['address'] for n in nodes):
        return []
    if outside:
        raise CliError('nodes %s have addresses outside the block kept for nodes (%s), and their etcd, API server and '
                       'kubelet were set up with them, so they cannot be moved: this cluster was made before node addresses '
                       'were fixed. Delete it and create it again (playbooks/destroy.yml, then site.yml; or '
                       'kind_cluster_recreate=true)' % (', '.join(outside), net['node_range']))
    if strangers:
        raise CliError('docker network %s must be made again with docker\'s own range (%s) to pin the node addresses, '
                       'but other containers are attached to it: %s; detach them (docker network disconnect %s NAME)'
                       % (net['name'], net['ip_range'], ', '.join(strangers), net['name']))
    addresses = {n: seen['endpoints'][n]['address'] for n in nodes}
    return ([('disconnect', n) for n in sorted(nodes)] + [('remove',), ('create', net['ip_range'])]
            + [('connect', n, addresses[n]) for n in sorted(nodes)])


def apply(docker, net, steps):
    """Run the steps of plan_creating/plan_pinned, stopping at the first failure (its command in the error)."""
    for step in steps:
        if step[0] == 'create':
            args = create_args(net, step[1])
        elif step[0] == 'remove':
            args = ['network', 'rm', net['name']]
        elif step[0] == 'disconnect':
            args = ['network', 'disconnect', '--force', net['name'], step[1]]
        else:
            args = ['network', 'connect', '--ip', step[2], net['name'], step[1]]
        docker.run(args, what=' '.join(args[:3]))


def describe(steps):
    """Readable lines for the module's actions."""
    words = {'create': lambda s: 'create the network with docker allocating from %s' % s[1],
             'remove': lambda s: 'remove the network', 'disconnect': lambda s: 'disconnect %s' % s[1],
             'connect': lambda s: 'connect %s at %s (fixed)' % (s[1], s[2])}
    return [words[s[0]](s) for s in steps]
