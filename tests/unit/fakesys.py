# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Fake sysfs/procfs/dev trees that look like real machines, for tests and benchmarks.

What is fake: everything under the root this builds. The layout copies a real kernel's:
``sys/devices/pci<domain>:<bus>/<addr>/{vendor,device,class,numa_node,driver->,iommu_group->,
net/<ifname>,sriov_totalvfs,sriov_numvfs,virtfnN->,physfn->}``, ``sys/bus/pci/devices/<addr>``
and ``sys/class/net/<ifname>`` as relative symlinks, ``sys/module/<m>/{refcnt,holders/}``,
``proc/net/route``, ``proc/<pid>/{comm,fd/N->}``, ``proc/driver/nvidia/gpus/<addr>/information``.

No kernel reacts to writes in a fake tree. ``FakeKernel`` stands in for the PCI core's
SR-IOV code: it watches each PF's ``sriov_numvfs`` and, like the kernel, removes all VFs on
0 and creates N VFs (``virtfnN`` links, VF functions, then, a little later, their netdevs
as a VF driver would) on N; a write of a non-zero count over another non-zero count (EBUSY
on a real kernel) is refused and logged to ``<root>/fake-kernel.log`` so tests can assert
it never happens. Run it in a thread (pytest) or as a process (molecule):
``python3 fakesys.py kernel --root DIR`` / ``python3 fakesys.py build --root DIR --spec spec.json``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import threading
import time

CONNECTX5 = ('0x15b3', '0x1017')
CONNECTX5_VF = ('0x15b3', '0x1018')


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)


def _symlink(target_abs, link_abs):
    """Relative symlink link_abs -> target_abs (stays inside the fake root)."""
    os.makedirs(os.path.dirname(link_abs), exist_ok=True)
    if os.path.lexists(link_abs):
        os.unlink(link_abs)
    os.symlink(os.path.relpath(target_abs, os.path.dirname(link_abs)), link_abs)


def _bdf(address):
    domain, bus, rest = address.split(':')
    dev, fn = rest.split('.')
    return domain, int(bus, 16), int(dev, 16), int(fn)


def _addr(domain, bus, dev, fn):
    return f'{domain}:{bus:02x}:{dev:02x}.{fn}'


class FakeSys:
    """Builder of a fake machine under ``root``."""

    def __init__(self, root):
        self.root = str(root)
        self.sys = os.path.join(self.root, 'sys')
        self.proc = os.path.join(self.root, 'proc')
        self.dev = os.path.join(self.root, 'dev')
        for path in (os.path.join(self.sys, 'bus', 'pci', 'devices'), os.path.join(self.sys, 'class', 'net'),
                     os.path.join(self.sys, 'module'), os.path.join(self.proc, 'net'), self.dev):
            os.makedirs(path, exist_ok=True)
        self._iommu = 0
        self.set_routes([])

    # -- PCI -------------------------------------------------------------
    def device_dir(self, address):
        domain, bus, _dev, _fn = _bdf(address)
        return os.path.join(self.sys, 'devices', f'pci{domain}:{bus:02x}', address)

    def add_pci(self, address, vendor, device, class_id, driver=None, numa_node=-1, iommu_group=True, netdevs=(),
                sriov_totalvfs=None, sriov_numvfs=0, vf_netdev_prefix=None):
        path = self.device_dir(address)
        os.makedirs(path, exist_ok=True)
        _write(os.path.join(path, 'vendor'), vendor + '\n')
        _write(os.path.join(path, 'device'), device + '\n')
        _write(os.path.join(path, 'class'), class_id + '\n')
        _write(os.path.join(path, 'numa_node'), f'{numa_node}\n')
        if driver:
            drv = os.path.join(self.sys, 'bus', 'pci', 'drivers', driver)
            os.makedirs(drv, exist_ok=True)
            _symlink(drv, os.path.join(path, 'driver'))
            _symlink(path, os.path.join(drv, address))
        if iommu_group is not None and iommu_group is not False:
            group = self._iommu if iommu_group is True else int(iommu_group)
            self._iommu = max(self._iommu, group) + 1
            gdir = os.path.join(self.sys, 'kernel', 'iommu_groups', str(group))
            os.makedirs(os.path.join(gdir, 'devices'), exist_ok=True)
            _symlink(gdir, os.path.join(path, 'iommu_group'))
            _symlink(path, os.path.join(gdir, 'devices', address))
        _symlink(path, os.path.join(self.sys, 'bus', 'pci', 'devices', address))
        for name in netdevs:
            self.add_netdev(name, address)
        if sriov_totalvfs is not None:
            _write(os.path.join(path, 'sriov_totalvfs'), f'{sriov_totalvfs}\n')
            _write(os.path.join(path, 'sriov_numvfs'), f'{sriov_numvfs}\n')
            _write(os.path.join(path, 'sriov_vf_device'), CONNECTX5_VF[1][2:] + '\n')
            _write(os.path.join(path, 'fake_vf_netdev_prefix'), (vf_netdev_prefix or (netdevs[0] + 'v' if netdevs else '')) + '\n')
            if sriov_numvfs:
                materialize_vfs(self.root, address, sriov_numvfs, netdevs_too=True)
        return path

    def add_netdev(self, name, address=None):
        """A netdev; with ``address`` it belongs to that PCI function, else it is virtual."""
        if address is None:
            path = os.path.join(self.sys, 'devices', 'virtual', 'net', name)
            os.makedirs(path, exist_ok=True)
        else:
            dev_dir = self.device_dir(address)
            path = os.path.join(dev_dir, 'net', name)
            os.makedirs(path, exist_ok=True)
            _symlink(dev_dir, os.path.join(path, 'device'))
        _symlink(path, os.path.join(self.sys, 'class', 'net', name))
        return path

    def add_connectx5_pf(self, address, netdev, totalvfs=8, numvfs=0, numa_node=0, vf_netdev_prefix=None):
        return self.add_pci(address, *CONNECTX5, '0x020000', driver='mlx5_core', numa_node=numa_node, netdevs=[netdev],
                            sriov_totalvfs=totalvfs, sriov_numvfs=numvfs, vf_netdev_prefix=vf_netdev_prefix)

    def add_plain_nic(self, address, netdev, vendor='0x8086', device='0x1533'):
        """A NIC without SR-IOV (e.g. the i210 on the management network)."""
        return self.add_pci(address, vendor, device, '0x020000', driver='igb', netdevs=[netdev])

    def add_nvidia_gpu(self, address, minor=0, device='0x20b5', numa_node=0, driver='nvidia'):
        """A data-center NVIDIA GPU (A100 80GB by default) with procfs information."""
        path = self.add_pci(address, '0x10de', device, '0x030200', driver=driver, numa_node=numa_node)
        if driver == 'nvidia':
            _write(os.path.join(self.proc, 'driver', 'nvidia', 'gpus', address, 'information'),
                   f'Model: \t\t NVIDIA A100 80GB PCIe\nIRQ:   \t\t 150\nGPU UUID: \t GPU-0000\n'
                   f'Video BIOS: \t 92.00.36.00.01\nBus Type: \t PCIe\nDMA Size: \t 47 bits\n'
                   f'DMA Mask: \t 0x7fffffffffff\nBus Location: \t {address}\nDevice Minor: \t {minor}\n')
            for node in (f'nvidia{minor}', 'nvidiactl', 'nvidia-uvm'):
                _write(os.path.join(self.dev, node), '')
        return path

    def add_intel_fpga(self, address, device='0x0b30', numa_node=0, region=0):
        """An Intel PAC N3000 FPGA PF with its fpga_region class entry (DFL)."""
        path = self.add_pci(address, '0x8086', device, '0x120000', driver='dfl-pci', numa_node=numa_node)
        region_dir = os.path.join(path, 'fpga_region', f'region{region}')
        os.makedirs(region_dir, exist_ok=True)
        _symlink(path, os.path.join(region_dir, 'device'))
        _symlink(region_dir, os.path.join(self.sys, 'class', 'fpga_region', f'region{region}'))
        return path

    def add_dfl_fpga(self, address, index, device='0x0b30', numa_node=0, devname=None, driver='dfl-pci'):
        """An Intel FPGA under the DFL driver, as a real kernel lays it out: the PCI function, its
        ``fpga_region/region<index>`` with the FME and the AFU port (``dfl-fme.<index>``,
        ``dfl-port.<index>``, each a char device with ``dev``/``uevent`` and an ``errors/errors``
        attribute), ``class/fpga_region`` and ``bus/dfl/devices`` links, and the port's device node
        as a plain file under ``<root>/dev`` (``devname`` relative to /dev, default ``dfl-port.<index>``).
        """
        path = self.add_pci(address, '0x8086', device, '0x120000', driver=driver, numa_node=numa_node)
        region = os.path.join(path, 'fpga_region', f'region{index}')
        os.makedirs(region, exist_ok=True)
        _symlink(path, os.path.join(region, 'device'))
        _symlink(region, os.path.join(self.sys, 'class', 'fpga_region', f'region{index}'))
        port_devname = devname or f'dfl-port.{index}'
        for kind, minor, name in (('fme', 2 * index, f'dfl-fme.{index}'), ('port', 2 * index + 1, port_devname)):
            dev_dir = os.path.join(region, f'dfl-{kind}.{index}')
            _write(os.path.join(dev_dir, 'dev'), f'240:{minor}\n')
            _write(os.path.join(dev_dir, 'uevent'), f'MAJOR=240\nMINOR={minor}\nDEVNAME={name}\n')
            _write(os.path.join(dev_dir, 'errors', 'errors'), '0x0\n')
            _symlink(dev_dir, os.path.join(self.sys, 'bus', 'dfl', 'devices', f'dfl_dev.{2 * index + (kind == "port")}'))
            _write(os.path.join(self.dev, name), '')
        return path

    def dfl_port_dir(self, address):
        region = os.path.join(self.device_dir(address), 'fpga_region')
        name = sorted(os.listdir(region))[0]
        return os.path.join(region, name, 'dfl-port.' + name[len('region'):])

    def set_port_errors(self, address, value):
        """What the DFL driver shows when the AFU port reports an error (0 clears it)."""
        _write(os.path.join(self.dfl_port_dir(address), 'errors', 'errors'), f'{value:#x}\n')

    def remove_pci(self, address):
        """The function leaves the bus (hot unplug, or removed through sysfs): its directory and links go."""
        stash = os.path.join(self.root, '.removed', address)
        os.makedirs(os.path.dirname(stash), exist_ok=True)
        os.rename(self.device_dir(address), stash)
        os.unlink(os.path.join(self.sys, 'bus', 'pci', 'devices', address))

    def restore_pci(self, address):
        """The function is back (rescan) where it was."""
        os.rename(os.path.join(self.root, '.removed', address), self.device_dir(address))
        _symlink(self.device_dir(address), os.path.join(self.sys, 'bus', 'pci', 'devices', address))

    def add_xilinx_fpga(self, address, device='0x5000', numa_node=0):
        """A Xilinx Alveo U200 management function (class 0x058000, vendor decides)."""
        return self.add_pci(address, '0x10ee', device, '0x058000', driver='xclmgmt', numa_node=numa_node)

    def add_host_bridge(self, address, vendor='0x8086', device='0x2020'):
        return self.add_pci(address, vendor, device, '0x060000', iommu_group=True)

    # -- kernel modules, processes, routes -------------------------------
    def add_module(self, name, refcnt=0, holders=()):
        path = os.path.join(self.sys, 'module', name)
        os.makedirs(os.path.join(path, 'holders'), exist_ok=True)
        _write(os.path.join(path, 'refcnt'), f'{refcnt}\n')
        _write(os.path.join(path, 'initstate'), 'live\n')
        for holder in holders:
            _symlink(os.path.join(self.sys, 'module', holder), os.path.join(path, 'holders', holder))
        return path

    def remove_module(self, name):
        path = os.path.join(self.sys, 'module', name)
        for sub in ('holders',):
            sub_path = os.path.join(path, sub)
            if os.path.isdir(sub_path):
                for entry in os.listdir(sub_path):
                    os.unlink(os.path.join(sub_path, entry))
                os.rmdir(sub_path)
        for entry in os.listdir(path):
            os.unlink(os.path.join(path, entry))
        os.rmdir(path)
        for other in os.listdir(os.path.join(self.sys, 'module')):
            link = os.path.join(self.sys, 'module', other, 'holders', name)
            if os.path.lexists(link):
                os.unlink(link)

    def add_nvidia_modules(self, busy=False):
        """The NVIDIA stack: nvidia held by nvidia_modeset and nvidia_uvm, nvidia_modeset by nvidia_drm."""
        self.add_module('nvidia_drm', refcnt=0)
        self.add_module('nvidia_modeset', refcnt=1, holders=['nvidia_drm'])
        self.add_module('nvidia_uvm', refcnt=2 if busy else 0)
        self.add_module('nvidia', refcnt=(3 if busy else 2), holders=['nvidia_modeset', 'nvidia_uvm'])

    def add_process(self, pid, comm, open_files=()):
        """A process whose fd/N links point at ``open_files`` (absolute host paths, e.g. /dev/nvidia0)."""
        base = os.path.join(self.proc, str(pid))
        _write(os.path.join(base, 'comm'), comm + '\n')
        _write(os.path.join(base, 'cmdline'), comm + '\0')
        fd_dir = os.path.join(base, 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        for number, target in enumerate(open_files, start=3):
            os.symlink(target, os.path.join(fd_dir, str(number)))  # absolute on purpose: like the real /proc
        return base

    def set_routes(self, default_ifaces, v6_default_ifaces=()):
        lines = ['Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT']
        for iface in default_ifaces:
            lines.append(f'{iface}\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0')
        lines.append('docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0')
        _write(os.path.join(self.proc, 'net', 'route'), '\n'.join(lines) + '\n')
        v6 = [('00000000000000000000000000000000 00 00000000000000000000000000000000 00 '
              '00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo')]
        for iface in v6_default_ifaces:
            v6.append('00000000000000000000000000000000 00 00000000000000000000000000000000 00 '
                      f'fe800000000000000000000000000001 00000400 00000002 00000000 00000003 {iface:>8}')
        _write(os.path.join(self.proc, 'net', 'ipv6_route'), '\n'.join(v6) + '\n')

    def add_route(self, iface, cidr):
        """One more IPv4 route, e.g. ('br-3f2a1b4c5d6e', '172.30.0.0/24') for a docker network's bridge."""
        net = ipaddress.IPv4Network(cidr)

        def little(address):  # the kernel writes addresses in host (little-endian) order
            return '%08X' % int.from_bytes(address.packed, 'little')
        path = os.path.join(self.proc, 'net', 'route')
        with open(path, 'a', encoding='utf-8') as handle:
            handle.write(f'{iface}\t{little(net.network_address)}\t00000000\t0001\t0\t0\t0\t{little(net.netmask)}\t0\t0\t0\n')

    # -- a whole machine ---------------------------------------------------
    def build_lab_machine(self, totalvfs=8):
        """The seed's kind-host: uplink i210, 2 ConnectX-5 PFs (buses 0x3b/0xaf), A100, PAC N3000, a VMD domain."""
        self.add_host_bridge('0000:00:00.0')
        self.add_plain_nic('0000:02:00.0', 'eno1')
        self.add_connectx5_pf('0000:3b:00.0', 'ens1f0', totalvfs=totalvfs, numa_node=0)
        self.add_connectx5_pf('0000:3b:00.1', 'ens1f1', totalvfs=totalvfs, numa_node=0)
        self.add_connectx5_pf('0000:af:00.0', 'ens2f0', totalvfs=totalvfs, numa_node=1)
        self.add_nvidia_gpu('0000:86:00.0', minor=0, numa_node=1)
        self.add_intel_fpga('0000:d8:00.0', numa_node=1)
        self.add_host_bridge('10000:e0:00.0')  # Intel VMD domain
        self.add_pci('10000:e1:00.0', '0x144d', '0xa808', '0x010802', driver='nvme', numa_node=1)
        self.set_routes(['eno1'])
        return self

    def apply_spec(self, spec):
        """Build from a JSON-able spec: {"machine": "lab", "numvfs": {addr: n}, "nvidia_modules": true,
        "dfl_fpgas": [{"address", "index", "numa_node", "devname"}], ...}."""
        if spec.get('machine') == 'lab':
            self.build_lab_machine(spec.get('totalvfs', 8))
        for pf in spec.get('pfs', []):
            self.add_connectx5_pf(pf['address'], pf['netdev'], pf.get('totalvfs', 8), pf.get('numvfs', 0))
        for gpu in spec.get('gpus', []):
            self.add_nvidia_gpu(gpu['address'], gpu.get('minor', 0))
        for fpga in spec.get('dfl_fpgas', []):
            self.add_dfl_fpga(fpga['address'], fpga['index'], numa_node=fpga.get('numa_node', 0), devname=fpga.get('devname'))
        for address, count in spec.get('numvfs', {}).items():
            materialize_vfs(self.root, address, count)
        if spec.get('nvidia_modules'):
            self.add_nvidia_modules()
        if 'default_route' in spec:
            self.set_routes(spec['default_route'])
        return self


# -- the fake kernel's SR-IOV behaviour -------------------------------------
def _read(path, default=''):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read().strip()
    except OSError:
        return default


def materialize_vfs(root, pf_address, count, netdevs_too=True, write_count=True):
    """Make the tree show ``count`` VFs of ``pf_address`` (removing any previous ones).

    ``write_count=False`` leaves ``sriov_numvfs`` as the writer left it (the fake kernel's case): writing it
    again after the links would race with a writer that saw the links gone and wrote the next count.
    """
    fake = FakeSys.__new__(FakeSys)
    fake.root, fake.sys = str(root), os.path.join(str(root), 'sys')
    fake.proc, fake.dev = os.path.join(fake.root, 'proc'), os.path.join(fake.root, 'dev')
    fake._iommu = 1000
    pf_dir = fake.device_dir(pf_address)
    for entry in sorted(os.listdir(pf_dir)):
        if entry.startswith('virtfn'):
            vf_dir = os.path.realpath(os.path.join(pf_dir, entry))
            _remove_function(fake, vf_dir)
            os.unlink(os.path.join(pf_dir, entry))
    domain, bus, dev, fn = _bdf(pf_address)
    prefix = _read(os.path.join(pf_dir, 'fake_vf_netdev_prefix'))
    vf_device = '0x' + (_read(os.path.join(pf_dir, 'sriov_vf_device')) or '1018')
    # VFs of function fn start at devfn (dev, fn) + 2 + fn*count, like mlx5 offset/stride 2/1
    first = (dev << 3 | fn) + 2 + fn * 64
    created = []
    for index in range(count):
        devfn = first + index
        vf_address = _addr(domain, bus, (devfn >> 3) & 0x1f, devfn & 7)
        vf_dir = fake.add_pci(vf_address, CONNECTX5_VF[0], vf_device, '0x020000', driver=None,
                              numa_node=_read(os.path.join(pf_dir, 'numa_node'), '-1'))
        _symlink(pf_dir, os.path.join(vf_dir, 'physfn'))
        _symlink(vf_dir, os.path.join(pf_dir, f'virtfn{index}'))
        created.append((vf_address, f'{prefix}{index}' if prefix else None))
    if netdevs_too:
        attach_vf_netdevs(fake, created)
    if write_count:
        _write(os.path.join(pf_dir, 'sriov_numvfs'), f'{count}\n')
    return created


def attach_vf_netdevs(fake, created):
    for vf_address, netdev in created:
        if netdev:
            drv = os.path.join(fake.sys, 'bus', 'pci', 'drivers', 'mlx5_core')
            os.makedirs(drv, exist_ok=True)
            _symlink(drv, os.path.join(fake.device_dir(vf_address), 'driver'))
            fake.add_netdev(netdev, vf_address)


def _remove_function(fake, vf_dir):
    address = os.path.basename(vf_dir)
    for name in os.listdir(os.path.join(vf_dir, 'net')) if os.path.isdir(os.path.join(vf_dir, 'net')) else []:
        link = os.path.join(fake.sys, 'class', 'net', name)
        if os.path.lexists(link):
            os.unlink(link)
    for link in (os.path.join(fake.sys, 'bus', 'pci', 'devices', address),):
        if os.path.lexists(link):
            os.unlink(link)
    for dirpath, dirnames, filenames in os.walk(vf_dir, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                os.rmdir(path)
    os.rmdir(vf_dir)


class FakeKernel:
    """Watches every PF's sriov_numvfs under ``root`` and reacts like the PCI core.

    ``netdev_delay`` seconds pass between the VF functions and their netdevs (the VF driver's
    probe), so a caller that does not wait for netdevs is caught. ``log`` records every
    transition and every refused (EBUSY) one.
    """

    def __init__(self, root, poll=0.01, netdev_delay=0.2):
        self.root = str(root)
        self.poll = poll
        self.netdev_delay = netdev_delay
        self.state = {}
        self.stop_event = threading.Event()
        self.thread = None
        self.log_path = os.path.join(self.root, 'fake-kernel.log')

    def _pfs(self):
        base = os.path.join(self.root, 'sys', 'bus', 'pci', 'devices')
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if os.path.exists(os.path.join(base, name, 'sriov_totalvfs')):
                yield name, os.path.join(base, name)

    def _log(self, line):
        with open(self.log_path, 'a', encoding='utf-8') as handle:
            handle.write(line + '\n')

    def step(self):
        for address, path in self._pfs():
            text = _read(os.path.join(path, 'sriov_numvfs'), '0')
            try:
                wanted = int(text)
            except ValueError:
                continue
            current = len([e for e in os.listdir(path) if e.startswith('virtfn')])
            if wanted == current:
                self.state[address] = current
                continue
            total = int(_read(os.path.join(path, 'sriov_totalvfs'), '0'))
            if (current and wanted) or wanted > total:
                # a real kernel returns EBUSY / ERANGE to the writer and keeps the old count
                self._log(f'REFUSED {address} {current} -> {wanted}')
                _write(os.path.join(path, 'sriov_numvfs'), f'{current}\n')
                continue
            # sriov_numvfs already reads ``wanted``: a real kernel's write returns once the VFs are there, so
            # the writer's next write (e.g. 2 after 0) can only come after; the file must not be written back
            created = materialize_vfs(self.root, address, wanted, netdevs_too=False, write_count=False)
            self._log(f'SET {address} {current} -> {wanted}')
            if created and self.netdev_delay:
                time.sleep(self.netdev_delay)
            fake = FakeSys.__new__(FakeSys)
            fake.root, fake.sys = self.root, os.path.join(self.root, 'sys')
            attach_vf_netdevs(fake, created)
            self.state[address] = wanted

    def run(self):
        while not self.stop_event.is_set():
            self.step()
            self.stop_event.wait(self.poll)

    def start(self):
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(5)

    def transitions(self):
        return _read(self.log_path).splitlines()


def run_module(main, args, check_mode=False, diff=False):
    """Run an Ansible module's ``main`` in-process; return ``(failed, result_dict)``."""
    import contextlib
    import io

    from ansible.module_utils.testing import patch_module_args

    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass
    result = json.loads(out.getvalue())
    return bool(result.get('failed')), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('action', choices=['build', 'kernel'])
    parser.add_argument('--root', required=True)
    parser.add_argument('--spec', help='JSON file for build')
    parser.add_argument('--netdev-delay', type=float, default=0.2)
    args = parser.parse_args()
    if args.action == 'build':
        spec = {'machine': 'lab'}
        if args.spec:
            with open(args.spec, encoding='utf-8') as handle:
                spec = json.load(handle)
        FakeSys(args.root).apply_spec(spec)
    else:
        FakeKernel(args.root, poll=0.05, netdev_delay=args.netdev_delay).run()


if __name__ == '__main__':
    main()
