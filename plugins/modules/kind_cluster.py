#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: kind_cluster
short_description: Create, keep or delete a kind cluster from a kind config, idempotently
description:
  - Creates a kind cluster from a kind C(v1alpha4) Cluster config given as a mapping, deletes it, and exports its
    kubeconfig to a file of its own (never to C(~/.kube/config)).
  - The sha256 of the canonical JSON of the config (its fingerprint) and the config itself are written into the
    control-plane container at C(/kind/openkasugai-lab.json) when the cluster is created. That copy lives and dies
    with the cluster (a state file on the host could outlive a cluster deleted with C(kind delete), or be missing
    for a cluster that exists), and it survives node restarts.
  - With O(lab_cluster), the module also owns the cluster's docker network and fixes every node's address on it,
    so that the cluster survives a restart of the docker daemon (kind alone does not, since docker hands addresses out again
    in another order and etcd listens on an address the control plane no longer has). The network is created with
    docker's allocation limited to the model's C(node_range), kind creates the nodes there, then the network is made
    again with docker's allocation limited to the model's C(ip_range) and each node is connected back with C(--ip) at
    the address it was set up with (docker keeps that in the endpoint's IPAM config). A cluster whose nodes are
    unpinned but inside C(node_range) is pinned the same way; one whose nodes sit outside it is refused with the way out.
  - Same config -> no change. Another config -> the module fails and shows the difference, unless O(recreate=true),
    which deletes and creates the cluster again. A cluster of that name that this module did not create (no
    fingerprint) is treated the same way.
version_added: 0.1.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - kind 0.20.0 or later
  - the docker CLI
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
  - openkasugai.all_in_one.cli.kind
options:
  name:
    description: Name of the cluster (kind's C(--name)); its nodes are C(<name>-control-plane), C(<name>-worker), ...
    type: str
    required: true
  config:
    description:
      - The kind Cluster config (C(kind), C(apiVersion), C(nodes), C(networking), ...). Its C(name), when given, must
        equal O(name). With O(state=present), give this or O(lab_cluster).
    type: dict
  lab_cluster:
    description:
      - One cluster of the fact C(lab_model) (C(lab_model.clusters[])); the config is rendered from it (registry trust,
        node images, GPU mounts, node labels) by C(module_utils/kind_config.render). Mutually exclusive with O(config).
    type: dict
  lab_registry:
    description: C(lab_model.registry), with O(lab_cluster). A C(password) in it is not used, and masked in the output.
    type: dict
  node_images:
    description: With O(lab_cluster), node images by kind of node (C(default), C(control_plane), C(worker), C(gpu_worker)).
    type: dict
    default: {}
  certs_dir:
    description: With O(lab_cluster) and a registry, the host directory of C(<host:port>/hosts.toml) and C(ca.crt), mounted as /etc/containerd/certs.d.
    type: path
  state:
    description: C(present) creates the cluster when missing; C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  recreate:
    description: Delete and create again a cluster whose config differs from O(config).
    type: bool
    default: false
  kubeconfig:
    description: Write the cluster's kubeconfig to this file (mode 0600) and keep it current; nothing is written when unset.
    type: path
  wait:
    description: How long C(kind create cluster --wait) waits for the control plane to be ready (a Go duration, C(5m)).
    type: str
  docker_network:
    description:
      - Docker network for the nodes (kind's C(KIND_EXPERIMENTAL_DOCKER_NETWORK)). With O(config), create it beforehand.
        With O(lab_cluster), the module creates it from C(lab_cluster.docker_network) when missing; this name must be
        that network's.
    type: str
  api_wait_seconds:
    description: After node addresses were pinned, how long to wait for the API server to answer again.
    type: int
    default: 120
  ready_timeout:
    description:
      - How long to wait, in seconds, until every node of the cluster is registered and C(Ready) (C(kind create --wait)
        waits for the control plane only). The nodes are read with the control plane's own C(kubectl) and admin
        kubeconfig; a cluster that does not get there fails the module with each waiting node and its C(Ready)
        condition's reason and message.
      - C(0) does not look. Not in check mode.
    type: int
    default: 0
  node_addresses_file:
    description:
      - With O(lab_cluster), write RV(node_addresses) to this file as JSON (mode 0644) and keep it current (written only
        when its content differs); with O(state=absent), remove it.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports what it would create, delete or write.
  diff_mode:
    support: full
    description: Shows the running cluster's config against O(config).
  idempotent:
    support: full
    description: Same config, same cluster; the kubeconfig and node addresses files are written only when their content differs.
"""

EXAMPLES = r"""
- name: Create the lab cluster
  openkasugai.all_in_one.kind_cluster:
    name: kasugai
    config:
      kind: Cluster
      apiVersion: kind.x-k8s.io/v1alpha4
      nodes:
        - {role: control-plane, image: "kindest/node:v1.32.2"}
        - {role: worker, image: "kindest/node:v1.32.2"}
    kubeconfig: /var/lib/openkasugai-lab/kasugai/kubeconfig
    docker_network: kind-kasugai
    wait: 5m
    ready_timeout: 120

- name: Delete it
  openkasugai.all_in_one.kind_cluster:
    name: kasugai
    state: absent
"""

RETURN = r"""
config:
  description: The kind config used (rendered from O(lab_cluster) or O(config), with its name).
  returned: when state is present
  type: dict
  sample: {kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4, name: kasugai, nodes: [{role: control-plane}]}
fingerprint:
  description: sha256 of the canonical JSON of the cluster's config.
  returned: when state is present
  type: str
  sample: sha256:9f2c...
kubeconfig:
  description: The kubeconfig file written (null when O(kubeconfig) is unset).
  returned: always
  type: str
  sample: /var/lib/openkasugai-lab/kasugai/kubeconfig
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: [create network with docker allocating from 172.30.0.0/28, create, disconnect kasugai-control-plane, '...',
           connect kasugai-control-plane at 172.30.0.2 (fixed), write kubeconfig]
node_addresses:
  description: The fixed address of every node on the lab network (with O(lab_cluster); empty in check mode before creation).
  returned: when state is present
  type: dict
  sample: {kasugai-control-plane: 172.30.0.3, kasugai-worker: 172.30.0.2}
nodes:
  description: The node containers (empty in check mode before creation, and after deletion).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Container name., type: str}
    role: {description: kind role (control-plane or worker)., type: str}
    id: {description: Container ID., type: str}
    pid: {description: 'PID of the container init; its network namespace is /proc/<pid>/ns/net.', type: int}
    running: {description: Whether the container runs., type: bool}
    image: {description: Node image., type: str}
    addresses: {description: 'Addresses on docker networks, each with network and address.', type: list, elements: dict}
    fixed_address: {description: 'The address pinned on the lab network (null when not pinned).', type: str}
  sample:
    - {name: kasugai-worker, role: worker, id: 4f3c..., pid: 4242, running: true, image: "kindest/node:v1.32.2",
       addresses: [{network: kind-kasugai, address: 172.30.0.3}]}
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli, lab_network
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import (
    kind_config as kc,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.kind import (
    FINGERPRINT_PATH,
    KIND_PATH_SPEC,
    Kind,
    nodes_not_ready,
)


def read_stored(docker, container):
    """The {fingerprint, config} written into the control plane at creation, or None."""
    rc, out, _err = docker.run(docker_cli.exec_args(container, ['cat', FINGERPRINT_PATH]), check=False)
    if rc != 0:
        return None
    try:
        data = json.loads(out)
    except ValueError:
        return None
    return data if isinstance(data, dict) and 'fingerprint' in data else None


def node_summaries(kind, docker, name):
    names = kind.nodes(name)
    objs = docker_cli.inspect(docker, names)
    return sorted((docker_cli.container_summary(objs[n]) for n in names if n in objs), key=lambda s: s['name'])


def pin_node_addresses(module, kind, docker, name, network, result):
    """Fix every node's address on the lab network (lab_network.plan_pinned), then wait for the API server."""
    nodes = kind.nodes(name)
    seen = lab_network.observe(docker, network['name'])
    steps = lab_network.plan_pinned(network, seen, nodes, lab_network.pinned_addresses(docker, nodes, network['name']))
    result['node_addresses'] = {n: seen['endpoints'][n]['address'] for n in nodes if n in (seen or {}).get('endpoints', {})}
    result['actions'] += lab_network.describe(steps)
    if not steps or module.check_mode:
        return
    lab_network.apply(docker, network, steps)
    # The control plane was off the network for a moment: the API server answers again before anyone asks it.
    readyz = ['kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', 'get', '--raw=/readyz', '--request-timeout=5s']
    deadline = time.monotonic() + module.params['api_wait_seconds']
    while True:
        answer = docker.run(docker_cli.exec_args(name + '-control-plane', readyz), check=False)
        if answer.rc == 0:
            return
        if time.monotonic() > deadline:
            module.fail_json(msg='node addresses were pinned, but the API server of {} did not answer /readyz within {}s: {}'.format(
                name, module.params['api_wait_seconds'], (answer.stderr or answer.stdout).strip()), cmd=answer.argv, rc=answer.rc,
                actions=result['actions'])
        time.sleep(1)


def wait_nodes_ready(module, docker, name, nodes, result):
    """Until every node in ``nodes`` is Ready, as the control plane's kubectl sees them (ready_timeout seconds)."""
    argv = ['kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', 'get', 'nodes', '--output=json', '--request-timeout=5s']
    timeout = module.params['ready_timeout']
    deadline = time.monotonic() + timeout
    while True:
        answer = docker.run(docker_cli.exec_args(name + '-control-plane', argv), check=False)
        if answer.rc == 0:
            try:
                waiting = nodes_not_ready(answer.stdout, nodes)
            except ValueError as exc:
                waiting = {'(all)': 'kubectl get nodes printed no JSON: {}'.format(exc)}
        else:
            waiting = {'(all)': 'kubectl get nodes failed: {}'.format((answer.stderr or answer.stdout).strip())}
        if not waiting:
            return
        if time.monotonic() > deadline:
            module.fail_json(msg='not every node of {} was Ready within {}s: {}'.format(
                name, timeout, '; '.join('{}: {}'.format(node, why) for node, why in sorted(waiting.items()))),
                not_ready=waiting, actions=result['actions'])
        time.sleep(1)


def write_if_changed(module, path, text, mode, action, result):
    """``path`` holds ``text`` afterwards (written atomically, ``mode``); ``action`` recorded when it did not."""
    current = None
    if os.path.exists(path):
        with open(path) as f:
            current = f.read()
    if current == text:
        return
    result['actions'].append(action)
    if module.check_mode:
        return
    os.makedirs(os.path.dirname(path) or '.', mode=0o700, exist_ok=True)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec={
            'name': {'type': 'str', 'required': True},
            'config': {'type': 'dict'},
            'lab_cluster': {'type': 'dict'},
            'lab_registry': {'type': 'dict'},
            'node_images': {'type': 'dict', 'default': {}},
            'certs_dir': {'type': 'path'},
            'state': {'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
            'recreate': {'type': 'bool', 'default': False},
            **KIND_PATH_SPEC,
            **docker_cli.DOCKER_PATH_SPEC,
            'kubeconfig': {'type': 'path'},
            'wait': {'type': 'str'},
            'docker_network': {'type': 'str'},
            'api_wait_seconds': {'type': 'int', 'default': 120},
            'ready_timeout': {'type': 'int', 'default': 0},
            'node_addresses_file': {'type': 'path'},
        },
        required_if=[('state', 'present', ('config', 'lab_cluster'), True)],
        mutually_exclusive=[('config', 'lab_cluster')],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    password = (p['lab_registry'] or {}).get('password')
    if password:  # not needed here; hidden in case a caller passes the whole registry
        module.no_log_values.add(password)

    docker = docker_cli.docker(p['docker_path'], module)
    kind = Kind(p['kind_path'], module)
    result = {'changed': False, 'actions': [], 'nodes': [], 'kubeconfig': p['kubeconfig']}
    try:
        kind.version()
        exists = name in kind.clusters()
        tmpdir = tempfile.mkdtemp(prefix='kind-cluster-', dir=module.tmpdir)
        scratch_kubeconfig = os.path.join(tmpdir, 'kubeconfig')  # kind writes here, not into ~/.kube/config

        if p['state'] == 'absent':
            if exists:
                result['actions'].append('delete')
                if not module.check_mode:
                    kind.delete(name, scratch_kubeconfig)
            for what, path in (('kubeconfig', p['kubeconfig']), ('node addresses', p['node_addresses_file'])):
                if path and os.path.exists(path):
                    result['actions'].append('remove ' + what)
                    if not module.check_mode:
                        os.unlink(path)
            result['changed'] = bool(result['actions'])
            if module._diff:
                result['diff'] = {'before': f'cluster {name} exists\n' if exists else '', 'after': ''}
            module.exit_json(**result)

        if p['lab_cluster']:
            try:
                config = kc.render(p['lab_cluster'], p['lab_registry'], p['node_images'], p['certs_dir'])
            except (KeyError, ValueError) as exc:
                module.fail_json(msg=f'cannot render the kind config from lab_cluster: {exc}')
        else:
            config = kc.with_name(p['config'], name)
        result['config'] = config
        problems = kc.validate(config, name)
        if problems:
            module.fail_json(msg='invalid kind config: ' + '; '.join(problems), problems=problems)
        wanted = kc.fingerprint(config)
        result['fingerprint'] = wanted
        stored = None
        if exists:
            stored = read_stored(docker, name + '-control-plane')
        before = stored['config'] if stored else None
        if module._diff:
            result['diff'] = {'before': kc.pretty(before) if before is not None else ('' if not exists else f'cluster {name} (config unknown)\n'),
                              'after': kc.pretty(config)}
        if exists and (stored is None or stored['fingerprint'] != wanted):
            why = (f'cluster {name} exists but was not created by this module (no {FINGERPRINT_PATH} in {name}-control-plane)') if stored is None else \
                f'cluster {name} runs another config than the one asked for:\n{kc.diff(before, config)}'
            if not p['recreate']:
                module.fail_json(msg=why + '\nSet recreate: true to delete and create it again (its workloads are lost).',
                                 fingerprint=wanted, running_fingerprint=(stored or {}).get('fingerprint'))
            result['actions'].append('delete')
            if not module.check_mode:
                kind.delete(name, scratch_kubeconfig)
            exists = False
        network = (p['lab_cluster'] or {}).get('docker_network') or {}
        if 'node_range' not in network:
            network = None
        elif p['docker_network'] and p['docker_network'] != network['name']:
            module.fail_json(msg='docker_network {!r} is not the lab cluster\'s network {!r}'.format(p['docker_network'], network['name']))
        if not exists:
            if network:
                steps = lab_network.plan_creating(network, lab_network.observe(docker, network['name']))
                result['actions'] += lab_network.describe(steps)
                if not module.check_mode:
                    lab_network.apply(docker, network, steps)
            result['actions'].append('create')
            if not module.check_mode:
                config_path = os.path.join(tmpdir, 'kind-config.json')
                with open(config_path, 'w') as f:
                    f.write(kc.pretty(config))
                kind.create(name, config_path, scratch_kubeconfig, wait=p['wait'], network=network['name'] if network else p['docker_network'])
                record = json.dumps({'fingerprint': wanted, 'config': config}, sort_keys=True)
                docker.run(docker_cli.exec_args(name + '-control-plane', ['tee', FINGERPRINT_PATH], interactive=True),
                           input=record, what='cluster created, but storing its fingerprint')

        created_in_check = module.check_mode and 'create' in result['actions']
        if network and created_in_check:
            result['actions'].append('pin node addresses')
        elif network:
            pin_node_addresses(module, kind, docker, name, network, result)

        if p['kubeconfig'] and not created_in_check:
            write_if_changed(module, p['kubeconfig'], kind.kubeconfig(name), 0o600, 'write kubeconfig', result)
        elif p['kubeconfig']:
            result['actions'].append('write kubeconfig')
        if p['node_addresses_file'] and network and not created_in_check:
            # as Ansible's to_nice_json writes it (the file the lab state kept before this module wrote it)
            text = json.dumps(result['node_addresses'], indent=4, sort_keys=True, separators=(',', ': ')) + '\n'
            write_if_changed(module, p['node_addresses_file'], text, 0o644, 'write node addresses', result)
        elif p['node_addresses_file'] and network:
            result['actions'].append('write node addresses')
        if not created_in_check:
            result['nodes'] = node_summaries(kind, docker, name)
            if network:
                fixed = lab_network.pinned_addresses(docker, [n['name'] for n in result['nodes']], network['name'])
                for node in result['nodes']:
                    node['fixed_address'] = fixed.get(node['name'])
            if p['ready_timeout'] > 0 and not module.check_mode:
                wait_nodes_ready(module, docker, name, [node['name'] for node in result['nodes']], result)
    except CliError as exc:  # kind, docker, or a lab network that cannot be brought to shape
        module.fail_json(actions=result['actions'], **exc.as_dict())
    result['changed'] = bool(result['actions'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
