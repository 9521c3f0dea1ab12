# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""sriov_vfs.

Real: the module run in-process through AnsibleModule, its file writes and its polling.
Fake: the PFs (tests/unit/fakesys.py) and the kernel. FakeKernel is a thread that reacts to
sriov_numvfs writes like the PCI core: VFs appear (virtfnN links, VF functions) and their
netdevs follow after a delay, a non-zero -> non-zero write is refused (EBUSY on a real kernel)
and logged. The log is the write sequence the tests assert (0 before N), the netdev delay
exercises the module's wait.
"""

import os
import shutil
import time

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs
from ansible_collections.openkasugai.all_in_one.plugins.modules import sriov_vfs
from ansible_collections.openkasugai.all_in_one.tests.unit import fakesys
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeKernel, FakeSys, run_module


@pytest.fixture
def host(tmp_path):
    fake = FakeSys(tmp_path).build_lab_machine(totalvfs=8)
    kernel = FakeKernel(fake.root, netdev_delay=0.3).start()
    yield fake, kernel
    kernel.stop()


def _run(fake, pf, num_vfs, **extra):
    args = {'pf': pf, 'num_vfs': num_vfs, 'sysfs_root': fake.root, 'timeout': 10}
    args.update(extra)
    return run_module(sriov_vfs.main, args, diff=True)


def test_create_waits_for_netdevs_and_is_idempotent(host):
    fake, kernel = host
    start = time.monotonic()
    failed, result = _run(fake, 'ens1f0', 4)
    assert not failed, result
    assert time.monotonic() - start >= 0.3  # it waited for the (delayed) VF driver
    assert result['changed'] is True and result['num_vfs_before'] == 0 and result['num_vfs'] == 4
    assert [vf['netdev'] for vf in result['vfs']] == ['ens1f0v0', 'ens1f0v1', 'ens1f0v2', 'ens1f0v3']
    assert result['diff']['before'] == {'num_vfs': 0} and result['diff']['after'] == {'num_vfs': 4}
    assert result['pf'] == {'pci_address': '0000:3b:00.0', 'netdev': 'ens1f0', 'sriov_totalvfs': 8}
    assert kernel.transitions() == ['SET 0000:3b:00.0 0 -> 4']
    failed, again = _run(fake, '0000:3B:00.0', 4)
    assert not failed and again['changed'] is False and again['vfs'] == result['vfs']


def test_change_goes_through_zero(host):
    fake, kernel = host
    assert not _run(fake, 'ens2f0', 2)[0]
    failed, result = _run(fake, 'af:00.0', 8)
    assert not failed, result
    assert result['num_vfs_before'] == 2 and len(result['vfs']) == 8
    assert kernel.transitions() == ['SET 0000:af:00.0 0 -> 2', 'SET 0000:af:00.0 2 -> 0', 'SET 0000:af:00.0 0 -> 8']
    assert not [line for line in kernel.transitions() if line.startswith('REFUSED')]


def test_remove(host):
    fake, _kernel = host
    assert not _run(fake, 'ens1f1', 3)[0]
    failed, result = _run(fake, 'ens1f1', 0)
    assert not failed and result['changed'] and result['vfs'] == []
    assert Sysfs(fake.root).resolve_pf('ens1f1')['vfs'] == []
    assert not os.path.exists(os.path.join(fake.sys, 'class', 'net', 'ens1f1v0'))


def test_check_mode_changes_nothing(host):
    fake, kernel = host
    failed, result = run_module(sriov_vfs.main, {'pf': 'ens1f0', 'num_vfs': 5, 'sysfs_root': fake.root}, check_mode=True, diff=True)
    assert not failed and result['changed'] is True and result['diff']['after'] == {'num_vfs': 5}
    assert Sysfs(fake.root).resolve_pf('ens1f0')['sriov_numvfs'] == 0
    assert kernel.transitions() == []


def test_refuses_more_than_total_before_writing(host):
    fake, kernel = host
    failed, result = _run(fake, 'ens1f0', 9)
    assert failed
    assert "PF 'ens1f0' (0000:3b:00.0) supports at most 8 VFs" in result['msg'] and 'asks for 9' in result['msg']
    assert kernel.transitions() == []


@pytest.mark.parametrize('pf', ['ens9f9', '0000:3b:07.0'])
def test_refuses_unknown_pf(host, pf):
    fake, kernel = host
    failed, result = _run(fake, pf, 1)
    assert failed and f"PF '{pf}' not found" in result['msg']
    assert kernel.transitions() == []


def test_refuses_pf_without_sriov(host):
    fake, _kernel = host
    failed, result = _run(fake, 'eno1', 1)
    assert failed and 'not SR-IOV capable' in result['msg']


def test_refuses_negative(host):
    fake, _kernel = host
    failed, result = _run(fake, 'ens1f0', -1)
    assert failed and 'num_vfs must be 0 or more' in result['msg']


def test_times_out_with_a_message_when_the_kernel_does_not_react(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_connectx5_pf('0000:3b:00.0', 'ens1f0')  # no FakeKernel: nothing reacts to the write
    start = time.monotonic()
    failed, result = run_module(sriov_vfs.main, {'pf': 'ens1f0', 'num_vfs': 2, 'sysfs_root': fake.root, 'timeout': 1})
    assert failed and 'did not reach 2 VFs within the timeout' in result['msg'] and '0 virtfn links' in result['msg']
    assert 1 <= time.monotonic() - start < 3


def test_no_netdev_wait_when_disabled(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_connectx5_pf('0000:3b:00.0', 'ens1f0', vf_netdev_prefix='')
    os.unlink(os.path.join(fake.device_dir('0000:3b:00.0'), 'fake_vf_netdev_prefix'))  # VFs get no netdev (vfio-pci style)
    kernel = FakeKernel(fake.root, netdev_delay=0).start()
    try:
        failed, result = run_module(sriov_vfs.main, {'pf': 'ens1f0', 'num_vfs': 2, 'sysfs_root': fake.root, 'timeout': 5,
                                                     'wait_for_netdevs': False})
        assert not failed and [vf['netdev'] for vf in result['vfs']] == [None, None]
    finally:
        kernel.stop()


def test_unchanged_pf_is_not_waited_on_when_vf_netdevs_are_elsewhere(host):
    """VF netdevs moved into a node's netns vanish from the host's view: a re-run must not wait for them."""
    fake, _kernel = host
    assert not _run(fake, 'ens1f0', 2)[0]
    for vf in Sysfs(fake.root).vfs('0000:3b:00.0'):
        os.unlink(os.path.join(fake.sys, 'class', 'net', vf['netdev']))
        shutil.rmtree(os.path.join(fake.device_dir(vf['pci_address']), 'net', vf['netdev']))
    assert [vf['netdev'] for vf in Sysfs(fake.root).vfs('0000:3b:00.0')] == [None, None]
    start = time.monotonic()
    failed, result = _run(fake, 'ens1f0', 2, timeout=5)
    assert not failed and result['changed'] is False and time.monotonic() - start < 1


def test_the_fake_kernel_keeps_a_count_written_while_it_removed_vfs(tmp_path, monkeypatch):
    # The race molecule's accelerators scenario met: sriov_vfs wrote 0, saw the last virtfn link go, wrote 2;
    # the fake kernel then wrote "0" back and the VFs never came. A real kernel's write returns once the VFs
    # are gone, so the count written next must stand and be acted on.
    fake = FakeSys(tmp_path).build_lab_machine(totalvfs=8)
    kernel = FakeKernel(fake.root, netdev_delay=0)
    numvfs = os.path.join(fake.device_dir('0000:3b:00.1'), 'sriov_numvfs')
    fakesys.materialize_vfs(fake.root, '0000:3b:00.1', 3)
    with open(numvfs, 'w', encoding='ascii') as handle:
        handle.write('0\n')
    remove = fakesys._remove_function
    removed = []

    def remove_then_write_the_next_count(fake_sys, vf_dir):
        remove(fake_sys, vf_dir)
        removed.append(vf_dir)
        if len(removed) == 3:  # the writer saw no VF left and wrote the next count
            with open(numvfs, 'w', encoding='ascii') as handle:
                handle.write('2\n')

    monkeypatch.setattr(fakesys, '_remove_function', remove_then_write_the_next_count)
    kernel.step()
    with open(numvfs, encoding='ascii') as handle:
        assert handle.read() == '2\n'
    kernel.step()
    assert len(Sysfs(fake.root).resolve_pf('0000:3b:00.1')['vfs']) == 2
    assert kernel.transitions() == ['SET 0000:3b:00.1 3 -> 0', 'SET 0000:3b:00.1 0 -> 2']
