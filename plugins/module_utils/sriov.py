# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Set a PF's VF count the way the kernel wants it, and wait until the VFs are there.

Standard library only: the sriov_vfs module and the lab's boot-time restore
(roles/accelerators/files/okl_lab_restore.py, installed with this file by the accelerators role) share it.
``sysfs`` is a :class:`sysfs.Sysfs`.
"""

import time


class SriovError(Exception):
    """The VF count could not be written, or the VFs did not appear in time."""

    def __init__(self, msg, path=None, vfs=None):
        super().__init__(msg)
        self.msg = msg
        self.path = path
        self.vfs = vfs or []


def write_num_vfs(sysfs, pf_address, count):
    path = sysfs.sriov_numvfs_path(pf_address)
    try:
        with open(path, 'w', encoding='ascii') as handle:
            handle.write(f'{count}\n')
    except OSError as exc:
        raise SriovError(f'Writing {count} to {path} failed: {exc}. Is /sys read-only here, or is the PF driver '
                         'refusing SR-IOV (check dmesg)?', path=path) from exc


def wait_for_vfs(sysfs, pf_address, count, wait_for_netdevs, deadline, sleep=time.sleep):
    """Poll the real state until the PF shows ``count`` VFs (with netdevs); return them."""
    delay = 0.01
    while True:
        state = sysfs.resolve_pf(pf_address)
        vfs = state['vfs'] if state else []
        ready = state is not None and state['sriov_numvfs'] == count and len(vfs) == count
        if ready and wait_for_netdevs:
            ready = all(vf['netdev'] for vf in vfs)
        if ready:
            return vfs
        if time.monotonic() >= deadline:
            missing = [vf['pci_address'] for vf in vfs if not vf['netdev']]
            raise SriovError(
                f'PF {pf_address} did not reach {count} VFs within the timeout: sriov_numvfs reads '
                f'{state["sriov_numvfs"] if state else "nothing"}, {len(vfs)} virtfn links'
                + (f', VFs without netdev: {", ".join(missing)}' if missing and wait_for_netdevs else '')
                + '. Raise timeout, or set wait_for_netdevs=false if the VFs have no netdev driver.', vfs=vfs)
        sleep(delay)
        delay = min(delay * 2, 0.5)


def set_num_vfs(sysfs, pf_address, count, timeout, wait_for_netdevs=True):
    """Bring a PF (given by PCI address) to ``count`` VFs: through 0 when it has others (a non-zero to
    non-zero write is EBUSY on a real kernel), then wait for them. Returns the VFs."""
    state = sysfs.resolve_pf(pf_address)
    deadline = time.monotonic() + timeout
    if state is None:
        raise SriovError(f'PF {pf_address} not found under {sysfs.path("bus", "pci", "devices")}')
    if state['sriov_numvfs'] == count and len(state['vfs']) == count:
        return state['vfs']
    if state['sriov_numvfs'] != 0 or state['vfs']:
        write_num_vfs(sysfs, pf_address, 0)
        wait_for_vfs(sysfs, pf_address, 0, False, deadline)
    if not count:
        return []
    write_num_vfs(sysfs, pf_address, count)
    return wait_for_vfs(sysfs, pf_address, count, wait_for_netdevs, deadline)
