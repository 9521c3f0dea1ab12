"""`site.yml --tags preflight` against the two sample inventories, and `mirror.yml`, on this machine.

Real: ansible-playbook, the inventories as shipped (the seed's one decrypted with its
example vault password), this machine's sysfs, routes, mounts and Docker engine, files
copied from the test mirror ($OKL_MIRROR, else ../shared/mirror: upstream's files byte for
byte; without one, the pinned upstream URLs themselves).
Nothing is faked: this machine has no GPU and no SR-IOV NIC, which is exactly what the
seed's inventory must be refused for. kind and kubectl are in no mirror here (their
releases are on GitHub and dl.k8s.io): the mirror test gives them as local files.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import mirror

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).with_name('ansible-playbook')
EXAMPLE_VAULT_PASSWORD = 'openkasugai-example'  # documented in inventory/gpu-sriov/group_vars/all/vault.yml


def run_playbook(inventory, playbook, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / '.collection-root'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', ANSIBLE_CALLBACK_RESULT_FORMAT='yaml')
    cmd = [str(PLAYBOOK_BIN), '-i', str(REPO / 'inventory' / inventory), str(REPO / 'playbooks' / playbook), *extra]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


# localhost-cpu's local registry is Debian's docker-registry run by systemd; a machine without systemd (these
# test machines) is refused for it (test_a_local_registry_needs_systemd), so the other tests take type none.
NO_SYSTEMD = not Path('/run/systemd/system').is_dir()


def run_site(inventory, *extra, tmp_path):
    registry = ()
    if inventory == 'localhost-cpu' and NO_SYSTEMD:
        registry = ('-e', '{"lab_registry": {"type": "none"}}')
    return run_playbook(inventory, 'site.yml', '--tags', 'preflight', *registry, *extra)


@pytest.mark.skipif(not NO_SYSTEMD, reason='this machine runs systemd: a local registry fits it')
def test_a_local_registry_needs_systemd(tmp_path):
    result = run_playbook('localhost-cpu', 'site.yml', '--tags', 'preflight', '-e', 'preflight_check_downloads=false')
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "lab_registry: type local runs Debian's docker-registry as a systemd service" in out
    assert 'use lab_registry type none' in out


@pytest.fixture(scope='module', autouse=True)
def docker_engine():
    if not Path('/var/run/docker.sock').exists():
        pytest.fail('the test bed starts dockerd (tests/bed/setup.sh); no engine runs here')


def test_cpu_lab_without_its_downloads_is_refused_once_listing_them_and_the_ways_out(tmp_path):
    empty = tmp_path / 'mirror'
    empty.mkdir()
    result = run_site('localhost-cpu', '-e', 'lab_mirror=%s' % empty, tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert 'The lab model is refused (1 problem)' in out
    assert 'downloads cannot be had from the site mirror file://%s' % empty in out
    for path in ('bin/kind-linux-amd64-v0.32.0', 'bin/kubectl-v1.34.1', 'src/openkasugai-hardware-drivers-7d90364.tar.gz',
                 'src/parson-ba29f4e.tar.gz', 'git/controller.git'):
        assert '%s/%s' % (empty, path) in out
    assert 'playbooks/mirror.yml' in out
    assert 'TASK [openkasugai.all_in_one.host' not in out


def test_an_upstream_url_that_cannot_be_reached_is_refused_before_any_change(tmp_path):
    # A port nothing listens on: the same refusal as a host without GitHub, on every machine.
    result = run_site('localhost-cpu', '-e', '{"lab_downloads": {"kind": {"version": "v0.32.0", "checksum": "sha256:%s", '
                      '"url": "https://127.0.0.1:1/kind-linux-amd64"}}}' % ('0' * 64), tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert 'lab_downloads.kind (https://127.0.0.1:1/kind-linux-amd64: ' in out
    assert 'set lab_mirror to a site mirror' in out


@pytest.fixture(scope='module')
def upstream_pins(tmp_path_factory):
    """The localhost-cpu pins, served from the test mirror when there is one; kind and kubectl as local files."""
    pins = yaml.safe_load((REPO / 'inventory/localhost-cpu/group_vars/all/downloads.yml').read_text())['lab_downloads']
    site = Path(os.environ.get('OKL_MIRROR') or REPO.parent / 'shared' / 'mirror')
    # the Go toolchain zips (of the from-source builds and the golang bases) are files of the Go module proxy: in no file mirror
    for name in [name for name, item in pins.items() if item.get('url') and not mirror.download_path(name, item)]:
        pins.pop(name)
    local = tmp_path_factory.mktemp('bin')
    for name in ('kind', 'kubectl'):
        (local / name).write_text('#!/bin/sh\n')
        pins[name] = {'version': pins[name]['version'], 'path': str(local / name)}
    source = {'type': 'archive', 'checksum': 'sha256:30e574f3510a7c5f962b1bf47afeffbff4c185db25e2c2ad8331ae803a4b38f8',
              'archive_url': 'https://github.com/openkasugai/controller/releases/download/v1.1.0/openkasugai-controller-v1.1.0.tar.gz'}
    if site.is_dir():
        for name, item in pins.items():
            if item.get('url'):
                item['url'] = 'file://%s/%s' % (site, mirror.download_path(name, item))
        source['archive_url'] = 'file://%s/%s' % (site, mirror.controller_path(source))
    extra = tmp_path_factory.mktemp('vars') / 'upstream.yml'
    extra.write_text(yaml.safe_dump({'lab_downloads': pins, 'lab_controller_source': source}))
    return extra


def test_mirror_playbook_fills_a_mirror_that_the_lab_then_passes_preflight_with(upstream_pins, tmp_path):
    site = tmp_path / 'site-mirror'
    result = run_playbook('localhost-cpu', 'mirror.yml', '-e', '@%s' % upstream_pins, '-e', 'mirror_dir=%s' % site)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    held = sorted(str(path.relative_to(site)) for path in site.rglob('*') if path.is_file())
    assert held == ['manifests/metallb-native-v0.14.8.yaml', 'manifests/multus-daemonset-thick-v4.1.0.yml',
                    'manifests/sriov-cni-daemonset-v2.8.1.yaml', 'manifests/sriovdp-daemonset-v3.7.0.yaml',
                    'src/gst-perf-01df710.tar.gz', 'src/multus-cni-v4.1.0.tar.gz', 'src/nvidia-k8s-ipam-v0.3.5.tar.gz',
                    'src/openkasugai-controller-v1.1.0.tar.gz', 'src/openkasugai-hardware-drivers-7d90364.tar.gz',
                    'src/parson-ba29f4e.tar.gz', 'src/sriov-cni-v2.8.1.tar.gz', 'src/sriov-network-device-plugin-v3.7.0.tar.gz']

    # A re-run fetches nothing; a damaged file is fetched again (its checksum no longer matches).
    result = run_playbook('localhost-cpu', 'mirror.yml', '-e', '@%s' % upstream_pins, '-e', 'mirror_dir=%s' % site)
    assert 'changed=0' in result.stdout, result.stdout + result.stderr
    damaged = site / 'manifests' / 'metallb-native-v0.14.8.yaml'
    damaged.write_text('not the manifest')
    result = run_playbook('localhost-cpu', 'mirror.yml', '-e', '@%s' % upstream_pins, '-e', 'mirror_dir=%s' % site)
    assert 'changed=1' in result.stdout, result.stdout + result.stderr
    assert damaged.read_text() != 'not the manifest'

    # The lab pointed at it: every download reachable, the plan printed, nothing changed.
    result = run_site('localhost-cpu', '-e', '@%s' % upstream_pins, '-e', 'lab_mirror=%s' % site, tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert 'cluster kasugai: 1 control-plane + 2 workers' in out
    assert 'docker: engine' in out and 'reachable' in out
    assert 'changed=0' in out and 'failed=0' in out


def test_a_git_controller_source_is_mirrored_as_a_bare_clone_that_the_lab_then_takes(upstream_pins, tmp_path):
    upstream = tmp_path / 'controller'
    git = ['git', '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', '-C', str(upstream)]
    subprocess.run(['git', 'init', '-q', str(upstream)], check=True)
    (upstream / 'README.md').write_text('the controller\n')
    subprocess.run(git + ['add', 'README.md'], check=True)
    subprocess.run(git + ['commit', '-q', '-m', 'one'], check=True)
    commit = subprocess.run(git + ['rev-parse', 'HEAD'], check=True, capture_output=True, text=True).stdout.strip()
    source = tmp_path / 'git-source.yml'
    source.write_text(yaml.safe_dump({'lab_controller_source': {'type': 'git', 'git_url': 'file://%s' % upstream, 'version': commit}}))
    site = tmp_path / 'site-mirror'
    result = run_playbook('localhost-cpu', 'mirror.yml', '-e', '@%s' % upstream_pins, '-e', '@%s' % source, '-e', 'mirror_dir=%s' % site)
    assert result.returncode == 0, result.stdout + result.stderr
    bare = site / 'git' / 'controller.git'
    assert (bare / 'HEAD').is_file() and not (bare / '.git').exists()
    assert subprocess.run(['git', '-C', str(bare), 'cat-file', '-e', commit + '^{commit}'], check=False).returncode == 0
    # the lab pointed at the mirror reaches it there
    result = run_site('localhost-cpu', '-e', '@%s' % upstream_pins, '-e', '@%s' % source, '-e', 'lab_mirror=%s' % site,
                      tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'controller source: file://%s/git/controller.git' % site in result.stdout and commit in result.stdout


def test_mirror_playbook_refuses_a_relative_directory():
    result = run_playbook('localhost-cpu', 'mirror.yml', '-e', 'mirror_dir=srv/mirror')
    assert result.returncode == 2
    assert 'must be an absolute directory' in result.stdout


def test_seed_lab_is_refused_naming_missing_gpu_and_pfs(tmp_path):
    password_file = tmp_path / 'vault-password'
    password_file.write_text(EXAMPLE_VAULT_PASSWORD + '\n')
    # Its downloads are not tried here (the tests above do that): the subject is the seed's machine.
    result = run_site('gpu-sriov', '--vault-password-file', str(password_file),
                      '-e', 'ansible_connection=local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                      '-e', 'preflight_check_downloads=false', tmp_path=tmp_path)
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


def _cpu_clusters(**changes):
    """The localhost-cpu inventory's lab_clusters with its one cluster changed."""
    clusters = yaml.safe_load((REPO / 'inventory/localhost-cpu/group_vars/all/lab.yml').read_text())['lab_clusters']
    clusters[0].update(changes)
    return {'lab_clusters': clusters}


# One careless input of each class (the unit tests of module_utils/lab_model.py hold the full table),
# each given to the README's own command: (id, extra vars, field named, words of the message).
SITE_REFUSALS = [
    ('cluster-name', _cpu_clusters(name='Kasugai Lab'), 'lab_clusters[0].name', 'not a valid kind cluster name'),
    ('kubernetes-version', _cpu_clusters(kubernetes_version='1.34'), 'lab_clusters[0] (kasugai).kubernetes_version',
     'is not a version vX.Y.Z'),
    ('state-dir', {'lab_state_dir': '/etc'}, 'lab_state_dir', 'is a system directory'),
    ('docker0-overlap', _cpu_clusters(docker_network={'subnet': '172.17.0.0/24'}), 'lab_clusters[0] (kasugai).docker_network.subnet',
     'a network of the host (routed through docker0)'),
    ('ipv6', _cpu_clusters(pod_subnet='fd00:10:244::/56'), 'lab_clusters[0] (kasugai).pod_subnet', 'is IPv6'),
    ('two-control-planes', _cpu_clusters(nodes=[{'role': 'control-plane'}, {'role': 'control-plane'}, {'role': 'worker'}]),
     'lab_clusters[0] (kasugai).nodes', 'supports one control plane only'),
    ('registry-on-loopback', {'lab_registry': {'type': 'local', 'url': '127.0.0.1:5443'}}, 'lab_registry.url', 'it is each node itself'),
    ('type-error', _cpu_clusters(nodes='three'), 'lab_clusters[0] (kasugai).nodes', 'write a list of mappings'),
]


@pytest.mark.parametrize('extra, field, message', [c[1:] for c in SITE_REFUSALS], ids=[c[0] for c in SITE_REFUSALS])
def test_a_careless_inventory_is_refused_by_site_yml_before_anything_changes(extra, field, message, tmp_path):
    state_dir = tmp_path / 'lab-state'
    variables = dict({'lab_state_dir': str(state_dir)}, **extra)
    extra_file = tmp_path / 'careless.yml'
    extra_file.write_text(yaml.safe_dump(variables))
    networks_before = _docker_networks()
    # the whole command, every stage after preflight included; the downloads are left untried (see above)
    result = run_playbook('localhost-cpu', 'site.yml', '-e', '@%s' % extra_file, '-e', 'preflight_check_downloads=false')
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert 'The lab model is refused' in out
    assert '- %s: ' % field in out and message in out, out
    # Nothing changed: no stage ran, no task reported a change, the state directory and docker's networks are as before.
    assert 'TASK [openkasugai.all_in_one.host' not in out
    assert ' changed=0 ' in out.split('PLAY RECAP')[-1]
    assert not state_dir.exists()
    assert _docker_networks() == networks_before


def _docker_networks():
    listed = subprocess.run(['docker', 'network', 'ls', '--format', '{{.Name}} {{.ID}}'], capture_output=True, text=True, check=True)
    return sorted(listed.stdout.splitlines())


def test_the_free_disk_a_lab_takes_is_asked_only_while_a_cluster_is_still_to_be_built(tmp_path):
    """More free space than this machine has is asked for: refused while cluster kasugai has no node; once a
    container labelled as one of its kind nodes runs (a stand-in for the node, which is all the check reads:
    docker's io.x-k8s.kind.cluster label), the space is taken as spent and preflight passes."""
    huge = ('-e', 'preflight_min_disk_gb=1000000', '-e', 'preflight_check_downloads=false')
    result = run_site('localhost-cpu', *huge, tmp_path=tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert 'the lab needs 1000000 GiB to build kasugai' in out

    image = subprocess.run(['docker', 'images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=localhost/*debian*'],
                           capture_output=True, text=True, check=True).stdout.split()
    assert image, 'no local Debian image (tests/bed/setup.sh imports one)'
    name = 'okl-test-preflight-kasugai-node'
    subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)
    subprocess.run(['docker', 'create', '--name', name, '--label', 'io.x-k8s.kind.cluster=kasugai', image[0]],
                   capture_output=True, text=True, check=True)
    try:
        result = run_site('localhost-cpu', *huge, tmp_path=tmp_path)
    finally:
        subprocess.run(['docker', 'rm', '-f', name], capture_output=True, check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert 'GiB to build' not in out
