"""Go programs built from the Go module proxy (module_utils.go_source).

The go.mod generation is checked against a real go.mod of k8s.io/kubernetes' shape; the builds run a real
Go toolchain when one is on PATH (an own main package, no network) and check that a second build of the
same inputs compiles nothing.
"""

import os
import shutil

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import go_source
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli

UPSTREAM_GO_MOD = """module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
\tgithub.com/spf13/cobra v1.9.1
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/cri-api => ./staging/src/k8s.io/cri-api
)
"""


def test_the_staging_modules_are_pinned_to_the_release_s_v0_minor_patch():
    text = go_source.kubernetes_go_mod('v1.34.1', UPSTREAM_GO_MOD)
    assert 'require k8s.io/kubernetes v1.34.1' in text
    assert 'go 1.24.0' in text
    for name in ('k8s.io/api', 'k8s.io/client-go', 'k8s.io/cri-api'):
        assert '\t%s => %s v0.34.1' % (name, name) in text
    assert './staging' not in text


@pytest.mark.parametrize('version', ['1.34.1', 'v1.34', 'main', 'v2.0.0'])
def test_a_version_that_is_no_kubernetes_release_is_refused(version):
    with pytest.raises(ValueError, match='is not a Kubernetes release'):
        go_source.kubernetes_go_mod(version, UPSTREAM_GO_MOD)


def test_a_go_mod_without_staging_modules_is_refused():
    with pytest.raises(ValueError, match='names no staging modules'):
        go_source.kubernetes_go_mod('v1.34.1', 'module k8s.io/kubernetes\n\ngo 1.24.0\n')


def test_the_binaries_say_their_version_as_kubernetes_stamps_it():
    flags = go_source.kubernetes_ldflags('v1.34.1')
    for pkg in ('k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'):
        assert '-X %s.gitVersion=v1.34.1' % pkg in flags
        assert '-X %s.gitMinor=34' % pkg in flags
        assert '-X %s.gitTreeState=clean' % pkg in flags


def test_the_output_directory_names_every_input(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'main.go').write_text('package main\n\nfunc main() {}\n')
    builder = go_source.GoBuilder(Cli('go'), str(tmp_path / 'cache'), check_mode=True)
    first = builder.module('pause', '.', {}, 'pause', source_dir=str(src))
    assert builder.module('pause', '.', {}, 'pause', source_dir=str(src)) == first
    assert builder.module('pause', '.', {}, 'pause', source_dir=str(src), ldflags='-s') != first
    (src / 'main.go').write_text('package main\n\nfunc main() { println() }\n')
    assert builder.module('pause', '.', {}, 'pause', source_dir=str(src)) != first
    assert builder.kubernetes('v1.34.1', ['kubectl']) != builder.kubernetes('v1.34.1', ['kubectl', 'kubeadm'])
    assert builder.kubernetes('v1.34.1', ['kubeadm', 'kubectl']) == builder.kubernetes('v1.34.1', ['kubectl', 'kubeadm'])
    # check mode builds nothing and says what it would build
    assert not os.path.exists(str(tmp_path / 'cache' / 'bin'))
    assert first in builder.built


@pytest.mark.skipif(shutil.which('go') is None, reason='no Go toolchain on PATH')
def test_a_main_package_is_built_once(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'main.go').write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("okl") }\n')
    env = {'GOCACHE': str(tmp_path / 'gocache'), 'GOMODCACHE': str(tmp_path / 'mod'), 'GOPROXY': 'off'}
    builder = go_source.GoBuilder(Cli('go'), str(tmp_path / 'cache'), env=env)
    out = builder.module('hello', '.', {}, 'hello', source_dir=str(src))
    assert builder.built == [out]
    rc, stdout, _err = Cli('hello', os.path.join(out, 'hello')).run([])
    assert (rc, stdout) == (0, 'okl\n')
    again = go_source.GoBuilder(Cli('go'), str(tmp_path / 'cache'), env=env)
    assert again.module('hello', '.', {}, 'hello', source_dir=str(src)) == out
    assert again.built == []
    assert not os.listdir(str(tmp_path / 'cache' / 'work'))  # work directories are removed after a build


@pytest.mark.parametrize(('ldflags', 'dwarf_off'), [('-s -w', True), ('-s -w -X main.v=1', True), ('-s', False), ('-X main.w=-w', False)])
def test_a_binary_linked_without_dwarf_is_compiled_without_it(tmp_path, ldflags, dwarf_off):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'main.go').write_text('package main\n\nfunc main() {}\n')
    calls = []
    go = Cli('go', '/usr/local/go/bin/go', runner=lambda argv, _input: (calls.append(argv), (0, '', ''))[1])
    go_source.GoBuilder(go, str(tmp_path / 'cache')).module('pause', '.', {}, 'pause', source_dir=str(src), ldflags=ldflags)
    (build,) = [argv for argv in calls if argv[1] == 'build']
    assert build[build.index('-ldflags') + 1] == ldflags
    assert ('-gcflags=all=-dwarf=false' in build) is dwarf_off
