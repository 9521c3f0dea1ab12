#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: accelerator_info
short_description: Discover GPUs, NICs (with SR-IOV state) and FPGAs from sysfs
description:
  - Reads C(sys/bus/pci/devices) under O(sysfs_root) and classifies every PCI function.
  - GPUs are display controllers (PCI class C(0x03xxxx), 3D controllers C(0x0302xx) included).
    NVIDIA GPUs get their device nodes, C(/dev/nvidiaN) from the minor in
    C(/proc/driver/nvidia/gpus/<address>/information) under O(procfs_root), and
    C(/dev/nvidiactl), C(/dev/nvidia-uvm) when present under O(dev_root).
  - NICs are network controllers (class C(0x02xxxx)), with netdevs and SR-IOV state; their VFs are
    listed both under the PF and, as NICs of their own, with C(physfn) set.
  - FPGAs are functions behind C(/sys/class/fpga_region) or C(/sys/class/fpga), Xilinx (C(0x10ee))
    and Altera (C(0x1172)) functions, and Intel (C(0x8086)) functions with a known FPGA device id.
  - PCI addresses are always in full form with domain, lower-case hex (V(0000:3b:00.0)).
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  sysfs_root:
    description:
      - Directory that holds C(sys/).
    type: path
    default: /
  procfs_root:
    description:
      - Directory that holds C(proc/) (NVIDIA GPU minors).
    type: path
    default: /
  dev_root:
    description:
      - Directory that holds C(dev/) (NVIDIA device nodes).
    type: path
    default: /
  pfs:
    description:
      - PFs to resolve, each a netdev name or a PCI address (short or full form), as
        M(openkasugai.all_in_one.sriov_vfs) resolves them. The answer is in RV(pfs).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: The module only reads, so there is nothing to diff.
  idempotent:
    support: full
    description: Read-only.
'''

EXAMPLES = r'''
- name: What does this host have
  openkasugai.all_in_one.accelerator_info:
  register: accel

- name: Show the SR-IOV capable PFs
  ansible.builtin.debug:
    msg: "{{ accel.accelerators.nics | selectattr('sriov_totalvfs', 'gt', 0) | map(attribute='netdevs') | list }}"
'''

RETURN = r'''
accelerators:
  description: The devices found.
  returned: always
  type: dict
  contains:
    gpus:
      description: GPUs. Keys of every item as for nics, without the network ones, plus C(device_nodes).
      type: list
      elements: dict
      sample: [{pci_address: "0000:3b:00.0", vendor_id: "0x10de", device_id: "0x20b5", class_id: "0x030200", driver: nvidia,
                numa_node: 0, iommu_group: 12, device_nodes: [/dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm]}]
    nics:
      description: Network functions with C(pci_address), C(vendor_id), C(device_id), C(class_id), C(driver) (null when unbound),
        C(numa_node) (null when unknown), C(iommu_group) (null without IOMMU), C(netdevs), C(physfn) (PF address of a VF),
        C(sriov_totalvfs), C(sriov_numvfs) and C(vfs) (C(index), C(pci_address), C(netdev)).
      type: list
      elements: dict
      sample: [{pci_address: "0000:af:00.0", vendor_id: "0x15b3", device_id: "0x1017", class_id: "0x020000", driver: mlx5_core,
                numa_node: 1, iommu_group: 80, netdevs: [ens2f0], physfn: null, sriov_totalvfs: 8, sriov_numvfs: 1,
                vfs: [{index: 0, pci_address: "0000:af:00.2", netdev: ens2f0v0}]}]
    fpgas:
      description: FPGA functions, same keys as gpus without C(device_nodes).
      type: list
      elements: dict
      sample: [{pci_address: "0000:d8:00.0", vendor_id: "0x8086", device_id: "0x0b30", class_id: "0x120000", driver: dfl-pci,
                numa_node: 1, iommu_group: 90}]
pfs:
  description: Each asked PF (key as given) resolved, or null when no such netdev or PCI function exists.
  returned: always
  type: dict
  sample: {ens1f0: {pci_address: "0000:3b:00.0", netdev: ens1f0, sriov_totalvfs: 8, sriov_numvfs: 0, vfs: []}, ens9: null}
uplinks:
  description: Interfaces that carry the host's IPv4 or IPv6 default route (from C(/proc/net) under O(procfs_root)).
  returned: always
  type: list
  elements: str
  sample: [eno1]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import (
    Sysfs,
    default_route_interfaces,
    discover_accelerators,
)


def main():
    module = AnsibleModule(
        argument_spec={
            'sysfs_root': {'type': 'path', 'default': '/'},
            'procfs_root': {'type': 'path', 'default': '/'},
            'dev_root': {'type': 'path', 'default': '/'},
            'pfs': {'type': 'list', 'elements': 'str', 'default': []},
        },
        supports_check_mode=True,
    )
    accelerators = discover_accelerators(module.params['sysfs_root'], module.params['procfs_root'], module.params['dev_root'])
    sysfs = Sysfs(module.params['sysfs_root'])
    pfs = {pf: sysfs.resolve_pf(pf) for pf in module.params['pfs']}
    uplinks = sorted(default_route_interfaces(module.params['procfs_root']))
    module.exit_json(changed=False, accelerators=accelerators, pfs=pfs, uplinks=uplinks)


if __name__ == '__main__':
    main()
