# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Which accelerators a pool has, and whether each is healthy, from sysfs under a root.

The sysfs reading is the collection's own ``plugins/module_utils/sysfs.py`` (the one
accelerator_info uses), imported by its collection name: the image installs it under lib/ as
regular packages (tasks/device_plugin.yml); from a checkout it is the collection itself.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from dataclasses import dataclass

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs

# Device nodes of an FPGA's management engine: reprogramming and resetting the whole FPGA, not the
# accelerator a pod uses (its AFU port); given only to pools with ``fme: true``.
FME_NODE_PREFIXES = ('dfl-fme.', 'intel-fpga-fme.')
HEALTHY = 'Healthy'
UNHEALTHY = 'Unhealthy'


@dataclass(frozen=True)
class Device:
    id: str                   # PCI address (BDF), e.g. 0000:d8:00.0
    numa_node: int | None
    device_nodes: tuple       # host paths, e.g. ('/dev/dfl-port.0',)
    reason: str = ''          # why it is Unhealthy; '' when Healthy

    @property
    def health(self):
        return UNHEALTHY if self.reason else HEALTHY


def _candidates(pool, sysfs):
    found = set(sysfs.fpga_pci_addresses()) if pool.fpga else set()
    if pool.selectors:
        for address in sysfs.pci_addresses():
            info = sysfs.pci_device(address)
            if info and any(s.matches(info['vendor_id'], info['device_id'], info['class_id']) for s in pool.selectors):
                found.add(address)
    return found


def _inspect(pool, sysfs, dev_root, address):
    info = sysfs.pci_device(address)
    state = sysfs.function_state(address)
    if info is None or state is None:
        return None
    nodes = tuple(n for n in state['device_nodes'] if pool.fme or not os.path.basename(n).startswith(FME_NODE_PREFIXES))
    reasons = []
    if state['errors']:
        reasons.append('reports errors: ' + ', '.join(f'{path}={value:#x}' for path, value in sorted(state['errors'].items())))
    if pool.drivers and info['driver'] not in pool.drivers:
        reasons.append(f"bound to {info['driver'] or 'no driver'}, not {' or '.join(pool.drivers)}")
    missing = [node for node in nodes if not os.path.exists(os.path.join(dev_root, node.lstrip('/')))]
    if missing:
        reasons.append('device node missing: ' + ', '.join(missing))
    return Device(id=address, numa_node=info['numa_node'], device_nodes=nodes, reason='; '.join(reasons))


def discover(pool, sysfs_root='/', dev_root='/'):
    """The pool's devices now, by ID. Functions that are not there are simply absent."""
    sysfs = Sysfs(sysfs_root)
    result = {}
    for address in sorted(_candidates(pool, sysfs)):
        device = _inspect(pool, sysfs, dev_root, address)
        if device is not None:
            result[address] = device
    return result


def inspect(pool, ids, sysfs_root='/', dev_root='/'):
    """Only these devices, by ID (None for one that is not there any more)."""
    sysfs = Sysfs(sysfs_root)
    return {address: _inspect(pool, sysfs, dev_root, address) for address in ids}


class Inventory:
    """What one pool advertises: every device ever seen, Healthy or not, in a stable order.

    A device that disappears from sysfs stays listed as Unhealthy (so kubelet lowers allocatable,
    not capacity, and gives it back when it returns); new devices are added. ``rescan`` returns
    the list of changes as text lines (empty: nothing changed) and bumps ``version``; readers wait
    on ``changed`` for a version newer than theirs.
    """

    def __init__(self, pool, sysfs_root='/', dev_root='/'):
        self.pool = pool
        self.sysfs_root = sysfs_root
        self.dev_root = dev_root
        self.devices = {}
        self.version = 0
        self.changed = threading.Condition()

    def rescan(self, only=None):
        """Scan the whole pool again, or with ``only`` (IDs of known devices) just those devices."""
        if only is None:
            now = discover(self.pool, self.sysfs_root, self.dev_root)
            merged = dict(now)
        else:
            found = inspect(self.pool, sorted(set(only) & set(self.devices)), self.sysfs_root, self.dev_root)
            now = {address: device for address, device in found.items() if device is not None}
            merged = dict(self.devices)
            merged.update(now)
        for address, old in self.devices.items():
            if address not in now and (only is None or address in only):
                merged[address] = Device(address, old.numa_node, old.device_nodes, 'gone from sysfs')
        changes = []
        for address in sorted(merged):
            old, new = self.devices.get(address), merged[address]
            if old == new:
                continue
            if old is None:
                changes.append(f'{address} new, {new.health}' + (f' ({new.reason})' if new.reason else ''))
            elif old.health != new.health or old.reason != new.reason:
                changes.append(f'{address} {new.health}' + (f' ({new.reason})' if new.reason else ''))
            else:
                changes.append(f'{address} device nodes {", ".join(new.device_nodes) or "none"}')
        if changes:
            with self.changed:
                self.devices = dict(sorted(merged.items()))
                self.version += 1
                self.changed.notify_all()
        return changes

    def snapshot(self):
        with self.changed:
            return self.version, list(self.devices.values())

    def wait_newer(self, version, timeout):
        """The (version, devices) once newer than ``version``, or None after ``timeout`` seconds."""
        with self.changed:
            if self.version == version:
                self.changed.wait(timeout)
            if self.version == version:
                return None
            return self.version, list(self.devices.values())

    def wake(self):
        with self.changed:
            self.changed.notify_all()


class AllocationError(Exception):
    """An Allocate request naming devices the pool cannot give."""


def allocate(pool, devices, ids):
    """What one container gets for ``ids``: (envs, device nodes). Raises AllocationError."""
    ids = list(dict.fromkeys(ids))
    unknown = [i for i in ids if i not in devices]
    if unknown:
        raise AllocationError(f'{pool.resource_name} has no device {", ".join(unknown)}')
    unhealthy = [f'{i} ({devices[i].reason})' for i in ids if devices[i].reason]
    if unhealthy:
        raise AllocationError(f'{pool.resource_name}: Unhealthy now: {", ".join(unhealthy)}')
    value = ','.join(ids)
    nodes = sorted({node for i in ids for node in devices[i].device_nodes})
    return {name: value for name in pool.env_names}, nodes


def preferred_allocation(devices, available, must_include, size):
    """IDs to allocate: ``must_include`` first, then devices on as few NUMA nodes as possible.

    The rest comes from the NUMA node the must-include devices share when it has enough, else
    from the smallest NUMA node that alone has enough (best fit keeps larger nodes whole for
    larger requests), else from the largest nodes first. Unknown NUMA nodes come last.
    """
    chosen = list(dict.fromkeys(must_include))
    need = size - len(chosen)
    if need <= 0:
        return chosen
    taken = set(chosen)
    groups = defaultdict(list)
    for device_id in sorted(set(available) - taken):
        numa = devices[device_id].numa_node if device_id in devices else None
        groups[numa].append(device_id)
    shared = {devices[i].numa_node if i in devices else None for i in chosen}
    if len(shared) == 1 and len(groups.get(next(iter(shared)), [])) >= need:
        return chosen + groups[next(iter(shared))][:need]
    known = [n for n in groups if n is not None]
    fitting = sorted((n for n in known if len(groups[n]) >= need), key=lambda n: (len(groups[n]), n))
    if fitting:
        return chosen + groups[fitting[0]][:need]
    order = sorted(known, key=lambda n: (-len(groups[n]), n)) + ([None] if None in groups else [])
    for numa in order:
        take = groups[numa][:need]
        chosen += take
        need -= len(take)
        if need == 0:
            break
    return chosen
