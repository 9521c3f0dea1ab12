# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The accelerator device plugin's discovery, health, allocation and configuration.

Fake: the machines, built by tests/unit/fakesys.py under tmp_path (DFL FPGAs with their ports'
device nodes and error attributes, a PCI accelerator bound to vfio-pci, the seed's lab machine).
Real: the plugin's code and the collection's module_utils/sysfs.py it reads them with.
"""

import os

import pytest
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys
from okl_device_plugin import config, discovery


def pool(**kwargs):
    data = {'name': 'accelerator', 'resource_name': 'b-com.com/accelerator'}
    data.update(kwargs)
    return config.parse({'pools': [data]}).pools[0]


@pytest.fixture
def machine(tmp_path):
    fake = FakeSys(tmp_path)
    fake.build_lab_machine()          # its PAC N3000 at d8:00.0 has a region but no port
    fake.add_dfl_fpga('0000:5e:00.0', 1, numa_node=0)
    fake.add_dfl_fpga('0000:5f:00.0', 2, numa_node=0)
    fake.add_dfl_fpga('0000:b1:00.0', 3, numa_node=1)
    fake.add_pci('0000:60:00.0', '0x1ded', '0x8000', '0x120000', driver='vfio-pci', numa_node=1, iommu_group=42)
    for node in ('vfio/42', 'vfio/vfio'):
        os.makedirs(os.path.dirname(os.path.join(fake.dev, node)), exist_ok=True)
        open(os.path.join(fake.dev, node), 'w').close()
    return fake


def test_fpgas_found_through_classes_and_dfl_with_their_port_nodes_only(machine):
    found = discovery.discover(pool(), machine.root, machine.root)
    assert list(found) == ['0000:5e:00.0', '0000:5f:00.0', '0000:b1:00.0', '0000:d8:00.0']
    assert found['0000:5e:00.0'].device_nodes == ('/dev/dfl-port.1',)   # not the FME
    assert found['0000:b1:00.0'].numa_node == 1
    assert found['0000:d8:00.0'].device_nodes == ()
    assert all(d.health == 'Healthy' for d in found.values())
    # NICs, the GPU, NVMe and the vfio accelerator are not FPGAs
    assert '0000:86:00.0' not in found and '0000:60:00.0' not in found


def test_fme_nodes_only_when_asked(machine):
    found = discovery.discover(pool(fme=True), machine.root, machine.root)
    assert found['0000:5e:00.0'].device_nodes == ('/dev/dfl-fme.1', '/dev/dfl-port.1')


def test_selectors_pick_pci_functions_by_vendor_device_class(machine):
    by_vendor = discovery.discover(pool(fpga=False, selectors=[{'vendor': '1DED'}]), machine.root, machine.root)
    assert list(by_vendor) == ['0000:60:00.0']
    assert by_vendor['0000:60:00.0'].device_nodes == ('/dev/vfio/42', '/dev/vfio/vfio')
    by_class = discovery.discover(pool(fpga=False, selectors=[{'class': '0x12'}]), machine.root, machine.root)
    assert sorted(by_class) == ['0000:5e:00.0', '0000:5f:00.0', '0000:60:00.0', '0000:b1:00.0', '0000:d8:00.0']
    exact = discovery.discover(pool(fpga=False, selectors=[{'vendor': '0x8086', 'device': '0x0b30', 'class': '0x120000'}]),
                               machine.root, machine.root)
    assert '0000:60:00.0' not in exact and '0000:5e:00.0' in exact
    none = discovery.discover(pool(fpga=False, selectors=[{'vendor': '0x10ee'}]), machine.root, machine.root)
    assert none == {}


def test_errors_missing_nodes_and_wrong_driver_make_a_device_unhealthy(machine):
    machine.set_port_errors('0000:5e:00.0', 0x40)
    os.unlink(os.path.join(machine.dev, 'dfl-port.2'))
    found = discovery.discover(pool(drivers=['dfl-pci']), machine.root, machine.root)
    assert found['0000:5e:00.0'].health == 'Unhealthy'
    assert 'errors=0x40' in found['0000:5e:00.0'].reason
    assert 'device node missing: /dev/dfl-port.2' in found['0000:5f:00.0'].reason
    assert found['0000:b1:00.0'].health == 'Healthy'
    vfio = discovery.discover(pool(fpga=False, drivers=['dfl-pci'], selectors=[{'vendor': '0x1ded'}]), machine.root, machine.root)
    assert vfio['0000:60:00.0'].reason == 'bound to vfio-pci, not dfl-pci'


def test_inventory_recovers_and_keeps_gone_devices_unhealthy(machine):
    inventory = discovery.Inventory(pool(), machine.root, machine.root)
    first = inventory.rescan()
    assert len(first) == 4 and inventory.version == 1
    assert inventory.rescan() == [] and inventory.version == 1          # nothing changed: no update
    machine.set_port_errors('0000:5f:00.0', 1)
    assert inventory.rescan() == ['0000:5f:00.0 Unhealthy (reports errors: fpga_region/region2/dfl-port.2/errors/errors=0x1)']
    machine.set_port_errors('0000:5f:00.0', 0)
    assert inventory.rescan() == ['0000:5f:00.0 Healthy']
    machine.remove_pci('0000:b1:00.0')
    assert inventory.rescan() == ['0000:b1:00.0 Unhealthy (gone from sysfs)']
    version, devices = inventory.snapshot()
    assert [d.id for d in devices] == ['0000:5e:00.0', '0000:5f:00.0', '0000:b1:00.0', '0000:d8:00.0']
    assert devices[2].device_nodes == ('/dev/dfl-port.3',) and devices[2].numa_node == 1
    machine.restore_pci('0000:b1:00.0')
    assert inventory.rescan() == ['0000:b1:00.0 Healthy']
    machine.add_dfl_fpga('0000:b2:00.0', 4, numa_node=1)
    assert inventory.rescan() == ['0000:b2:00.0 new, Healthy']
    assert inventory.version == version + 2


def test_allocate_gives_the_bdfs_and_only_their_nodes(machine):
    p = pool(env_names=['ACCELERATOR_UNITS', 'ACCELERATOR_DEVICES', 'MY_FPGAS'])
    devices = discovery.discover(p, machine.root, machine.root)
    envs, nodes = discovery.allocate(p, devices, ['0000:b1:00.0', '0000:5e:00.0'])
    assert envs == {'ACCELERATOR_UNITS': '0000:b1:00.0,0000:5e:00.0', 'ACCELERATOR_DEVICES': '0000:b1:00.0,0000:5e:00.0',
                    'MY_FPGAS': '0000:b1:00.0,0000:5e:00.0'}
    assert nodes == ['/dev/dfl-port.1', '/dev/dfl-port.3']


def test_allocate_refuses_unknown_and_unhealthy(machine):
    p = pool()
    machine.set_port_errors('0000:5e:00.0', 2)
    devices = discovery.discover(p, machine.root, machine.root)
    with pytest.raises(discovery.AllocationError, match='has no device 0000:99:00.0'):
        discovery.allocate(p, devices, ['0000:5f:00.0', '0000:99:00.0'])
    with pytest.raises(discovery.AllocationError, match=r'Unhealthy now: 0000:5e:00.0 \(reports errors'):
        discovery.allocate(p, devices, ['0000:5e:00.0'])


def _numa_devices(layout):
    return {bdf: discovery.Device(bdf, numa, ()) for bdf, numa in layout.items()}


def test_preferred_allocation_keeps_to_one_numa_node():
    devices = _numa_devices({'0000:01:00.0': 0, '0000:02:00.0': 0, '0000:03:00.0': 0,
                             '0000:81:00.0': 1, '0000:82:00.0': 1, '0000:c1:00.0': None})
    ids = list(devices)
    # best fit: node 1 holds exactly 2, node 0 stays whole for a request of 3
    assert discovery.preferred_allocation(devices, ids, [], 2) == ['0000:81:00.0', '0000:82:00.0']
    assert discovery.preferred_allocation(devices, ids, [], 3) == ['0000:01:00.0', '0000:02:00.0', '0000:03:00.0']
    # must-include decides the node when that node has enough
    assert discovery.preferred_allocation(devices, ids, ['0000:02:00.0'], 2) == ['0000:02:00.0', '0000:01:00.0']
    # too many for one node: largest first, unknown NUMA last
    assert discovery.preferred_allocation(devices, ids, [], 6) == [
        '0000:01:00.0', '0000:02:00.0', '0000:03:00.0', '0000:81:00.0', '0000:82:00.0', '0000:c1:00.0']
    assert discovery.preferred_allocation(devices, ids, ['0000:81:00.0', '0000:01:00.0'], 2) == ['0000:81:00.0', '0000:01:00.0']


def test_config_names_every_mistake():
    with pytest.raises(config.ConfigError) as info:
        config.parse({'pools': [{'name': 'Accel', 'resource_name': 'accelerator', 'fpga': False,
                                 'env_names': ['1BAD'], 'selectors': [{'vendor': 'xyz'}], 'colour': 'red'},
                                {'name': 'b', 'resource_name': 'x.io/b', 'fpga': False}],
                      'poll_interval': 0, 'dev_root': 'relative'})
    text = str(info.value)
    for expected in ("pools[0].name: 'Accel'", "pools[0].resource_name: 'accelerator' must be <domain>/<name>",
                     'pools[0].env_names', "pools[0].selectors[0].vendor: 'xyz'", 'pools[0].colour: unknown setting',
                     'pools[1]: selects nothing', 'poll_interval: 0', "dev_root: 'relative'"):
        assert expected in text


def test_config_defaults_are_the_seeds_names():
    cfg = config.parse({'pools': [{'name': 'accelerator', 'resource_name': 'b-com.com/accelerator'}]})
    assert cfg.pools[0].env_names == ('ACCELERATOR_UNITS', 'ACCELERATOR_DEVICES')
    assert cfg.pools[0].endpoint == 'okl-accelerator.sock'
    assert cfg.socket_dir == '/var/lib/kubelet/device-plugins' and cfg.poll_interval == 10.0
