#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: sriov_vfs
short_description: Set the number of SR-IOV virtual functions of a physical function
description:
  - Sets C(sriov_numvfs) of a PF given by netdev name or PCI address, the way the kernel wants it
    changed, going through C(0) before a new non-zero count (the kernel answers EBUSY otherwise).
  - Refuses a count above the PF's C(sriov_totalvfs) and a PF that does not exist, before writing anything.
  - Waits, by polling the real state with a timeout (no fixed sleep), until the PF lists exactly
    O(num_vfs) C(virtfnN) functions and, with O(wait_for_netdevs), until every VF has its netdev.
  - Returns the VFs (index, PCI address, netdev).
  - A PF that already has O(num_vfs) VFs is not touched and not waited on, even when its VF netdevs are not
    visible (moved into a container's network namespace).
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  pf:
    description:
      - The physical function, as its netdev name (V(ens1f0)) or its PCI address (V(0000:3b:00.0) or V(3b:00.0)).
    type: str
    required: true
  num_vfs:
    description:
      - Number of VFs wanted. V(0) removes all VFs.
    type: int
    required: true
  sysfs_root:
    description:
      - Directory that holds C(sys/); V(/) on a real host, a fake tree in tests.
    type: path
    default: /
  timeout:
    description:
      - Seconds to wait for the VFs (and their netdevs) to appear or disappear.
    type: int
    default: 60
  wait_for_netdevs:
    description:
      - Also wait until every VF has a netdev. Turn off when the VFs are bound to a driver without
        netdevs (vfio-pci) or when the VF driver is not set to autoprobe.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports the change and the VF count it would set; writes nothing.
  diff_mode:
    support: full
    description: Shows the VF count before and after.
  idempotent:
    support: full
    description: A PF that already has O(num_vfs) VFs is left alone.
notes:
  - Changing a non-zero VF count removes the existing VFs first; anything using them (pods, VMs) loses them.
  - Needs a read-write C(/sys) (not the case inside a kind node unless remounted).
'''

EXAMPLES = r'''
- name: Eight VFs on the first ConnectX-5 port
  openkasugai.all_in_one.sriov_vfs:
    pf: ens1f0
    num_vfs: 8

- name: Remove the VFs of a PF given by PCI address
  openkasugai.all_in_one.sriov_vfs:
    pf: "0000:af:00.0"
    num_vfs: 0
'''

RETURN = r'''
pf:
  description: The PF as found.
  returned: success
  type: dict
  contains:
    pci_address:
      description: Full PCI address of the PF.
      type: str
      sample: "0000:3b:00.0"
    netdev:
      description: Netdev of the PF, null when it has none.
      type: str
      sample: ens1f0
    sriov_totalvfs:
      description: Most VFs the PF supports.
      type: int
      sample: 8
  sample: {pci_address: "0000:3b:00.0", netdev: ens1f0, sriov_totalvfs: 8}
num_vfs_before:
  description: VF count before the module ran.
  returned: success
  type: int
  sample: 0
num_vfs:
  description: VF count after the module ran (the wanted count in check mode).
  returned: success
  type: int
  sample: 8
vfs:
  description: The VFs after the change (the current ones in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    index:
      description: VF index (C(virtfnN)).
      type: int
    pci_address:
      description: Full PCI address of the VF.
      type: str
    netdev:
      description: VF netdev, null when the VF has none.
      type: str
  sample: [{index: 0, pci_address: "0000:3b:00.2", netdev: ens1f0v0}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sriov import SriovError, set_num_vfs
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs


def main():
    module = AnsibleModule(
        argument_spec={
            'pf': {'type': 'str', 'required': True},
            'num_vfs': {'type': 'int', 'required': True},
            'sysfs_root': {'type': 'path', 'default': '/'},
            'timeout': {'type': 'int', 'default': 60},
            'wait_for_netdevs': {'type': 'bool', 'default': True},
        },
        supports_check_mode=True,
    )
    params = module.params
    wanted = params['num_vfs']
    if wanted < 0:
        module.fail_json(msg=f'num_vfs must be 0 or more, got {wanted}')
    sysfs = Sysfs(params['sysfs_root'])
    state = sysfs.resolve_pf(params['pf'])
    if state is None:
        module.fail_json(msg=f"PF '{params['pf']}' not found: no such netdev or PCI function under "
                             f"{sysfs.path('class', 'net')} / {sysfs.path('bus', 'pci', 'devices')}. "
                             'Use the netdev name as `ip link` shows it or the PCI address from `lspci -D`.')
    pf_info = {key: state[key] for key in ('pci_address', 'netdev', 'sriov_totalvfs')}
    total = state['sriov_totalvfs']
    if wanted > 0 and total == 0:
        module.fail_json(msg=f"PF '{params['pf']}' ({state['pci_address']}) is not SR-IOV capable (no sriov_totalvfs); "
                             'enable SR-IOV in the firmware/BIOS or pick another PF.', pf=pf_info)
    if wanted > total:
        module.fail_json(msg=f"PF '{params['pf']}' ({state['pci_address']}) supports at most {total} VFs "
                             f'(sriov_totalvfs) but num_vfs asks for {wanted}; lower num_vfs or raise the '
                             'firmware limit (e.g. mlxconfig SRIOV_EN/NUM_OF_VFS).', pf=pf_info)
    before = state['sriov_numvfs']
    links = len(state['vfs'])
    changed = before != wanted or links != wanted
    result = {'changed': changed, 'pf': pf_info, 'num_vfs_before': before, 'num_vfs': wanted, 'vfs': state['vfs']}
    if module._diff:
        result['diff'] = {'before': {'num_vfs': before}, 'after': {'num_vfs': wanted},
                          'before_header': f"{state['pci_address']}/sriov_numvfs", 'after_header': f"{state['pci_address']}/sriov_numvfs"}
    if not changed or module.check_mode:
        # No wait here: VFs already there may have their netdevs in a kind node's netns (not visible from the host)
        module.exit_json(**result)

    try:
        result['vfs'] = set_num_vfs(sysfs, state['pci_address'], wanted, params['timeout'], params['wait_for_netdevs'])
    except SriovError as exc:
        module.fail_json(msg=exc.msg, **({'path': exc.path} if exc.path else {'vfs': exc.vfs}))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
