# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Moving netdevs between the host network namespace and a container's.

Shared by the ``netns_attach`` module and the netns keeper daemon of the ``devices``
role (which installs it with the module_utils it imports): standard library only, never Ansible.

Model:

* ``ip`` and ``nsenter`` are :class:`cli.Cli` tools, run through the module's ``run_command``
  in the module and through ``subprocess`` in the keeper.
* The host namespace is the one this process runs in (the module and the keeper run on the
  host; PID 1 may not be readable, e.g. under a sandbox); other processes refer to it by our
  PID (``ip link set dev X netns <our pid>``). A container's namespace is reached through
  ``/proc/<pid>/ns/net`` with ``nsenter --net=...`` (``ip netns`` only knows
  ``/var/run/netns`` entries).
* Links are read with ``ip -details -json addr show`` (one process per namespace) and
  changed with ``ip -batch -`` (one process per namespace for any number of devices).
* Physical devices are identified across namespaces by their PCI address (``parentdev``
  in ``ip -details`` output), virtual ones by name.
"""

import os
import re

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import (
    Sysfs,
    default_route_interfaces,
    is_pci_address,
    normalize_pci_address,
)


class Tools:
    """Where the binaries and the fake-able roots are.

    ``pid=None`` means the host namespace: the one this process runs in (the module and the keeper
    run on the host; PID 1 may not be readable, e.g. under a sandbox). Target namespaces are
    ``<procfs_root>/proc/<pid>/ns/net``; moves name namespaces by path, never by PID, so a caller in
    another PID namespace (the keeper in a container sharing the host netns, with the host's
    ``/proc`` under ``procfs_root``) works too.
    """

    def __init__(self, module=None, ip_path='ip', nsenter_path='nsenter', procfs_root='/', sysfs_root='/', timeout=None):
        """``module``: the AnsibleModule to run ``ip`` through (None: subprocess, each command given ``timeout`` seconds);
        ``procfs_root``/``sysfs_root``: the root under which ``proc/`` and ``sys/`` are (``/`` on a host)."""
        self.ip = Cli('ip', ip_path, option='ip_path', module=module, timeout=timeout)
        self.nsenter = Cli('nsenter', nsenter_path, option='nsenter_path', module=module, timeout=timeout)
        self.procfs_root = procfs_root or '/'
        self.sysfs_root = sysfs_root or '/'
        # our own namespace, named so that a process in another netns (nsenter'd ip) reaches it
        self.host_ref = f'/proc/{os.getpid()}/ns/net'

    def netns_file(self, pid):
        return os.path.join(self.procfs_root, 'proc', str(pid), 'ns', 'net')

    def is_host_netns(self, pid):
        try:
            a = os.stat(self.netns_file(pid))
            b = os.stat('/proc/self/ns/net')
        except OSError:
            return False
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    def run_ip(self, pid, args, what, input=None):  # pylint: disable=redefined-builtin
        """Run ``ip args`` in the namespace of ``pid`` (None: the host's, no nsenter)."""
        if pid is None:
            return self.ip.run(args, input=input, what=what)
        return self.nsenter.run([f'--net={self.netns_file(pid)}', self.ip.binary] + list(args), input=input, what=what)

    def links(self, pid=None):
        """The links of the namespace of ``pid`` (None: the host) as normalized dicts (see ``normalize_links``)."""
        if pid is not None and not os.path.exists(self.netns_file(pid)):
            raise CliError(f'process {pid} does not exist: no network namespace at {self.netns_file(pid)}')
        result = self.run_ip(pid, ['-details', '-json', 'addr', 'show'],
                             'reading the links of the %s netns' % ('host' if pid is None else f'PID {pid}'))
        return normalize_links(result.json() or [])

    def batch(self, pid, lines):
        """Run ``ip`` commands (without the leading ``ip``) in the namespace of ``pid`` (None: host), in one process."""
        if not lines:
            return
        self.run_ip(pid, ['-batch', '-'], 'ip -batch in the %s netns' % ('host' if pid is None else f'PID {pid}'),
                    input='\n'.join(lines) + '\n')


def normalize_links(raw):
    """``ip -details -json addr show`` → [{ifname, ifindex, pci, kind, up, addresses}]."""
    links = []
    for item in raw:
        if not item.get('ifname'):
            continue
        pci = item.get('parentdev') if item.get('parentbus') == 'pci' else None
        addrs = []
        for a in item.get('addr_info') or []:
            if a.get('family') in ('inet', 'inet6') and a.get('local') is not None and a.get('scope') != 'link':
                addrs.append('{}/{}'.format(a['local'], a.get('prefixlen')))
        links.append({
            'ifname': item['ifname'],
            'ifindex': item.get('ifindex'),
            'pci': pci.lower() if pci else None,
            'kind': ((item.get('linkinfo') or {}).get('info_kind')) or None,
            'up': 'UP' in (item.get('flags') or []),
            'addresses': addrs,
        })
    return links


class Selection:
    """What to attach: the module's options (or one keeper entry) without the target."""

    def __init__(self, names=None, regex=None, pf=None, include_pf=False, pci_addresses=None,
                 addresses=None, rename=None, allow_missing=False):
        self.names = list(names or [])
        self.regex = regex
        self.pf = pf
        self.include_pf = bool(include_pf)
        self.pci_addresses = [normalize_pci_address(p) for p in (pci_addresses or [])]
        self.addresses = {}
        for key, value in (addresses or {}).items():
            self.addresses[key] = [value] if isinstance(value, str) else list(value or [])
        self.rename = dict(rename or {})
        self.allow_missing = bool(allow_missing)

    @classmethod
    def from_dict(cls, data):
        keys = ('names', 'regex', 'pf', 'include_pf', 'pci_addresses', 'addresses', 'rename', 'allow_missing')
        return cls(**{k: data.get(k) for k in keys if k in data})

    def is_empty(self):
        return not (self.names or self.regex or self.pf or self.pci_addresses)

    def lookup(self, mapping, *keys):
        for key in keys:
            if key and key in mapping:
                return mapping[key]
        return None


def _index(links):
    by_name = {link['ifname']: link for link in links}
    by_pci = {link['pci']: link for link in links if link['pci']}
    return by_name, by_pci


def resolve(sel, host_links, ns_links, sysfs_root='/'):
    """Find every selected device in the host or the target namespace.

    Returns (wanted, missing): ``wanted`` is a list of dicts {id, pci, where ('host' | 'target'
    | 'elsewhere'), link (or None), required}; ``missing`` lists selectors that found nothing
    (an error unless ``allow_missing``). VFs of a PF that are in neither namespace (held by a
    pod, for example) are ``elsewhere`` and never an error.
    """
    host_name, host_pci = _index(host_links)
    ns_name, ns_pci = _index(ns_links)
    inverse_rename = {v: k for k, v in sel.rename.items()}
    wanted = []
    missing = []
    seen = set()

    def add(where, link, pci=None, required=True, ident=None):
        key = (where, link['ifname'] if link else pci)
        if key in seen:
            return
        seen.add(key)
        wanted.append({'id': ident or (link['ifname'] if link else pci), 'pci': (link or {}).get('pci') or pci,
                       'where': where, 'link': link, 'required': required})

    def find_pci(pci, required, ident=None):
        if pci in host_pci:
            add('host', host_pci[pci], ident=ident)
        elif pci in ns_pci:
            add('target', ns_pci[pci], ident=ident)
        elif required:
            missing.append(pci)
        else:
            add('elsewhere', None, pci=pci, required=False, ident=ident)

    for name in sel.names:
        renamed = sel.rename.get(name, name)
        if name in host_name:
            add('host', host_name[name], ident=name)
        elif renamed in ns_name:
            add('target', ns_name[renamed], ident=name)
        elif renamed in host_name:  # returned to the host by a dying netns, under its in-container name
            add('host', host_name[renamed], ident=name)
        else:
            missing.append(name)
    if sel.regex:
        rx = re.compile(sel.regex)
        for link in host_links:
            if link['ifname'] != 'lo' and rx.search(link['ifname']):
                add('host', link)
        for link in ns_links:
            original = inverse_rename.get(link['ifname'], link['ifname'])
            if link['ifname'] != 'lo' and (rx.search(link['ifname']) or rx.search(original)):
                add('target', link, ident=original)
    for pci in sel.pci_addresses:
        find_pci(pci, True)
    if sel.pf:
        sysfs = Sysfs(sysfs_root)
        pf_pci = normalize_pci_address(sel.pf) if is_pci_address(sel.pf) else sysfs.netdev_pci_address(sel.pf)
        if not pf_pci:
            link = host_name.get(sel.pf) or ns_name.get(sel.rename.get(sel.pf, sel.pf))
            pf_pci = link['pci'] if link else None
        if not pf_pci and sel.include_pf and (sel.pf in host_name or sel.rename.get(sel.pf, sel.pf) in ns_name):
            # a NIC without a PCI function (virtual, or a stand-in in tests): the PF alone, by name
            if sel.pf in host_name:
                add('host', host_name[sel.pf], ident=sel.pf)
            else:
                add('target', ns_name[sel.rename.get(sel.pf, sel.pf)], ident=sel.pf)
            return wanted, missing
        if not pf_pci:
            raise CliError(f'PF {sel.pf} was not found: it is neither a PCI address nor a PCI netdev of the host '
                           'or of the container; check lab_model nics[].pf')
        if sel.include_pf:
            find_pci(pf_pci, True, ident=None if is_pci_address(sel.pf) else sel.pf)
        vfs = [vf['pci_address'] for vf in sysfs.vfs(pf_pci)]
        if not vfs and not sel.include_pf:
            raise CliError(f'PF {sel.pf} ({pf_pci}) has no VFs ({sysfs.pci_dir(pf_pci)}/virtfn*): create them first (sriov_numvfs)')
        for vf in vfs:
            find_pci(vf, False)
    return wanted, missing


def plan(sel, wanted, target_ref, state, host_links, ns_links, host_default=(), ns_default=(), host_ref='/proc/1/ns/net'):
    """The ``ip -batch`` lines for the host and the target namespace, and a per-device report.

    Raises CliError for requests that must not run: a default-route interface, a name clash.
    """
    host_lines, ns_lines, devices = [], [], []
    host_names = {link['ifname'] for link in host_links}
    ns_names = {link['ifname'] for link in ns_links}
    inverse_rename = {v: k for k, v in sel.rename.items()}
    for item in wanted:
        link = item['link']
        report = {'id': item['id'], 'pci': item['pci'], 'before': item['where'], 'actions': []}
        devices.append(report)
        if link is None:
            report.update(name=None, after=item['where'])
            continue
        name = link['ifname']
        if item['where'] == 'host' and name in host_default:
            raise CliError(f'{name} carries the default route of the host: moving it would cut the host off; '
                           'remove it from the selection')
        if item['where'] == 'target' and name in ns_default:
            raise CliError(f'{name} carries the default route inside the container: it is not a lab device; '
                           'narrow the selection')
        original = inverse_rename.get(name, name)
        final = sel.lookup(sel.rename, original, item['pci']) or original
        if state == 'present':
            addrs = sel.lookup(sel.addresses, original, final, item['pci']) or []
            if item['where'] == 'host':
                if final in ns_names:
                    raise CliError(f'the container already has a netdev named {final}: give {name} another name with rename')
                host_lines.append('link set dev {} netns {}{}'.format(name, target_ref, f' name {final}' if final != name else ''))
                report['actions'].append('move' + (f' as {final}' if final != name else ''))
                ns_names.add(final)
                have, up = [], False
            else:
                have, up = link['addresses'], link['up']
                if final != name:
                    if final in ns_names:
                        raise CliError(f'cannot rename {name} to {final} in the container: the name is taken')
                    ns_lines += [f'link set dev {name} down', f'link set dev {name} name {final}']
                    report['actions'].append(f'rename to {final}')
                    up = False
            for cidr in addrs:
                if cidr not in have:
                    ns_lines.append(f'addr replace {cidr} dev {final}')
                    report['actions'].append(f'address {cidr}')
            if not up:
                ns_lines.append(f'link set dev {final} up')
                report['actions'].append('up')
            report.update(name=final, after='target', addresses=sorted(set(have) | set(addrs)))
        else:
            if item['where'] == 'target':
                back = original
                if back in host_names:
                    raise CliError(f'the host already has a netdev named {back}: cannot return {name} from the container')
                ns_lines.append('link set dev {} netns {}{}'.format(name, host_ref, f' name {back}' if back != name else ''))
                report['actions'].append('return to host' + (f' as {back}' if back != name else ''))
                host_names.add(back)
                name = back
            report.update(name=name, after='host', addresses=[])
    return host_lines, ns_lines, devices


def apply(tools, pid, host_lines, ns_lines, state):
    """Run a plan: for ``present`` the host moves come first, for ``absent`` the container's lines carry the moves."""
    if state == 'present':
        tools.batch(None, host_lines)
        tools.batch(pid, ns_lines)
    else:
        tools.batch(pid, ns_lines)
        tools.batch(None, host_lines)


def ensure(tools, sel, pid, state='present', check_mode=False):
    """Read, plan and (unless check_mode) apply. Returns (changed, devices, missing)."""
    if sel.is_empty():
        raise CliError('nothing selected: give names, regex, pf or pci_addresses')
    if tools.is_host_netns(pid):
        raise CliError(f'PID {pid} shares the network namespace of the host (a --network host container?): '
                       'nothing can be attached to it')
    host_links = tools.links(None)
    ns_links = tools.links(pid)
    wanted, missing = resolve(sel, host_links, ns_links, tools.sysfs_root)
    if missing and not sel.allow_missing:
        raise CliError('not found in the host nor in the netns of PID {}: {}'.format(pid, ', '.join(missing)))
    host_default = default_route_interfaces(tools.procfs_root)
    ns_default = default_route_interfaces(tools.procfs_root, pid)
    host_lines, ns_lines, devices = plan(sel, wanted, tools.netns_file(pid), state, host_links, ns_links, host_default, ns_default, tools.host_ref)
    changed = bool(host_lines or ns_lines)
    if changed and not check_mode:
        apply(tools, pid, host_lines, ns_lines, state)
    return changed, devices, missing
