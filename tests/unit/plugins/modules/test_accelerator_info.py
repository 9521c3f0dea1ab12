# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""accelerator_info.

Real: the module run in-process through AnsibleModule; this machine's own /sys (virtio or
whatever PCI functions it has). Fake (tests/unit/fakesys.py): the kind-host of the seed, with
ConnectX-5 PFs on buses 0x3b/0xaf, an NVIDIA A100 (class 0x030200) with /proc/driver/nvidia,
an Intel PAC N3000 FPGA behind /sys/class/fpga_region and a second PCI domain (10000, VMD).
"""

import os

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import (
    normalize_pci_address,
    pci_class_kind,
)
from ansible_collections.openkasugai.all_in_one.plugins.modules import accelerator_info
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys, materialize_vfs, run_module


def _run(root, **extra):
    args = {'sysfs_root': root, 'procfs_root': root, 'dev_root': root}
    args.update(extra)
    failed, result = run_module(accelerator_info.main, args)
    assert not failed, result
    assert result['changed'] is False
    return result['accelerators']


def test_fake_kind_host(tmp_path):
    fake = FakeSys(tmp_path).build_lab_machine()
    materialize_vfs(fake.root, '0000:af:00.0', 2)
    acc = _run(fake.root)
    assert [g['pci_address'] for g in acc['gpus']] == ['0000:86:00.0']
    gpu = acc['gpus'][0]
    assert gpu['vendor_id'] == '0x10de' and gpu['class_id'] == '0x030200' and gpu['driver'] == 'nvidia'
    assert gpu['numa_node'] == 1 and isinstance(gpu['iommu_group'], int)
    assert gpu['device_nodes'] == ['/dev/nvidia0', '/dev/nvidiactl', '/dev/nvidia-uvm']
    assert [f['pci_address'] for f in acc['fpgas']] == ['0000:d8:00.0']
    nics = {n['pci_address']: n for n in acc['nics']}
    assert nics['0000:3b:00.0']['sriov_totalvfs'] == 8 and nics['0000:3b:00.0']['vfs'] == []
    assert nics['0000:02:00.0']['sriov_totalvfs'] == 0 and nics['0000:02:00.0']['netdevs'] == ['eno1']
    pf = nics['0000:af:00.0']
    assert pf['sriov_numvfs'] == 2
    assert pf['vfs'] == [{'index': 0, 'pci_address': '0000:af:00.2', 'netdev': 'ens2f0v0'},
                         {'index': 1, 'pci_address': '0000:af:00.3', 'netdev': 'ens2f0v1'}]
    assert nics['0000:af:00.2']['physfn'] == '0000:af:00.0'  # VFs are NICs too
    # the NVMe in domain 10000 is neither
    assert not any(item['pci_address'].startswith('10000:') for kind in acc.values() for item in kind)


def test_gpu_without_driver_has_no_minor(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_nvidia_gpu('0000:3b:00.0', driver=None)  # host driver unloaded: no /proc/driver/nvidia, no /dev nodes
    fake.add_pci('10000:e2:00.0', '0x1002', '0x740f', '0x038000')  # an AMD Instinct in a VMD domain
    acc = _run(fake.root)
    assert [(g['pci_address'], g['driver'], g['device_nodes']) for g in acc['gpus']] == [
        ('0000:3b:00.0', None, []), ('10000:e2:00.0', None, [])]


def test_xilinx_fpga_by_vendor(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_xilinx_fpga('0000:5e:00.0')
    fake.add_pci('0000:5e:00.1', '0x10ee', '0x5001', '0x118000')
    acc = _run(fake.root)
    assert [f['pci_address'] for f in acc['fpgas']] == ['0000:5e:00.0', '0000:5e:00.1']


def test_check_mode_is_the_same(tmp_path):
    fake = FakeSys(tmp_path).build_lab_machine()
    failed, result = run_module(accelerator_info.main, {'sysfs_root': fake.root, 'procfs_root': fake.root, 'dev_root': fake.root},
                                check_mode=True)
    assert not failed and result['accelerators'] == _run(fake.root)


def test_real_sysfs():
    """Real /sys: every PCI function classified as GPU/NIC/FPGA is returned, normalized."""
    base = '/sys/bus/pci/devices'
    expected = set()
    for name in os.listdir(base):
        with open(os.path.join(base, name, 'class'), encoding='ascii') as h_class, \
             open(os.path.join(base, name, 'vendor'), encoding='ascii') as h_vendor, \
             open(os.path.join(base, name, 'device'), encoding='ascii') as h_device:
            if pci_class_kind(h_class.read().strip(), h_vendor.read().strip(), h_device.read().strip()):
                expected.add(name)
    acc = _run('/')
    found = [item['pci_address'] for kind in acc.values() for item in kind]
    assert sorted(found) == sorted(expected)
    assert all(address == normalize_pci_address(address) for address in found)
    for nic in acc['nics']:
        for netdev in nic['netdevs']:
            assert os.path.exists(os.path.join('/sys/class/net', netdev))


def test_resolves_pfs_and_uplinks(tmp_path):
    fake = FakeSys(tmp_path).build_lab_machine()
    failed, result = run_module(accelerator_info.main, {'sysfs_root': fake.root, 'procfs_root': fake.root, 'pfs': ['ens1f0', 'af:00.0', 'ens9']})
    assert not failed
    assert result['pfs']['ens1f0']['pci_address'] == '0000:3b:00.0'
    assert result['pfs']['af:00.0']['netdev'] == 'ens2f0'
    assert result['pfs']['ens9'] is None
    assert result['uplinks'] == ['eno1']
