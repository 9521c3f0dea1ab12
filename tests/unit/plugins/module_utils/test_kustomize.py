"""Tests of module_utils.kustomize (the kustomize_apply module's steps).

Real: the readiness rules on status shapes as the API server writes them (Kubernetes 1.34), the YAML parsing of a
rendered tree, the argv of every kubectl call. Fake: kubectl itself, a small in-memory API server (FakeKubectl) that
renders trees from a dict (tests/unit/fake_kubectl.py).
The module against a real cluster is the e2e's (tests/e2e: every add-on and OpenKasugai step of site.yml).
"""

import json

import pytest
import yaml
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kustomize
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.tests.unit.fake_kubectl import FakeKubectl, applier, crd, deployment, namespace, secret


def render(objs):
    return yaml.safe_dump_all(objs)


def test_first_apply_creates_all_and_a_second_changes_nothing():
    objs = [namespace('demo'), deployment('web')]
    fake = FakeKubectl({'/t': render(objs)})
    tree = applier(fake)
    rendered = tree.render('/t')
    assert rendered == objs
    assert [kustomize.label(k) for k in tree.apply(rendered)] == ['Namespace demo', 'Deployment demo/web']
    assert tree.apply(tree.render('/t')) == []
    apply_call = next(c for c in fake.calls if 'apply' in c)
    assert apply_call[:2] == ['--kubeconfig', '/kc'] and '--force-conflicts' in apply_call


def test_only_the_object_that_differs_is_changed():
    fake = FakeKubectl({'/t': render([namespace('demo'), deployment('web')])})
    tree = applier(fake)
    tree.apply(tree.render('/t'))
    changed = tree.apply([namespace('demo'), deployment('web', image='demo:2')])
    assert [kustomize.label(k) for k in changed] == ['Deployment demo/web']


def test_an_object_rendered_without_a_namespace_is_found_where_kubectl_put_it():
    web = deployment('web')
    del web['metadata']['namespace']
    fake = FakeKubectl({})
    tree = applier(fake)
    assert [kustomize.label(k) for k in tree.apply([web])] == ['Deployment web']
    assert kustomize.key(fake.store[('apps', 'Deployment', 'default', 'web')]) == ('apps', 'Deployment', 'default', 'web')
    assert tree.apply([web]) == []
    tree.wait([web], [], timeout=5)


def test_create_once_creates_a_missing_secret_once_and_never_applies_it():
    fake = FakeKubectl({})
    tree = applier(fake)
    created, namespaces = tree.create_missing([secret('cert')], [namespace('demo')])
    assert [kustomize.label(k) for k in created] == ['Secret demo/cert']
    assert [kustomize.label(k) for k in namespaces] == ['Namespace demo']
    fake.store[kustomize.key(secret('cert'))]['data'] = {'tls.crt': 'filled by the controller'}
    assert tree.create_missing([secret('cert')], [namespace('demo')]) == ([], [])
    assert fake.store[kustomize.key(secret('cert'))]['data'] == {'tls.crt': 'filled by the controller'}
    applied = [json.dumps(c) for c in fake.calls if 'apply' in c]
    assert len(applied) == 1  # the namespace, once, before the create


def test_check_mode_writes_nothing_and_says_what_would_change():
    fake = FakeKubectl({'/t': render([namespace('demo'), deployment('web')])})
    assert [kustomize.label(k) for k in applier(fake, check_mode=True).apply([namespace('demo'), deployment('web')])] == [
        'Namespace demo', 'Deployment demo/web']
    assert fake.store == {}
    applier(fake).apply([namespace('demo'), deployment('web')])
    check = applier(fake, check_mode=True)
    assert check.apply([namespace('demo'), deployment('web')]) == []
    assert [kustomize.label(k) for k in check.apply([namespace('demo'), deployment('web', image='demo:2')])] == ['Deployment demo/web']
    assert fake.store[kustomize.key(deployment('web'))]['spec']['template']['spec']['containers'][0]['image'] == 'demo:1'
    assert any('--dry-run=server' in c for c in fake.calls)


def test_wait_returns_once_workloads_and_crds_are_ready():
    objs = [crd('things.example.com'), deployment('web')]
    fake = FakeKubectl({}, ready_after=3)
    tree = applier(fake)
    tree.apply(objs)
    fake.reads = 0
    tree.wait(objs, [{'namespace': 'demo', 'name': 'web-hook'}], timeout=60)
    assert fake.reads == 4


def test_wait_times_out_naming_what_is_not_ready_and_why():
    pod = {'metadata': {'name': 'web-abc', 'namespace': 'demo'}, 'spec': {'nodeName': 'w1'},
           'status': {'phase': 'Pending', 'conditions': [{'type': 'Ready', 'status': 'False'}],
                      'containerStatuses': [{'name': 'c', 'ready': False, 'state': {'waiting': {'reason': 'ImagePullBackOff', 'message': 'not found'}}}]}}
    clock = iter(range(0, 1000, 10))
    fake = FakeKubectl({}, ready_after=10 ** 6, endpoints_ready=False, pods=[pod])
    tree = kustomize.TreeApplier(fake.cli(), '/kc', 'okl-test', interval=0, sleep=lambda s: None, clock=lambda: next(clock))
    objs = [crd('things.example.com'), deployment('web')]
    tree.apply(objs)
    with pytest.raises(CliError) as err:
        tree.wait(objs, [{'namespace': 'demo', 'name': 'web-hook'}], timeout=30)
    msg = err.value.msg
    assert msg.startswith('not ready after 30s: ')
    assert 'CustomResourceDefinition things.example.com: not Established: Installing' in msg
    assert 'Deployment demo/web: 0 of 1 replicas updated (Pod demo/web-abc: ImagePullBackOff' in msg
    assert 'Service demo/web-hook: the webhook has no ready endpoint yet' in msg
    assert ['get', 'pods', '-n', 'demo', '-l', 'app=web', '-o', 'json'] == fake.calls[-1][2:]


def test_wait_names_a_workload_that_is_gone():
    clock = iter(range(0, 1000, 10))
    fake = FakeKubectl({})
    tree = kustomize.TreeApplier(fake.cli(), '/kc', 'okl-test', interval=0, sleep=lambda s: None, clock=lambda: next(clock))
    with pytest.raises(CliError, match='Deployment demo/web: it does not exist'):
        tree.wait([deployment('web')], [], timeout=5)


@pytest.mark.parametrize('obj,ready,what', [
    ({'kind': 'Deployment', 'metadata': {'generation': 2}, 'spec': {'replicas': 2},
      'status': {'observedGeneration': 1, 'replicas': 2, 'updatedReplicas': 2, 'availableReplicas': 2}},
     False, 'its controller has not seen generation 2 yet'),
    ({'kind': 'Deployment', 'metadata': {'generation': 2}, 'spec': {'replicas': 2},
      'status': {'observedGeneration': 2, 'replicas': 3, 'updatedReplicas': 2, 'availableReplicas': 2}},
     False, '1 old replicas are still being replaced'),
    ({'kind': 'Deployment', 'metadata': {'generation': 1}, 'spec': {'replicas': 2},
      'status': {'observedGeneration': 1, 'replicas': 2, 'updatedReplicas': 2, 'availableReplicas': 1}},
     False, '1 of 2 updated replicas available'),
    ({'kind': 'Deployment', 'metadata': {'generation': 1}, 'spec': {'replicas': 0}, 'status': {'observedGeneration': 1}},
     True, '0 of 0 replicas available'),
    ({'kind': 'DaemonSet', 'metadata': {'generation': 3}, 'spec': {},
      'status': {'observedGeneration': 3, 'desiredNumberScheduled': 3, 'updatedNumberScheduled': 3, 'numberAvailable': 2}},
     False, '3 of 3 pods updated, 2 available'),
    ({'kind': 'DaemonSet', 'metadata': {'generation': 3}, 'spec': {},
      'status': {'observedGeneration': 3, 'desiredNumberScheduled': 2, 'updatedNumberScheduled': 2, 'numberAvailable': 2}},
     True, '2 of 2 pods available'),
    ({'kind': 'StatefulSet', 'metadata': {'generation': 1}, 'spec': {'replicas': 1},
      'status': {'observedGeneration': 1, 'updatedReplicas': 1, 'readyReplicas': 0}},
     False, '1 of 1 replicas updated, 0 ready'),
])
def test_workload_state(obj, ready, what):
    assert kustomize.workload_state(obj) == (ready, what)


def test_rendered_yaml_with_empty_documents_and_a_list_answer():
    assert kustomize.parse_rendered('---\n' + render([namespace('a')]) + '---\n') == [namespace('a')]
    assert kustomize.items({'kind': 'List', 'items': [namespace('a'), None]}) == [namespace('a')]
    assert kustomize.items({'kind': 'Namespace', 'metadata': {'name': 'a'}}) == [{'kind': 'Namespace', 'metadata': {'name': 'a'}}]
    assert kustomize.items(None) == []
    assert kustomize.parse_rendered('metadata:\n  annotations:\n    at: 2024-01-02T03:04:05Z\n') == [
        {'metadata': {'annotations': {'at': '2024-01-02T03:04:05Z'}}}]
    with pytest.raises(CliError, match='does not parse'):
        kustomize.parse_rendered('a: [b')


def test_comparable_leaves_out_what_the_server_writes():
    obj = dict(deployment('web'), status={'replicas': 1})
    obj['metadata'] = dict(obj['metadata'], resourceVersion='9', managedFields=[{'time': 'x'}], uid='u', generation=4)
    assert kustomize.comparable(obj) == deployment('web')
