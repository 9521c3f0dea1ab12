# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read-only views of Linux sysfs/procfs for PCI devices, netdevs and SR-IOV.

Pure Python, no Ansible import: the preflight code, the accelerator modules and the
unit tests share it. Every path is taken under a root directory (``/`` on a real host,
a fake tree in tests), so ``Sysfs('/tmp/fake')`` reads ``/tmp/fake/sys/...``.
Symlinks in a fake tree must be relative so they resolve inside the root.
"""

from __future__ import annotations

import ipaddress
import os
import re

_PCI_RE = re.compile(r'^(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$')
_FULL_PCI_RE = re.compile(r'^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$')
_VIRTFN_RE = re.compile(r'^virtfn(\d+)$')

# PCI class codes (24 bit: base class, subclass, programming interface)
PCI_CLASS_NETWORK = 0x02
PCI_CLASS_DISPLAY = 0x03

VENDOR_NVIDIA = '0x10de'
VENDOR_INTEL = '0x8086'
VENDOR_XILINX = '0x10ee'
VENDOR_ALTERA = '0x1172'

# Intel FPGA PCIe functions (PAC/N3000/D5005/Agilex FME and AFU ports, DFL)
INTEL_FPGA_DEVICE_IDS = frozenset([
    '0x09c4', '0x09c5',          # PAC Arria 10 GX PF/VF
    '0x0b2b', '0x0b2c',          # PAC D5005 PF/VF
    '0x0b30', '0x0b31',          # PAC N3000 PF/VF
    '0x0bcb', '0x0bcc',          # Agilex/OFS PF/VF
    '0xbcbd', '0xbcbe', '0xbcbf', '0xbcc0', '0xbcc1',  # early PAC and DCP parts
])
FPGA_VENDORS = frozenset([VENDOR_XILINX, VENDOR_ALTERA])

RTF_REJECT = 0x0200


def normalize_pci_address(address):
    """Return the full, lower-case PCI address (``domain:bus:dev.fn``).

    ``'3b:00.0'`` -> ``'0000:3b:00.0'``; ``'0000:AF:00.1'`` -> ``'0000:af:00.1'``;
    a 5-digit VMD domain such as ``'10000:e0:06.0'`` is kept. Raises ``ValueError``
    on anything that is not a PCI address.
    """
    match = _PCI_RE.match(str(address).strip()) if address is not None else None
    if not match:
        raise ValueError(f"not a PCI address: {address!r} (expected [domain:]bus:device.function, e.g. '0000:3b:00.0')")
    domain, bus, dev, fn = match.groups()
    domain = (domain or '0').lower().zfill(4)
    dev_num = int(dev, 16)
    if dev_num > 0x1f:
        raise ValueError(f'not a PCI address: {address!r} (device number {dev_num:#x} is above 0x1f)')
    return f'{domain}:{int(bus, 16):02x}:{dev_num:02x}.{fn}'


def is_pci_address(value):
    """True when ``value`` parses as a PCI address (short or full form)."""
    try:
        normalize_pci_address(value)
    except ValueError:
        return False
    return True


def _read(path, default=None):
    try:
        with open(path, 'r', encoding='utf-8', errors='replace') as handle:
            return handle.read().strip()
    except OSError:
        return default


def _read_int(path, default=None, base=10):
    text = _read(path)
    if text is None or text == '':
        return default
    try:
        return int(text, base)
    except ValueError:
        return default


def _link_basename(path):
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def _resolve(path):
    """Where a sysfs path leads: one readlink, not realpath's lstat of every component.

    sysfs links (``bus/pci/devices/X``, ``class/*/Y``, ``device``) point with a relative path at
    real directories under ``devices/``, so joining and normalizing is exact, and much cheaper
    over thousands of devices.
    """
    try:
        target = os.readlink(path)
    except OSError:
        return os.path.normpath(path)
    return os.path.normpath(os.path.join(os.path.dirname(path), target))


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


class Sysfs:
    """Queries on a sysfs tree at ``<root>/sys``."""

    def __init__(self, root='/'):
        self.root = root or '/'
        self.sys = os.path.join(self.root, 'sys')

    def path(self, *parts):
        return os.path.join(self.sys, *parts)

    def pci_dir(self, address):
        return self.path('bus', 'pci', 'devices', normalize_pci_address(address))

    def pci_addresses(self):
        """Every PCI function under ``bus/pci/devices``, normalized and sorted."""
        result = []
        for name in _listdir(self.path('bus', 'pci', 'devices')):
            try:
                result.append(normalize_pci_address(name))
            except ValueError:
                continue
        return result

    def _netdevs_in(self, device_dir):
        """Netdevs of a PCI function: ``net/*`` and, for virtio, ``virtio*/net/*``."""
        names = _listdir(os.path.join(device_dir, 'net'))
        for child in _listdir(device_dir):
            if child.startswith('virtio'):
                names.extend(_listdir(os.path.join(device_dir, child, 'net')))
        return names

    def pci_device(self, address):
        """Facts about one PCI function, or None when it does not exist.

        Keys: pci_address, vendor_id, device_id, class_id (``'0x030200'`` strings),
        driver (name or None), numa_node (int, None when unknown/-1), iommu_group
        (int or None), netdevs (list), physfn (PF address of a VF, else None).
        """
        address = normalize_pci_address(address)
        device_dir = self.pci_dir(address)
        if not os.path.isdir(device_dir):
            return None
        numa = _read_int(os.path.join(device_dir, 'numa_node'))
        group = _link_basename(os.path.join(device_dir, 'iommu_group'))
        physfn = _link_basename(os.path.join(device_dir, 'physfn'))
        return {
            'pci_address': address,
            'vendor_id': (_read(os.path.join(device_dir, 'vendor')) or '').lower(),
            'device_id': (_read(os.path.join(device_dir, 'device')) or '').lower(),
            'class_id': (_read(os.path.join(device_dir, 'class')) or '').lower(),
            'driver': _link_basename(os.path.join(device_dir, 'driver')),
            'numa_node': numa if numa is not None and numa >= 0 else None,
            'iommu_group': int(group) if group and group.isdigit() else None,
            'netdevs': self._netdevs_in(device_dir),
            'physfn': normalize_pci_address(physfn) if physfn and is_pci_address(physfn) else None,
        }

    def netdev_pci_address(self, netdev):
        """PCI address of the function behind a netdev, or None (absent or virtual)."""
        if not netdev or '/' in netdev or netdev in ('.', '..'):
            return None
        device_link = self.path('class', 'net', netdev, 'device')
        if not os.path.exists(device_link):
            return None
        current = os.path.realpath(device_link)
        # virtio and similar put a bus device between the netdev and the PCI function
        for _unused in range(4):
            name = os.path.basename(current)
            if _FULL_PCI_RE.match(name):
                return name
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        return None

    def resolve_pf(self, pf):
        """SR-IOV view of a PF given by netdev name or PCI address; None if absent.

        Returns ``{'pci_address', 'netdev', 'sriov_totalvfs', 'sriov_numvfs', 'vfs'}``;
        ``vfs`` lists ``{'index', 'pci_address', 'netdev'}`` from the ``virtfnN`` links,
        ordered by index. ``sriov_totalvfs`` is 0 when the function is not SR-IOV capable.
        """
        if is_pci_address(pf):
            address = normalize_pci_address(pf)
        else:
            address = self.netdev_pci_address(pf)
            if address is None:
                return None
        device_dir = self.pci_dir(address)
        if not os.path.isdir(device_dir):
            return None
        netdevs = self._netdevs_in(device_dir)
        if not is_pci_address(pf) and pf in netdevs:
            netdev = pf
        else:
            netdev = netdevs[0] if netdevs else None
        return {
            'pci_address': address,
            'netdev': netdev,
            'sriov_totalvfs': _read_int(os.path.join(device_dir, 'sriov_totalvfs'), 0),
            'sriov_numvfs': _read_int(os.path.join(device_dir, 'sriov_numvfs'), 0),
            'vfs': self.vfs(address),
        }

    def vfs(self, pf_address):
        """VFs currently linked from a PF (``virtfnN``), ordered by index."""
        device_dir = self.pci_dir(pf_address)
        result = []
        for name in _listdir(device_dir):
            match = _VIRTFN_RE.match(name)
            if not match:
                continue
            vf_address = _link_basename(os.path.join(device_dir, name))
            if not vf_address or not is_pci_address(vf_address):
                continue
            vf_dir = os.path.join(device_dir, name)
            netdevs = self._netdevs_in(vf_dir)
            result.append({
                'index': int(match.group(1)),
                'pci_address': normalize_pci_address(vf_address),
                'netdev': netdevs[0] if netdevs else None,
            })
        result.sort(key=lambda item: item['index'])
        return result

    def sriov_numvfs_path(self, pf_address):
        return os.path.join(self.pci_dir(pf_address), 'sriov_numvfs')

    def _pci_ancestor(self, path):
        """The PCI function a sysfs path belongs to (its nearest ancestor named as one), or None."""
        if not os.path.lexists(path):
            return None
        current = _resolve(path)
        top = os.path.normpath(self.sys)
        while current.startswith(top + os.sep):
            name = os.path.basename(current)
            if _FULL_PCI_RE.match(name):
                return name
            current = os.path.dirname(current)
        return None

    def fpga_pci_addresses(self):
        """PCI functions that carry an FPGA, from the kernel's FPGA classes and the DFL bus.

        Every entry of ``class/fpga*`` (``fpga_region`` of DFL, ``fpga`` of Intel's OPAE driver,
        ``fpga_manager``, ``fpga_bridge``) and of ``bus/dfl/devices`` (DFL ports and FMEs) is
        followed to the PCI function it sits under. Sorted, unique.
        """
        result = set()
        class_dir = self.path('class')
        entries = []
        for cls in _listdir(class_dir):
            if cls.startswith('fpga'):
                entries.extend(os.path.join(class_dir, cls, name) for name in _listdir(os.path.join(class_dir, cls)))
        entries.extend(self.path('bus', 'dfl', 'devices', name) for name in _listdir(self.path('bus', 'dfl', 'devices')))
        for entry in entries:
            for candidate in (os.path.join(entry, 'device'), entry):
                address = self._pci_ancestor(candidate)
                if address:
                    result.add(address)
                    break
        return sorted(result)

    def function_state(self, address, max_depth=5):
        """Device nodes and reported errors of one PCI function, from one walk of its sysfs directory.

        ``device_nodes``: ``/dev/<DEVNAME>`` of every device below the function that has a ``dev``
        attribute (DEVNAME from its ``uevent``, else the directory's name), e.g. a DFL port's
        ``/dev/dfl-port.0``, plus ``/dev/vfio/<group>`` and ``/dev/vfio/vfio`` when the function is
        bound to vfio-pci.
        Child PCI functions (below a bridge) are not entered. ``errors``: the non-zero
        ``errors/errors`` attributes below the function (how DFL ports and FMEs report errors),
        by path relative to the function's directory. None when the function does not exist.
        """
        address = normalize_pci_address(address)
        link = self.pci_dir(address)
        if not os.path.isdir(link):
            return None
        base = _resolve(link)
        nodes, errors = set(), {}
        for dirpath, dirnames, filenames in os.walk(base):
            rel = dirpath[len(base) + 1:] or '.'
            depth = 0 if rel == '.' else rel.count(os.sep) + 1
            dirnames[:] = [d for d in dirnames if not _FULL_PCI_RE.match(d)] if depth < max_depth else []
            if 'dev' in filenames and rel != '.':
                devname = None
                for line in (_read(os.path.join(dirpath, 'uevent')) or '').splitlines():
                    key, _sep, value = line.partition('=')
                    if key == 'DEVNAME' and value:
                        devname = value
                nodes.add('/dev/' + (devname or os.path.basename(dirpath)))
            if os.path.basename(dirpath) == 'errors' and 'errors' in filenames:
                value = _read_int(os.path.join(dirpath, 'errors'), None, 0)
                if value is None:
                    value = _read_int(os.path.join(dirpath, 'errors'), None, 16)
                if value:
                    errors[os.path.join(rel, 'errors')] = value
        if _link_basename(os.path.join(link, 'driver')) == 'vfio-pci':
            group = _link_basename(os.path.join(link, 'iommu_group'))
            if group:
                nodes.update(('/dev/vfio/' + group, '/dev/vfio/vfio'))
        return {'device_nodes': sorted(nodes), 'errors': errors}

    def module_loaded(self, name):
        """True when a kernel module (or built-in with parameters) is under sys/module."""
        return os.path.isdir(self.path('module', name))

    def module_refcnt(self, name):
        return _read_int(self.path('module', name, 'refcnt'), 0)

    def module_holders(self, name):
        return _listdir(self.path('module', name, 'holders'))


def _routes(procfs_root='/', pid=None):
    """(interface, ipaddress network, flags) of every IPv4 and IPv6 route in ``proc[/<pid>]/net`` under ``procfs_root``."""
    base = os.path.join(procfs_root or '/', 'proc', str(pid) if pid else '', 'net')
    for line in _read(os.path.join(base, 'route'), '').splitlines()[1:]:
        fields = line.split()
        try:
            iface, destination, flags, mask = fields[0], int(fields[1], 16), int(fields[3], 16), int(fields[7], 16)
            # the kernel writes both in host (little-endian) order
            address = ipaddress.IPv4Address(int.from_bytes(destination.to_bytes(4, 'little'), 'big'))
            yield iface, ipaddress.ip_network('%s/%d' % (address, bin(mask).count('1')), strict=False), flags
        except (IndexError, ValueError, OverflowError):
            continue
    for line in _read(os.path.join(base, 'ipv6_route'), '').splitlines():
        fields = line.split()
        try:
            destination, prefix_len, flags, iface = int(fields[0], 16), int(fields[1], 16), int(fields[8], 16), fields[9]
            yield iface, ipaddress.ip_network('%s/%d' % (ipaddress.IPv6Address(destination), prefix_len), strict=False), flags
        except (IndexError, ValueError):
            continue


def default_route_interfaces(procfs_root='/', pid=None):
    """Interfaces that carry an IPv4 or IPv6 default route, in the namespace of ``pid`` (None: the reader's, from /proc/net)."""
    return {iface for iface, net, flags in _routes(procfs_root, pid)
            if net.prefixlen == 0 and not flags & RTF_REJECT and (net.version == 4 or iface != 'lo')}


def host_routes(procfs_root='/'):
    """The host's routes other than default routes, as (interface, ipaddress network), from /proc/net.

    Docker's bridges are there too (docker0 172.17.0.0/16, br-<network id> for user networks).
    """
    def wanted(iface, net):
        if net.version == 6 and (iface == 'lo' or net.network_address.is_link_local or net.network_address.is_multicast):
            return False
        return net.prefixlen > 0
    return [(iface, net) for iface, net, _flags in _routes(procfs_root) if wanted(iface, net)]


def inotify_limits(procfs_root='/'):
    """``{max_user_watches, max_user_instances}`` from /proc/sys/fs/inotify (None for one that cannot be read)."""
    return {name: _read_int(os.path.join(procfs_root or '/', 'proc', 'sys', 'fs', 'inotify', name))
            for name in ('max_user_watches', 'max_user_instances')}


def pci_class_kind(class_id, vendor_id, device_id):
    """Classify a PCI function: 'gpu', 'nic', 'fpga' or None."""
    try:
        value = int(class_id, 16)
    except (TypeError, ValueError):
        return None
    base = value >> 16
    if vendor_id in FPGA_VENDORS or (vendor_id == VENDOR_INTEL and device_id in INTEL_FPGA_DEVICE_IDS):
        return 'fpga'
    if base == PCI_CLASS_DISPLAY:
        return 'gpu'
    if base == PCI_CLASS_NETWORK:
        return 'nic'
    return None


def nvidia_gpu_minor(procfs_root, pci_address):
    """Device minor of an NVIDIA GPU from /proc/driver/nvidia/gpus/<addr>/information."""
    base = os.path.join(procfs_root or '/', 'proc', 'driver', 'nvidia', 'gpus')
    for name in (pci_address, pci_address.split(':', 1)[1] if pci_address.count(':') == 2 else pci_address):
        text = _read(os.path.join(base, name, 'information'))
        if text is None:
            continue
        for line in text.splitlines():
            key, _sep, value = line.partition(':')
            if key.strip().lower() == 'device minor':
                try:
                    return int(value.strip())
                except ValueError:
                    return None
    return None


def discover_accelerators(sysfs_root='/', procfs_root='/', dev_root='/'):
    """GPUs, NICs and FPGAs of a host from sysfs (the core of accelerator_info)."""
    sysfs = Sysfs(sysfs_root)
    gpus, nics, fpgas = [], [], []
    fpga_class_addresses = set(sysfs.fpga_pci_addresses())
    dev_dir = os.path.join(dev_root or '/', 'dev')
    for address in sysfs.pci_addresses():
        device = sysfs.pci_device(address)
        if device is None:
            continue
        kind = pci_class_kind(device['class_id'], device['vendor_id'], device['device_id'])
        if address in fpga_class_addresses:
            kind = 'fpga'
        if kind is None:
            continue
        item = {key: device[key] for key in ('pci_address', 'vendor_id', 'device_id', 'class_id', 'driver', 'numa_node', 'iommu_group')}
        if kind == 'gpu':
            item['device_nodes'] = []
            if device['vendor_id'] == VENDOR_NVIDIA:
                minor = nvidia_gpu_minor(procfs_root, address)
                if minor is not None:
                    item['device_nodes'].append(f'/dev/nvidia{minor}')
                for extra in ('nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools'):
                    if os.path.exists(os.path.join(dev_dir, extra)):
                        item['device_nodes'].append('/dev/' + extra)
            gpus.append(item)
        elif kind == 'nic':
            item['netdevs'] = device['netdevs']
            item['physfn'] = device['physfn']
            device_dir = sysfs.pci_dir(address)
            item['sriov_totalvfs'] = _read_int(os.path.join(device_dir, 'sriov_totalvfs'), 0)
            item['sriov_numvfs'] = _read_int(os.path.join(device_dir, 'sriov_numvfs'), 0)
            item['vfs'] = [{'pci_address': vf['pci_address'], 'netdev': vf['netdev'], 'index': vf['index']}
                           for vf in sysfs.vfs(address)] if item['sriov_totalvfs'] else []
            nics.append(item)
        else:
            fpgas.append(item)
    return {'gpus': gpus, 'nics': nics, 'fpgas': fpgas}
