# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The boot unit's program (roles/accelerators/files/okl_lab_restore.py), installed as the role installs it
(with the module_utils it imports under lib/: role_program.py) and run as systemd runs it: a process with its config.

Fake: the machine after a reboot (tests/unit/fakesys.py: PFs at 0 VFs, the NVIDIA modules loaded), the
kernel's SR-IOV reaction (FakeKernel thread) and modprobe (a script editing the fake /sys/module).
The real boot order (before docker.service, on a systemd host rebooted) is molecule's accelerators scenario.
"""

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeKernel, FakeSys
from ansible_collections.openkasugai.all_in_one.tests.unit.roles.role_program import install as install_program

FAKE_MODPROBE = '''#!/bin/sh
echo "$*" >> "{root}/modprobe.log"
[ "$1" = "-r" ] || exit 3
[ -z "$(ls "{root}/sys/module/$2/holders")" ] || {{ echo "modprobe: FATAL: Module $2 is in use." >&2; exit 1; }}
rm -rf "{root}/sys/module/$2"
for h in "{root}"/sys/module/*/holders/"$2"; do [ -L "$h" ] && rm -f "$h"; done
exit 0
'''


@pytest.fixture
def rebooted(tmp_path):
    fake = FakeSys(tmp_path / 'root').build_lab_machine(totalvfs=8)
    fake.add_nvidia_modules()
    kernel = FakeKernel(fake.root, netdev_delay=0.2).start()
    install = tmp_path / 'lab-restore'
    install_program('accelerators', str(install))
    modprobe = tmp_path / 'modprobe'
    modprobe.write_text(FAKE_MODPROBE.format(root=fake.root))
    modprobe.chmod(0o755)
    yield fake, kernel, install, str(modprobe)
    kernel.stop()


def run(install, tmp_path, config):
    path = tmp_path / 'lab-restore.json'
    path.write_text(json.dumps(config))
    # -I: no PYTHONPATH, no user site; the program finds the collection's code in its own lib/ only
    return subprocess.run([sys.executable, '-I', str(install / 'okl_lab_restore.py'), '--config', str(path)],
                          capture_output=True, text=True, timeout=60, check=False)


def config_for(fake, modprobe, vfs, unload=('nvidia_drm', 'nvidia_modeset', 'nvidia_uvm', 'nvidia')):
    return dict(sysfs_root=fake.root, modprobe=modprobe, timeout=10, wait_for_netdevs=True, unload_modules=list(unload), vfs=vfs)


def test_the_boot_unit_redoes_what_the_reboot_undid(rebooted, tmp_path):
    fake, kernel, install, modprobe = rebooted
    proc = run(install, tmp_path, config_for(fake, modprobe, [dict(pf='0000:3b:00.0', num_vfs=8), dict(pf='0000:af:00.0', num_vfs=4)]))
    assert proc.returncode == 0, proc.stderr
    sysfs = Sysfs(fake.root)
    assert [vf['netdev'] for vf in sysfs.vfs('0000:3b:00.0')] == ['ens1f0v%d' % i for i in range(8)]
    assert len(sysfs.vfs('0000:af:00.0')) == 4
    assert not any(sysfs.module_loaded(m) for m in ('nvidia', 'nvidia_uvm', 'nvidia_modeset', 'nvidia_drm'))
    # users before the module they hold, as modprobe needs
    assert open(os.path.join(fake.root, 'modprobe.log')).read().split('\n')[:4] == ['-r nvidia_drm', '-r nvidia_modeset', '-r nvidia_uvm', '-r nvidia']
    assert kernel.transitions() == ['SET 0000:3b:00.0 0 -> 8', 'SET 0000:af:00.0 0 -> 4']
    assert 'INFO 0000:3b:00.0 has its 8 VFs: ens1f0v0' in proc.stderr

    # A second boot (or a restart of the unit) finds everything in place and changes nothing.
    proc = run(install, tmp_path, config_for(fake, modprobe, [dict(pf='0000:3b:00.0', num_vfs=8), dict(pf='0000:af:00.0', num_vfs=4)]))
    assert proc.returncode == 0 and len(kernel.transitions()) == 2


def test_a_step_that_fails_does_not_stop_the_others_and_is_said(rebooted, tmp_path):
    fake, kernel, install, modprobe = rebooted
    fake.add_module('nvidia_peermem', holders=())
    os.symlink(os.path.join(fake.sys, 'module', 'nvidia_peermem'), os.path.join(fake.sys, 'module', 'nvidia', 'holders', 'nvidia_peermem'))
    proc = run(install, tmp_path, config_for(fake, modprobe, [dict(pf='0000:99:00.0', num_vfs=2), dict(pf='0000:3b:00.1', num_vfs=3)]))
    assert proc.returncode == 1
    assert 'ERROR modprobe -r nvidia failed (rc 1): modprobe: FATAL: Module nvidia is in use. (holders: nvidia_peermem)' in proc.stderr
    assert 'ERROR PF 0000:99:00.0 not found' in proc.stderr
    assert len(Sysfs(fake.root).vfs('0000:3b:00.1')) == 3  # done anyway
