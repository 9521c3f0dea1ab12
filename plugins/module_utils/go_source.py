# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Go programs built from the Go module proxy, as the lab builds what it cannot download.

Each build happens in a generated module (its own ``go.mod``) under ``<cache>/work/`` and lands in
``<cache>/bin/<name>/``, a directory named by what decides its output (the program, its version,
the packages, the recipe revision and, for our own main packages, their source). A directory with
its ``.done`` marker is reused as it is: a second run with the same inputs builds nothing. The Go
build and module caches (``GOCACHE``, ``GOMODCACHE`` in the environment given) make a rebuild
after an input change cheap.

The recipes:

* ``kubernetes``: packages of ``k8s.io/kubernetes`` (``cmd/kubectl`` ...). That module requires its
  staging modules (``k8s.io/api`` ...) as ``v0.0.0`` replaced by ``./staging`` paths, which a module
  download does not carry: the generated module pins each to the matching ``v0.<minor>.<patch>``.
  Version variables are stamped as Kubernetes' own build stamps them (``kubectl version`` says the
  version).
* ``module``: one main package of a published module at a version (etcd, ...), or a main package of
  ours (a directory of ``*.go``) built against required modules (CoreDNS with kubeadm's plugins,
  crictl against ``k8s.io/cri-api``, pause).

Standard library only apart from module_utils.cli and module_utils.buildah (a directory's digest).
"""

import hashlib
import os
import re
import shutil

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.buildah import context_entries

# Bump when a recipe changes what it produces.
RECIPE = 1
_K8S_VERSION = re.compile(r'^v1\.(\d+)\.(\d+)$')
_STAGING = re.compile(r'^\t(k8s\.io/[a-z0-9-]+) => \./staging/src/', re.M)
_GO_DIRECTIVE = re.compile(r'^go (\S+)', re.M)


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b'\0')
    return h.hexdigest()[:12]


def source_digest(directory):
    """A digest of the ``*.go`` files of ``directory`` (names, modes, contents), read as a build context is read."""
    return _digest(*[entry for entry in context_entries(directory) if entry[0].endswith('.go')])


def kubernetes_ldflags(version):
    """The -ldflags Kubernetes' own build gives its binaries (version, clean tree), without the commit we do not have."""
    match = _K8S_VERSION.match(version)
    if not match:
        raise ValueError('%r is not a Kubernetes release such as v1.34.1' % version)
    flags = ['-s', '-w']
    for pkg in ('k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'):
        flags += ['-X', '%s.gitVersion=%s' % (pkg, version), '-X', '%s.gitMajor=1' % pkg,
                  '-X', '%s.gitMinor=%s' % (pkg, match.group(1)), '-X', '%s.gitTreeState=clean' % pkg,
                  '-X', '%s.gitCommit=%s' % (pkg, '0' * 40), '-X', '%s.buildDate=1970-01-01T00:00:00Z' % pkg]
    return ' '.join(flags)


def kubernetes_go_mod(version, upstream_go_mod):
    """The go.mod of a module that builds k8s.io/kubernetes@version, from upstream's own go.mod text."""
    match = _K8S_VERSION.match(version)
    if not match:
        raise ValueError('%r is not a Kubernetes release such as v1.34.1' % version)
    staging = _STAGING.findall(upstream_go_mod)
    if not staging:
        raise ValueError('the go.mod of k8s.io/kubernetes@%s names no staging modules: it is not the file expected' % version)
    go = _GO_DIRECTIVE.search(upstream_go_mod)
    lines = ['module okl.local/kubernetes', '']
    if go:
        lines += ['go %s' % go.group(1), '']
    lines += ['require k8s.io/kubernetes %s' % version, '', 'replace (']
    lines += ['\t%s => %s v0.%s.%s' % (name, name, match.group(1), match.group(2)) for name in staging]
    lines += [')', '']
    return '\n'.join(lines)


class GoBuilder:
    """Builds with one Go toolchain (``go``: a Cli for the go binary) under ``cache`` (a directory)."""

    def __init__(self, go, cache, env=None, check_mode=False):
        self.go = go
        self.cache = cache
        self.env = dict(env or {})
        self.env.setdefault('GOTOOLCHAIN', 'local')
        self.env.setdefault('CGO_ENABLED', '0')
        self.check_mode = check_mode
        self.built = []  # the output directories this builder compiled, or would in check mode (not found ready)

    def output(self, name):
        return os.path.join(self.cache, 'bin', name)

    def _ready(self, out):
        return os.path.isfile(os.path.join(out, '.done'))

    def _skip(self, out):
        """True when ``out`` needs no build now: it is ready, or this is check mode (which records it as one it would build)."""
        if self._ready(out):
            return True
        if self.check_mode:
            self.built.append(out)
            return True
        return False

    def _work(self, name):
        work = os.path.join(self.cache, 'work', name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        return work

    def _run(self, args, work, what):
        env = dict(self.env, GOFLAGS=(self.env.get('GOFLAGS', '') + ' -mod=mod -modcacherw').strip())
        return self.go.run(args, env=env, what=what, cwd=work)

    def _build(self, ldflags, out, packages, work, what):
        """``go build -trimpath`` of ``packages`` into ``out`` with ``ldflags``. Binaries linked without DWARF (``-w``)
        are compiled without it too (``-dwarf=false``, which the go command gives the compiler only for ``go run``):
        the linker would drop it anyway, and a cold build of Kubernetes spends part of its compile making it."""
        args = ['build', '-trimpath', '-ldflags', ldflags]
        if '-w' in ldflags.split():
            args.append('-gcflags=all=-dwarf=false')
        return self._run(args + ['-o', out] + list(packages), work, what)

    def _finish(self, out, work):
        with open(os.path.join(out, '.done'), 'w') as f:
            f.write('recipe %d\n' % RECIPE)
        shutil.rmtree(work, ignore_errors=True)
        self.built.append(out)
        return out

    def kubernetes(self, version, commands):
        """Build ``commands`` (``kubectl``, ``kubelet`` ...) of Kubernetes ``version``; return their directory."""
        commands = sorted(set(commands))
        name = 'kubernetes-%s-%s-r%d' % (version, _digest(*commands), RECIPE)
        out = self.output(name)
        if self._skip(out):
            return out
        work = self._work(name)
        info = self.go.run(['mod', 'download', '-json', 'k8s.io/kubernetes@%s' % version], env=self.env, cwd=work,
                           what='go mod download k8s.io/kubernetes@%s' % version).json()
        with open(os.path.join(info['Dir'], 'go.mod')) as f:
            go_mod = kubernetes_go_mod(version, f.read())
        with open(os.path.join(work, 'go.mod'), 'w') as f:
            f.write(go_mod)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        self._build(kubernetes_ldflags(version), out + '/', ['k8s.io/kubernetes/cmd/%s' % c for c in commands], work,
                    'building Kubernetes %s (%s)' % (version, ', '.join(commands)))
        return self._finish(out, work)

    def module(self, name, package, requires, output, source_dir=None, ldflags='-s -w', go_version='1.24'):
        """Build main package ``package`` (of a required module, or '.' for the ``*.go`` of ``source_dir``) into ``<out>/<output>``.

        ``requires``: {module: version}; ``name``: the output directory's name (its version included).
        """
        key = [package, output, ldflags, go_version] + ['%s@%s' % kv for kv in sorted(requires.items())]
        if source_dir:
            key.append(source_digest(source_dir))
        out = self.output('%s-%s-r%d' % (name, _digest(*key), RECIPE))
        if self._skip(out):
            return out
        work = self._work(name)
        if source_dir:
            for file_name in os.listdir(source_dir):
                if file_name.endswith('.go'):
                    shutil.copy(os.path.join(source_dir, file_name), work)
        lines = ['module okl.local/%s' % re.sub(r'[^a-z0-9.-]', '-', name.lower()), '', 'go %s' % go_version, '']
        lines += ['require %s %s' % kv for kv in sorted(requires.items())]
        with open(os.path.join(work, 'go.mod'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        self._build(ldflags, os.path.join(out, output), [package], work, 'building %s (%s)' % (output, name))
        return self._finish(out, work)
