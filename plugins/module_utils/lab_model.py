# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The lab model: one validated description of the lab that every stage reads.

Users write the model in inventory variables (``lab_registry``, ``lab_clusters``,
``lab_downloads``, ``lab_state_dir``). The ``lab_model`` module type-checks them with
``ARGUMENT_SPEC``, then this file:

* ``normalize()`` fills what can be derived (node names as kind names them, the
  registry host and port, default pools) and adds flattened ``gpus``/``nics`` views;
* ``check_model()`` applies the cross-field rules that need no host;
* ``check_host()`` applies the rules that need the host (devices exist, VF limits,
  the uplink, files).

Every rule returns ``Problem``s naming the inventory field and the fix, so a bad model
is refused before anything changes, with every mistake listed at once.
"""

import copy
import ipaddress
import itertools
import json
import os
import posixpath
import re
from dataclasses import dataclass

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import addon_images, kmod
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import mirror as site_mirror
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.scenarios import (
    CALC_DEFAULT_CHAIN,
    CALC_FUNCTIONS,
    SCENARIOS,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import normalize_pci_address

DEFAULT_STATE_DIR = '/var/lib/openkasugai-lab'
# Where from-source builds keep their caches and outputs (the Go toolchain and caches, built binaries, node image
# archives): cache data, kept by destroy.yml so that a rebuilt lab compiles nothing again.
DEFAULT_BUILD_CACHE_DIR = '/var/cache/openkasugai-lab'
REQUIRED_DOWNLOADS = ('kind', 'kubectl')
# lab_build_from_source: what a lab may build instead of downloading or pulling.
BUILD_FROM_SOURCE_CHOICES = ['addon_images', 'base_images', 'kind', 'kubectl', 'node_image']
# The choices built with the pinned Go toolchain (lab_downloads.go) from the Go module proxy.
GO_BUILT = ('kind', 'kubectl', 'node_image')
# base_images: the Go toolchains the golang bases of the upstream Dockerfiles carry (golang:1.22, golang:1.23),
# by lab_downloads key and the Go release their version must belong to.
BASE_IMAGE_TOOLCHAINS = {'golang_1_22': 'go1.22', 'golang_1_23': 'go1.23'}
# The source the images stage builds the video tools with (their upstream Dockerfiles clone RidgeRun/gst-perf at
# build time), needed by a lab that runs a video scenario.
VIDEO_DOWNLOADS = ('gst_perf_source',)
# The Go module proxy from-source builds of Go programs read (kind), unless the lab names its own.
DEFAULT_GO_PROXY = site_mirror.PUBLIC_GO_PROXY
# libfpga's sources, which the images stage needs for the cgo controllers (EthernetConnection runs on every lab).
LIBFPGA_DOWNLOADS = ('hardware_drivers', 'parson')
# The controller source the lab deploys (CRDs, controllers, sample data, function sources).
CONTROLLER_GIT_URL = 'https://github.com/openkasugai/controller.git'
CONTROLLER_VERSION = '445aa901cf0e323f300d9e1b9ef5b22e77e21f68'
# Where the scenarios' sample data sits in the controller source.
SAMPLE_DATA_DIR = 'test/sample-data/sample-data-for-all-in-one'

_NIC_SPEC = dict(
    pf=dict(type='str', required=True),
    num_vfs=dict(type='int', default=0),
    move_pf=dict(type='bool', default=True),
    pf_address=dict(type='str', default=''),
)

_NODE_SPEC = dict(
    role=dict(type='str', required=True, choices=['control-plane', 'worker']),
    gpus=dict(type='list', elements='dict', default=[], options=dict(
        pci_address=dict(type='str', required=True),
    )),
    nics=dict(type='list', elements='dict', default=[], options=_NIC_SPEC),
    fpgas=dict(type='list', elements='dict', default=[], options=dict(
        pci_address=dict(type='str', required=True),
    )),
)

_ADDONS_SPEC = dict(
    multus=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool'),   # None: when SR-IOV is enabled (pods get VFs as Multus networks)
    )),
    sriov=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool'),   # None: when a worker of the cluster has VFs
        resource_prefix=dict(type='str', default='nvidia.com'),
        resource_name=dict(type='str', default='mlnx_sriov_netdevice'),
    )),
    metallb=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool'),   # None: when a scenario streams to a LoadBalancer (video, not SR-IOV)
        addresses=dict(type='list', elements='str', default=[]),
    )),
    nv_ipam=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool'),   # None: when a subnet is given
        pool_name=dict(type='str', default='nv-pool1'),
        subnet=dict(type='str', default=''),
        gateway=dict(type='str', default=''),
        per_node_block_size=dict(type='int', default=250),
        exclusions=dict(type='list', elements='str', default=[]),
    )),
    device_plugin=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool'),   # None: when a node of the cluster owns FPGAs
    )),
    openkasugai=dict(type='dict', apply_defaults=True, options=dict(
        enabled=dict(type='bool', default=True),
        namespaces=dict(type='list', elements='str', default=['cpufunc-calcapp', 'cpufunc-sample']),
    )),
    image_overrides=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        new_name=dict(type='str', default=''),
        new_tag=dict(type='str', default=''),
        digest=dict(type='str', default=''),
    )),
)

# The scenario names are choices, so the module's documentation and this spec cannot drift (sanity).
_SCENARIO_SPEC = dict(
    name=dict(type='str', required=True, choices=sorted(SCENARIOS)),
    chain=dict(type='list', elements='str', default=[]),
    inputs=dict(type='list', elements='str', default=[]),
    multi_worker=dict(type='bool', default=False),
    video=dict(type='str', default=''),   # an mp4 on the kind-host; '' = the lab makes a sample (video scenarios)
)

_CLUSTER_SPEC = dict(
    name=dict(type='str', required=True),
    kubernetes_version=dict(type='str', default='v1.34.1'),
    node_image=dict(type='str', default=''),
    docker_network=dict(type='dict', required=True, options=dict(
        name=dict(type='str', default=''),
        subnet=dict(type='str', required=True),
    )),
    pod_subnet=dict(type='str', default='10.244.0.0/16'),
    service_subnet=dict(type='str', default='10.96.0.0/16'),
    cni=dict(type='str', default='kindnet', choices=['kindnet']),
    gpu_method=dict(type='str', default='node_driver', choices=['node_driver', 'container_toolkit']),
    nodes=dict(type='list', elements='dict', required=True, options=_NODE_SPEC),
    addons=dict(type='dict', apply_defaults=True, options=_ADDONS_SPEC),
    scenarios=dict(type='list', elements='dict', default=[], options=_SCENARIO_SPEC),
)

# The part of the module's argument spec that is the lab model itself.
ARGUMENT_SPEC = dict(
    state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
    build_cache_dir=dict(type='path', default=DEFAULT_BUILD_CACHE_DIR),
    registry=dict(type='dict', apply_defaults=True, options=dict(
        type=dict(type='str', default='none', choices=['local', 'external', 'none']),
        url=dict(type='str', default=''),
        project=dict(type='str', default='openkasugai'),
        ca_file=dict(type='path', default=''),
        username=dict(type='str', default=''),
        password=dict(type='str', default='', no_log=True),
    )),
    downloads=dict(type='dict', default={}),
    mirror=dict(type='str', default=''),
    build_from_source=dict(type='list', elements='str', default=[], choices=BUILD_FROM_SOURCE_CHOICES),
    go_proxy=dict(type='str', default=DEFAULT_GO_PROXY),
    controller_source=dict(type='dict', apply_defaults=True, options=dict(
        type=dict(type='str', default='git', choices=['git', 'path', 'archive']),
        git_url=dict(type='str', default=CONTROLLER_GIT_URL),
        version=dict(type='str', default=CONTROLLER_VERSION),
        path=dict(type='path', default=''),
        archive_url=dict(type='str', default=''),
        checksum=dict(type='str', default=''),
    )),
    clusters=dict(type='list', elements='dict', required=True, options=_CLUSTER_SPEC),
    # the clusters (labs) a run acts on; [] = all of them
    only=dict(type='list', elements='str', default=[]),
)

_LABEL = r'[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'
# What docker, kind and Kubernetes accept, per kind of name: (pattern, what it is, fix).
NAME_RULES = {
    # kind names the node containers <name>-control-plane, <name>-worker2...: they stay DNS-1123 labels.
    'cluster': (re.compile(r'^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$'), 'a valid kind cluster name',
                'use lowercase letters, digits and dashes, starting and ending with a letter or digit, at most 32 characters '
                '(kind names the nodes <name>-control-plane, <name>-worker...).'),
    'docker_network': (re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$'), 'a name docker accepts for a network',
                       'use letters, digits, _ . and -, starting with a letter or digit, or leave it empty for kind-<cluster name>.'),
    'namespace': (re.compile(r'^%s$' % _LABEL), 'a Kubernetes namespace name (DNS-1123 label)',
                  'use lowercase letters, digits and dashes, starting and ending with a letter or digit, at most 63 characters.'),
    'object': (re.compile(r'^(?=.{1,253}$)%s(\.%s)*$' % (_LABEL, _LABEL)), 'a Kubernetes object name (DNS-1123 subdomain)',
               'use lowercase letters, digits, dashes and dots, starting and ending with a letter or digit.'),
    'resource_name': (re.compile(r'^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$'), 'a Kubernetes resource name',
                      'use letters, digits, _ . and -, starting and ending with a letter or digit, at most 63 characters.'),
    'project': (re.compile(r'^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$'), 'a registry project (repository path)',
                'use lowercase letters and digits, separated by . _ - or /.'),
}
# What a shell or a YAML/JSON quoting layer would read as syntax, named in the message.
_SHELL_LIKE = set(';$`\'"\\|&<>(){}*?!#~')
_KUBERNETES_VERSION = re.compile(r'^v[0-9]+\.[0-9]+\.[0-9]+$')
# A controller version the function_images stage can clone: a full commit, or a release tag (fetched shallow).
_GIT_COMMIT = re.compile(r'^[0-9a-f]{40}$')
_RELEASE_TAG = re.compile(r'^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$')
_GO_VERSION = re.compile(r'^go[0-9]+\.[0-9]+(\.[0-9]+)?$')
# Directories the lab must not own: the stages create files there and teardown removes them.
SYSTEM_DIRS = frozenset((
    '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt', '/opt', '/proc',
    '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/local', '/usr/sbin',
    '/usr/share', '/var', '/var/cache', '/var/lib', '/var/lib/docker', '/var/log', '/var/run', '/var/tmp'))
_REGISTRY_URL = re.compile(r'^(?P<host>[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:(?P<port>[0-9]{1,5}))?$')
_CHECKSUM = re.compile(r'^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$')


# The inventory variable of each part of the model (the module's options drop the lab_ prefix).
INVENTORY_NAMES = dict(state_dir='lab_state_dir', build_cache_dir='lab_build_cache_dir', registry='lab_registry', downloads='lab_downloads',
                       mirror='lab_mirror',
                       build_from_source='lab_build_from_source', go_proxy='lab_go_proxy', controller_source='lab_controller_source',
                       clusters='lab_clusters', only='lab_only')


@dataclass(frozen=True)
class Problem:
    """One reason the model is refused: the inventory field, what is wrong, and the fix."""
    field: str
    message: str
    fix: str

    def __str__(self):
        return '%s: %s Fix: %s' % (self.field, self.message, self.fix)


def pci_address(address):
    """'3b:00.0' -> '0000:3b:00.0'; None when it is not a PCI address."""
    try:
        return normalize_pci_address(address)
    except ValueError:
        return None


def node_names(cluster_name, roles):
    """The container names kind gives a cluster's nodes, in the order of ``roles``."""
    counters = {}
    names = []
    for role in roles:
        counters[role] = counters.get(role, 0) + 1
        suffix = '' if counters[role] == 1 else str(counters[role])
        names.append('%s-%s%s' % (cluster_name, role, suffix))
    return names


def _network(value):
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        return None


def _interface(value):
    try:
        return ipaddress.ip_interface(value)
    except ValueError:
        return None


def address_range(text):
    """'a-b' or a CIDR -> (first, last) ip_address; None when neither."""
    try:
        if '-' in text:
            first, last = (ipaddress.ip_address(part.strip()) for part in text.split('-', 1))
        else:
            net = ipaddress.ip_network(text.strip(), strict=True)
            first, last = net[0], net[-1]
    except ValueError:
        return None
    if first.version != last.version or first > last:
        return None
    return first, last


def _overlap(a, b):
    return a[0].version == b[0].version and a[0] <= b[1] and b[0] <= a[1]


def range_problem(text):
    """Why ``text`` is not a range a-b or a CIDR (a message), or None when it is one."""
    if address_range(text) is not None:
        return None
    try:
        first, last = (ipaddress.ip_address(part.strip()) for part in text.split('-', 1))
    except ValueError:
        return '%r is neither a range a-b nor a CIDR.' % text
    if first.version == last.version and first > last:
        return 'is written backwards: %s (the first address is above the last).' % text
    return '%r mixes IPv4 and IPv6.' % text


def _range_fix(text):
    first, last = (part.strip() for part in (text.split('-', 1) + [''])[:2])
    if address_range('%s-%s' % (last, first)):
        return 'write it lowest address first: %s-%s.' % (last, first)
    return 'write e.g. 172.30.0.240-172.30.0.249.'


def name_problems(field, value, kind):
    """A Problem when ``value`` is not the kind of name ``kind`` (NAME_RULES) says, naming any shell-like character."""
    pattern, what, fix = NAME_RULES[kind]
    if pattern.match(value):
        return []
    odd = sorted({ch for ch in value if ch in _SHELL_LIKE or ch.isspace()})
    why = ' (it contains %s)' % ', '.join(repr(ch) for ch in odd) if odd else ''
    return [Problem(field, '%r is not %s%s.' % (value, what, why), fix)]


def _pci_problems(field, value, example):
    if not value.strip():
        return [Problem(field, 'is empty.', 'give the PCI address, e.g. %s (see lspci -D), or remove the entry.' % example)]
    if pci_address(value) is None:
        return [Problem(field, '%r is not a PCI address.' % value,
                        'write it as domain:bus:device.function, e.g. %s (see lspci -D).' % example)]
    return []


def network_plan(subnet, node_count):
    """Where a lab network's addresses go: gateway, the block kept for the nodes, and docker's own range.

    Every node gets a fixed address (pinned in docker's IPAM, so a daemon restart hands it back) from
    ``node_range`` at the bottom of the subnet; docker's automatic allocation (``ip_range``) is the
    block right after it and never reaches a node address; the top of the subnet stays free for
    MetalLB. Returns None when the subnet is not a network or too small for both blocks and a pool.
    """
    net = _network(subnet)
    if net is None:
        return None
    size = 16
    while size < node_count + 3:  # network address, gateway, the nodes, one spare (the broadcast address)
        size *= 2
    if net.num_addresses < 4 * size:
        return None
    prefix = net.max_prefixlen - size.bit_length() + 1
    node_range, ip_range = list(itertools.islice(net.subnets(new_prefix=prefix), 2))
    return dict(gateway=str(net[1]), node_range=str(node_range), ip_range=str(ip_range),
                node_addresses=[str(node_range[2 + i]) for i in range(node_count)])


def default_metallb_range(subnet):
    """A free range at the top of a docker network: docker hands out addresses from the bottom."""
    net = ipaddress.ip_network(subnet)
    if net.num_addresses < 32:
        return None
    return '%s-%s' % (net[-12], net[-3])  # clear of network_plan's node and docker ranges at the bottom


def addon_manifests(cluster):
    """The upstream manifests a cluster's enabled add-ons apply, in apply order, as lab_downloads names."""
    addons = cluster['addons']
    wanted = [('multus', addons['multus']['enabled']),
              ('sriov_cni', addons['sriov']['enabled']),
              ('sriov_device_plugin', addons['sriov']['enabled']),
              ('nv_ipam', addons['nv_ipam']['enabled']),
              ('metallb', addons['metallb']['enabled'])]
    # nv-ipam is a kustomize tree in its source archive (rendered from the overlay named here).
    return [dict(addon=name, download='nv_ipam_source', kustomize=addon_images.NV_IPAM_OVERLAY) if name == 'nv_ipam'
            else dict(addon=name, download='%s_manifest' % name, kustomize='')
            for name, enabled in wanted if enabled]


def _needs_load_balancer(item):
    # Video DataFlows are entered through the first function's LoadBalancer EXTERNAL-IP (seed 002);
    # arithmetic input is given inside the send function, and SR-IOV patterns use the VF address.
    scenario = SCENARIOS.get(item['name'])
    return scenario is not None and scenario.family == 'video' and not scenario.needs_sriov


def _scenario(item):
    """A listed scenario with what the catalog knows of it (family, sample_dir, network) and its effective chain."""
    item = dict(item)
    # its outputs go under <scenario output dir>/<cluster>/<id>/
    item['id'] = item['name'] + ('-multi-worker' if item.get('multi_worker') else '')
    scenario = SCENARIOS.get(item['name'])
    if scenario is not None:
        item.update(family=scenario.family, sample_dir=scenario.sample_dir, network=scenario.network, needs_gpu=scenario.needs_gpu,
                    sample_path=posixpath.join(SAMPLE_DATA_DIR, scenario.sample_dir))
        if scenario.family == 'calc':
            item['effective_chain'] = list(item['chain'] or CALC_DEFAULT_CHAIN)
        if scenario.family == 'video':
            # On CPU the functions relay the stream unchanged (the received frames equal the sent ones);
            # a GPU function draws its inferences into the picture.
            item['video_expect'] = 'processed' if scenario.needs_gpu else 'relayed'
    return item


def validate(raw):
    """Type-check the model with ARGUMENT_SPEC part by part, so that a type error hides no other problem.

    Returns (params, problems, replaced). ``params`` is what AnsibleModule would give for the parts that
    validated: a broken variable takes its defaults, a broken cluster is left out (the others keep their
    position in ``index``). ``problems`` names each type, choice or missing-field error at its field path.
    ``replaced`` holds the variables whose cross-field problems mean nothing now (see ``check``).
    """
    params, problems, replaced = {}, [], set()
    for key, option in ARGUMENT_SPEC.items():
        field = INVENTORY_NAMES[key]
        if key == 'clusters' and isinstance(raw.get(key), list):
            params[key], found = _validate_clusters(raw[key])
        else:
            result = ArgumentSpecValidator({key: option}).validate({key: raw[key]} if key in raw else {})
            found = [] if not result.error_messages else (_option_problems(key, option, raw.get(key), field)
                                                          or [Problem(field, _sentence(m), _type_fix(option)) for m in result.error_messages])
            params[key] = result.validated_parameters.get(key) if not found else _defaults(key, option)
        if found:
            replaced.add(field)
        problems += found
    return params, problems, replaced


def check(raw, host=None):
    """The model and every reason to refuse it: types, cross-field rules and, with ``host`` (model -> Problems), the host's.

    A broken part is checked for its types only; every rule that does not read it still runs.
    """
    params, problems, replaced = validate(raw)
    model = normalize(params)
    found = check_model(model) + (host(model) if host else [])
    problems += [p for p in found if not any(p.field == v or p.field.startswith(v + '.') for v in replaced)]
    return model, problems + select(model, params['only'])


def select(model, only):
    """Narrow the model to the clusters (labs) named in ``only`` ([] = all): what a run with ``lab_only`` acts on.

    Every cluster was validated against the others first (networks, pools, devices are partitioned
    between labs whichever is selected). ``clusters`` keeps the selected ones; ``only`` and ``others``
    (the clusters left alone, which keep what they share: host packages, the registry, images, the
    netns keeper) are added, and ``selected_nodes`` (the nodes of the selected clusters); ``gpus``, ``nics``
    and ``fpgas`` stay the host's, every lab's, each naming its cluster and saying whether it is
    ``selected``; ``scenario_families`` are those of the selected clusters' scenarios. Returns the problems of names that are no cluster.
    """
    names = [cluster['name'] for cluster in model['clusters']]
    unknown = [name for name in only if name not in names]
    model['only'] = [name for name in only if name in names]
    model['others'] = [name for name in names if model['only'] and name not in model['only']]
    model['clusters'] = [cluster for cluster in model['clusters'] if cluster['name'] not in model['others']]
    model['selected_nodes'] = [node['name'] for cluster in model['clusters'] for node in cluster['nodes']]
    # the images stage builds the images of these families only (a calc-only run builds no video tools)
    model['scenario_families'] = sorted({s['family'] for cluster in model['clusters'] for s in cluster['scenarios'] if s.get('family')})
    for device in model['gpus'] + model['nics'] + model['fpgas']:
        device['selected'] = device['cluster'] not in model['others']
    return [Problem('lab_only', '%r is not a cluster of lab_clusters (%s).' % (name, ', '.join(names) or 'none'),
                    'name one of them, or leave lab_only unset for the whole lab.') for name in unknown]


def _validate_clusters(clusters):
    valid, problems = [], []
    for index, cluster in enumerate(clusters):
        name = cluster.get('name') if isinstance(cluster, dict) else None
        field = 'lab_clusters[%d]%s' % (index, ' (%s)' % name if isinstance(name, str) else '')
        if not isinstance(cluster, dict):
            problems.append(Problem(field, 'is %r, not a mapping.' % (cluster,), 'describe the cluster as a mapping (name, docker_network, nodes...).'))
            continue
        result = ArgumentSpecValidator(_CLUSTER_SPEC).validate(copy.deepcopy(cluster))
        if result.error_messages:
            problems += (_options_problems(_CLUSTER_SPEC, cluster, field)
                         or [Problem(field, _sentence(m), 'see ansible-doc openkasugai.all_in_one.lab_model.') for m in result.error_messages])
        else:
            valid.append(dict(result.validated_parameters, index=index))
    return valid, problems


def _options_problems(options, value, field):
    """Type, choice, missing and unknown-field errors of a mapping against its suboptions, at their field paths."""
    problems = [Problem('%s.%s' % (field, key), 'is not a field here.', 'remove it or fix its spelling; the fields are: %s.' % ', '.join(sorted(options)))
                for key in value if key not in options]
    for key, option in options.items():
        if value.get(key) is None:
            if option.get('required'):
                problems.append(Problem('%s.%s' % (field, key), 'is missing.', 'give %s; it is required.' % key))
            continue
        problems += _option_problems(key, option, value[key], '%s.%s' % (field, key))
    return problems


def _option_problems(key, option, value, field):
    """The errors of one option's value: nested mappings and list items are checked one by one."""
    options = option.get('options')
    if options and option['type'] == 'dict' and isinstance(value, dict):
        return _options_problems(options, value, field)
    if options and option['type'] == 'list' and isinstance(value, list):
        problems = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                problems += _options_problems(options, item, '%s[%d]' % (field, index))
            else:
                problems.append(Problem('%s[%d]' % (field, index), 'is %r, not a mapping.' % (item,),
                                        'write it as a mapping of: %s.' % ', '.join(sorted(options))))
        return problems
    leaf = {k: v for k, v in option.items() if k not in ('options', 'apply_defaults', 'required')}
    result = ArgumentSpecValidator({key: leaf}).validate({key: copy.deepcopy(value)})
    return [Problem(field, _sentence(message), _type_fix(option)) for message in result.error_messages]


def _sentence(message):
    return message if message.endswith('.') else message + '.'


_TYPE_WORDS = dict(int='a whole number', bool='true or false', str='a string', path='an absolute path', dict='a mapping', list='a list')


def _type_fix(option):
    if option.get('choices'):
        return 'use one of: %s.' % ', '.join(option['choices'])
    what = _TYPE_WORDS.get(option.get('type'), option.get('type'))
    if option.get('type') == 'list' and option.get('elements'):
        what += ' of %s' % ('mappings' if option['elements'] == 'dict' else _TYPE_WORDS.get(option['elements'], option['elements']) + 's')
    return 'write %s (see ansible-doc openkasugai.all_in_one.lab_model).' % what


def _defaults(key, option):
    if option.get('required'):
        return []  # clusters, the only required variable
    return ArgumentSpecValidator({key: option}).validate({}).validated_parameters.get(key)


def normalize(params):
    """The model as roles read it: user values plus everything derived, in one place."""
    registry = dict(params['registry'])
    match = _REGISTRY_URL.match(registry['url']) if registry['url'] else None
    registry['host'] = match.group('host') if match else ''
    registry['port'] = int(match.group('port') or 443) if match else 0
    if registry['type'] == 'local' and not registry['ca_file']:
        registry['ca_file'] = os.path.join(params['state_dir'], 'registry', 'ca.crt')

    model = dict(state_dir=params['state_dir'], build_cache_dir=params['build_cache_dir'], registry=registry, downloads=dict(params['downloads']),
                 # where the accelerators stage records the host's original VF counts, driver and PF addresses
                 accelerators_state_file=os.path.join(params['state_dir'], 'accelerators', 'original-state.json'),
                 # the NVIDIA stack the accelerators stage unloads on the host (dependents first) and a GPU worker loads
                 gpu_modules=dict(unload=list(kmod.NVIDIA_MODULES), load=list(kmod.NVIDIA_NODE_MODULES)),
                 build_from_source=list(params['build_from_source']), go_proxy=params['go_proxy'].rstrip('/'),
                 image_prefix=addon_images.image_prefix(registry),
                 controller_source=dict(params['controller_source']), clusters=[], gpus=[], nics=[], fpgas=[],
                 only=[], others=[], selected_nodes=[], scenario_families=[])  # the selection: see select()
    # every URL the stages fetch points at the site mirror from here on (the upstream ones stay in mirror_files)
    site_mirror.apply(model, params['mirror'])
    for position, cluster in enumerate(params['clusters']):
        cluster = dict(cluster)
        cluster.setdefault('index', position)  # its position in lab_clusters, kept when validate() left a cluster out
        cluster['docker_network'] = dict(cluster['docker_network'])
        if not cluster['docker_network']['name']:
            cluster['docker_network']['name'] = 'kind-%s' % cluster['name']
        cluster['docker_network'].update(network_plan(cluster['docker_network']['subnet'], len(cluster['nodes'])) or {})
        cluster['kubeconfig'] = os.path.join(params['state_dir'], cluster['name'], 'kubeconfig')
        # its base node image is built from source (the node_image stage), unless the cluster names its own
        cluster['base_from_source'] = 'node_image' in params['build_from_source'] and not cluster['node_image']
        names = node_names(cluster['name'], [n['role'] for n in cluster['nodes']])
        cluster['nodes'] = [dict(node, name=name, index=index, features=node_features(node, cluster['gpu_method']))
                            for index, (node, name) in enumerate(zip(cluster['nodes'], names, strict=True))]
        addons = {key: (dict(value) if isinstance(value, dict) else value) for key, value in cluster['addons'].items()}
        metallb = addons['metallb']
        if metallb['enabled'] is None:
            metallb['enabled'] = any(_needs_load_balancer(s) for s in cluster['scenarios'])
        if metallb['enabled'] and not metallb['addresses'] and _network(cluster['docker_network']['subnet']):
            default = default_metallb_range(cluster['docker_network']['subnet'])
            metallb['addresses'] = [default] if default else []
        if addons['sriov']['enabled'] is None:
            addons['sriov']['enabled'] = any(nic['num_vfs'] > 0 for node in cluster['nodes'] for nic in node['nics'])
        # The device plugin's pool: the VFs of the cluster's PFs, by netdev name or by PCI address.
        pfs = [nic['pf'] for node in cluster['nodes'] for nic in node['nics']]
        addons['sriov']['pf_names'] = [pf for pf in pfs if not pci_address(pf)]
        addons['sriov']['pf_addresses'] = [pci_address(pf) for pf in pfs if pci_address(pf)]
        if addons['multus']['enabled'] is None:
            addons['multus']['enabled'] = addons['sriov']['enabled']
        plugin = addons['device_plugin']
        plugin['nodes'] = [node['name'] for node in cluster['nodes'] if node['fpgas']]
        if plugin['enabled'] is None:
            plugin['enabled'] = bool(plugin['nodes'])
        if addons['nv_ipam']['enabled'] is None:
            addons['nv_ipam']['enabled'] = bool(addons['nv_ipam']['subnet'])
        # IPPool exclusions are start/end pairs; the model also accepts CIDRs.
        addons['nv_ipam']['exclusion_ranges'] = [dict(start=str(r[0]), end=str(r[1]))
                                                 for r in map(address_range, addons['nv_ipam']['exclusions']) if r]
        cluster['addons'] = addons
        # a source archive's tree is unpacked under a name that changes with its pin (as the images stage does)
        cluster['addon_manifests'] = [dict(item, source_id=addon_images.source_id(item['download'], model['downloads']) if item['kustomize'] else '')
                                      for item in addon_manifests(cluster)]
        cluster['scenarios'] = [_scenario(s) for s in cluster['scenarios']]
        # the add-ons whose images its nodes run (the images stage loads an add-on's image only there)
        cluster['image_addons'] = sorted(set(item['addon'] for item in cluster['addon_manifests'])
                                         | ({'device_plugin'} if plugin['enabled'] else set()))
        for node in cluster['nodes']:
            for gpu in node['gpus']:
                model['gpus'].append(dict(cluster=cluster['name'], selected=True, node=node['name'],
                                          gpu_method=cluster['gpu_method'],
                                          pci_address=pci_address(gpu['pci_address']) or gpu['pci_address']))
            for nic in node['nics']:
                model['nics'].append(dict(nic, cluster=cluster['name'], selected=True, node=node['name'], attachment=nic_attachment(nic, node['name'])))
            for fpga in node['fpgas']:
                model['fpgas'].append(dict(cluster=cluster['name'], selected=True, node=node['name'],
                                           pci_address=pci_address(fpga['pci_address']) or fpga['pci_address']))
        model['clusters'].append(cluster)
    model['addon_images'] = addon_images.builds(model)
    # the images stage builds the accelerator device plugin's image once, for every cluster that runs it
    model['device_plugin'] = any(c['addons']['device_plugin']['enabled'] for c in model['clusters'])
    # a video scenario is listed: the kind-host makes and checks videos with GStreamer's tools
    model['video'] = any(s.get('family') == 'video' for c in model['clusters'] for s in c['scenarios'])
    for cluster in model['clusters']:
        cluster['addons']['images'] = addon_images.overrides(cluster, model)
    return model


def node_features(node, gpu_method):
    """What a node's image adds to kind's base, sorted: sriov (it gets PFs/VFs), gpu (the driver userland in the
    node, gpu_method node_driver) or toolkit (nvidia-container-toolkit, gpu_method container_toolkit)."""
    features = ['sriov'] if node['nics'] else []
    if node['gpus']:
        features.append('gpu' if gpu_method == 'node_driver' else 'toolkit')
    return sorted(features)


def nic_attachment(nic, node):
    """The netns_attach selection that moves a PF's VFs (and the PF itself, with its address) into its node."""
    return dict(container=node, pf=nic['pf'], include_pf=bool(nic['move_pf']), names=[],
                addresses={nic['pf']: nic['pf_address']} if nic['pf_address'] else {}, rename={})


def _cluster_field(cluster, rest=''):
    return 'lab_clusters[%d] (%s)%s' % (cluster['index'], cluster['name'], rest)


def check_model(model):
    """Cross-field rules that need nothing but the model. Returns a list of Problems."""
    problems = []
    problems += _check_state_dir(model['state_dir'])
    problems += _check_state_dir(model['build_cache_dir'], 'lab_build_cache_dir', DEFAULT_BUILD_CACHE_DIR)
    problems += _check_registry(model['registry'])
    problems += _check_registry_address(model)
    problems += [Problem('lab_mirror', message, fix) for message, fix in site_mirror.check(model['mirror'])]
    problems += _check_downloads(model)
    problems += _check_go(model)
    problems += _check_addon_downloads(model)
    problems += _check_controller_source(model['controller_source'])
    problems += _check_clusters(model['clusters'])
    problems += _check_device_ownership(model)
    return problems


def _check_state_dir(path, field='lab_state_dir', example=DEFAULT_STATE_DIR):
    fix = 'use a directory of the lab\'s own, e.g. %s.' % example
    if not os.path.isabs(path):
        return [Problem(field, '%r is relative: the stages run from different working directories.' % path, fix)]
    if os.path.normpath('/' + path.lstrip('/')) in SYSTEM_DIRS:
        return [Problem(field, '%s is a system directory: the stages create files there and teardown removes them.' % path, fix)]
    return []


def _check_registry(registry):
    problems = []
    kind = registry['type']
    if kind == 'none':
        return problems
    url = registry['url']
    if not url:
        problems.append(Problem('lab_registry.url', 'a %s registry needs its address.' % kind,
                                'set lab_registry.url to host[:port], e.g. harbor.example.com.'))
    elif '://' in url:
        problems.append(Problem('lab_registry.url', '%r carries a scheme; the lab always talks HTTPS with verification.' % url,
                                'write host[:port] only, e.g. %s.' % url.split('://', 1)[1].rstrip('/')))
    elif not _REGISTRY_URL.match(url):
        problems.append(Problem('lab_registry.url', '%r is not host[:port].' % url, 'write host[:port], e.g. harbor.example.com:443.'))
    elif not 0 < registry['port'] < 65536:
        problems.append(Problem('lab_registry.url', 'port %s is out of range.' % registry['port'], 'use a port between 1 and 65535.'))
    problems += name_problems('lab_registry.project', registry['project'], 'project')
    if kind == 'external' and not registry['ca_file']:
        problems.append(Problem('lab_registry.ca_file', 'an external registry needs the CA that signed its certificate (TLS is always verified).',
                                'set lab_registry.ca_file to the PEM file of the registry CA on the kind-host.'))
    if bool(registry['username']) != bool(registry['password']):
        missing = 'password' if registry['username'] else 'username'
        problems.append(Problem('lab_registry.%s' % missing, 'credentials need both a username and a password.',
                                'set lab_registry.%s (from vault), or remove the other one for anonymous access.' % missing))
    return problems


def _check_registry_address(model):
    """A registry given by IP must be an address the kind nodes reach outside the cluster."""
    registry = model['registry']
    if registry['type'] == 'none' or not registry['host']:
        return []
    if registry['host'] == 'localhost':
        return [Problem('lab_registry.url', 'localhost is each kind node itself, not the registry.',
                        'use an address the nodes reach, e.g. the docker network gateway for a local registry.')]
    try:
        address = ipaddress.ip_address(registry['host'].strip('[]'))
    except ValueError:
        return []  # a DNS name: what it resolves to is the host's business
    if address.is_loopback or address.is_unspecified:
        return [Problem('lab_registry.url', '%s is not an address the kind nodes can reach (it is each node itself).' % address,
                        'use an address the nodes reach, e.g. the docker network gateway for a local registry.')]
    problems = []
    for cluster in model['clusters']:
        for key in ('pod_subnet', 'service_subnet'):
            net = _network(cluster[key])
            if net is not None and address in net:
                problems.append(Problem('lab_registry.url', '%s is inside %s.%s %s: pods would route it into the cluster.'
                                        % (address, _cluster_field(cluster), key, net),
                                        'use a registry address outside the pod and service subnets, or move those subnets.'))
        docker_net = _network(cluster['docker_network']['subnet'])
        gateway = docker_net[1] if docker_net is not None else None  # as network_plan and docker give it
        if registry['type'] == 'local' and docker_net is not None and address in docker_net and address != gateway:
            problems.append(Problem('lab_registry.url', '%s is on the docker network of %s, where the kind-host only has the gateway %s: '
                                    'the other addresses are nodes and containers.' % (address, _cluster_field(cluster), gateway),
                                    'use %s:%s, the gateway, for the local registry.' % (gateway, registry['port'])))
    return problems


def required_downloads(model):
    """The downloads every lab fetches: kind and kubectl, the Go toolchain when the lab builds Go programs (kind, kubectl,
    the node image), and the toolchains of the golang bases when it builds the base images."""
    built = model['build_from_source']
    needed = tuple(name for name in REQUIRED_DOWNLOADS if not (name == 'kind' and name in built))  # kubectl's version says what to build
    bases = tuple(sorted(BASE_IMAGE_TOOLCHAINS)) if 'base_images' in built else ()
    video = VIDEO_DOWNLOADS if model.get('video') else ()
    return (('go',) if any(name in built for name in GO_BUILT) else ()) + needed + bases + video


def _check_go(model):
    problems = []
    proxy = model['go_proxy']
    if not (proxy.startswith('https://') or proxy.startswith('file:///')):
        problems.append(Problem('lab_go_proxy', '%r is not an https:// or file:// URL of a Go module proxy.' % proxy,
                                'give your site\'s Go module proxy, or leave it out for %s.' % DEFAULT_GO_PROXY))
    go = model['downloads'].get('go')
    if any(name in model['build_from_source'] for name in GO_BUILT) and isinstance(go, dict) and not _GO_VERSION.match(str(go.get('version') or '')):
        problems.append(Problem('lab_downloads.go.version', '%r is not a Go release such as go1.24.4 (the toolchain zip unpacks '
                                'under golang.org/toolchain@v0.0.1-<version>.linux-amd64).' % go.get('version'),
                                'give the version of the zip, e.g. go1.24.4.'))
    for name, release in sorted(BASE_IMAGE_TOOLCHAINS.items()) if 'base_images' in model['build_from_source'] else ():
        item = model['downloads'].get(name)
        version = str(item.get('version') or '') if isinstance(item, dict) else ''
        if isinstance(item, dict) and not (_GO_VERSION.match(version) and (version + '.').startswith(release + '.')):
            problems.append(Problem('lab_downloads.%s.version' % name, '%r is not a %s release such as %s.12 (the toolchain of the '
                                    'golang:%s base image).' % (version, release, release, release[2:]),
                                    'give the version of the zip, e.g. %s.12.' % release))
    kind = model['downloads'].get('kind')
    if 'kind' in model['build_from_source'] and isinstance(kind, dict) and not _RELEASE_TAG.match(str(kind.get('version') or '')):
        problems.append(Problem('lab_downloads.kind.version', '%r is not a release tag: kind is built with go install sigs.k8s.io/kind@<version>.'
                                % kind.get('version'), 'pin a kind release, e.g. v0.32.0.'))
    return problems


def _download_purpose(name, model):
    """What a required download is for, in words (a refusal names it)."""
    if name == 'go':
        return 'the Go toolchain that builds %s (lab_build_from_source)' % ', '.join(n for n in GO_BUILT if n in model['build_from_source'])
    if name in BASE_IMAGE_TOOLCHAINS:
        return 'the Go toolchain of the golang:%s base image (lab_build_from_source: [base_images])' % BASE_IMAGE_TOOLCHAINS[name][2:]
    if name in VIDEO_DOWNLOADS:
        return 'the gst-perf source the video tools are built with (a video scenario is listed)'
    return name


def _check_downloads(model):
    downloads = model['downloads']
    problems = []
    for name in required_downloads(model):
        if name not in downloads:
            problems.append(Problem('lab_downloads.%s' % name, 'no download is described for %s.' % _download_purpose(name, model),
                                    'add lab_downloads.%s with version, url and checksum (see inventory/*/group_vars/all/downloads.yml).' % name))
    for name, item in sorted(downloads.items()):
        field = 'lab_downloads.%s' % name
        if not isinstance(item, dict):
            problems.append(Problem(field, 'must be a mapping with version, url and checksum.', 'write it as {version, url, checksum}.'))
            continue
        # A local path (an offline copy of a manifest or of a kustomize tree) replaces url + checksum; kind built
        # from source needs only its version.
        built = name in ('kind', 'kubectl') and name in model['build_from_source']
        for key in ('version',) if item.get('path') or built else ('version', 'url', 'checksum'):
            if not item.get(key):
                problems.append(Problem('%s.%s' % (field, key), 'is missing.',
                                        'every download is pinned: give version, url and checksum (or version and a local path).'))
        url = str(item.get('url') or '')
        if url.startswith('http://'):
            problems.append(Problem('%s.url' % field, 'plain HTTP downloads are refused.', 'use https:// or a file:// path on an offline mirror.'))
        checksum = str(item.get('checksum') or '')
        if checksum and not _CHECKSUM.match(checksum):
            problems.append(Problem('%s.checksum' % field, '%r is not sha256:<64 hex> or sha512:<128 hex>.' % checksum,
                                    'copy the published checksum with its algorithm prefix.'))
    return problems


def _check_addon_downloads(model):
    problems = []
    for cluster in model['clusters']:
        ci = cluster['index']
        for item in cluster['addon_manifests']:
            if item['download'] not in model['downloads']:
                problems.append(Problem('lab_downloads.%s' % item['download'],
                                        'the %s add-on of lab_clusters[%d] (%s) is enabled but its manifest is not described.'
                                        % (item['addon'], ci, cluster['name']),
                                        'add lab_downloads.%s {version, url, checksum} (see inventory/*/group_vars/all/downloads.yml), '
                                        'or disable the add-on.' % item['download']))
    for download, addon in addon_images.missing_sources(model):
        problems.append(Problem('lab_downloads.%s' % download,
                                'lab_build_from_source builds the %s add-on\'s images, whose source archive is not described.' % addon,
                                'add lab_downloads.%s {version, url, checksum} or {version, path} (the upstream tag\'s source '
                                'archive; see inventory/localhost-cpu/group_vars/all/downloads.yml), or take %s out of '
                                'lab_build_from_source and let the nodes pull the upstream images.' % (download, 'addon_images')))
    with_openkasugai = [(cluster['index'], cluster['name']) for cluster in model['clusters']
                        if cluster['addons']['openkasugai']['enabled']]
    if with_openkasugai:
        ci, name = with_openkasugai[0]
        for download in LIBFPGA_DOWNLOADS:
            if download not in model['downloads']:
                problems.append(Problem('lab_downloads.%s' % download,
                                        'OpenKasugai runs on lab_clusters[%d] (%s): its EthernetConnection controller is a cgo '
                                        'program built on libfpga, whose sources (hardware-drivers and parson) are not described.'
                                        % (ci, name),
                                        'add lab_downloads.%s {version, url, checksum} or {version, path} '
                                        '(see inventory/*/group_vars/all/downloads.yml).' % download))
    return problems


def _check_controller_source(source):
    field = 'lab_controller_source'
    needed = {'git': ('git_url', 'version'), 'path': ('path',), 'archive': ('archive_url', 'checksum')}[source['type']]
    problems = [Problem('%s.%s' % (field, key), 'is required with type %s.' % source['type'],
                        'set %s.%s, or choose another type (git, path, archive).' % (field, key))
                for key in needed if not source[key]]
    if source['type'] == 'archive' and source['checksum'] and not _CHECKSUM.match(source['checksum']):
        problems.append(Problem('%s.checksum' % field, '%r is not sha256:<64 hex> or sha512:<128 hex>.' % source['checksum'],
                                'copy the checksum of the tarball with its algorithm prefix.'))
    version = source['version']
    if source['type'] == 'git' and version and not (_GIT_COMMIT.match(version) or _RELEASE_TAG.match(version)):
        problems.append(Problem('%s.version' % field, '%r is neither a release tag vX.Y.Z nor a full 40-character commit: '
                                'a branch moves, and a short commit cannot be cloned shallow.' % version,
                                'pin a tag (e.g. v1.1.0) or the full commit (git rev-parse %s).' % version))
    url_key = {'git': 'git_url', 'archive': 'archive_url'}.get(source['type'])
    if url_key and source[url_key].startswith('http://'):
        problems.append(Problem('%s.%s' % (field, url_key), 'plain HTTP is refused.', 'use https:// (or a local path).'))
    return problems


def _check_clusters(clusters):
    problems = []
    seen_names = {}
    seen_networks = []
    seen_pools = []
    if not clusters:
        problems.append(Problem('lab_clusters', 'no cluster is described.', 'describe at least one cluster.'))
    for cluster in clusters:
        ci = cluster['index']
        name = cluster['name']
        problems += name_problems('lab_clusters[%d].name' % ci, name, 'cluster')
        if not _KUBERNETES_VERSION.match(cluster['kubernetes_version']):
            problems.append(Problem(_cluster_field(cluster, '.kubernetes_version'), '%r is not a version vX.Y.Z.' % cluster['kubernetes_version'],
                                    'write it as kind\'s node images are tagged, e.g. v1.34.1.'))
        if name in seen_names:
            problems.append(Problem('lab_clusters[%d].name' % ci, 'cluster %r is described twice (also lab_clusters[%d]).' % (name, seen_names[name]),
                                    'give every cluster its own name.'))
        seen_names.setdefault(name, ci)
        problems += _check_cluster_networks(ci, cluster, seen_networks)
        problems += _check_nodes(ci, cluster)
        problems += _check_addons(ci, cluster, seen_pools)
        problems += _check_scenarios(ci, cluster)
    return problems


_IPV4_EXAMPLES = {'docker_network.subnet': '172.30.0.0/24', 'pod_subnet': '10.244.0.0/16', 'service_subnet': '10.96.0.0/16'}


def _check_cluster_networks(ci, cluster, seen_networks):
    problems = []
    field = _cluster_field(cluster)
    nets = {}
    for key in ('docker_network.subnet', 'pod_subnet', 'service_subnet'):
        value = cluster['docker_network']['subnet'] if key == 'docker_network.subnet' else cluster[key]
        net = _network(value)
        if net is None:
            problems.append(Problem('%s.%s' % (field, key), '%r is not a network in CIDR form.' % value,
                                    'write a network address with its prefix, e.g. 172.30.0.0/24.'))
        elif net.version == 6:
            problems.append(Problem('%s.%s' % (field, key), '%s is IPv6, which the lab does not wire through kind\'s ipFamily yet.' % net,
                                    'use an IPv4 subnet, e.g. %s.' % _IPV4_EXAMPLES[key]))
        else:
            nets[key] = net
    keys = list(nets)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if nets[a].version == nets[b].version and nets[a].overlaps(nets[b]):
                problems.append(Problem('%s.%s' % (field, b), '%s overlaps %s %s.' % (nets[b], a, nets[a]),
                                        'choose non-overlapping subnets for the docker network, pods and services.'))
    docker_net = nets.get('docker_network.subnet')
    network_name = cluster['docker_network']['name']
    if network_name != 'kind-%s' % cluster['name']:  # the derived name is as good as the cluster name, checked above
        problems += name_problems('%s.docker_network.name' % field, network_name, 'docker_network')
    for other_ci, other_name, other_net, other_network_name in seen_networks:
        if docker_net is not None and docker_net.version == other_net.version and docker_net.overlaps(other_net):
            problems.append(Problem('%s.docker_network.subnet' % field,
                                    '%s overlaps the docker network of lab_clusters[%d] (%s): %s.' % (docker_net, other_ci, other_name, other_net),
                                    'every cluster needs its own docker network subnet.'))
        if network_name == other_network_name:
            problems.append(Problem('%s.docker_network.name' % field, 'docker network %r is also used by lab_clusters[%d] (%s).'
                                    % (network_name, other_ci, other_name), 'give every cluster its own docker network.'))
    if docker_net is not None:
        seen_networks.append((ci, cluster['name'], docker_net, network_name))
        if network_plan(str(docker_net), len(cluster['nodes'])) is None:
            problems.append(Problem('%s.docker_network.subnet' % field,
                                    '%s is too small for %d nodes: the nodes\' fixed addresses, docker\'s own range and a MetalLB pool '
                                    'each take a block of it.' % (docker_net, len(cluster['nodes'])),
                                    'give a /26 or larger (a /24 is usual).'))
    return problems


def _check_nodes(ci, cluster):
    problems = []
    field = _cluster_field(cluster)
    roles = [node['role'] for node in cluster['nodes']]
    if 'control-plane' not in roles:
        problems.append(Problem('%s.nodes' % field, 'the cluster has no control-plane node.', 'add a node with role: control-plane.'))
    if roles.count('control-plane') > 1:
        problems.append(Problem('%s.nodes' % field, 'the cluster has %d control-plane nodes; the collection supports one control plane only.'
                                % roles.count('control-plane'), 'keep one node with role: control-plane and make the others workers.'))
    for node in cluster['nodes']:
        nfield = '%s.nodes[%d] (%s)' % (field, node['index'], node['name'])
        if node['role'] == 'control-plane' and (node['gpus'] or node['nics'] or node['fpgas']):
            problems.append(Problem(nfield, 'a control-plane node cannot own GPUs, NICs or FPGAs; functions run on workers.',
                                    'move the gpus/nics/fpgas to a worker node.'))
        for fi, fpga in enumerate(node['fpgas']):
            problems += _pci_problems('%s.fpgas[%d].pci_address' % (nfield, fi), fpga['pci_address'], '0000:5e:00.0')
        for gi, gpu in enumerate(node['gpus']):
            problems += _pci_problems('%s.gpus[%d].pci_address' % (nfield, gi), gpu['pci_address'], '0000:3b:00.0')
        for ni, nic in enumerate(node['nics']):
            if not nic['pf'].strip():
                problems.append(Problem('%s.nics[%d].pf' % (nfield, ni), 'is empty.', 'give the PF by netdev name or PCI address (see ip -br link).'))
            if nic['num_vfs'] < 0:
                problems.append(Problem('%s.nics[%d].num_vfs' % (nfield, ni), 'cannot be negative.', 'use 0 or more.'))
            if nic['pf_address'] and _interface(nic['pf_address']) is None:
                problems.append(Problem('%s.nics[%d].pf_address' % (nfield, ni), '%r is not an address with prefix.' % nic['pf_address'],
                                        'write it as address/prefix, e.g. 192.168.91.11/24, or leave it empty.'))
            if nic['pf_address'] and not nic['move_pf']:
                problems.append(Problem('%s.nics[%d].pf_address' % (nfield, ni), 'an address is given for a PF that stays on the host.',
                                        'set move_pf: true, or remove pf_address.'))
    return problems


def _sriov_networks(cluster):
    return [_interface(nic['pf_address']).network for node in cluster['nodes'] for nic in node['nics']
            if nic['pf_address'] and _interface(nic['pf_address'])]


def _check_addons(ci, cluster, seen_pools):
    problems = []
    field = '%s.addons' % _cluster_field(cluster)
    metallb = cluster['addons']['metallb']
    docker_net = _network(cluster['docker_network']['subnet'])
    reachable = ([docker_net] if docker_net else []) + _sriov_networks(cluster)
    pools = []
    if metallb['enabled'] and not metallb['addresses']:
        problems.append(Problem('%s.metallb.addresses' % field, 'no address pool is given and none can be derived from the docker network.',
                                'give addresses (a range a-b or a CIDR) on the docker network or a PF network.'))
    for ai, text in enumerate(metallb['addresses'] if metallb['enabled'] else []):
        rng = address_range(text)
        afield = '%s.metallb.addresses[%d]' % (field, ai)
        if rng is None:
            problems.append(Problem(afield, range_problem(text), _range_fix(text)))
            continue
        if not any(rng[0] in net and rng[1] in net for net in reachable):
            problems.append(Problem(afield, '%s is outside the docker network %s and every PF network of the cluster; '
                                    'nothing would answer ARP for it.' % (text, docker_net),
                                    'pick a free range inside %s, above its node and docker ranges.' % docker_net))
        network = cluster['docker_network']
        for key in ('node_range', 'ip_range'):
            if key in network and _overlap(rng, address_range(network[key])):
                what = "the nodes' fixed addresses" if key == 'node_range' else "docker's automatic allocation"
                problems.append(Problem(afield, '%s overlaps %s (%s) on the docker network.' % (text, what, network[key]),
                                        'pick a range above %s.' % network['ip_range']))
        for other_ci, other_name, other_rng, other_text in seen_pools:
            if _overlap(rng, other_rng):
                problems.append(Problem(afield, '%s overlaps the MetalLB pool %s of lab_clusters[%d] (%s).' % (text, other_text, other_ci, other_name),
                                        'give every cluster its own addresses.'))
        pools.append((rng, text))
    for rng, text in pools:
        seen_pools.append((ci, cluster['name'], rng, text))

    addons = cluster['addons']
    if addons['sriov']['enabled'] and not addons['multus']['enabled']:
        problems.append(Problem('%s.sriov.enabled' % field, 'SR-IOV networks are attached to pods by Multus, which is disabled.',
                                'enable addons.multus, or disable addons.sriov.'))
    for oi, override in enumerate(addons['image_overrides']):
        if not (override['new_name'] or override['new_tag'] or override['digest']):
            problems.append(Problem('%s.image_overrides[%d]' % (field, oi), 'image %r is overridden with nothing.' % override['name'],
                                    'give new_name, new_tag or digest.'))
    for ni, namespace in enumerate(addons['openkasugai']['namespaces']):
        problems += name_problems('%s.openkasugai.namespaces[%d]' % (field, ni), namespace, 'namespace')
    problems += name_problems('%s.sriov.resource_prefix' % field, addons['sriov']['resource_prefix'], 'object')
    problems += name_problems('%s.sriov.resource_name' % field, addons['sriov']['resource_name'], 'resource_name')
    ipam = addons['nv_ipam']
    problems += name_problems('%s.nv_ipam.pool_name' % field, ipam['pool_name'], 'object')
    if ipam['enabled'] and not ipam['subnet']:
        problems.append(Problem('%s.nv_ipam.subnet' % field, 'nv-ipam is enabled without a pool subnet.',
                                'set addons.nv_ipam.subnet to the SR-IOV network, or disable addons.nv_ipam.'))
    if ipam['subnet']:
        subnet = _network(ipam['subnet'])
        if subnet is None:
            problems.append(Problem('%s.nv_ipam.subnet' % field, '%r is not a network in CIDR form.' % ipam['subnet'], 'e.g. 192.168.91.0/24.'))
            return problems
        if ipam['gateway']:
            try:
                gateway_ok = ipaddress.ip_address(ipam['gateway']) in subnet
            except ValueError:
                gateway_ok = False
            if not gateway_ok:
                problems.append(Problem('%s.nv_ipam.gateway' % field, '%r is not an address inside %s.' % (ipam['gateway'], subnet),
                                        'use an address of the SR-IOV network, or leave it empty.'))
        exclusions = []
        for ei, text in enumerate(ipam['exclusions']):
            rng = address_range(text)
            if rng is None:
                problems.append(Problem('%s.nv_ipam.exclusions[%d]' % (field, ei), range_problem(text), _range_fix(text)))
            elif rng[0] not in subnet or rng[1] not in subnet:
                problems.append(Problem('%s.nv_ipam.exclusions[%d]' % (field, ei), '%r is not a range inside %s.' % (text, subnet),
                                        'write a-b with both ends inside the subnet.'))
            else:
                exclusions.append(rng)
        # nv-ipam allocates what is not excluded: a MetalLB pool there would hand out the same addresses twice.
        for rng, text in pools:
            if rng[0] in subnet or rng[1] in subnet:
                clash = _first_free(subnet, exclusions, rng)
                if clash is not None:
                    problems.append(Problem('%s.metallb.addresses' % field, '%s overlaps the nv-ipam pool %s (%s is allocatable by both).'
                                            % (text, ipam['pool_name'], clash),
                                            'add the MetalLB range to nv_ipam.exclusions or move one of the pools.'))
    return problems


def _first_free(subnet, exclusions, rng):
    """First address of rng inside subnet not covered by exclusions (None when all excluded)."""
    first = max(rng[0], subnet[0])
    last = min(rng[1], subnet[-1])
    for start, end in sorted(exclusions):
        if start <= first <= end:
            first = end + 1
    return first if first <= last else None


def _check_scenarios(ci, cluster):
    problems = []
    field = '%s.scenarios' % _cluster_field(cluster)
    workers = [n for n in cluster['nodes'] if n['role'] == 'worker']
    has_vfs = any(nic['num_vfs'] > 0 for n in workers for nic in n['nics'])
    has_gpu = any(n['gpus'] for n in workers)
    seen = set()
    if cluster['scenarios'] and not workers:
        problems.append(Problem(field, 'the cluster has no worker: scenario functions and the OpenKasugai node controllers run on workers.',
                                'add a node with role: worker, or remove the scenarios.'))
    for si, item in enumerate(cluster['scenarios']):
        sfield = '%s[%d]' % (field, si)
        scenario = SCENARIOS[item['name']]  # a choice: validate() refused any other name
        key = (item['name'], item['multi_worker'])
        if key in seen:
            problems.append(Problem('%s.name' % sfield, '%s is listed twice.' % item['name'], 'list each scenario once.'))
        seen.add(key)
        if not cluster['addons']['openkasugai']['enabled']:
            problems.append(Problem('%s.name' % sfield, '%s runs on the OpenKasugai controllers, which are disabled.' % item['name'],
                                    'enable addons.openkasugai.'))
        if scenario.needs_sriov and not cluster['addons']['sriov']['enabled']:
            problems.append(Problem('%s.name' % sfield, '%s needs the SR-IOV CNI and device plugin, which are disabled.' % item['name'],
                                    'enable addons.sriov (and addons.multus).'))
        if _needs_load_balancer(item) and not cluster['addons']['metallb']['enabled']:
            problems.append(Problem('%s.name' % sfield, '%s needs MetalLB: the video is streamed to the LoadBalancer address of its first function.'
                                    % item['name'], 'enable addons.metallb.'))
        if scenario.needs_sriov and not has_vfs:
            problems.append(Problem('%s.name' % sfield, '%s runs over SR-IOV but no worker of the cluster has VFs.' % item['name'],
                                    'give a worker nics with num_vfs > 0, or choose a scenario that uses cluster networking.'))
        if scenario.needs_sriov and not cluster['addons']['nv_ipam']['subnet']:
            problems.append(Problem('%s.name' % sfield, '%s needs the nv-ipam pool for VF addresses.' % item['name'],
                                    'set addons.nv_ipam.subnet (and exclusions) for the SR-IOV network.'))
        if scenario.needs_gpu and not has_gpu:
            problems.append(Problem('%s.name' % sfield, '%s runs a GPU function but no worker of the cluster has a GPU.' % item['name'],
                                    'give a worker gpus, or choose a CPU-only scenario (calc-*, video-p1c*, video-p3c1).'))
        if item['multi_worker'] and len(workers) < 2:
            problems.append(Problem('%s.multi_worker' % sfield, 'the multi-worker variant needs at least 2 workers; the cluster has %d.' % len(workers),
                                    'add a worker node or set multi_worker: false.'))
        if item['chain'] and scenario.family != 'calc':
            problems.append(Problem('%s.chain' % sfield, 'only the arithmetic scenarios have a customizable chain.', 'remove chain.'))
        for fi, function in enumerate(item['chain']):
            if function not in CALC_FUNCTIONS:
                problems.append(Problem('%s.chain[%d]' % (sfield, fi), 'unknown function %r.' % function,
                                        'use: %s.' % ', '.join(CALC_FUNCTIONS)))
        if item['chain'] and (item['chain'][0] != 'send' or item['chain'][-1] != 'rcv'):
            problems.append(Problem('%s.chain' % sfield, 'a chain starts with send and ends with rcv.', 'e.g. [send, plus, minus, rcv].'))
        if item['video'] and scenario.family != 'video':
            problems.append(Problem('%s.video' % sfield, 'only the video scenarios stream a video.', 'remove video.'))
        elif item['video'] and not (posixpath.isabs(item['video']) and item['video'].endswith('.mp4')):
            problems.append(Problem('%s.video' % sfield, '%r is not an absolute path to an mp4 file on the kind-host.' % item['video'],
                                    'e.g. /srv/videos/traffic.mp4 (an mp4 with an H.264 track), or leave it empty for the lab\'s sample.'))
    return problems


def _check_device_ownership(model):
    """A device belongs to one node of one cluster; the kernel driver of node_driver GPUs is host-wide."""
    problems = []
    owners = {}
    for gpu in model['gpus']:
        key = ('gpu', gpu['pci_address'])
        if key in owners:
            problems.append(Problem('lab_clusters (%s, %s).gpus' % (gpu['cluster'], gpu['node']),
                                    'GPU %s is already given to %s in cluster %s.' % (gpu['pci_address'], owners[key][1], owners[key][0]),
                                    'give each GPU to one node of one cluster.'))
        owners.setdefault(key, (gpu['cluster'], gpu['node']))
    for fpga in model['fpgas']:
        key = ('fpga', fpga['pci_address'])
        if key in owners:
            problems.append(Problem('lab_clusters (%s, %s).fpgas' % (fpga['cluster'], fpga['node']),
                                    'FPGA %s is already given to %s in cluster %s.' % (fpga['pci_address'], owners[key][1], owners[key][0]),
                                    'give each FPGA to one node of one cluster.'))
        owners.setdefault(key, (fpga['cluster'], fpga['node']))
    driver_nodes = sorted({(g['cluster'], g['node']) for g in model['gpus'] if g['gpu_method'] == 'node_driver'})
    if len(driver_nodes) > 1:
        problems.append(Problem('lab_clusters[*].gpu_method',
                                'GPUs with gpu_method node_driver are on %s; the NVIDIA kernel driver is loaded once per host, '
                                'from one node.' % ', '.join('%s/%s' % n for n in driver_nodes),
                                'give every node_driver GPU to the same worker, or use gpu_method: container_toolkit.'))
    addresses = {}
    for nic in model['nics']:
        key = ('nic', nic['pf'])
        if key in owners:
            problems.append(Problem('lab_clusters (%s, %s).nics' % (nic['cluster'], nic['node']),
                                    'PF %s is already given to %s in cluster %s.' % (nic['pf'], owners[key][1], owners[key][0]),
                                    'give each PF to one node of one cluster.'))
        owners.setdefault(key, (nic['cluster'], nic['node']))
        iface = _interface(nic['pf_address']) if nic['pf_address'] else None
        if iface is not None:
            if iface.ip in addresses:
                problems.append(Problem('lab_clusters (%s, %s).nics (%s).pf_address' % (nic['cluster'], nic['node'], nic['pf']),
                                        '%s is also the address of PF %s.' % (iface.ip, addresses[iface.ip]), 'give every PF its own address.'))
            addresses.setdefault(iface.ip, nic['pf'])
    return problems


def check_host(model, sysfs, uplinks, path_exists=os.path.exists, routes=(), fetch=None, recorded_pfs=None):
    """Rules that need the host: devices exist, VF limits, the uplink, files, the host's networks.

    ``sysfs`` is a module_utils.sysfs.Sysfs, ``uplinks`` the host's default-route interfaces,
    ``routes`` its other routes as (interface, network) (module_utils.sysfs.host_routes).
    ``recorded_pfs`` maps a PF as the model names it to the PCI address the accelerators stage recorded
    (``read_recorded_pfs``): on a lab already built, a PF whose netdev was moved into its node is no
    longer seen by name on the host, and is found by that address. With
    ``fetch`` (url, git -> '' or why not; module_utils.mirror.probe), every URL the lab will fetch is
    tried from here, so that no stage is the first to find the network missing.
    """
    problems = _check_host_routes(model, routes)
    if fetch is not None:
        problems += _check_reachable(model, fetch)
    registry = model['registry']
    if registry['type'] == 'external' and registry['ca_file'] and not path_exists(registry['ca_file']):
        problems.append(Problem('lab_registry.ca_file', '%s does not exist on the kind-host.' % registry['ca_file'],
                                'copy the registry CA there, or point ca_file at it.'))
    problems += _check_local_sources(model, path_exists)
    seen_pci = {}
    for nic in model['nics']:
        field = 'lab_clusters (%s, %s).nics (%s)' % (nic['cluster'], nic['node'], nic['pf'])
        pf = sysfs.resolve_pf(nic['pf'])
        if pf is None and (recorded_pfs or {}).get(nic['pf']):
            pf = sysfs.resolve_pf(recorded_pfs[nic['pf']])  # moved into its node by the devices stage
        if pf is None:
            problems.append(Problem('%s.pf' % field, 'no network device or PCI function %r exists on the host.' % nic['pf'],
                                    'check `ip -br link` / `lspci -D` and use the PF netdev name or its PCI address.'))
            continue
        if pf['pci_address'] in seen_pci and seen_pci[pf['pci_address']] != nic['pf']:
            problems.append(Problem('%s.pf' % field, '%s and %s are the same PCI function %s.' % (nic['pf'], seen_pci[pf['pci_address']], pf['pci_address']),
                                    'give each PF once.'))
        seen_pci.setdefault(pf['pci_address'], nic['pf'])
        if nic['num_vfs'] > pf['sriov_totalvfs']:
            problems.append(Problem('%s.num_vfs' % field, '%d VFs asked but %s supports at most %d (sriov_totalvfs).'
                                    % (nic['num_vfs'], nic['pf'], pf['sriov_totalvfs']),
                                    'lower num_vfs to %d or less.' % pf['sriov_totalvfs']))
        if nic['move_pf'] and pf.get('netdev') in uplinks:
            problems.append(Problem('%s.move_pf' % field, '%s carries the host\'s default route; moving it into a node would cut the host off.'
                                    % pf['netdev'], 'set move_pf: false for this PF, or use another NIC.'))
    for gpu in model['gpus']:
        field = 'lab_clusters (%s, %s).gpus (%s)' % (gpu['cluster'], gpu['node'], gpu['pci_address'])
        device = sysfs.pci_device(gpu['pci_address']) if pci_address(gpu['pci_address']) else None
        if device is None:
            problems.append(Problem('%s.pci_address' % field, 'no PCI device %s exists on the host.' % gpu['pci_address'],
                                    'check `lspci -D -d 10de:` and use the GPU\'s address.'))
        elif not str(device.get('class_id', '')).startswith('0x03'):
            problems.append(Problem('%s.pci_address' % field, '%s is not a display/3D controller (class %s).' % (gpu['pci_address'], device.get('class_id')),
                                    'use the GPU\'s address (see `lspci -D -d 10de:`).'))
    for fpga in model['fpgas']:
        field = 'lab_clusters (%s, %s).fpgas (%s)' % (fpga['cluster'], fpga['node'], fpga['pci_address'])
        if pci_address(fpga['pci_address']) and sysfs.pci_device(fpga['pci_address']) is None:
            problems.append(Problem('%s.pci_address' % field, 'no PCI device %s exists on the host.' % fpga['pci_address'],
                                    'check `lspci -D` (or `ls /sys/class/fpga_region`) and use the FPGA\'s address.'))
    return problems


def _check_host_routes(model, routes):
    """The lab's subnets are free on the host: no network or route there (docker's bridges included) overlaps them."""
    # A docker bridge (br-<network id>) routing exactly a lab network's subnet is that network, left by an earlier run.
    own = {str(_network(c['docker_network']['subnet'])) for c in model['clusters'] if _network(c['docker_network']['subnet'])}
    problems = []
    for cluster in model['clusters']:
        subnets = (('docker_network.subnet', cluster['docker_network']['subnet']),
                   ('pod_subnet', cluster['pod_subnet']), ('service_subnet', cluster['service_subnet']))
        for key, value in subnets:
            net = _network(value)
            for iface, route in routes:
                if net is None or route.version != net.version or not route.overlaps(net):
                    continue
                if iface.startswith('br-') and str(route) in own:
                    continue
                problems.append(Problem(_cluster_field(cluster, '.%s' % key),
                                        '%s overlaps %s, a network of the host (routed through %s).' % (net, route, iface),
                                        'choose a subnet that no network or route of the host uses (see ip route).'))
    return problems


def read_recorded_pfs(path):
    """PF name -> PCI address from the accelerators stage's record of the host (its ``pfs``); {} without one."""
    try:
        with open(path, encoding='utf-8') as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    pfs = record.get('pfs') if isinstance(record, dict) else None
    return {name: entry['pci_address'] for name, entry in (pfs or {}).items()
            if isinstance(entry, dict) and entry.get('pci_address')}


def _check_reachable(model, fetch):
    """One problem listing every download and source this lab needs and cannot reach, with the ways out."""
    missing = site_mirror.unreachable(site_mirror.needed(model, required_downloads(model), LIBFPGA_DOWNLOADS), fetch)
    if not missing:
        return []
    where = ('from the site mirror %s' % model['mirror']) if model['mirror'] else 'from the kind-host'
    layout = 'the layout: ansible-doc openkasugai.all_in_one.lab_model, option mirror'
    fix = ('fill the mirror with playbooks/mirror.yml on a machine that reaches the upstream URLs (%s), '
           'or give each a {version, path} copy on the kind-host.' % layout if model['mirror'] else
           'set lab_mirror to a site mirror that holds them (playbooks/mirror.yml fills one on a connected machine; %s), '
           'or give each a {version, path} copy on the kind-host.' % layout)
    # one line each, under the problem's first line
    return [Problem('lab_downloads', '%d download%s cannot be had %s:%s\n ' % (
        len(missing), '' if len(missing) == 1 else 's', where,
        ''.join('\n    %s (%s: %s)' % (what, url, why) for what, url, why in missing)), fix)]


def _check_local_sources(model, path_exists):
    """Local copies named in the model exist: the controller source (and its sample data), offline manifests."""
    problems = []
    source = model['controller_source']
    if source['type'] == 'path' and source['path']:
        if not path_exists(source['path']):
            problems.append(Problem('lab_controller_source.path', '%s does not exist on the kind-host.' % source['path'],
                                    'clone the controller there (git clone https://github.com/openkasugai/controller), '
                                    'or use type git or archive.'))
        else:
            for cluster in model['clusters']:
                for si, item in enumerate(cluster['scenarios']):
                    sample = os.path.join(source['path'], item['sample_path']) if item.get('sample_path') else None
                    if sample and not path_exists(sample):
                        problems.append(Problem('%s.scenarios[%d].name' % (_cluster_field(cluster), si),
                                                'the controller source has no sample data for %s (%s).' % (item['name'], sample),
                                                'use a controller version that carries it, or remove the scenario.'))
    for cluster in model['clusters']:
        for si, item in enumerate(cluster['scenarios']):
            if item.get('video') and not path_exists(item['video']):
                problems.append(Problem('%s.scenarios[%d].video' % (_cluster_field(cluster), si), '%s does not exist on the kind-host.' % item['video'],
                                        'copy the video there, or leave video empty for the lab\'s sample.'))
    for name, item in sorted(model['downloads'].items()):
        if isinstance(item, dict) and item.get('path') and not path_exists(item['path']):
            problems.append(Problem('lab_downloads.%s.path' % name, '%s does not exist on the kind-host.' % item['path'],
                                    'copy the file there, or give url and checksum instead.'))
    return problems


def plan(model):
    """What a run of site.yml will do with this model, as readable lines."""
    lines = []
    source = model['controller_source']
    where = {'git': '%s at %s' % (source['git_url'], source['version']), 'path': source['path'], 'archive': source['archive_url']}
    lines.append('controller source: %s' % where[source['type']])
    registry = model['registry']
    if registry['type'] == 'none':
        lines.append('registry: none; function images are loaded into the kind nodes')
    else:
        lines.append('registry: %s %s, project %s, CA %s%s' % (
            registry['type'], registry['url'], registry['project'], registry['ca_file'],
            ', with credentials' if registry['username'] else ', anonymous'))
    if model.get('others'):
        lines.append('lab_only: acting on %s; left alone: %s' % (', '.join(model['only']), ', '.join(model['others'])))
    for cluster in model['clusters']:
        roles = [n['role'] for n in cluster['nodes']]
        network = cluster['docker_network']
        lines.append('cluster %s: %d control-plane + %d workers, Kubernetes %s, CNI %s, docker network %s (%s), kubeconfig %s' % (
            cluster['name'], roles.count('control-plane'), roles.count('worker'), cluster['kubernetes_version'], cluster['cni'],
            network['name'], network['subnet'], cluster['kubeconfig']))
        if 'node_range' in network:
            lines.append('  node addresses fixed in %s (%s), docker allocates from %s' % (
                network['node_range'], ', '.join(network['node_addresses']), network['ip_range']))
        for node in cluster['nodes']:
            for gpu in node['gpus']:
                how = ('host driver unloaded, loaded inside %s' % node['name'] if cluster['gpu_method'] == 'node_driver'
                       else 'host driver kept, passed in by nvidia-container-toolkit')
                lines.append('  %s: GPU %s (%s)' % (node['name'], pci_address(gpu['pci_address']), how))
            if node['fpgas']:
                lines.append('  %s: FPGAs %s, %s' % (
                    node['name'], ', '.join(pci_address(f['pci_address']) or f['pci_address'] for f in node['fpgas']),
                    'advertised by the accelerator device plugin' if cluster['addons']['device_plugin']['enabled'] else 'not advertised (plugin disabled)'))
            for nic in node['nics']:
                what = '%d VFs' % nic['num_vfs']
                if nic['move_pf']:
                    what += ' + the PF%s' % (' with %s' % nic['pf_address'] if nic['pf_address'] else '')
                lines.append('  %s: PF %s -> %s moved into the node' % (node['name'], nic['pf'], what))
        addons = [item['addon'] for item in cluster['addon_manifests']]
        if cluster['addons']['openkasugai']['enabled']:
            addons.append('openkasugai (%s)' % ', '.join(cluster['addons']['openkasugai']['namespaces']))
        lines.append('  add-ons: %s' % (', '.join(addons) or 'none'))
        metallb = cluster['addons']['metallb']
        if metallb['enabled']:
            lines.append('  MetalLB L2 pool: %s' % ', '.join(metallb['addresses']))
        ipam = cluster['addons']['nv_ipam']
        if ipam['subnet']:
            lines.append('  nv-ipam pool %s: %s excluding %s' % (ipam['pool_name'], ipam['subnet'], ', '.join(ipam['exclusions']) or 'nothing'))
        for item in cluster['scenarios']:
            scenario = SCENARIOS[item['name']]
            extra = ' (multi-worker)' if item['multi_worker'] else ''
            if item['chain']:
                extra += ', chain %s' % ' -> '.join(item['chain'])
            lines.append('  scenario %s: %s%s' % (item['name'], scenario.summary, extra))
    return lines
