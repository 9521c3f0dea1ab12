# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Kernel module state and device-file users, read from sysfs/procfs under root paths.

Pure Python: gpu_driver and the unit tests use it. A module is loaded when
``<sysfs_root>/sys/module/<name>/`` exists; its users are ``refcnt`` (holder modules plus
open files and other kernel references) and the modules listed in ``holders/``.
"""

from __future__ import annotations

import os

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs

NVIDIA_MODULES = ('nvidia_drm', 'nvidia_modeset', 'nvidia_uvm', 'nvidia')
# What a GPU worker loads for its pods, in load order (no DRM: nothing displays there).
NVIDIA_NODE_MODULES = ('nvidia', 'nvidia_uvm', 'nvidia_modeset')


def module_states(sysfs_root, names):
    """``{name: {'loaded', 'refcnt', 'holders'}}`` for each module name."""
    sysfs = Sysfs(sysfs_root)
    result = {}
    for name in names:
        loaded = sysfs.module_loaded(name)
        result[name] = {
            'loaded': loaded,
            'refcnt': sysfs.module_refcnt(name) if loaded else 0,
            'holders': sysfs.module_holders(name) if loaded else [],
        }
    return result


def _comm(proc_dir):
    try:
        with open(os.path.join(proc_dir, 'comm'), encoding='utf-8', errors='replace') as handle:
            return handle.read().strip()
    except OSError:
        return None


def device_users(procfs_root='/', prefixes=('/dev/nvidia',)):
    """Processes with a file open whose path starts with one of ``prefixes``.

    Returns ``[{'pid': int, 'name': str, 'files': [paths]}]`` ordered by pid. Processes that
    vanish or cannot be read (permissions) during the scan are skipped.
    """
    proc = os.path.join(procfs_root or '/', 'proc')
    try:
        entries = os.listdir(proc)
    except OSError:
        return []
    users = []
    for entry in entries:
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc, entry, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        files = set()
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith(tuple(prefixes)):
                files.add(target)
        if files:
            users.append({'pid': int(entry), 'name': _comm(os.path.join(proc, entry)), 'files': sorted(files)})
    users.sort(key=lambda item: item['pid'])
    return users


def unload_blockers(states, modules):
    """Reasons the loaded ``modules`` cannot be unloaded, from their module states.

    A holder module outside ``modules`` blocks; so do references (``refcnt``) beyond the
    holder modules that will be unloaded first (open device files, other kernel users).
    Returns ``(foreign_holders, busy_modules)``: ``{module: [holders]}``, ``{module: extra refs}``.
    """
    ours = set(modules)
    foreign = {}
    busy = {}
    for name in modules:
        state = states[name]
        if not state['loaded']:
            continue
        others = [h for h in state['holders'] if h not in ours]
        if others:
            foreign[name] = others
        extra = state['refcnt'] - len(state['holders'])
        if extra > 0:
            busy[name] = extra
    return foreign, busy
