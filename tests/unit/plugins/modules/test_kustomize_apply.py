"""Tests of the kustomize_apply module: which objects are created once and which applied, and what it returns.

Fake: kubectl (the in-memory API server of tests/unit/fake_kubectl.py); the module against a
real cluster is the e2e's (every add-on and OpenKasugai step of site.yml).
"""

import json

import pytest
import yaml
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kustomize
from ansible_collections.openkasugai.all_in_one.plugins.modules import kustomize_apply
from ansible_collections.openkasugai.all_in_one.tests.unit import fake_kubectl as fakes


class Module:
    def __init__(self, params, check_mode=False):
        self.params = dict(dict(create_once=[], webhooks=[], wait=True, wait_timeout=30, resources=[], definitions=[], images=[], namespace="",
                                patches=[], files=[], config_maps=[], trees=[], missing_hint='', absent=[], render_only=False), **params)
        self.check_mode = check_mode


TREE = [fakes.namespace('metallb-system'), fakes.secret('webhook-cert', 'metallb-system'), fakes.deployment('controller', 'metallb-system'),
        fakes.secret('other', 'metallb-system')]


def test_split_takes_the_create_once_objects_and_their_namespaces_out():
    once, namespaces, rest = kustomize_apply.split(TREE, [{'kind': 'Secret', 'name': 'webhook-cert', 'namespace': ''}])
    assert once == [TREE[1]]
    assert namespaces == [TREE[0]]
    assert rest == [TREE[0], TREE[2], TREE[3]]
    assert kustomize_apply.split(TREE, [{'kind': 'Secret', 'name': 'webhook-cert', 'namespace': 'elsewhere'}])[0] == []


def test_run_reports_what_changed_then_nothing():
    fake = fakes.FakeKubectl({'/m': yaml.safe_dump_all(TREE)})
    module = Module({'path': '/m', 'create_once': [{'kind': 'Secret', 'name': 'webhook-cert', 'namespace': ''}]})
    first = kustomize_apply.run(module, fakes.applier(fake))
    assert first['changed'] and first['objects'] == 4
    assert first['created_once'] == ['Secret metallb-system/webhook-cert']
    assert first['changed_objects'] == ['Secret metallb-system/webhook-cert', 'Namespace metallb-system',
                                        'Deployment metallb-system/controller', 'Secret metallb-system/other']
    again = kustomize_apply.run(module, fakes.applier(fake))
    assert not again['changed'] and again['changed_objects'] == [] and again['created_once'] == []


def test_check_mode_neither_writes_nor_waits():
    fake = fakes.FakeKubectl({'/m': yaml.safe_dump_all(TREE)}, ready_after=10 ** 6)
    result = kustomize_apply.run(Module({'path': '/m'}, check_mode=True), fakes.applier(fake, check_mode=True))
    assert result['changed'] and result['waited'] == 0.0
    assert fake.store == {}


def test_render_only_returns_each_trees_objects_and_applies_nothing():
    fake = fakes.FakeKubectl({'/a': yaml.safe_dump_all(TREE[:2]), '/b': yaml.safe_dump_all(TREE[2:])})
    trees = [tree_params('/a', create_once=[], webhooks=[], step=0), tree_params('/b', create_once=[], webhooks=[], step=1)]
    result = kustomize_apply.run(Module({'path': None, 'trees': trees, 'render_only': True}), fakes.applier(fake))
    assert result['rendered'] == [{'path': '/a', 'objects': TREE[:2]}, {'path': '/b', 'objects': TREE[2:]}]
    assert not result['changed'] and result['objects'] == 4 and result['changed_objects'] == []
    assert fake.store == {}
    assert [call for call in fake.calls if call[0] != 'kustomize'] == []


def tree_params(path, **extra):
    params = dict(path=str(path), resources=[], definitions=[], images=[], namespace='', patches=[], files=[], config_maps=[])
    params.update(extra)
    return params


def test_the_kustomization_written_is_what_kustomize_reads(tmp_path):
    params = tree_params(tmp_path / 'step', resources=['../src/CPUFunction/config/default'], namespace='default',
                         images=[{'name': 'controller', 'new_name': 'localhost/cpufunction', 'new_tag': '1.1.0', 'digest': ''}],
                         patches=[{'target': {'kind': 'Deployment'}, 'patch': 'apiVersion: apps/v1\nkind: Deployment\n'}])
    doc = yaml.safe_load(kustomize_apply.kustomization(params))
    assert doc == {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization', 'namespace': 'default',
                   'resources': ['../src/CPUFunction/config/default'],
                   'images': [{'name': 'controller', 'newName': 'localhost/cpufunction', 'newTag': '1.1.0'}],
                   'patches': [{'target': {'kind': 'Deployment'}, 'patch': 'apiVersion: apps/v1\nkind: Deployment\n'}]}


def test_write_tree_writes_once_and_check_mode_writes_nothing(tmp_path):
    src = tmp_path / 'daemonset.yaml'
    src.write_text('kind: DaemonSet\n')
    params = tree_params(tmp_path / 'step', resources=['daemonset.yaml'], files=[{'src': str(src), 'dest': 'daemonset.yaml'}])
    assert kustomize_apply.write_tree(params, check_mode=True) == [str(tmp_path / 'step' / 'daemonset.yaml'),
                                                                   str(tmp_path / 'step' / 'kustomization.yaml')]
    assert not (tmp_path / 'step').exists()
    assert len(kustomize_apply.write_tree(params, check_mode=False)) == 2
    assert (tmp_path / 'step' / 'daemonset.yaml').read_text() == 'kind: DaemonSet\n'
    assert oct((tmp_path / 'step' / 'kustomization.yaml').stat().st_mode & 0o777) == '0o644'
    assert kustomize_apply.write_tree(params, check_mode=False) == []
    src.write_text('kind: DaemonSet\nmetadata: {}\n')
    assert kustomize_apply.write_tree(params, check_mode=True) == [str(tmp_path / 'step' / 'daemonset.yaml')]


def test_a_missing_file_to_copy_is_named(tmp_path):
    params = tree_params(tmp_path / 'step', files=[{'src': str(tmp_path / 'nope.yaml'), 'dest': 'x.yaml'}])
    try:
        kustomize_apply.write_tree(params, check_mode=False)
    except kustomize_apply.CliError as exc:
        assert str(tmp_path / 'nope.yaml') in exc.msg and 'x.yaml' in exc.msg
    else:
        raise AssertionError('no error for a missing file')


def test_a_ready_tree_that_changes_nothing_is_rendered_read_and_applied_once():
    fake = fakes.FakeKubectl({'/m': yaml.safe_dump_all(TREE)})
    module = Module({'path': '/m', 'create_once': [{'kind': 'Secret', 'name': 'webhook-cert', 'namespace': ''}]})
    kustomize_apply.run(module, fakes.applier(fake))
    fake.calls.clear()
    kustomize_apply.run(module, fakes.applier(fake))
    # render; read the create-once Secret; read the rest; apply (its answer is the after and the wait's first look)
    assert [call[2] if call[0] == '--kubeconfig' else call[0] for call in fake.calls] == ['kustomize', 'get', 'get', 'apply']


def test_trees_are_read_and_applied_together_and_a_copy_in_two_trees_once():
    crd = fakes.crd('functions.example.com')
    fake = fakes.FakeKubectl({'/a': yaml.safe_dump_all([crd, fakes.deployment('a-manager')]),
                              '/b': yaml.safe_dump_all([crd, fakes.deployment('b-manager')])})
    module = Module({'path': None, 'trees': [tree_params('/a', create_once=[], webhooks=[]), tree_params('/b', create_once=[], webhooks=[])]})
    first = kustomize_apply.run(module, fakes.applier(fake))
    assert first['objects'] == 4
    assert first['changed_objects'] == ['CustomResourceDefinition functions.example.com', 'Deployment demo/a-manager', 'Deployment demo/b-manager']
    fake.calls.clear()
    again = kustomize_apply.run(module, fakes.applier(fake))
    assert not again['changed']
    # a render per tree, then one read and one apply for both
    assert [call[2] if call[0] == '--kubeconfig' else call[0] for call in fake.calls] == ['kustomize', 'kustomize', 'get', 'apply']


def test_steps_are_applied_in_order_each_once_the_one_before_is_ready():
    crd = fakes.crd('functions.example.com')
    fake = fakes.FakeKubectl({'/crds': yaml.safe_dump_all([crd]), '/maps': yaml.safe_dump_all([fakes.secret('maps')]),
                              '/manager': yaml.safe_dump_all([crd, fakes.deployment('manager')])}, ready_after=2)
    trees = [tree_params('/manager', create_once=[], webhooks=[], step=1), tree_params('/crds', create_once=[], webhooks=[], step=0),
             tree_params('/maps', create_once=[], webhooks=[])]
    first = kustomize_apply.run(Module({'path': None, 'trees': trees}), fakes.applier(fake))
    assert first['objects'] == 4
    assert first['changed_objects'] == ['CustomResourceDefinition functions.example.com', 'Secret demo/maps', 'Deployment demo/manager']
    calls = [call[2] if call[0] == '--kubeconfig' else call[0] for call in fake.calls]
    # every tree rendered first; step 0 (the CRDs and the maps) read, applied and waited on until the CRD is
    # Established, then step 1
    assert calls[:3] == ['kustomize', 'kustomize', 'kustomize']
    applies = [i for i, call in enumerate(calls) if call == 'apply']
    assert len(applies) == 2 and 'get' in calls[applies[0] + 1:applies[1]]
    assert [o['kind'] for o in json.loads(fake.inputs[applies[0]])['items']] == ['CustomResourceDefinition', 'Secret']
    assert [o['kind'] for o in json.loads(fake.inputs[applies[1]])['items']] == ['CustomResourceDefinition', 'Deployment']
    fake.calls.clear()
    assert not kustomize_apply.run(Module({'path': None, 'trees': trees}), fakes.applier(fake))['changed']


def test_a_step_that_does_not_get_ready_stops_the_steps_after_it():
    fake = fakes.FakeKubectl({'/a': yaml.safe_dump_all([fakes.deployment('a')]), '/b': yaml.safe_dump_all([fakes.deployment('b')])},
                             ready_after=10 ** 6)
    applier = kustomize.TreeApplier(fake.cli(), '/kc', 'okl-test', interval=0, sleep=lambda s: None, clock=iter(range(0, 10 ** 6, 100)).__next__)
    trees = [tree_params('/a', create_once=[], webhooks=[]), tree_params('/b', create_once=[], webhooks=[], step=1)]
    with pytest.raises(kustomize_apply.CliError, match='Deployment demo/a'):
        kustomize_apply.run(Module({'path': None, 'trees': trees, 'wait_timeout': 30}), applier)
    assert list(fake.store) == [kustomize.key(fakes.deployment('a'))]


def test_merged_keeps_the_first_place_and_the_last_copy():
    first, other, last = fakes.deployment('m', image='demo:1'), fakes.secret('s'), fakes.deployment('m', image='demo:2')
    assert kustomize_apply.merged([first, other, last]) == [last, other]


def test_a_missing_resource_fails_before_anything_is_written_and_is_changed_in_check_mode(tmp_path):
    tree = tree_params(tmp_path / 'step', resources=['../src/Nope/config/crd'], create_once=[], webhooks=[])
    fake = fakes.FakeKubectl({})
    module = Module({'path': None, 'trees': [tree], 'missing_hint': 'fix lab_controller_source'})
    try:
        kustomize_apply.run(module, fakes.applier(fake))
    except kustomize_apply.CliError as exc:
        assert exc.msg == '{}: {} does not exist: fix lab_controller_source'.format(tmp_path / 'step', tmp_path / 'src/Nope/config/crd')
    else:
        raise AssertionError('no error for a missing resource')
    assert not (tmp_path / 'step').exists() and fake.calls == []
    result = kustomize_apply.run(Module(module.params, check_mode=True), fakes.applier(fake, check_mode=True))
    assert result['changed'] and result['not_rendered'] == [str(tmp_path / 'step')] and fake.calls == []


def test_a_resource_beside_a_tree_not_written_yet_is_found(tmp_path):
    # a first apply: the tree's directory (and its parent) does not exist yet, its resource does, beside it
    (tmp_path / 'src/WBFunction/config/crd').mkdir(parents=True)
    tree = tree_params(tmp_path / 'addons/step', resources=['../../src/WBFunction/config/crd', '../../src/Nope'])
    assert kustomize_apply.missing_sources(tree) == [str(tmp_path / 'src/Nope')]


def test_remote_resources_are_not_looked_for_on_disk():
    assert kustomize_apply.is_remote('https://example.com/manifest.yaml')
    assert kustomize_apply.is_remote('github.com/k8snetworkplumbingwg/multus-cni/deployments?ref=v4.1.0')
    assert not kustomize_apply.is_remote('../../controller/src/WBFunction/config/crd')
    assert not kustomize_apply.is_remote('manifest.yaml')


def test_definitions_are_written_into_the_tree_and_listed_in_its_kustomization(tmp_path):
    config = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'functionkindmap', 'namespace': 'default'},
              'data': {'functionkindmap.json': '{\n  "cpu": "CPUFunction"\n}\n'}}
    params = tree_params(tmp_path / 'maps', resources=['extra.yaml'], definitions=[config])
    written = kustomize_apply.write_tree(params, check_mode=False)
    assert written == [str(tmp_path / 'maps' / 'definitions.yaml'), str(tmp_path / 'maps' / 'kustomization.yaml')]
    assert list(yaml.safe_load_all((tmp_path / 'maps' / 'definitions.yaml').read_text())) == [config]
    assert yaml.safe_load((tmp_path / 'maps' / 'kustomization.yaml').read_text())['resources'] == ['extra.yaml', 'definitions.yaml']
    assert kustomize_apply.write_tree(params, check_mode=False) == []
    # only definitions: the kustomization is written all the same, and definitions.yaml is no missing source
    alone = tree_params(tmp_path / 'alone', definitions=[config])
    assert kustomize_apply.missing_sources(alone) == []
    kustomize_apply.write_tree(alone, check_mode=False)
    assert yaml.safe_load((tmp_path / 'alone' / 'kustomization.yaml').read_text())['resources'] == ['definitions.yaml']


def test_config_maps_are_generated_from_files_copied_into_the_tree(tmp_path):
    src = tmp_path / 'src' / 'functionkindmap.json'
    src.parent.mkdir()
    src.write_text('{\n  "cpu": "CPUFunction"\n}\n')
    params = tree_params(tmp_path / 'maps', config_maps=[{'name': 'functionkindmap', 'namespace': 'default', 'files': [str(src)]},
                                                         {'name': 'same-namespace', 'namespace': '', 'files': [str(src)]}])
    assert kustomize_apply.missing_sources(params) == []
    written = kustomize_apply.write_tree(params, check_mode=False)
    assert written == [str(tmp_path / 'maps' / 'functionkindmap.json'), str(tmp_path / 'maps' / 'kustomization.yaml')]
    assert (tmp_path / 'maps' / 'functionkindmap.json').read_text() == src.read_text()
    doc = yaml.safe_load((tmp_path / 'maps' / 'kustomization.yaml').read_text())
    assert doc == {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization', 'resources': [],
                   'configMapGenerator': [
                       {'name': 'functionkindmap', 'namespace': 'default', 'files': ['functionkindmap.json'],
                        'options': {'disableNameSuffixHash': True}},
                       {'name': 'same-namespace', 'files': ['functionkindmap.json'], 'options': {'disableNameSuffixHash': True}}]}
    assert kustomize_apply.write_tree(params, check_mode=False) == []
    # a file that is not there is a missing source; two files of one name cannot both be copied
    gone = tree_params(tmp_path / 'gone', config_maps=[{'name': 'x', 'namespace': '', 'files': [str(tmp_path / 'nope.json')]}])
    assert kustomize_apply.missing_sources(gone) == [str(tmp_path / 'nope.json')]
    other = tmp_path / 'other' / 'functionkindmap.json'
    other.parent.mkdir()
    other.write_text('{}')
    clash = tree_params(tmp_path / 'clash', config_maps=[{'name': 'a', 'namespace': '', 'files': [str(src)]},
                                                         {'name': 'b', 'namespace': '', 'files': [str(other)]}])
    with pytest.raises(kustomize_apply.CliError, match='two files would be copied into the tree as functionkindmap.json'):
        kustomize_apply.write_tree(clash, check_mode=False)
    assert not (tmp_path / 'clash').exists()


def test_absent_objects_that_exist_are_deleted_first_and_an_unknown_kind_has_none():
    fake = fakes.FakeKubectl({'/m': yaml.safe_dump_all([fakes.deployment('kept')])}, unknown_kinds=['IPAddressPool'])
    old = {'apiVersion': 'apps/v1', 'kind': 'DaemonSet', 'metadata': {'name': 'old-plugin', 'namespace': 'kube-system'}}
    fake.store[('apps', 'DaemonSet', 'kube-system', 'old-plugin')] = old
    absent = [{'api_version': 'apps/v1', 'kind': 'DaemonSet', 'namespace': 'kube-system', 'name': 'old-plugin'},
              {'api_version': 'v1', 'kind': 'ConfigMap', 'namespace': 'kube-system', 'name': 'old-plugin'},
              {'api_version': 'metallb.io/v1beta1', 'kind': 'IPAddressPool', 'namespace': 'metallb-system', 'name': 'old-pool'}]
    params = {'path': '/m', 'absent': absent}
    check = kustomize_apply.run(Module(params, check_mode=True), fakes.applier(fake, check_mode=True))
    assert check['changed'] and check['deleted'] == ['DaemonSet kube-system/old-plugin']
    assert ('apps', 'DaemonSet', 'kube-system', 'old-plugin') in fake.store
    fake.calls.clear()
    first = kustomize_apply.run(Module(params), fakes.applier(fake))
    assert first['deleted'] == ['DaemonSet kube-system/old-plugin']
    assert ('apps', 'DaemonSet', 'kube-system', 'old-plugin') not in fake.store
    deletes = [call for call in fake.calls if 'delete' in call]
    assert len(deletes) == 1 and '--cascade=foreground' in deletes[0] and '--wait' in deletes[0]
    again = kustomize_apply.run(Module(params), fakes.applier(fake))
    assert not again['changed'] and again['deleted'] == []
