"""Tests of plugins/module_utils/netns.py.

Fake: the SR-IOV PCI tree (a fake sysfs under tmp_path: PF with virtfn links), the route tables
(fake procfs files) and the ``ip -details -json`` tables fed to resolve()/plan() (shaped like real
iproute2 6.1 output, parentbus/parentdev included).
Real (skipped unless root with docker and iproute2): ensure() moving veth pairs into a privileged
container started from the local Debian image, idempotence, check mode, default-route refusal, return.
"""

import os
import shutil
import subprocess
import uuid

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import netns

IMAGE = 'localhost/okl-debian:bookworm-systemd'


def link(name, pci=None, up=False, addrs=(), kind=None):
    item = {'ifindex': 1, 'ifname': name, 'flags': ['BROADCAST'] + (['UP'] if up else []), 'addr_info': []}
    if pci:
        item.update(parentbus='pci', parentdev=pci)
    if kind:
        item['linkinfo'] = {'info_kind': kind}
    for cidr in addrs:
        a, p = cidr.split('/')
        item['addr_info'].append({'family': 'inet6' if ':' in a else 'inet', 'local': a, 'prefixlen': int(p), 'scope': 'global'})
    return item


def fake_sriov(root, pf='0000:3b:00.0', pf_name='ens1f0', vfs=('0000:3b:00.2', '0000:3b:00.3')):
    """sys/bus/pci/devices/<pf>/virtfnN -> ../<vf>, sys/class/net/<pf_name>/device -> PF (relative links)."""
    devices = root / 'sys' / 'bus' / 'pci' / 'devices'
    (devices / pf / 'net' / pf_name).mkdir(parents=True)
    for i, vf in enumerate(vfs):
        (devices / vf).mkdir(parents=True)
        os.symlink(f'../{vf}', devices / pf / f'virtfn{i}')
    (root / 'sys' / 'class' / 'net' / pf_name).mkdir(parents=True)
    os.symlink(f'../../../bus/pci/devices/{pf}', root / 'sys' / 'class' / 'net' / pf_name / 'device')
    return str(root)


def fake_routes(root, pid=None, v4=(), v6=()):
    base = root / 'proc' / (str(pid) if pid else '') / 'net'
    base.mkdir(parents=True, exist_ok=True)
    lines = ['Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT']
    for iface, dest, mask in v4:
        lines.append(f'{iface}\t{dest}\t010200C0\t0003\t0\t0\t0\t{mask}\t0\t0\t0')
    (base / 'route').write_text('\n'.join(lines) + '\n')
    (base / 'ipv6_route').write_text(''.join(
        '{} {} {} 00 {} 00000400 00000001 00000000 00000003 {}\n'.format(dest, plen, '0' * 32, '0' * 32, iface)
        for iface, dest, plen in v6))
    return str(root)


def test_default_route_interfaces_v4_v6_and_per_pid(tmp_path):
    fake_routes(tmp_path, v4=[('eth0', '00000000', '00000000'), ('docker0', '000011AC', '0000FFFF')],
                v6=[('wlan0', '0' * 32, '00'), ('lo', '0' * 32, '00'), ('eth9', 'fd' + '0' * 30, '40')])
    fake_routes(tmp_path, pid=42, v4=[('eth0', '00000000', '00000000')])
    assert netns.default_route_interfaces(str(tmp_path)) == {'eth0', 'wlan0'}
    assert netns.default_route_interfaces(str(tmp_path), pid=42) == {'eth0'}
    assert netns.default_route_interfaces(str(tmp_path / 'nothing')) == set()


def test_normalize_links_keeps_pci_state_and_global_addresses():
    raw = [link('ens1f0', pci='0000:3B:00.0', up=True, addrs=['192.168.91.11/24']),
           {'ifname': 'v', 'flags': [], 'addr_info': [{'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'}]}]
    out = netns.normalize_links(raw)
    assert out[0] == {'ifname': 'ens1f0', 'ifindex': 1, 'pci': '0000:3b:00.0', 'kind': None, 'up': True,
                      'addresses': ['192.168.91.11/24']}
    assert out[1]['addresses'] == [] and out[1]['pci'] is None and out[1]['up'] is False


def test_resolve_pf_vfs_across_namespaces_and_elsewhere(tmp_path):
    root = fake_sriov(tmp_path, vfs=('0000:3b:00.2', '0000:3b:00.3', '0000:3b:00.4'))
    host = netns.normalize_links([link('ens1f0', pci='0000:3b:00.0'), link('ens1f0v0', pci='0000:3b:00.2')])
    ns = netns.normalize_links([link('eth0', kind='veth'), link('net1', pci='0000:3b:00.3', up=True)])
    sel = netns.Selection(pf='ens1f0', include_pf=True)
    wanted, missing = netns.resolve(sel, host, ns, root)
    assert missing == []
    where = {(w['pci'], w['where']) for w in wanted}
    assert where == {('0000:3b:00.0', 'host'), ('0000:3b:00.2', 'host'), ('0000:3b:00.3', 'target'),
                     ('0000:3b:00.4', 'elsewhere')}
    # the PF by PCI address after it was moved (sysfs no longer shows its netdev): found through parentdev
    ns2 = netns.normalize_links([link('ens1f0', pci='0000:3b:00.0', up=True)])
    wanted, _missing = netns.resolve(netns.Selection(pf='0000:3b:00.0', include_pf=True), [], ns2, root)
    assert [w['where'] for w in wanted if w['pci'] == '0000:3b:00.0'] == ['target']


def test_resolve_errors(tmp_path):
    root = fake_sriov(tmp_path, vfs=())
    with pytest.raises(netns.CliError, match='has no VFs'):
        netns.resolve(netns.Selection(pf='ens1f0'), [], [], root)
    with pytest.raises(netns.CliError, match='PF ens9 was not found'):
        netns.resolve(netns.Selection(pf='ens9'), [], [], root)
    _wanted, missing = netns.resolve(netns.Selection(names=['nope'], pci_addresses=['0000:01:00.1']), [], [], root)
    assert missing == ['nope', '0000:01:00.1']


def test_plan_present_moves_renames_addresses_and_is_idempotent():
    sel = netns.Selection(names=['a', 'b'], rename={'b': 'net1'}, addresses={'a': '10.0.0.1/24', 'net1': ['10.0.1.1/24']})
    host = netns.normalize_links([link('a'), link('b')])
    wanted, _missing = netns.resolve(sel, host, [], '/')
    hl, nl, devices = netns.plan(sel, wanted, 77, 'present', host, [], host_ref=5)
    assert hl == ['link set dev a netns 77', 'link set dev b netns 77 name net1']
    assert nl == ['addr replace 10.0.0.1/24 dev a', 'link set dev a up', 'addr replace 10.0.1.1/24 dev net1', 'link set dev net1 up']
    assert [d['after'] for d in devices] == ['target', 'target']
    # the state after those lines: nothing to do
    ns = netns.normalize_links([link('a', up=True, addrs=['10.0.0.1/24']), link('net1', up=True, addrs=['10.0.1.1/24'])])
    wanted, _missing = netns.resolve(sel, [], ns, '/')
    assert netns.plan(sel, wanted, 77, 'present', [], ns, host_ref=5)[:2] == ([], [])
    # a lost address and a downed link are repaired in place
    ns = netns.normalize_links([link('a', up=False, addrs=[]), link('net1', up=True, addrs=['10.0.1.1/24'])])
    wanted, _missing = netns.resolve(sel, [], ns, '/')
    assert netns.plan(sel, wanted, 77, 'present', [], ns, host_ref=5)[:2] == ([], ['addr replace 10.0.0.1/24 dev a', 'link set dev a up'])


def test_plan_absent_returns_with_original_name():
    sel = netns.Selection(names=['a', 'b'], rename={'b': 'net1'})
    ns = netns.normalize_links([link('a', up=True), link('net1', up=True)])
    wanted, _missing = netns.resolve(sel, [], ns, '/')
    hl, nl, devices = netns.plan(sel, wanted, 77, 'absent', [], ns, host_ref=5)
    assert hl == [] and nl == ['link set dev a netns 5', 'link set dev net1 netns 5 name b']
    assert [d['name'] for d in devices] == ['a', 'b']
    # already back: nothing to do
    host = netns.normalize_links([link('a'), link('b')])
    wanted, _missing = netns.resolve(sel, host, [], '/')
    assert netns.plan(sel, wanted, 77, 'absent', host, [], host_ref=5)[:2] == ([], [])


def test_plan_refuses_default_route_and_name_clashes():
    host = netns.normalize_links([link('eth0', up=True, addrs=['192.0.2.10/24']), link('eth1')])
    sel = netns.Selection(regex='^eth')
    wanted, _missing = netns.resolve(sel, host, [], '/')
    with pytest.raises(netns.CliError, match='eth0 carries the default route of the host'):
        netns.plan(sel, wanted, 77, 'present', host, [], host_default={'eth0'})
    ns = netns.normalize_links([link('eth1', up=True)])
    sel = netns.Selection(names=['eth1'])
    wanted = [{'id': 'eth1', 'pci': None, 'where': 'host', 'link': host[1], 'required': True}]
    with pytest.raises(netns.CliError, match='already has a netdev named eth1'):
        netns.plan(sel, wanted, 77, 'present', host, ns)
    wanted, _missing = netns.resolve(netns.Selection(regex='^eth'), [], ns, '/')
    with pytest.raises(netns.CliError, match='default route inside the container'):
        netns.plan(netns.Selection(regex='^eth'), wanted, 77, 'absent', [], ns, ns_default={'eth1'})


# ---------------------------------------------------------------- real namespaces
def _real_bed():
    return os.geteuid() == 0 and shutil.which('docker') and shutil.which('ip') and shutil.which('nsenter') and \
        subprocess.run(['docker', 'image', 'inspect', IMAGE], check=False, capture_output=True).returncode == 0


@pytest.fixture
def node():
    if not _real_bed():
        pytest.skip(f'needs root, docker, iproute2, nsenter and {IMAGE}')
    tag = uuid.uuid4().hex[:6]
    name = f'okl-ut-netns-{tag}'
    subprocess.run(['docker', 'run', '-d', '--name', name, '--privileged', IMAGE, 'sleep', '300'], check=True, capture_output=True)
    veths = [f'oklu{tag}{i}' for i in range(2)]
    for v in veths:
        subprocess.run(['ip', 'link', 'add', v, 'type', 'veth', 'peer', 'name', v + 'p'], check=True)
    pid = int(subprocess.run(['docker', 'inspect', '-f', '{{.State.Pid}}', name], check=True, capture_output=True, text=True).stdout)
    yield name, pid, veths
    subprocess.run(['docker', 'rm', '-f', name], check=False, capture_output=True)
    for v in veths:
        subprocess.run(['ip', 'link', 'del', v + 'p'], check=False, capture_output=True)


def test_real_attach_idempotent_check_and_return(node):
    _name, pid, veths = node
    tools = netns.Tools()
    sel = netns.Selection(names=veths, rename={veths[1]: 'net1'}, addresses={veths[0]: '10.66.0.1/24', 'net1': '10.66.1.1/24'})
    changed, devices, _missing = netns.ensure(tools, sel, pid, check_mode=True)
    assert changed and {d['after'] for d in devices} == {'target'}
    assert {x['ifname'] for x in tools.links(None)} >= set(veths), 'check mode moved something'
    assert netns.ensure(tools, sel, pid)[0] is True
    inside = {x['ifname']: x for x in tools.links(pid)}
    assert inside[veths[0]]['addresses'] == ['10.66.0.1/24'] and inside[veths[0]]['up']
    assert inside['net1']['addresses'] == ['10.66.1.1/24']
    assert netns.ensure(tools, sel, pid)[0] is False
    assert netns.ensure(tools, sel, pid, state='absent')[0] is True
    host = {x['ifname'] for x in tools.links(None)}
    assert set(veths) <= host and 'net1' not in host
    assert netns.ensure(tools, sel, pid, state='absent')[0] is False


def test_real_refuses_host_default_route_interface(node):
    _name, pid, _veths = node
    uplinks = netns.default_route_interfaces('/')
    if not uplinks:
        pytest.skip('this host has no default route')
    with pytest.raises(netns.CliError, match='default route of the host'):
        netns.ensure(netns.Tools(), netns.Selection(names=sorted(uplinks)[:1]), pid, check_mode=False)
    assert min(uplinks) in {x['ifname'] for x in netns.Tools().links(None)}
