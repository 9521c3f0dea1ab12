"""The node image built from source (module_utils.kind_base_image): what it is named after and what it builds.

The whole build runs in the e2e (tests/e2e/run.sh's tools phase, through the node_image role); these tests
check the pieces that decide the image's name and refuse what the recipe cannot serve.
"""

import os

import pytest

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kind_base_image

RECIPE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'node_image', 'files', 'from_source')
V134 = kind_base_image.components('v1.34.1')


def test_the_recipe_knows_what_kubeadm_1_34_asks_for():
    assert V134 == dict(etcd='v3.6.4', etcd_tag='3.6.4-0', coredns='v1.12.1', pause_tag='3.10.1', cri_api='v0.34.1')


def test_another_minor_needs_its_components_given():
    with pytest.raises(kind_base_image.BuildError, match='for v1.35.0 give etcd, etcd_tag, coredns, pause_tag, cri_api'):
        kind_base_image.components('v1.35.0')
    given = dict(V134, etcd='v3.6.5')
    assert kind_base_image.components('v1.35.0', given)['etcd'] == 'v3.6.5'


def test_the_image_is_named_after_every_input(tmp_path):
    recipe = tmp_path / 'recipe'
    recipe.mkdir()
    (recipe / 'Dockerfile').write_text('ARG OS_IMAGE\nFROM ${OS_IMAGE}\n')
    first = kind_base_image.inputs_digest('v1.34.1', V134, str(recipe), 'sha256:aaa')
    assert kind_base_image.inputs_digest('v1.34.1', V134, str(recipe), 'sha256:aaa') == first
    assert kind_base_image.inputs_digest('v1.34.2', V134, str(recipe), 'sha256:aaa') != first
    assert kind_base_image.inputs_digest('v1.34.1', dict(V134, etcd='v3.6.5'), str(recipe), 'sha256:aaa') != first
    assert kind_base_image.inputs_digest('v1.34.1', V134, str(recipe), 'sha256:bbb') != first  # another OS image
    (recipe / 'Dockerfile').chmod(0o755)
    assert kind_base_image.inputs_digest('v1.34.1', V134, str(recipe), 'sha256:aaa') != first  # modes count
    (recipe / 'Dockerfile').write_text('ARG OS_IMAGE\nFROM ${OS_IMAGE}\nRUN true\n')
    assert kind_base_image.inputs_digest('v1.34.1', V134, str(recipe), 'sha256:aaa') != first


def test_the_shipped_recipe_has_what_the_build_reads():
    for needed in ('Dockerfile', 'images/Dockerfile.tools', 'rootfs/etc/containerd/config.toml', 'netd/default-cni.manifest',
                   'pause/main.go', 'coredns/main.go', 'crictl/main.go', 'netd/okl-netd'):
        assert os.path.isfile(os.path.join(RECIPE, needed)), needed
    with open(os.path.join(RECIPE, 'rootfs', 'etc', 'containerd', 'config.toml')) as f:
        assert '@PAUSE_VERSION@' in f.read()  # replaced by the pause tag kubeadm asks for
    for dockerfile in ('Dockerfile', 'images/Dockerfile.tools'):
        with open(os.path.join(RECIPE, dockerfile)) as f:
            assert 'FROM ${OS_IMAGE}' in f.read()


BINS = {name: '/b/' + name for name in ('kubernetes', 'etcd', 'coredns', 'pause', 'crictl')}
KUBEADM_1_34 = ['registry.k8s.io/kube-apiserver:v1.34.1', 'registry.k8s.io/kube-controller-manager:v1.34.1',
                'registry.k8s.io/kube-scheduler:v1.34.1', 'registry.k8s.io/kube-proxy:v1.34.1',
                'registry.k8s.io/coredns/coredns:v1.12.1', 'registry.k8s.io/pause:3.10.1', 'registry.k8s.io/etcd:3.6.4-0']


def test_each_image_kubeadm_lists_gets_its_binary():
    sources = kind_base_image.wanted_sources(KUBEADM_1_34, 'v1.34.1', V134, BINS)
    assert sources['registry.k8s.io/kube-proxy:v1.34.1'] == ('/b/kubernetes/kube-proxy', 'os')  # iptables
    assert sources['registry.k8s.io/etcd:3.6.4-0'] == ('/b/etcd/etcd', 'scratch')
    assert sources['registry.k8s.io/pause:3.10.1'] == ('/b/pause/pause', 'entrypoint')
    assert len(sources) == 7


def test_an_image_kubeadm_asks_for_that_the_recipe_does_not_build_is_named():
    wanted = KUBEADM_1_34[:-1] + ['registry.k8s.io/etcd:3.6.5-0']
    with pytest.raises(kind_base_image.BuildError, match=r'asks for registry.k8s.io/etcd:3.6.5-0'):
        kind_base_image.wanted_sources(wanted, 'v1.34.1', V134, BINS)
