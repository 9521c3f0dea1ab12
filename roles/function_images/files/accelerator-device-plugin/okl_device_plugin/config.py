# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The plugin's configuration (JSON), validated into plain objects with every mistake named."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

DEFAULT_SOCKET_DIR = '/var/lib/kubelet/device-plugins'
DEFAULT_ENV_NAMES = ('ACCELERATOR_UNITS', 'ACCELERATOR_DEVICES')
# <DNS subdomain>/<DNS label>, as kubelet requires for extended resources
_RESOURCE_RE = re.compile(r'^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$')
_ENV_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_HEX_RE = re.compile(r'^(0x)?[0-9a-fA-F]+$')
_NAME_RE = re.compile(r'^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$')


class ConfigError(ValueError):
    """A configuration the plugin cannot run with; the message names every bad field."""


@dataclass(frozen=True)
class Selector:
    """PCI functions to take into a pool. Empty fields match anything.

    ``vendor``/``device`` are compared exactly (``0x1ded``); ``class_prefix`` matches the start of
    the 24-bit class code (``0x12`` every processing accelerator, ``0x1200``, ``0x120000``).
    """
    vendor: str = ''
    device: str = ''
    class_prefix: str = ''

    def matches(self, vendor_id, device_id, class_id):
        if self.vendor and vendor_id != self.vendor:
            return False
        if self.device and device_id != self.device:
            return False
        return not self.class_prefix or class_id.startswith(self.class_prefix)


@dataclass(frozen=True)
class Pool:
    """One extended resource: which functions belong to it and what a container gets."""
    name: str
    resource_name: str
    fpga: bool = True
    selectors: tuple = ()
    drivers: tuple = ()          # a function bound to another driver (or none) is Unhealthy
    env_names: tuple = DEFAULT_ENV_NAMES
    permissions: str = 'rw'
    fme: bool = False            # also give the FPGA management engine's nodes (lets a pod reprogram it)

    @property
    def endpoint(self):
        """The plugin's socket name in the device-plugins directory."""
        return f'okl-{self.name}.sock'


@dataclass(frozen=True)
class Config:
    pools: tuple
    sysfs_root: str = '/'
    dev_root: str = '/'
    socket_dir: str = DEFAULT_SOCKET_DIR
    poll_interval: float = 10.0
    use_inotify: bool = True


def _hex(value, field_name, problems, digits=None):
    text = str(value).strip().lower()
    if not _HEX_RE.match(text):
        problems.append(f'{field_name}: {value!r} is not a hexadecimal number (e.g. 0x1172)')
        return ''
    text = text[2:] if text.startswith('0x') else text
    if digits:
        text = text.zfill(digits)
    return '0x' + text


def parse(data):
    """Config from a dict (the JSON document). Raises ConfigError naming every problem at once."""
    problems = []
    if not isinstance(data, dict):
        raise ConfigError('the configuration must be a JSON object')
    known = {'pools', 'sysfs_root', 'dev_root', 'socket_dir', 'poll_interval', 'use_inotify'}
    for key in sorted(set(data) - known):
        problems.append(f'{key}: unknown setting (known: {", ".join(sorted(known))})')
    pools = []
    raw_pools = data.get('pools', [])
    if not isinstance(raw_pools, list) or not raw_pools:
        problems.append('pools: give at least one pool ({"name": ..., "resource_name": ...})')
        raw_pools = []
    names, resources = set(), set()
    for index, raw in enumerate(raw_pools):
        where = f'pools[{index}]'
        if not isinstance(raw, dict):
            problems.append(f'{where}: must be an object')
            continue
        pool_known = {'name', 'resource_name', 'fpga', 'fme', 'selectors', 'drivers', 'env_names', 'permissions'}
        for key in sorted(set(raw) - pool_known):
            problems.append(f'{where}.{key}: unknown setting (known: {", ".join(sorted(pool_known))})')
        name = str(raw.get('name', ''))
        if not _NAME_RE.match(name):
            problems.append(f'{where}.name: {name!r} must be a short DNS label (lower case, digits, -)')
        elif name in names:
            problems.append(f'{where}.name: {name!r} is used by another pool')
        names.add(name)
        resource = str(raw.get('resource_name', ''))
        if not _RESOURCE_RE.match(resource):
            problems.append(f'{where}.resource_name: {resource!r} must be <domain>/<name>, e.g. b-com.com/accelerator')
        elif resource in resources:
            problems.append(f'{where}.resource_name: {resource!r} is served by another pool')
        resources.add(resource)
        selectors = []
        for sindex, sel in enumerate(raw.get('selectors', []) or []):
            swhere = f'{where}.selectors[{sindex}]'
            if not isinstance(sel, dict) or not set(sel) <= {'vendor', 'device', 'class'} or not sel:
                problems.append(f'{swhere}: must be an object with some of vendor, device, class')
                continue
            selectors.append(Selector(
                vendor=_hex(sel['vendor'], swhere + '.vendor', problems, 4) if 'vendor' in sel else '',
                device=_hex(sel['device'], swhere + '.device', problems, 4) if 'device' in sel else '',
                class_prefix=_hex(sel['class'], swhere + '.class', problems) if 'class' in sel else ''))
        fpga, fme = raw.get('fpga', True), raw.get('fme', False)
        for key, value in (('fpga', fpga), ('fme', fme)):
            if not isinstance(value, bool):
                problems.append(f'{where}.{key}: must be true or false')
        if not fpga and not selectors:
            problems.append(f'{where}: selects nothing (fpga is false and there are no selectors)')
        env_names = raw.get('env_names', list(DEFAULT_ENV_NAMES))
        if not isinstance(env_names, list) or not env_names or not all(isinstance(e, str) and _ENV_RE.match(e) for e in env_names):
            problems.append(f'{where}.env_names: {env_names!r} must be a non-empty list of environment variable names')
            env_names = list(DEFAULT_ENV_NAMES)
        permissions = str(raw.get('permissions', 'rw'))
        if not permissions or set(permissions) - set('rwm'):
            problems.append(f'{where}.permissions: {permissions!r} must be some of r, w, m')
        drivers = raw.get('drivers', []) or []
        if not isinstance(drivers, list) or not all(isinstance(d, str) and d for d in drivers):
            problems.append(f'{where}.drivers: must be a list of kernel driver names')
            drivers = []
        pools.append(Pool(name=name, resource_name=resource, fpga=bool(fpga), selectors=tuple(selectors),
                          drivers=tuple(drivers), env_names=tuple(env_names), permissions=permissions, fme=bool(fme)))
    poll = data.get('poll_interval', 10.0)
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not 0.05 <= poll <= 3600:
        problems.append(f'poll_interval: {poll!r} must be seconds between 0.05 and 3600')
        poll = 10.0
    use_inotify = data.get('use_inotify', True)
    if not isinstance(use_inotify, bool):
        problems.append('use_inotify: must be true or false')
    for key in ('sysfs_root', 'dev_root', 'socket_dir'):
        if key in data and (not isinstance(data[key], str) or not data[key].startswith('/')):
            problems.append(f'{key}: {data[key]!r} must be an absolute path')
    if problems:
        raise ConfigError('invalid device plugin configuration:\n  ' + '\n  '.join(problems))
    return Config(pools=tuple(pools), sysfs_root=data.get('sysfs_root', '/'), dev_root=data.get('dev_root', '/'),
                  socket_dir=data.get('socket_dir', DEFAULT_SOCKET_DIR), poll_interval=float(poll),
                  use_inotify=bool(use_inotify))


def load(path):
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ConfigError(f'cannot read the configuration {path}: {exc.strerror}') from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f'{path} is not JSON: {exc}') from exc
    return parse(data)
