# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Pure functions: a cluster of the lab model -> a kind v1alpha4 Cluster config, its fingerprint, checks.

No I/O: the kind_cluster role calls ``render`` through the ``kind_cluster`` module's helpers and pytest
golden-tests it (tests/unit/fixtures/kind_config/).
"""

import copy
import difflib
import hashlib
import json
import re

API_VERSION = 'kind.x-k8s.io/v1alpha4'
CERTS_D = '/etc/containerd/certs.d'
CONTAINERD_PATCH = (
    '[plugins."io.containerd.grpc.v1.cri".registry]\n'
    f'  config_path = "{CERTS_D}"\n'
)
LABEL_GPU = 'openkasugai.io/gpu'
LABEL_SRIOV = 'openkasugai.io/sriov'
LABEL_SRIOV_PF = 'openkasugai.io/sriov-pf'
ROLES = ('control-plane', 'worker')


def label_value(text):
    """A Kubernetes label value from free text (PCI addresses have ':' which labels do not allow)."""
    value = re.sub(r'[^A-Za-z0-9_.-]', '-', str(text))[:63]
    return value.strip('-_.') or 'x'


def node_image(cluster, node, images=None):
    """The image of one node: images[<node name>] (the node_image stage's refs), then
    images[gpu_worker|worker|control_plane|default], then cluster.node_image, then kindest/node."""
    images = images or {}
    if node.get('name') in images:
        return images[node['name']]
    fallback = images.get('default') or cluster.get('node_image') or 'kindest/node:{}'.format(cluster['kubernetes_version'])
    if node['role'] == 'control-plane':
        return images.get('control_plane') or fallback
    if node.get('gpus'):
        return images.get('gpu_worker') or images.get('worker') or fallback
    return images.get('worker') or fallback


def uses_registry(registry):
    return bool(registry) and registry.get('type') in ('local', 'external') and bool(registry.get('url'))


def render(cluster, registry=None, images=None, certs_dir=None):
    """kind Cluster config (a dict) for one cluster of ``lab_model.clusters``.

    ``registry``: ``lab_model.registry``; when it is used (type local/external), containerd in every node
    reads ``config_path`` = /etc/containerd/certs.d, mounted read-only from ``certs_dir`` on the host
    (where the kind_cluster role writes ``<host:port>/hosts.toml`` and ``ca.crt``).
    ``images``: node images by kind (``default``, ``control_plane``, ``worker``, ``gpu_worker``).
    """
    networking = {'podSubnet': cluster['pod_subnet'], 'serviceSubnet': cluster['service_subnet']}
    config = {'kind': 'Cluster', 'apiVersion': API_VERSION, 'name': cluster['name'], 'networking': networking}
    registry_on = uses_registry(registry)
    if registry_on:
        if not certs_dir:
            raise ValueError('certs_dir is required when the cluster uses a registry')
        config['containerdConfigPatches'] = [CONTAINERD_PATCH]
    nodes = []
    for node in sorted(cluster['nodes'], key=lambda n: n.get('index', 0)):
        item = {'role': node['role'], 'image': node_image(cluster, node, images)}
        mounts = []
        if registry_on:
            mounts.append({'hostPath': certs_dir, 'containerPath': CERTS_D, 'readOnly': True})
        labels = {}
        if node.get('gpus'):
            labels[LABEL_GPU] = 'true'
            if cluster.get('gpu_method', 'node_driver') == 'node_driver':
                # the seed's way: the node loads the host's kernel modules itself
                mounts.append({'hostPath': '/lib/modules', 'containerPath': '/lib/modules', 'readOnly': True})
            else:
                # nvkind's way: nvidia-container-toolkit (accept-nvidia-visible-devices-as-volume-mounts) on the host
                mounts.append({'hostPath': '/dev/null', 'containerPath': '/var/run/nvidia-container-devices/all'})
        if node.get('nics'):
            labels[LABEL_SRIOV] = 'true'
            labels[LABEL_SRIOV_PF] = '_'.join(label_value(nic['pf']) for nic in node['nics'])[:63]
        if mounts:
            item['extraMounts'] = mounts
        if labels:
            item['labels'] = labels
        nodes.append(item)
    config['nodes'] = nodes
    return config


def canonical(config):
    return json.dumps(config, sort_keys=True, separators=(',', ':'), ensure_ascii=True)


def fingerprint(config):
    """sha256 of the canonical JSON of a config: equal configs, equal fingerprints, whatever the key order."""
    return 'sha256:' + hashlib.sha256(canonical(config).encode('utf-8')).hexdigest()


def pretty(config):
    return json.dumps(config, sort_keys=True, indent=2) + '\n'


def diff(before, after):
    """Unified diff of two configs (pretty JSON, sorted keys); '' when equal."""
    if before is not None and canonical(before) == canonical(after):
        return ''
    a = pretty(before).splitlines(True) if before is not None else []
    return ''.join(difflib.unified_diff(a, pretty(after).splitlines(True), 'running cluster', 'wanted config'))


def validate(config, name=None):
    """Problems of a kind v1alpha4 Cluster config, as a list of messages naming the field ([] when fine)."""
    problems = []
    if not isinstance(config, dict):
        return ['config must be a mapping (a kind Cluster)']
    if config.get('kind') != 'Cluster':
        problems.append('config.kind must be "Cluster", not {!r}'.format(config.get('kind')))
    if config.get('apiVersion') != API_VERSION:
        problems.append('config.apiVersion must be {!r}, not {!r}'.format(API_VERSION, config.get('apiVersion')))
    if name and config.get('name') not in (None, name):
        problems.append('config.name {!r} differs from the cluster name {!r}'.format(config.get('name'), name))
    nodes = config.get('nodes')
    if nodes is None:
        nodes = [{'role': 'control-plane'}]
    if not isinstance(nodes, list) or not nodes:
        problems.append('config.nodes must be a non-empty list')
        nodes = []
    roles = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            problems.append(f'config.nodes[{i}] must be a mapping')
            continue
        roles.append(node.get('role', 'control-plane'))
        if roles[-1] not in ROLES:
            problems.append(f"config.nodes[{i}].role must be one of {', '.join(ROLES)}, not {roles[-1]!r}")
        for j, mount in enumerate(node.get('extraMounts') or []):
            if not mount.get('hostPath') or not mount.get('containerPath'):
                problems.append(f'config.nodes[{i}].extraMounts[{j}] needs hostPath and containerPath')
        for key, value in (node.get('labels') or {}).items():
            if not re.match(r'^(([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?)$', str(value)) or len(str(value)) > 63:
                problems.append(f'config.nodes[{i}].labels.{key}: {value!r} is not a valid label value')
    if nodes and 'control-plane' not in roles:
        problems.append('config.nodes needs at least one control-plane node')
    return problems


def with_name(config, name):
    out = copy.deepcopy(config)
    out.setdefault('name', name)
    return out
