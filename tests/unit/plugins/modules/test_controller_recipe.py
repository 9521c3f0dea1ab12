"""The controller_recipe module on the real OpenKasugai v1.1.0 source (the site mirror's archive, unpacked
here: every controller's Dockerfile and go.sum), and its go.sum digest, by which the images stage orders
the controllers' builds."""

from __future__ import annotations

import hashlib
import os
import tarfile

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.modules import controller_recipe
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
CONTROLLERS = ['whitebox-k8s-flowctrl', 'WBFunction', 'WBConnection', 'CPUFunction', 'EthernetConnection', 'DeviceInfo', 'GPUFunction']


@pytest.fixture(name='source', scope='module')
def fixture_source(tmp_path_factory):
    """src/*/Dockerfile and src/*/go.sum of v1.1.0 (site mirror), or skip when there is no mirror."""
    mirror = os.environ.get('OKL_MIRROR') or os.path.join(REPO, '..', 'shared', 'mirror')
    archive = os.path.join(mirror, 'src', 'openkasugai-controller-v1.1.0.tar.gz')
    if not os.path.isfile(archive):
        pytest.skip('no site mirror with the v1.1.0 controller source at %s' % archive)
    root = tmp_path_factory.mktemp('controller')
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.count('/') == 3
                   and m.name.split('/')[1] == 'src' and m.name.rsplit('/', 1)[1] in ('Dockerfile', 'go.sum')]
        for member in members:
            member.name = member.name.split('/', 1)[1]
        tar.extractall(root, members=members, filter='data')
    return root


def test_the_controllers_sharing_a_go_sum_share_its_digest(source):
    failed, result = run_module(controller_recipe.main, {'source': str(source), 'controllers': CONTROLLERS})
    assert not failed, result
    sums = {name: recipe['go_sum'] for name, recipe in result['recipes'].items()}
    with open(source / 'src' / 'WBFunction' / 'go.sum', 'rb') as handle:
        shared = hashlib.sha256(handle.read()).hexdigest()
    # v1.1.0: every controller but the flow controller builds against one go.sum
    assert {name for name, value in sums.items() if value == shared} == set(CONTROLLERS) - {'whitebox-k8s-flowctrl'}
    assert sums['whitebox-k8s-flowctrl'] not in ('', shared)


def test_no_go_sum_copied_no_digest(tmp_path):
    (tmp_path / 'src' / 'A').mkdir(parents=True)
    (tmp_path / 'src' / 'A' / 'go.sum').write_text('x\n')
    assert controller_recipe.go_sum_digest(str(tmp_path), ['A/go.mod', 'A/main.go']) == ''
    assert controller_recipe.go_sum_digest(str(tmp_path), ['A/go.mod', 'A/go.sum']) == hashlib.sha256(b'x\n').hexdigest()
    assert controller_recipe.go_sum_digest(str(tmp_path), ['B/go.sum']) == ''
