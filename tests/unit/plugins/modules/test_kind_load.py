"""Tests of the kind_load module's pure parts.

Real: a docker-save archive written by the real docker daemon from the local Debian image (manifest.json parsing,
image ID equal to `docker image inspect`); the archive put together from several (write_merged) imported by a real
containerd (Debian's, on this host, in a directory of its own) through `ctr images import -`, as a kind node's takes
it. Fake: crictl JSON (shaped like crictl 1.32 output), since no kind node (with containerd and crictl) can run here
before the node image exists, and the docker runner of the routing test. The load path itself (the archives streamed
into `ctr images import -` through `docker exec -i`, nodes side by side) runs in the e2e, on every site.yml of a lab
without a registry.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import time

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli
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


def layer(files):
    """A layer: an uncompressed tar of ``files`` ({name: bytes})."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def image_archive(path, ref, layers, legacy=False):
    """Write a docker-archive of one image as containers/image does (buildah push, skopeo copy): each layer as
    <its digest>.tar, the config as <its digest>.json, plus the legacy files containerd ignores; or, with ``legacy``,
    its layers under <n>/layer.tar as Docker 20.10's docker save names them. Returns the image ID."""
    diff_ids = ['sha256:' + hashlib.sha256(data).hexdigest() for data in layers]
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Cmd': ['/bin/true']},
                         'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    names = [f'{i}/layer.tar' if legacy else d.split(':')[1] + '.tar' for i, d in enumerate(diff_ids)]
    members = list(zip(names, layers, strict=True)) + [(config_hex + '.json', config), ('repositories', b'{}')]
    members.append(('manifest.json', json.dumps([{'Config': config_hex + '.json', 'RepoTags': [ref], 'Layers': names}]).encode()))
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return 'sha256:' + config_hex


BASE = layer({'etc/os-release': b'ID=debian\n' * 1000})


@pytest.fixture
def archives(tmp_path):
    """Two images on one base layer (as the lab's add-on images on its Debian base), one on a base of its own, and
    one in the legacy layout."""
    paths = {name: str(tmp_path / f'{name}.tar') for name in ('a', 'b', 'c', 'old')}
    ids = {
        'a': image_archive(paths['a'], 'localhost/a:1', [BASE, layer({'usr/bin/a': b'a'})]),
        'b': image_archive(paths['b'], 'localhost/b:1', [BASE, layer({'usr/bin/b': b'b'})]),
        'c': image_archive(paths['c'], 'localhost/c:1', [layer({'bin/c': b'c' * 700})]),
        'old': image_archive(paths['old'], 'localhost/old:1', [BASE], legacy=True),
    }
    return paths, ids


def test_only_archives_named_by_digests_are_merged(archives):
    paths, ids = archives
    base = hashlib.sha256(BASE).hexdigest() + '.tar'
    assert base in kind_load.archive_files(paths['a']) and ids['a'].split(':')[1] + '.json' in kind_load.archive_files(paths['a'])
    assert kind_load.archive_files(paths['old']) is None  # <n>/layer.tar: the same name need not be the same content


def test_the_merged_archive_holds_each_layer_once_and_every_image(archives):
    paths, ids = archives
    out = io.BytesIO()
    kind_load.write_merged([paths['a'], paths['b']], out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile('manifest.json'))
    base = hashlib.sha256(BASE).hexdigest() + '.tar'
    assert names.count(base) == 1 and names[-1] == 'manifest.json' and 'repositories' not in names
    assert [(entry['RepoTags'], 'sha256:' + entry['Config'][:-5]) for entry in manifest] == [(['localhost/a:1'], ids['a']), (['localhost/b:1'], ids['b'])]
    assert len(names) == 1 + 2 + 2 + 1  # the base, each image's own layer, the two configs, the manifest


@pytest.fixture
def containerd(tmp_path_factory):
    """A real containerd (Debian's package, as the test bed installs with docker.io) with a root of its own."""
    if os.geteuid() != 0 or not shutil.which('containerd') or not shutil.which('ctr'):
        pytest.skip('needs root, containerd and ctr')
    root = tmp_path_factory.mktemp('ctrd')
    socket = root / 'c.sock'
    config = root / 'config.toml'
    config.write_text(f'version = 2\nroot = "{root}/root"\nstate = "{root}/state"\n'
                      f'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "{socket}"\n')
    with open(root / 'log', 'wb') as log:
        proc = subprocess.Popen(['containerd', '-c', str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(['ctr', '-a', str(socket), 'version'], capture_output=True, check=False).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail('containerd did not start: ' + (root / 'log').read_text()[-2000:])
            time.sleep(0.2)
        yield str(socket)
    finally:
        proc.terminate()
        proc.wait()


def test_a_real_containerd_imports_the_merged_archive(archives, containerd):
    paths, ids = archives
    ctr = Cli('ctr')
    argv = ['-a', containerd, '--namespace', 'k8s.io', 'images', 'import', '--all-platforms', '--digests', '--snapshotter', 'native', '-']
    ctr.run(argv, stdin_writer=lambda stdin: kind_load.write_merged([paths['a'], paths['b']], stdin))
    refs = ctr.run(['-a', containerd, '--namespace', 'k8s.io', 'images', 'ls', '-q']).stdout.split()
    assert {'localhost/a:1', 'localhost/b:1'} <= set(refs)
    content = ctr.run(['-a', containerd, '--namespace', 'k8s.io', 'content', 'ls', '-q']).stdout.split()
    assert {ids['a'], ids['b'], 'sha256:' + hashlib.sha256(BASE).hexdigest()} <= set(content)


def test_a_nodes_mergeable_archives_go_as_one_the_others_alone(archives):
    paths, _ids = archives
    calls = []

    def runner(argv, data):
        calls.append((argv[3], data))  # docker exec -i NODE ctr ...
        return 0, '', ''

    docker = Cli('docker', runner=runner)
    module = type('Module', (), {'tmpdir': '/nonexistent', 'fail_json': lambda self, **kw: pytest.fail(kw['msg'])})()
    missing = {'lab-worker': [paths['a'], paths['c'], paths['b'], paths['old']], 'lab-control-plane': [paths['a'], paths['c']]}
    kind_load.import_missing(module, docker, missing, list(paths.values()))
    by_node = {}
    for node, data in calls:
        by_node.setdefault(node, []).append(data)
    worker = by_node['lab-worker']
    # a and b share their base; c shares nothing (putting it together would only cost a copy); old is legacy
    assert len(worker) == 3 and 'stdin_writer' in worker[0] and worker[1:] == [{'stdin_file': paths['c']}, {'stdin_file': paths['old']}]
    assert by_node['lab-control-plane'] == [{'stdin_file': paths['a']}, {'stdin_file': paths['c']}]  # nothing shared
    out = io.BytesIO()
    worker[0]['stdin_writer'](out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        assert [entry['RepoTags'] for entry in json.load(tar.extractfile('manifest.json'))] == [['localhost/a:1'], ['localhost/b:1']]
