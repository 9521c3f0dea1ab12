# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""gpu_driver.

Real: the module run in-process through AnsibleModule, run_command executing a real program
with an argv list, the holder/process scans over files. Fake: /sys/module and /proc (built by
tests/unit/fakesys.py) and modprobe, which is a small script in tmp_path that records its argv
and adds or removes /sys/module/<name> in the fake tree the way the kernel would.
"""

import os
import stat

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.modules import gpu_driver
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys, run_module

FAKE_MODPROBE = '''#!/bin/sh
# fake modprobe: record argv; -r removes the fake module dir, otherwise creates it
echo "$*" >> "{root}/modprobe.log"
if [ "$1" = "-r" ]; then
  rm -rf "{root}/sys/module/$2"
  for h in "{root}"/sys/module/*/holders/"$2"; do [ -L "$h" ] && rm -f "$h"; done
else
  mkdir -p "{root}/sys/module/$1/holders" && echo 0 > "{root}/sys/module/$1/refcnt"
fi
exit 0
'''


@pytest.fixture
def fake(tmp_path):
    fake = FakeSys(tmp_path)
    fake.add_nvidia_gpu('0000:3b:00.0')
    script = tmp_path / 'modprobe'
    script.write_text(FAKE_MODPROBE.format(root=fake.root))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    fake.modprobe = str(script)
    return fake


def _run(fake, state, check=False, **extra):
    args = {'state': state, 'sysfs_root': fake.root, 'procfs_root': fake.root, 'modprobe_path': fake.modprobe}
    args.update(extra)
    return run_module(gpu_driver.main, args, check_mode=check, diff=True)


def _log(fake):
    path = os.path.join(fake.root, 'modprobe.log')
    return open(path, encoding='ascii').read().splitlines() if os.path.exists(path) else []


def test_unload_in_order_then_idempotent(fake):
    fake.add_nvidia_modules()
    fake.add_process(100, 'bash', ['/dev/pts/0'])
    failed, result = _run(fake, 'absent')
    assert not failed, result
    assert result['changed'] and result['unloaded'] == ['nvidia_drm', 'nvidia_modeset', 'nvidia_uvm', 'nvidia']
    assert _log(fake) == ['-r nvidia_drm', '-r nvidia_modeset', '-r nvidia_uvm', '-r nvidia']
    assert not os.path.exists(os.path.join(fake.sys, 'module', 'nvidia'))
    failed, again = _run(fake, 'absent')
    assert not failed and again['changed'] is False and len(_log(fake)) == 4


def test_load_in_reverse_order_then_idempotent(fake):
    failed, result = _run(fake, 'present')
    assert not failed and result['loaded'] == ['nvidia', 'nvidia_uvm', 'nvidia_modeset', 'nvidia_drm']
    assert _log(fake) == ['nvidia', 'nvidia_uvm', 'nvidia_modeset', 'nvidia_drm']
    failed, again = _run(fake, 'present')
    assert not failed and again['changed'] is False


def test_partial_stack_skips_what_is_not_loaded(fake):
    fake.add_module('nvidia_uvm')
    fake.add_module('nvidia', refcnt=1, holders=['nvidia_uvm'])
    failed, result = _run(fake, 'absent')
    assert not failed and result['unloaded'] == ['nvidia_uvm', 'nvidia'] and result['loaded_before'] == ['nvidia_uvm', 'nvidia']


def test_check_mode_runs_nothing(fake):
    fake.add_nvidia_modules()
    failed, result = _run(fake, 'absent', check=True)
    assert not failed and result['changed'] and result['diff']['after'] == '\n'
    assert _log(fake) == [] and os.path.isdir(os.path.join(fake.sys, 'module', 'nvidia'))


def test_busy_driver_names_processes_before_any_change(fake):
    fake.add_nvidia_modules(busy=True)
    fake.add_process(4242, 'nvidia-persistenced', ['/dev/nvidiactl', '/dev/nvidia0'])
    fake.add_process(31337, 'python3', ['/dev/nvidia-uvm'])
    for check in (True, False):
        failed, result = _run(fake, 'absent', check=check)
        assert failed
        assert 'Cannot unload the GPU driver, it is in use' in result['msg']
        assert '4242 (nvidia-persistenced)' in result['msg'] and '31337 (python3)' in result['msg']
        assert result['processes'][0] == {'pid': 4242, 'name': 'nvidia-persistenced', 'files': ['/dev/nvidia0', '/dev/nvidiactl']}
        assert 'Traceback' not in str(result)
    assert _log(fake) == []


def test_foreign_holder_module_is_named(fake):
    fake.add_nvidia_modules()
    fake.add_module('nvidia_peermem')
    os.symlink('../../nvidia_peermem', os.path.join(fake.sys, 'module', 'nvidia', 'holders', 'nvidia_peermem'))
    # nvidia refcnt counts its holders: 3 now
    with open(os.path.join(fake.sys, 'module', 'nvidia', 'refcnt'), 'w', encoding='ascii') as handle:
        handle.write('3\n')
    failed, result = _run(fake, 'absent')
    assert failed and 'nvidia by nvidia_peermem' in result['msg'] and result['holders'] == {'nvidia': ['nvidia_peermem']}
    assert _log(fake) == []
    # adding it to the stack makes it unloadable
    failed, result = _run(fake, 'absent', modules=['nvidia_peermem', 'nvidia_drm', 'nvidia_modeset', 'nvidia_uvm', 'nvidia'])
    assert not failed and _log(fake)[0] == '-r nvidia_peermem'


def test_refcount_without_visible_process(fake):
    fake.add_nvidia_modules(busy=True)  # references but no /proc entry (e.g. another pid namespace)
    failed, result = _run(fake, 'absent')
    assert failed and 'references beyond holder modules' in result['msg'] and 'nvidia_uvm +2' in result['msg']


def test_modprobe_failure_is_reported(fake, tmp_path):
    fake.add_nvidia_modules()
    bad = tmp_path / 'modprobe-bad'
    bad.write_text('#!/bin/sh\necho "modprobe: FATAL: Module nvidia_drm is in use." >&2\nexit 1\n')
    bad.chmod(0o755)
    failed, result = _run(fake, 'absent', modprobe_path=str(bad))
    assert failed and result['rc'] == 1 and 'Module nvidia_drm is in use' in result['msg'] and result['cmd'] == [str(bad), '-r', 'nvidia_drm']
