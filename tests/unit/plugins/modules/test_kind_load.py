"""Tests of the kind_load module's pure parts.

Real: a docker-save archive written by the real docker daemon from the local Debian image (manifest.json parsing,
image ID equal to `docker image inspect`). Fake: crictl JSON (shaped like crictl 1.32 output), since no kind node
(with containerd and crictl) can run here before the node image exists. The load path itself (the archive streamed
into `ctr images import -` through `docker exec -i`, nodes side by side) runs in the e2e, on every site.yml of a lab
without a registry.
"""

import json
import subprocess

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.modules import kind_load

IMAGE = 'localhost/okl-debian:bookworm-systemd'


@pytest.mark.parametrize('ref,expected', [
    ('busybox', 'docker.io/library/busybox:latest'),
    ('busybox:1.36', 'docker.io/library/busybox:1.36'),
    ('calico/node:v3.28', 'docker.io/calico/node:v3.28'),
    ('localhost/okl-node:v1', 'localhost/okl-node:v1'),
    ('harbor.example.com:443/openkasugai/x:1.0', 'harbor.example.com:443/openkasugai/x:1.0'),
    ('registry:5000/x', 'registry:5000/x:latest'),
])
def test_normalize_ref(ref, expected):
    assert kind_load.normalize_ref(ref) == expected


def test_node_images_maps_every_tag_to_the_id():
    crictl = json.dumps({'images': [
        {'id': 'sha256:aaa', 'repoTags': ['docker.io/library/busybox:latest', 'localhost/bb:1'], 'repoDigests': []},
        {'id': 'sha256:bbb', 'repoTags': [], 'repoDigests': ['x@sha256:ccc']},
    ]})
    assert kind_load.node_images(crictl) == {'docker.io/library/busybox:latest': 'sha256:aaa', 'localhost/bb:1': 'sha256:aaa'}
    assert kind_load.node_images('') == {}


def test_archive_images_from_a_real_docker_save(tmp_path):
    if subprocess.run(['docker', 'image', 'inspect', IMAGE], check=False, capture_output=True).returncode != 0:
        pytest.skip(f'needs docker and {IMAGE}')
    archive = tmp_path / 'img.tar'
    subprocess.run(['docker', 'save', '-o', str(archive), IMAGE], check=True)
    image_id = subprocess.run(['docker', 'image', 'inspect', '-f', '{{.Id}}', IMAGE], check=True, capture_output=True, text=True).stdout.strip()
    assert kind_load.archive_images(str(archive)) == [(IMAGE, image_id)]


def test_archive_without_manifest_is_refused(tmp_path):
    import tarfile
    path = tmp_path / 'x.tar'
    with tarfile.open(path, 'w') as tar:
        info = tarfile.TarInfo('index.json')
        tar.addfile(info)
    with pytest.raises(ValueError, match='not a docker-save archive'):
        kind_load.archive_images(str(path))


@pytest.mark.parametrize('node,role', [
    ('kasugai-control-plane', 'control-plane'),
    ('kasugai-control-plane2', 'control-plane'),
    ('kasugai-worker', 'worker'),
    ('okl-e2e-b-worker12', 'worker'),
    ('some-container', ''),
])
def test_node_role_follows_kinds_names(node, role):
    assert kind_load.node_role(node) == role


def test_archive_specs_take_paths_and_roles():
    assert kind_load.archive_specs(['/a.tar', {'path': '/b.tar', 'roles': ['worker']}, {'path': '/c.tar'}]) == [
        ('/a.tar', []), ('/b.tar', ['worker']), ('/c.tar', [])]


@pytest.mark.parametrize('entry,field', [
    ({'path': '/b.tar', 'roles': ['gpu']}, r'archives\[0\]\.roles'),
    ({'path': '/b.tar', 'roles': 'worker'}, r'archives\[0\]\.roles'),
    ({'roles': ['worker']}, r'archives\[0\]:'),
    ({'path': '/b.tar', 'nodes': ['x']}, r'archives\[0\]:'),
    (3, r'archives\[0\]:'),
])
def test_archive_specs_name_the_bad_entry(entry, field):
    with pytest.raises(ValueError, match=field):
        kind_load.archive_specs([entry])
