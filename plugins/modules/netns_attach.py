#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: netns_attach
short_description: Move netdevs (PFs, VFs, veths) into a container's network namespace and back
description:
  - Moves the selected netdevs from the host network namespace (the one the module runs in) into the network
    namespace of a container (a kind node), gives them their addresses and sets them up.
    With O(state=absent) moves them back to the host namespace.
  - The container is named (its PID comes from C(docker inspect)) or given by O(pid). The namespace is
    entered with C(nsenter --net=/proc/<pid>/ns/net); all moves of one namespace run in one C(ip -batch) process.
  - Devices are selected by O(names), a O(regex), the VFs of a O(pf) (from sysfs C(virtfn*) links,
    optionally the PF itself) or O(pci_addresses). Physical devices are recognized in any namespace by
    their PCI address, so a renamed VF is still found.
  - Refuses to move the host's default-route interface (read from C(/proc/net/route) and C(ipv6_route)) and the
    container's own default-route interface.
  - A device already in the container with its addresses and up is left alone. VFs of a PF that are in
    neither namespace (held by a pod) are reported as C(elsewhere) and left alone.
version_added: 0.1.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - iproute2 with JSON output (C(ip -json), 4.13 or later) and C(nsenter) (util-linux) on the host
  - the docker CLI when O(container) is used
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
options:
  container:
    description: Name or ID of a running container whose network namespace is the target. Mutually exclusive with O(pid).
    type: str
  pid:
    description: PID of a process whose network namespace is the target. Mutually exclusive with O(container).
    type: int
  state:
    description: C(present) moves the devices into the container and configures them; C(absent) returns them to the host.
    type: str
    choices: [present, absent]
    default: present
  names:
    description: Netdev names (as in the host; the renamed name is found too).
    type: list
    elements: str
    default: []
  regex:
    description: Python regular expression (C(re.search)) matched against netdev names in both namespaces (C(lo) never matches).
    type: str
  pf:
    description: A PF by netdev name or PCI address; selects its VFs (C(/sys/bus/pci/devices/<pf>/virtfn*)).
    type: str
  include_pf:
    description: With O(pf), select the PF netdev too.
    type: bool
    default: false
  pci_addresses:
    description: PCI addresses (C(0000:3b:00.2)) of netdevs to select.
    type: list
    elements: str
    default: []
  addresses:
    description:
      - Addresses to set in the container, as a mapping from a device (host name, new name or PCI address)
        to one CIDR or a list of CIDRs. Missing addresses are added; others are left alone.
      - Ignored with O(state=absent) (a move between namespaces drops addresses).
    type: dict
    default: {}
  rename:
    description: Mapping from a device (host name or PCI address) to its name inside the container. With O(state=absent) the original name is given back.
    type: dict
    default: {}
  allow_missing:
    description: Do not fail when a device named in O(names) or O(pci_addresses) is in neither namespace.
    type: bool
    default: false
  ip_path:
    description: The iproute2 C(ip) binary.
    type: str
    default: ip
  nsenter_path:
    description: The C(nsenter) binary.
    type: str
    default: nsenter
  procfs_root:
    description: Root directory under which C(proc/) is read (tests use a fake tree for the route tables).
    type: path
    default: /
  sysfs_root:
    description: Root directory under which C(sys/) is read (tests use a fake PCI tree for PF/VF resolution).
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: Reads both namespaces and reports the moves it would make.
  diff_mode:
    support: full
    description: Shows where each selected device is, with its addresses, before and after.
  idempotent:
    support: full
    description: Devices already in place with their addresses and up are not touched.
notes:
  - When a network namespace dies (pod or node deleted), physical netdevs return to the host namespace
    and virtual ones (veth) are destroyed. The C(devices) role installs a keeper service that re-attaches them.
"""

EXAMPLES = r"""
- name: Give the worker its PF and all its VFs, with an address on the PF
  openkasugai.all_in_one.netns_attach:
    container: kasugai-worker
    pf: ens1f0
    include_pf: true
    addresses:
      ens1f0: 192.168.91.11/24

- name: Move two veths, renamed, into a process's namespace
  openkasugai.all_in_one.netns_attach:
    pid: 12345
    names: [veth-a, veth-b]
    rename: {veth-a: net1, veth-b: net2}
    addresses: {net1: 10.0.0.1/24}

- name: Return every VF of a PF to the host
  openkasugai.all_in_one.netns_attach:
    container: kasugai-worker2
    pf: "0000:af:00.0"
    state: absent
"""

RETURN = r"""
pid:
  description: PID whose network namespace was the target.
  returned: always
  type: int
  sample: 41234
devices:
  description: One entry per selected device.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: How the device was selected (name or PCI address).
      type: str
    name:
      description: Its name after the change (null for a device held elsewhere).
      type: str
    pci:
      description: Its PCI address, null for virtual devices.
      type: str
    before:
      description: Where it was, C(host), C(target) or C(elsewhere).
      type: str
    after:
      description: Where it is afterwards.
      type: str
    actions:
      description: What was (or in check mode would be) done.
      type: list
      elements: str
    addresses:
      description: Its addresses in the container afterwards (O(state=present)).
      type: list
      elements: str
  sample:
    - {id: ens1f0, name: ens1f0, pci: "0000:3b:00.0", before: host, after: target, actions: [move, address 192.168.91.11/24, up],
       addresses: [192.168.91.11/24]}
missing:
  description: Selectors that found no device (only with O(allow_missing)).
  returned: always
  type: list
  elements: str
  sample: []
"""

import ipaddress
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.netns import (
    Selection,
    Tools,
    ensure,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import (
    is_pci_address,
)

NAME_RE = re.compile(r'^[^\s/:]{1,15}$')


def validate(module):
    p = module.params
    addresses = {}
    for key, value in (p['addresses'] or {}).items():
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            module.fail_json(msg=f'addresses.{key} must be a CIDR string or a list of them')
        for cidr in values:
            try:
                ipaddress.ip_interface(str(cidr))
            except ValueError:
                module.fail_json(msg=f'addresses.{key}: {cidr!r} is not an address with a prefix length (e.g. 192.168.91.11/24)')
            if '/' not in str(cidr):
                module.fail_json(msg=f'addresses.{key}: {cidr!r} needs a prefix length (e.g. 192.168.91.11/24)')
        addresses[key] = [str(c) for c in values]
    for key, new in (p['rename'] or {}).items():
        if not isinstance(new, str) or not NAME_RE.match(new):
            module.fail_json(msg=f'rename.{key}: {new!r} is not a valid interface name (1-15 characters, no blanks, "/" or ":")')
    for name in p['names']:
        if not NAME_RE.match(name):
            module.fail_json(msg=f'names: {name!r} is not a valid interface name')
    for pci in p['pci_addresses'] + ([p['pf']] if p['pf'] and ':' in p['pf'] else []):
        if not is_pci_address(pci):
            module.fail_json(msg=f'{pci!r} is not a PCI address (domain:bus:device.function, e.g. 0000:3b:00.2)')
    if p['regex']:
        try:
            re.compile(p['regex'])
        except re.error as exc:
            module.fail_json(msg='regex {!r} does not compile: {}'.format(p['regex'], exc))
    return addresses


def describe(devices, side):
    lines = []
    for d in devices:
        if side == 'before':
            lines.append('{}: {}'.format(d['id'], d['before']))
        else:
            extra = ' as {} {}'.format(d['name'], ' '.join(d.get('addresses') or [])) if d['after'] == 'target' else ''
            lines.append('{}: {}{}'.format(d['id'], d['after'], extra.rstrip()))
    return '\n'.join(lines) + '\n'


def main():
    module = AnsibleModule(
        argument_spec={
            'container': {'type': 'str'},
            'pid': {'type': 'int'},
            'state': {'type': 'str', 'choices': ['present', 'absent'], 'default': 'present'},
            'names': {'type': 'list', 'elements': 'str', 'default': []},
            'regex': {'type': 'str'},
            'pf': {'type': 'str'},
            'include_pf': {'type': 'bool', 'default': False},
            'pci_addresses': {'type': 'list', 'elements': 'str', 'default': []},
            'addresses': {'type': 'dict', 'default': {}},
            'rename': {'type': 'dict', 'default': {}},
            'allow_missing': {'type': 'bool', 'default': False},
            **docker_cli.DOCKER_PATH_SPEC,
            'ip_path': {'type': 'str', 'default': 'ip'},
            'nsenter_path': {'type': 'str', 'default': 'nsenter'},
            'procfs_root': {'type': 'path', 'default': '/'},
            'sysfs_root': {'type': 'path', 'default': '/'},
        },
        mutually_exclusive=[('container', 'pid')],
        required_one_of=[('container', 'pid'), ('names', 'regex', 'pf', 'pci_addresses')],
        supports_check_mode=True,
    )
    p = module.params
    addresses = validate(module)

    tools = Tools(module, ip_path=p['ip_path'], nsenter_path=p['nsenter_path'],
                  procfs_root=p['procfs_root'], sysfs_root=p['sysfs_root'])
    sel = Selection(names=p['names'], regex=p['regex'], pf=p['pf'], include_pf=p['include_pf'],
                    pci_addresses=p['pci_addresses'], addresses=addresses, rename=p['rename'],
                    allow_missing=p['allow_missing'])
    pid = p['pid']
    try:
        if p['container']:
            pid = docker_cli.container_pid(docker_cli.docker(p['docker_path'], module), p['container'])
            if not pid:
                module.fail_json(msg='container {} does not exist or is not running: start it (or create the kind cluster) first'.format(p['container']))
        changed, devices, missing = ensure(tools, sel, pid, state=p['state'], check_mode=module.check_mode)
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    result = {'changed': changed, 'pid': pid, 'devices': devices, 'missing': missing}
    if module._diff:
        result['diff'] = {'before': describe(devices, 'before'), 'after': describe(devices, 'after')}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
