"""`site.yml --tags preflight` against the two sample inventories, on this machine.

Real: ansible-playbook, the inventories as shipped (the seed's one decrypted with its
example vault password), this machine's sysfs, routes, mounts and Docker engine.
Nothing is faked: this machine has no GPU and no SR-IOV NIC, which is exactly what the
seed's inventory must be refused for.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).with_name('ansible-playbook')
EXAMPLE_VAULT_PASSWORD = 'openkasugai-example'  # documented in inventory/gpu-sriov/group_vars/all/vault.yml


def run_site(inventory, *extra, tmp_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / '.collection-root'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_CALLBACK_RESULT_FORMAT='yaml')
    cmd = [str(PLAYBOOK_BIN), '-i', str(REPO / 'inventory' / inventory), str(REPO / 'playbooks' / 'site.yml'),
           '--tags', 'preflight', *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope='module', autouse=True)
def docker_engine():
    if not Path('/var/run/docker.sock').exists():
        pytest.fail('the test bed starts dockerd (tests/bed/setup.sh); no engine runs here')


def test_cpu_lab_preflight_passes_and_prints_the_plan(tmp_path):
    result = run_site('localhost-cpu', tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert 'cluster kasugai: 1 control-plane + 2 workers' in out
    assert 'docker: engine' in out and 'reachable' in out
    assert 'changed=0' in out and 'failed=0' in out


def test_seed_lab_is_refused_naming_missing_gpu_and_pfs(tmp_path):
    password_file = tmp_path / 'vault-password'
    password_file.write_text(EXAMPLE_VAULT_PASSWORD + '\n')
    result = run_site('gpu-sriov', '--vault-password-file', str(password_file),
                      '-e', 'ansible_connection=local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                      tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    # The 4 devices and files of the seed's machine; every add-on manifest and source is pinned.
    assert 'The lab model is refused (4 problems)' in out
    assert 'lab_downloads.' not in out
    assert "nics (ens1f0).pf: no network device or PCI function 'ens1f0' exists on the host" in out
    assert "nics (ens2f0).pf: no network device or PCI function 'ens2f0' exists on the host" in out
    assert 'gpus (0000:86:00.0).pci_address: no PCI device 0000:86:00.0 exists on the host' in out
    assert 'lab_registry.ca_file: /etc/openkasugai/harbor-ca.crt does not exist' in out
    # Refused before any stage ran, and the vaulted password never shows.
    assert 'TASK [openkasugai.all_in_one.host' not in out
    assert 'change-me' not in out
