"""The site mirror: its layout, the model pointed at it, and the reachability preflight runs.

Real: the lab model's argument spec and normalize(); files on disk for file:// mirrors; an HTTPS
server on 127.0.0.1 (Python's http.server behind TLS, with a CA made by openssl for the test) for
https:// probes, so that TLS verification, HEAD, the GET fallback and HTTP errors are the real ones.
"""

import copy
import http.server
import os
import ssl
import subprocess
import threading

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import lab_model, mirror
from ansible_collections.openkasugai.all_in_one.tests.unit.plugins.module_utils.test_lab_model import (
    CPU_LAB,
    GPU_SRIOV_LAB,
    SHA,
    validated,
)

PINNED = {
    'kind': {'version': 'v0.32.0', 'checksum': SHA,
             'url': 'https://github.com/kubernetes-sigs/kind/releases/download/v0.32.0/kind-linux-amd64'},
    'kubectl': {'version': 'v1.34.1', 'checksum': SHA, 'url': 'https://dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubectl'},
    'metallb_manifest': {'version': 'v0.14.8', 'checksum': SHA,
                         'url': 'https://raw.githubusercontent.com/metallb/metallb/v0.14.8/config/manifests/metallb-native.yaml'},
    'multus_manifest': {'version': 'v4.1.0', 'checksum': SHA,
                        'url': 'https://raw.githubusercontent.com/k8snetworkplumbingwg/multus-cni/v4.1.0/deployments/multus-daemonset-thick.yml'},
    'nv_ipam_source': {'version': 'v0.3.5', 'checksum': SHA,
                       'url': 'file:///srv/openkasugai-mirror/src/nvidia-k8s-ipam-v0.3.5.tar.gz'},
    'hardware_drivers': {'version': '7d90364', 'checksum': SHA,
                         'url': 'file:///srv/openkasugai-mirror/src/openkasugai-hardware-drivers-7d90364.tar.gz'},
    'parson': {'version': 'ba29f4e', 'path': '/srv/parson.tar.gz'},
}


def model_of(raw, **changes):
    raw = copy.deepcopy(raw)
    raw.update(changes)
    return lab_model.normalize(validated(raw))


@pytest.mark.parametrize('name, url, version, path', [
    ('kind', PINNED['kind']['url'], 'v0.32.0', 'bin/kind-linux-amd64-v0.32.0'),
    ('kubectl', PINNED['kubectl']['url'], 'v1.34.1', 'bin/kubectl-v1.34.1'),
    ('metallb_manifest', PINNED['metallb_manifest']['url'], 'v0.14.8', 'manifests/metallb-native-v0.14.8.yaml'),
    ('multus_manifest', PINNED['multus_manifest']['url'], 'v4.1.0', 'manifests/multus-daemonset-thick-v4.1.0.yml'),
    ('nv_ipam_source', PINNED['nv_ipam_source']['url'], 'v0.3.5', 'src/nvidia-k8s-ipam-v0.3.5.tar.gz'),
    ('cni_plugins', 'https://example.com/v1.6.2/cni-plugins-linux-amd64-v1.6.2.tgz', 'v1.6.2', 'src/cni-plugins-linux-amd64-v1.6.2.tgz'),
    ('parson', 'https://example.com/archive/parson.tar.gz', 'ba29f4e', 'src/parson-ba29f4e.tar.gz'),
])
def test_layout_names_each_file_by_its_upstream_name_and_version(name, url, version, path):
    assert mirror.download_path(name, {'version': version, 'url': url, 'checksum': SHA}) == path


def test_the_test_mirror_beside_the_project_follows_the_layout():
    """../shared/mirror, our stand-in for a site mirror, holds the add-on manifests where the layout puts them."""
    assert mirror.download_path('sriov_device_plugin_manifest', {
        'version': 'v3.7.0',
        'url': 'https://raw.githubusercontent.com/k8snetworkplumbingwg/sriov-network-device-plugin/v3.7.0/deployments/sriovdp-daemonset.yaml',
    }) == 'manifests/sriovdp-daemonset-v3.7.0.yaml'
    assert mirror.download_path('sriov_cni_manifest', {
        'version': 'v2.8.1', 'url': 'https://raw.githubusercontent.com/k8snetworkplumbingwg/sriov-cni/v2.8.1/images/sriov-cni-daemonset.yaml',
    }) == 'manifests/sriov-cni-daemonset-v2.8.1.yaml'


def test_without_a_mirror_the_urls_stay_and_the_mirror_files_are_listed():
    model = model_of(CPU_LAB, downloads=PINNED)
    assert model['mirror'] == ''
    assert model['downloads']['kind']['url'] == PINNED['kind']['url']
    files = {item['name']: item for item in model['mirror_files']}
    assert 'parson' not in files  # a local path: nothing to mirror
    assert files['kind'] == dict(name='kind', type='file', upstream=PINNED['kind']['url'], path='bin/kind-linux-amd64-v0.32.0',
                                 version='v0.32.0', checksum=SHA)
    assert files['controller_source'] == dict(name='controller_source', type='git', upstream=lab_model.CONTROLLER_GIT_URL,
                                              path='git/controller.git', version=lab_model.CONTROLLER_VERSION, checksum='')


@pytest.mark.parametrize('given, base', [
    ('/srv/openkasugai-mirror/', 'file:///srv/openkasugai-mirror'),
    ('file:///srv/openkasugai-mirror', 'file:///srv/openkasugai-mirror'),
    ('https://mirror.example.com/openkasugai/', 'https://mirror.example.com/openkasugai'),
])
def test_a_mirror_takes_every_url_and_keeps_versions_and_checksums(given, base):
    source = {'type': 'archive', 'archive_url': 'https://example.com/openkasugai-controller-v1.1.0.tar.gz', 'checksum': SHA}
    model = model_of(CPU_LAB, downloads=PINNED, mirror=given, controller_source=source)
    assert model['mirror'] == base
    assert model['downloads']['kind'] == dict(PINNED['kind'], url=base + '/bin/kind-linux-amd64-v0.32.0')
    assert model['downloads']['metallb_manifest']['url'] == base + '/manifests/metallb-native-v0.14.8.yaml'
    assert model['downloads']['hardware_drivers']['url'] == base + '/src/openkasugai-hardware-drivers-7d90364.tar.gz'
    assert model['downloads']['parson'] == PINNED['parson']
    assert model['controller_source']['archive_url'] == base + '/src/openkasugai-controller-v1.1.0.tar.gz'
    assert model['controller_source']['checksum'] == SHA
    # what the mirror must hold is still described by the upstream URLs
    assert {item['name']: item['upstream'] for item in model['mirror_files']}['kind'] == PINNED['kind']['url']
    assert lab_model.check_model(model) == []


def test_a_git_controller_source_comes_from_a_bare_clone_in_the_mirror():
    model = model_of(CPU_LAB, mirror='/srv/m')
    assert model['controller_source']['git_url'] == 'file:///srv/m/git/controller.git'
    assert model['controller_source']['version'] == lab_model.CONTROLLER_VERSION


@pytest.mark.parametrize('given, message', [
    ('mirror', "'mirror' is relative"),
    ('http://mirror.example.com', 'plain HTTP'),
    ('ftp://mirror.example.com', 'neither a directory nor'),
])
def test_a_mirror_that_is_not_absolute_or_secure_is_refused(given, message):
    problems = lab_model.check_model(model_of(CPU_LAB, mirror=given))
    assert [p.field for p in problems] == ['lab_mirror']
    assert message in problems[0].message and 'absolute directory' in problems[0].fix


def test_needed_lists_what_this_lab_fetches_and_not_more():
    raw = copy.deepcopy(GPU_SRIOV_LAB)
    raw['build_from_source'] = ['addon_images']
    raw['downloads'] = dict(raw['downloads'], multus_source={'version': 'v1', 'path': '/srv/multus.tar.gz'},
                            unused={'version': 'v1', 'url': 'https://example.invalid/unused', 'checksum': SHA})
    model = lab_model.normalize(validated(raw))
    needed = {what: (url, git) for what, url, git in mirror.needed(model, lab_model.REQUIRED_DOWNLOADS, lab_model.LIBFPGA_DOWNLOADS)}
    assert 'lab_downloads.unused' not in needed
    assert 'lab_downloads.multus_source' not in needed  # a local path: check_host checks that it exists
    assert needed['lab_downloads.kind'] == (raw['downloads']['kind']['url'], False)
    assert {'lab_downloads.multus_manifest', 'lab_downloads.nv_ipam_source', 'lab_downloads.hardware_drivers',
            'lab_downloads.parson', 'lab_downloads.kubectl'} <= set(needed)
    assert needed['lab_controller_source'] == (lab_model.CONTROLLER_GIT_URL, True)


def test_a_file_mirror_is_probed_on_disk(tmp_path):
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'kind-v1').write_text('kind')
    (tmp_path / 'git' / 'controller.git').mkdir(parents=True)
    assert mirror.probe('file://%s/bin/kind-v1' % tmp_path) == ''
    assert mirror.probe('file://%s/bin/kubectl-v1' % tmp_path) == 'no such file'
    assert mirror.probe('file://%s/git/controller.git' % tmp_path, git=True) == ''
    assert mirror.probe('file://%s/git/other.git' % tmp_path, git=True) == 'no such repository'


def test_the_host_check_refuses_once_listing_every_missing_download_and_the_ways_out(tmp_path):
    (tmp_path / 'manifests').mkdir()
    (tmp_path / 'manifests' / 'metallb-native-v0.14.8.yaml').write_text('{}')
    model = model_of(CPU_LAB, downloads=PINNED, mirror=str(tmp_path))
    problems = lab_model._check_reachable(model, mirror.probe)
    assert [p.field for p in problems] == ['lab_downloads']
    message = problems[0].message
    assert message.startswith('4 downloads cannot be had from the site mirror file://%s:\n    lab_downloads.' % tmp_path)
    assert len(message.strip().splitlines()) == 1 + 4  # one line per download
    for missing in ('lab_downloads.kind (file://%s/bin/kind-linux-amd64-v0.32.0: no such file)' % tmp_path,
                    'lab_downloads.kubectl', 'lab_downloads.hardware_drivers',
                    'lab_controller_source (file://%s/git/controller.git: no such repository)' % tmp_path):
        assert missing in message
    assert 'metallb' not in message and 'parson' not in message
    assert 'playbooks/mirror.yml' in problems[0].fix and '{version, path}' in problems[0].fix
    # the same lab without a mirror is told to set one
    problems = lab_model._check_reachable(model_of(CPU_LAB, downloads=PINNED), lambda url, git: 'Name or service not known')
    assert 'from the kind-host' in problems[0].message and 'set lab_mirror' in problems[0].fix


def test_probes_run_concurrently_and_keep_the_order():
    barrier = threading.Barrier(3, timeout=5)

    def fetch(url, git):
        barrier.wait()  # all three at once, or the barrier breaks
        return '' if url.endswith('ok') else 'gone'
    items = [('a', 'https://x/ok', False), ('b', 'https://x/b', False), ('c', 'https://x/c', True)]
    assert mirror.unreachable(items, fetch) == [('b', 'https://x/b', 'gone'), ('c', 'https://x/c', 'gone')]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):
        if self.path == '/no-head':
            self.send_error(405)
        else:
            self._answer()

    def do_GET(self):
        self._answer()

    def _answer(self):
        known = {'/file', '/no-head', '/repo.git/info/refs?service=git-upload-pack'}
        self.send_response(200 if self.path in known else 404)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    cert, key = tmp_path / 'cert.pem', tmp_path / 'key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                    '-keyout', str(key), '-out', str(cert), '-days', '1', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1'], check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv('SSL_CERT_FILE', str(cert))  # the site's CA, as the host's trust store would hold it
    yield 'https://127.0.0.1:%d' % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_https_mirror_is_probed_with_head_and_tls_verified(https_server, monkeypatch):
    assert mirror.probe(https_server + '/file') == ''
    assert mirror.probe(https_server + '/no-head') == ''  # HEAD refused: a one-byte GET
    assert mirror.probe(https_server + '/missing') == 'HTTP 404 Not Found'
    assert mirror.probe(https_server + '/repo.git', git=True) == ''
    assert mirror.probe(https_server + '/other.git', git=True) == 'HTTP 404 Not Found'
    monkeypatch.setenv('SSL_CERT_FILE', os.devnull)  # a CA the host does not trust
    assert 'CERTIFICATE_VERIFY_FAILED' in mirror.probe(https_server + '/file')


def test_an_unreachable_host_says_why():
    assert mirror.probe('https://127.0.0.1:1/kind', timeout=5) != ''


GO = {'version': 'go1.24.4', 'checksum': SHA,
      'url': 'https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go1.24.4.linux-amd64.zip'}


def test_kind_from_source_needs_the_go_toolchain_and_the_module_proxy_instead_of_kind_s_release():
    model = model_of(CPU_LAB, downloads=dict(PINNED, go=GO), build_from_source=['kind'])
    assert lab_model.check_model(model) == []
    needed = {what: url for what, url, _git in mirror.needed(model, lab_model.required_downloads(model), lab_model.LIBFPGA_DOWNLOADS)}
    assert 'lab_downloads.kind' not in needed
    assert needed['lab_downloads.go'] == GO['url']
    assert needed['lab_go_proxy (sigs.k8s.io/kind v0.32.0)'] == 'https://proxy.golang.org/sigs.k8s.io/kind/@v/v0.32.0.info'
    # the toolchain zip is a file of the Go module proxy: it is not in a file mirror
    assert mirror.download_path('go', GO) == ''


def test_go_toolchain_zips_come_from_the_lab_s_go_proxy_and_the_rest_from_the_mirror():
    model = model_of(CPU_LAB, downloads=dict(PINNED, go=GO), build_from_source=['kind'], mirror='/srv/mirror',
                     go_proxy='file:///srv/goproxy')
    assert model['downloads']['go']['url'] == 'file:///srv/goproxy/golang.org/toolchain/@v/v0.0.1-go1.24.4.linux-amd64.zip'
    assert model['downloads']['go']['checksum'] == SHA
    assert model['downloads']['metallb_manifest']['url'] == 'file:///srv/mirror/manifests/metallb-native-v0.14.8.yaml'
    assert 'go' not in {item['name'] for item in model['mirror_files']}  # mirror.yml does not copy it
    # with the public proxy and no mirror, the pinned URL stays as it is
    assert model_of(CPU_LAB, downloads=dict(PINNED, go=GO))['downloads']['go']['url'] == GO['url']


GOLANG = {name: {'version': 'go%s.12' % minor, 'checksum': SHA,
                 'url': 'https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go%s.12.linux-amd64.zip' % minor}
          for name, minor in (('golang_1_22', '1.22'), ('golang_1_23', '1.23'))}


def test_base_images_from_source_need_the_toolchains_of_the_golang_bases_and_no_other_go():
    model = model_of(CPU_LAB, downloads=dict(PINNED, **GOLANG), build_from_source=['base_images'])
    assert lab_model.check_model(model) == []
    needed = {what: url for what, url, _git in mirror.needed(model, lab_model.required_downloads(model), lab_model.LIBFPGA_DOWNLOADS)}
    assert needed['lab_downloads.golang_1_23'] == GOLANG['golang_1_23']['url']
    assert needed['lab_downloads.golang_1_22'] == GOLANG['golang_1_22']['url']
    assert 'lab_downloads.go' not in needed


@pytest.mark.parametrize('downloads, field, message', [
    (dict(PINNED, golang_1_22=GOLANG['golang_1_22']), 'lab_downloads.golang_1_23',
     'no download is described for the Go toolchain of the golang:1.23 base image'),
    (dict(PINNED, golang_1_22=GOLANG['golang_1_22'], golang_1_23=dict(GOLANG['golang_1_23'], version='go1.24.4')),
     'lab_downloads.golang_1_23.version', "'go1.24.4' is not a go1.23 release"),
    (dict(PINNED, golang_1_23=GOLANG['golang_1_23'], golang_1_22=dict(GOLANG['golang_1_22'], version='go1.221')),
     'lab_downloads.golang_1_22.version', "'go1.221' is not a go1.22 release"),
])
def test_base_images_from_source_are_refused_without_the_right_toolchains(downloads, field, message):
    problems = lab_model.check_model(model_of(CPU_LAB, downloads=downloads, build_from_source=['base_images']))
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message


@pytest.mark.parametrize('changes, field, message', [
    (dict(downloads=PINNED), 'lab_downloads.go', 'no download is described for the Go toolchain that builds kind'),
    (dict(downloads=dict(PINNED, go=dict(GO, version='1.24.4'))), 'lab_downloads.go.version', "'1.24.4' is not a Go release"),
    (dict(downloads=dict(PINNED, go=GO, kind=dict(PINNED['kind'], version='main'))), 'lab_downloads.kind.version',
     "'main' is not a release tag"),
    (dict(downloads=dict(PINNED, go=GO), go_proxy='http://goproxy.example.com'), 'lab_go_proxy', 'is not an https:// or file:// URL'),
])
def test_kind_from_source_is_refused_without_what_it_builds_with(changes, field, message):
    problems = lab_model.check_model(model_of(CPU_LAB, build_from_source=['kind'], **changes))
    assert [p.field for p in problems] == [field]
    assert message in problems[0].message


def test_a_site_go_proxy_is_what_preflight_asks():
    model = model_of(CPU_LAB, downloads=dict(PINNED, go=GO), build_from_source=['kind'], go_proxy='https://goproxy.example.com/')
    assert model['go_proxy'] == 'https://goproxy.example.com'
    urls = [url for _what, url, _git in mirror.needed(model, lab_model.required_downloads(model), lab_model.LIBFPGA_DOWNLOADS)]
    assert 'https://goproxy.example.com/sigs.k8s.io/kind/@v/v0.32.0.info' in urls


def test_kind_built_from_source_needs_only_its_version():
    downloads = dict(PINNED, go=GO, kind={'version': 'v0.32.0'})
    assert lab_model.check_model(model_of(CPU_LAB, downloads=downloads, build_from_source=['kind'])) == []
    assert [p.field for p in lab_model.check_model(model_of(CPU_LAB, downloads=downloads))] == [
        'lab_downloads.kind.url', 'lab_downloads.kind.checksum']


def test_kubectl_and_the_node_image_from_source_need_the_toolchain_and_kubernetes_from_the_module_proxy():
    downloads = dict(PINNED, go=GO, kubectl={'version': 'v1.34.1'})
    model = model_of(CPU_LAB, downloads=downloads, build_from_source=['kubectl', 'node_image'])
    assert lab_model.check_model(model) == []
    needed = {what: url for what, url, _git in mirror.needed(model, lab_model.required_downloads(model), lab_model.LIBFPGA_DOWNLOADS)}
    assert 'lab_downloads.kubectl' not in needed
    assert needed['lab_downloads.go'] == GO['url']
    assert needed['lab_downloads.kind'] == PINNED['kind']['url']  # kind is still downloaded
    assert needed['lab_go_proxy (k8s.io/kubernetes v1.34.1, for kubectl and the node image)'] == (
        'https://proxy.golang.org/k8s.io/kubernetes/@v/v1.34.1.info')


def test_a_cluster_with_its_own_node_image_needs_no_kubernetes_build():
    lab = copy.deepcopy(CPU_LAB)
    lab['clusters'][0]['node_image'] = 'registry.example.com/kind-node:v1.34.1'
    model = model_of(lab, downloads=dict(PINNED, go=GO), build_from_source=['node_image'])
    urls = [url for _what, url, _git in mirror.needed(model, lab_model.required_downloads(model), lab_model.LIBFPGA_DOWNLOADS)]
    assert not [url for url in urls if 'k8s.io/kubernetes' in url]
    assert mirror.go_modules(model) == []


@pytest.mark.parametrize('built', [['kubectl'], ['node_image']])
def test_a_go_build_without_the_toolchain_is_refused_naming_what_it_builds(built):
    problems = lab_model.check_model(model_of(CPU_LAB, downloads=PINNED, build_from_source=built))
    assert [p.field for p in problems] == ['lab_downloads.go']
    assert 'the Go toolchain that builds %s' % built[0] in problems[0].message


def test_kubectl_built_from_source_needs_only_its_version():
    downloads = dict(PINNED, go=GO, kubectl={'version': 'v1.34.1'})
    assert lab_model.check_model(model_of(CPU_LAB, downloads=downloads, build_from_source=['kubectl'])) == []
    assert [p.field for p in lab_model.check_model(model_of(CPU_LAB, downloads=downloads))] == [
        'lab_downloads.kubectl.url', 'lab_downloads.kubectl.checksum']
