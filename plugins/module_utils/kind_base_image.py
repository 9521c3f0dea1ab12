# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The kind node image built from source (lab_build_from_source: [node_image]), as the seed builds its own.

What kind's published node images hold, made here from Go modules and Debian packages: Kubernetes
(kubelet, kubeadm, kubectl and the control-plane images kubeadm asks containerd for), etcd, CoreDNS,
crictl and pause, compiled by module_utils.go_source; containerd, runc and the CNI plugins from the
OS image's own packages (the recipe's Dockerfile). The recipe (a directory the node_image role ships:
Dockerfile, Dockerfile.tools, rootfs/, the main packages of pause, CoreDNS and crictl, okl-netd and its
manifest) is
an input of the image's name, with the versions and the OS image's ID:

    <repository>:<kubernetes version>-<12 hex of the inputs>

and the image is kept as a docker-archive in the cache, so a later run (another host, a fresh docker)
loads it instead of building. The steps of a build:

1. the Go binaries (cached by version);
2. the images kubeadm lists (``kubeadm config images list``), each a binary on an empty image, or on
   the OS image with iptables for kube-proxy; a version the recipe cannot serve fails, naming it;
3. the node rootfs (the recipe's Dockerfile on the OS image);
4. the images imported into its containerd (``k8s.io`` namespace) in a container of it, then
   committed with the node's entrypoint back, and saved to the cache.
"""

import hashlib
import os
import shutil
import time

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.buildah import context_entries
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli

# What kubeadm of a Kubernetes minor asks containerd for, and the crictl our recipe builds (k8s.io/cri-api).
COMPONENTS = {
    '1.34': dict(etcd='v3.6.4', etcd_tag='3.6.4-0', coredns='v1.12.1', pause_tag='3.10.1', cri_api='v0.34.1'),
}
KUBERNETES_COMMANDS = ('kubelet', 'kubeadm', 'kubectl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy')
NODE_COMMANDS = ('kubelet', 'kubeadm', 'kubectl')
NETD_IMAGE = 'localhost/okl-netd:v1'
STOP_SIGNAL = 'SIGRTMIN+3'
READY_TIMEOUT = 60


class BuildError(Exception):
    pass


def components(kubernetes_version, overrides=None):
    """The component versions of a Kubernetes version (``overrides`` win); BuildError when the recipe has none."""
    minor = '.'.join(kubernetes_version.lstrip('v').split('.')[:2])
    known = dict(COMPONENTS.get(minor, {}))
    known.update(overrides or {})
    missing = [k for k in ('etcd', 'etcd_tag', 'coredns', 'pause_tag', 'cri_api') if not known.get(k)]
    if missing:
        raise BuildError('the node image recipe knows the components of Kubernetes %s only: for %s give %s'
                         % (', '.join('v%s' % m for m in sorted(COMPONENTS)), kubernetes_version, ', '.join(missing)))
    return known


def inputs_digest(kubernetes_version, versions, recipe_dir, os_image_id):
    """12 hex of the versions, the OS image's ID and every entry of the recipe (path, kind, mode bits, content digest),
    read as a build context is read (module_utils.buildah.context_entries)."""
    h = hashlib.sha256()
    h.update(('%s %s %s\n' % (kubernetes_version, sorted(versions.items()), os_image_id)).encode())
    for entry in context_entries(recipe_dir):
        h.update(('%s %s %o %s\n' % entry).encode())
    return h.hexdigest()[:12]


def wanted_sources(wanted, kubernetes_version, versions, bins):
    """{image kubeadm wants: (binary path, how)}; BuildError naming an image the recipe does not build."""
    known = {
        'registry.k8s.io/kube-apiserver:%s' % kubernetes_version: (os.path.join(bins['kubernetes'], 'kube-apiserver'), 'scratch'),
        'registry.k8s.io/kube-controller-manager:%s' % kubernetes_version: (os.path.join(bins['kubernetes'], 'kube-controller-manager'), 'scratch'),
        'registry.k8s.io/kube-scheduler:%s' % kubernetes_version: (os.path.join(bins['kubernetes'], 'kube-scheduler'), 'scratch'),
        'registry.k8s.io/kube-proxy:%s' % kubernetes_version: (os.path.join(bins['kubernetes'], 'kube-proxy'), 'os'),
        'registry.k8s.io/coredns/coredns:%s' % versions['coredns']: (os.path.join(bins['coredns'], 'coredns'), 'entrypoint'),
        'registry.k8s.io/pause:%s' % versions['pause_tag']: (os.path.join(bins['pause'], 'pause'), 'entrypoint'),
        'registry.k8s.io/etcd:%s' % versions['etcd_tag']: (os.path.join(bins['etcd'], 'etcd'), 'scratch'),
    }
    unknown = [image for image in wanted if image not in known]
    if unknown:
        raise BuildError('kubeadm %s asks for %s, which the node image recipe does not build: set the components of this '
                         'Kubernetes version' % (kubernetes_version, ', '.join(unknown)))
    return {image: known[image] for image in wanted}


class NodeImageBuilder:
    """Builds (or loads) the node image; ``docker``: a Cli, ``go``: a go_source.GoBuilder."""

    def __init__(self, docker, go, recipe_dir, cache_dir, repository, os_image, kubernetes_version, versions):
        self.docker = docker
        self.go = go
        self.recipe = recipe_dir
        self.cache = cache_dir
        self.repository = repository
        self.os_image = os_image
        self.version = kubernetes_version
        self.versions = versions
        self.key = None
        self.ref = None
        self.archive = None

    def os_image_id(self):
        """The OS image's ID, or None when docker does not have it."""
        found = docker_cli.inspect(self.docker, [self.os_image], kind='image')
        return found[self.os_image]['Id'] if self.os_image in found else None

    def plan(self):
        """Work out the image's name and archive; BuildError when the OS image is missing."""
        os_image_id = self.os_image_id()
        if os_image_id is None:
            raise BuildError('the OS image %s the node image is built on is not in docker: the node_image role makes it with '
                             'debootstrap (node_image_source_os_image)' % self.os_image)
        self.key = inputs_digest(self.version, self.versions, self.recipe, os_image_id)
        self.ref = '%s:%s-%s' % (self.repository, self.version, self.key)
        self.archive = os.path.join(self.cache, 'images', '%s-%s.tar' % (self.version, self.key))
        return self.ref

    def present(self):
        return self.ref in docker_cli.inspect(self.docker, [self.ref], kind='image')

    def load(self):
        self.docker.run(['load', '-i', self.archive], what='docker load %s' % self.archive)

    # -- a build ---------------------------------------------------------------------------------
    def _binaries(self):
        go = self.go
        v = self.versions
        return {
            'kubernetes': go.kubernetes(self.version, KUBERNETES_COMMANDS),
            'etcd': go.module('etcd-%s' % v['etcd'], 'go.etcd.io/etcd/server/v3', {'go.etcd.io/etcd/server/v3': v['etcd']}, 'etcd'),
            'coredns': go.module('coredns-%s' % v['coredns'], '.', {'github.com/coredns/coredns': v['coredns']}, 'coredns',
                                 source_dir=os.path.join(self.recipe, 'coredns'),
                                 ldflags='-s -w -X github.com/coredns/coredns/coremain.GitCommit=%s' % v['coredns']),
            'crictl': go.module('crictl-%s' % v['cri_api'], '.', {'k8s.io/cri-api': v['cri_api']}, 'crictl',
                                source_dir=os.path.join(self.recipe, 'crictl')),
            'pause': go.module('pause', '.', {}, 'pause', source_dir=os.path.join(self.recipe, 'pause')),
        }

    def _image(self, work, ref, path, base, entrypoint=None):
        ctx = os.path.join(work, 'img', ref.replace('/', '_').replace(':', '_'))
        os.makedirs(ctx)
        shutil.copy(path, ctx)
        name = os.path.basename(path)
        lines = ['FROM %s' % base, 'COPY %s /usr/local/bin/' % name]
        if base == 'scratch':
            lines.append('ENV PATH=/usr/local/bin:/usr/bin:/bin')
        if entrypoint:
            lines.append('ENTRYPOINT ["%s"]' % entrypoint)
        with open(os.path.join(ctx, 'Dockerfile'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        self.docker.run(['build', '-q', '-t', ref, ctx], what='docker build %s' % ref)

    def build(self):
        bins = self._binaries()
        kubeadm = os.path.join(bins['kubernetes'], 'kubeadm')
        listed = Cli('kubeadm', kubeadm, module=self.docker.module).run(
            ['config', 'images', 'list', '--kubernetes-version', self.version], what='kubeadm config images list')
        wanted = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
        sources = wanted_sources(wanted, self.version, self.versions, bins)

        work = os.path.join(self.cache, 'work', 'node-image-%s' % self.key)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        made = []
        builder = 'okl-node-build-%s' % self.key
        try:
            tools = 'localhost/okl-node-tools:%s' % self.key
            self.docker.run(['build', '-q', '-t', tools, '--build-arg', 'OS_IMAGE=%s' % self.os_image,
                             '-f', os.path.join(self.recipe, 'images', 'Dockerfile.tools'), os.path.join(self.recipe, 'images')],
                            what='docker build %s' % tools)
            made.append(tools)
            for image, (path, how) in sorted(sources.items()):
                if how == 'os':  # kube-proxy runs iptables
                    self._image(work, image, path, tools)
                else:
                    self._image(work, image, path, 'scratch', '/usr/local/bin/%s' % os.path.basename(path) if how == 'entrypoint' else None)
                made.append(image)
            self._image(work, NETD_IMAGE, os.path.join(self.recipe, 'netd', 'okl-netd'), tools)
            made.append(NETD_IMAGE)
            images = sorted(sources) + [NETD_IMAGE]
            images_tar = os.path.join(work, 'images.tar')
            self.docker.run(['save', '-o', images_tar] + images, what='docker save of the node\'s images')

            ctx = os.path.join(work, 'ctx')
            os.makedirs(os.path.join(ctx, 'bin'))
            shutil.copy(os.path.join(self.recipe, 'Dockerfile'), ctx)
            shutil.copytree(os.path.join(self.recipe, 'rootfs'), os.path.join(ctx, 'rootfs'), symlinks=True)
            config = os.path.join(ctx, 'rootfs', 'etc', 'containerd', 'config.toml')
            with open(config) as f:
                text = f.read()
            with open(config, 'w') as f:
                f.write(text.replace('@PAUSE_VERSION@', self.versions['pause_tag']))
            os.makedirs(os.path.join(ctx, 'rootfs', 'kind', 'manifests'), exist_ok=True)
            with open(os.path.join(ctx, 'rootfs', 'kind', 'version'), 'w') as f:
                f.write(self.version + '\n')
            # kind applies the node image's default CNI (lab_model cni: kindnet): ours, okl-netd
            shutil.copy(os.path.join(self.recipe, 'netd', 'default-cni.manifest'), os.path.join(ctx, 'rootfs', 'kind', 'manifests', 'default-cni.yaml'))
            for name in NODE_COMMANDS:
                shutil.copy(os.path.join(bins['kubernetes'], name), os.path.join(ctx, 'bin'))
            shutil.copy(os.path.join(bins['crictl'], 'crictl'), os.path.join(ctx, 'bin'))
            rootfs_ref = '%s-rootfs:%s-%s' % (self.repository, self.version, self.key)
            self.docker.run(['build', '-q', '-t', rootfs_ref, '--build-arg', 'OS_IMAGE=%s' % self.os_image, ctx],
                            what='docker build of the node rootfs')
            made.append(rootfs_ref)

            self.docker.run(['rm', '-f', builder], check=False)
            self.docker.run(['run', '-d', '--name', builder, '--privileged', '--entrypoint', '/usr/bin/containerd', rootfs_ref],
                            what='docker run of the node rootfs with containerd')
            self._wait_containerd(builder)
            self.docker.run(['cp', images_tar, '%s:/okl-images.tar' % builder], what='docker cp of the node\'s images')
            self.docker.run(['exec', builder, 'ctr', '--namespace', 'k8s.io', 'images', 'import', '--all-platforms', '--no-unpack',
                             '/okl-images.tar'], what='ctr images import')
            self.docker.run(['exec', builder, 'rm', '/okl-images.tar'])
            have = self.docker.run(['exec', builder, 'ctr', '--namespace', 'k8s.io', 'images', 'list', '-q']).stdout.split()
            missing = [image for image in images if image not in have]
            if missing:
                raise BuildError('%s missing from the node\'s containerd after the import' % ', '.join(missing))
            self.docker.run(['exec', builder, 'pkill', '-TERM', '-x', 'containerd'])
            self.docker.run(['wait', builder])
            # the builder ran containerd as its entrypoint: give the node its own back (STOPSIGNAL and ENV stay)
            self.docker.run(['commit', '--change', 'ENTRYPOINT ["/usr/local/bin/okl-node-entrypoint", "/lib/systemd/systemd"]',
                             '--change', 'CMD []', builder, self.ref], what='docker commit of the node image')
            signal = self.docker.run(['image', 'inspect', '-f', '{{.Config.StopSignal}}', self.ref]).stdout.strip()
            if signal != STOP_SIGNAL:
                raise BuildError('%s stops with %r, not %s (systemd\'s halt)' % (self.ref, signal, STOP_SIGNAL))
            os.makedirs(os.path.dirname(self.archive), exist_ok=True)
            self.docker.run(['save', '-o', self.archive + '.tmp', self.ref], what='docker save %s' % self.ref)
            os.replace(self.archive + '.tmp', self.archive)
        finally:
            self.docker.run(['rm', '-f', builder], check=False)
            if made:
                self.docker.run(['rmi'] + made, check=False)
            shutil.rmtree(work, ignore_errors=True)
        return bins

    def _wait_containerd(self, builder):
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            result = self.docker.run(['exec', builder, 'ctr', 'version'], check=False)
            if result.rc == 0:
                return
            if time.monotonic() > deadline:
                raise BuildError('containerd in %s did not answer within %ds: %s' % (builder, READY_TIMEOUT, result.stderr.strip()))
            time.sleep(0.2)

    def prune(self):
        """Remove archives of older inputs of this Kubernetes version; return their paths."""
        directory = os.path.dirname(self.archive)
        gone = []
        if os.path.isdir(directory):
            for name in sorted(os.listdir(directory)):
                if name.startswith(self.version + '-') and name.endswith('.tar') and os.path.join(directory, name) != self.archive:
                    os.remove(os.path.join(directory, name))
                    gone.append(os.path.join(directory, name))
        return gone
