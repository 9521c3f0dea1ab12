# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""module_utils.sysfs and module_utils.kmod.

Real: this machine's own /sys and /proc (its virtio PCI functions, its routing table), the
filesystem operations on tmp trees. Fake: the ConnectX-5 PFs, NVIDIA GPU, Intel FPGA, kernel
modules and processes, all built by tests/unit/fakesys.py under tmp_path.
"""

import os

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kmod
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import (
    Sysfs,
    default_route_interfaces,
    inotify_limits,
    is_pci_address,
    normalize_pci_address,
    pci_class_kind,
)
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys


@pytest.mark.parametrize(('given', 'expected'), [
    ('3b:00.0', '0000:3b:00.0'),
    ('0000:AF:00.1', '0000:af:00.1'),
    ('0000:3B:1f.7', '0000:3b:1f.7'),
    ('10000:E0:06.0', '10000:e0:06.0'),
    (' 0:3b:0.1 ', '0000:3b:00.1'),
])
def test_normalize(given, expected):
    assert normalize_pci_address(given) == expected


@pytest.mark.parametrize('junk', ['', 'ens1f0', '3b:00', '0000:3b:00.8', '0000:3b:20.0', '0000:3bb:00.0', 'zz:00.0', None, 42])
def test_normalize_refuses_junk(junk):
    with pytest.raises(ValueError, match='not a PCI address'):
        normalize_pci_address(junk)
    assert not is_pci_address(junk)


@pytest.fixture
def lab(tmp_path):
    return FakeSys(tmp_path).build_lab_machine()


def test_pci_device_of_fake_pf(lab):
    sysfs = Sysfs(lab.root)
    dev = sysfs.pci_device('af:00.0')
    assert dev['pci_address'] == '0000:af:00.0'
    assert (dev['vendor_id'], dev['device_id'], dev['class_id']) == ('0x15b3', '0x1017', '0x020000')
    assert dev['driver'] == 'mlx5_core'
    assert dev['numa_node'] == 1
    assert isinstance(dev['iommu_group'], int)
    assert dev['netdevs'] == ['ens2f0']
    assert dev['physfn'] is None
    assert sysfs.pci_device('0000:3b:07.0') is None


def test_pci_addresses_cover_both_domains(lab):
    addresses = Sysfs(lab.root).pci_addresses()
    assert '10000:e1:00.0' in addresses and '0000:3b:00.0' in addresses
    assert addresses == sorted(addresses)


def test_netdev_pci_address(lab):
    sysfs = Sysfs(lab.root)
    assert sysfs.netdev_pci_address('ens1f1') == '0000:3b:00.1'
    assert sysfs.netdev_pci_address('nope') is None
    lab.add_netdev('veth0')  # virtual: no device link
    assert sysfs.netdev_pci_address('veth0') is None
    assert sysfs.netdev_pci_address('../../x') is None


def test_resolve_pf_by_name_and_address(lab):
    sysfs = Sysfs(lab.root)
    by_name = sysfs.resolve_pf('ens1f0')
    assert by_name == {'pci_address': '0000:3b:00.0', 'netdev': 'ens1f0', 'sriov_totalvfs': 8, 'sriov_numvfs': 0, 'vfs': []}
    assert sysfs.resolve_pf('3B:00.0') == by_name
    assert sysfs.resolve_pf('eno1')['sriov_totalvfs'] == 0  # not SR-IOV capable
    assert sysfs.resolve_pf('ens9') is None
    assert sysfs.resolve_pf('0000:3b:09.0') is None


def test_resolve_pf_lists_vfs_in_index_order(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_connectx5_pf('0000:af:00.0', 'ens2f0', totalvfs=16, numvfs=12)
    pf = Sysfs(fake.root).resolve_pf('ens2f0')
    assert pf['sriov_numvfs'] == 12
    assert [vf['index'] for vf in pf['vfs']] == list(range(12))  # virtfn10 sorts after virtfn1 as text
    assert pf['vfs'][10] == {'index': 10, 'pci_address': '0000:af:01.4', 'netdev': 'ens2f0v10'}
    vf = Sysfs(fake.root).pci_device(pf['vfs'][0]['pci_address'])
    assert vf['physfn'] == '0000:af:00.0'


def test_default_route_interfaces_fake(tmp_path):
    fake = FakeSys(tmp_path)
    fake.set_routes(['eno1'], v6_default_ifaces=['eno2'])
    assert default_route_interfaces(fake.root) == {'eno1', 'eno2'}  # the v6 reject route via lo is ignored
    fake.set_routes([])
    assert default_route_interfaces(fake.root) == set()
    assert default_route_interfaces(str(tmp_path / 'missing')) == set()


def test_default_route_interfaces_real():
    """Real /proc/net: the interface of `ip route` default is found."""
    with open('/proc/net/route', encoding='ascii') as handle:
        expected = {line.split()[0] for line in handle.read().splitlines()[1:] if line.split()[1] == '00000000' and line.split()[7] == '00000000'}
    assert expected <= default_route_interfaces('/')


def test_inotify_limits(tmp_path):
    inotify = tmp_path / 'proc' / 'sys' / 'fs' / 'inotify'
    inotify.mkdir(parents=True)
    (inotify / 'max_user_watches').write_text('524288\n')
    (inotify / 'max_user_instances').write_text('not a number\n')
    assert inotify_limits(str(tmp_path)) == {'max_user_watches': 524288, 'max_user_instances': None}
    assert inotify_limits(str(tmp_path / 'missing')) == {'max_user_watches': None, 'max_user_instances': None}
    with open('/proc/sys/fs/inotify/max_user_watches', encoding='ascii') as handle:
        assert inotify_limits('/')['max_user_watches'] == int(handle.read())


def test_real_sysfs_netdevs_resolve():
    """Real /sys: each netdev's PCI function, found independently from the path of its device link."""
    import re
    sysfs = Sysfs('/')
    expected, got = {}, {}
    for name in os.listdir('/sys/class/net'):
        link = os.path.join('/sys/class/net', name, 'device')
        pci = re.findall(r'/([0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?=/|$)', os.path.realpath(link)) if os.path.exists(link) else []
        expected[name] = pci[-1] if pci else None
        got[name] = sysfs.netdev_pci_address(name)
    assert got == expected
    for name, address in got.items():
        if address:
            assert name in sysfs.pci_device(address)['netdevs']


@pytest.mark.parametrize(('class_id', 'vendor', 'device', 'kind'), [
    ('0x030200', '0x10de', '0x20b5', 'gpu'),
    ('0x030000', '0x1a03', '0x2000', 'gpu'),
    ('0x020000', '0x15b3', '0x1017', 'nic'),
    ('0x120000', '0x8086', '0x0b30', 'fpga'),
    ('0x058000', '0x10ee', '0x5000', 'fpga'),
    ('0x020000', '0x8086', '0x1533', 'nic'),
    ('0x060000', '0x8086', '0x2020', None),
    ('junk', '0x8086', '0x2020', None),
])
def test_pci_class_kind(class_id, vendor, device, kind):
    assert pci_class_kind(class_id, vendor, device) == kind


def test_kmod_blockers_and_users(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_nvidia_modules(busy=True)
    fake.add_module('nvidia_peermem', refcnt=0)
    os.symlink('../../nvidia_peermem', os.path.join(fake.sys, 'module', 'nvidia', 'holders', 'nvidia_peermem'))
    fake.add_process(4242, 'nvidia-persistenced', ['/dev/nvidiactl', '/dev/nvidia0', '/var/log/x'])
    fake.add_process(77, 'bash', ['/dev/pts/0'])
    states = kmod.module_states(fake.root, kmod.NVIDIA_MODULES)
    assert states['nvidia']['holders'] == ['nvidia_modeset', 'nvidia_peermem', 'nvidia_uvm']
    foreign, busy = kmod.unload_blockers(states, kmod.NVIDIA_MODULES)
    assert foreign == {'nvidia': ['nvidia_peermem']}
    assert busy == {'nvidia_uvm': 2}
    assert kmod.device_users(fake.root) == [{'pid': 4242, 'name': 'nvidia-persistenced', 'files': ['/dev/nvidia0', '/dev/nvidiactl']}]


def test_kmod_real_proc_scan_sees_our_own_open_file(tmp_path):
    """Real /proc: this test process opens a file and the scan finds it by prefix."""
    target = tmp_path / 'nvidia-fake-node'
    target.write_text('')
    with open(target, encoding='ascii'):
        users = kmod.device_users('/', prefixes=(str(tmp_path / 'nvidia'),))
    assert os.getpid() in [u['pid'] for u in users]
