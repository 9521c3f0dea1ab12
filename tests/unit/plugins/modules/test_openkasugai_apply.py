"""Tests of the openkasugai_apply module: the steps applied in order, each once the kinds it waits for are ready.

Fake: kubectl (the in-memory API server of tests/unit/fake_kubectl.py) and, for the waits, a reader of the same store
that gives each object the status its controller would write (``StoreApi``); the OpenKasugai readiness rules
(module_utils/openkasugai.py) are the real ones. Against the real v1.1.0 controllers it runs in the e2e (every
scenario of site.yml).
"""

import json

from ansible_collections.openkasugai.all_in_one.plugins.modules import openkasugai_apply
from ansible_collections.openkasugai.all_in_one.tests.unit import fake_kubectl as fakes


class Module:
    def __init__(self, steps, check_mode=False):
        self.params = dict(steps=steps, group='example.com', ready_statuses=['Ready', 'Running', 'Deployed'], fail_statuses=['Error'],
                           check_pods=False, wait_timeout=30, wait_interval=0.001)
        self.check_mode = check_mode


def crd(kind):
    schema = {'type': 'object', 'properties': {'spec': {'type': 'object'}, 'status': {'type': 'object', 'properties': {'status': {'type': 'string'}}}}}
    return {'metadata': {'name': kind.lower() + 's.example.com'},
            'spec': {'group': 'example.com', 'scope': 'Namespaced',
                     'names': {'kind': kind, 'plural': kind.lower() + 's', 'singular': kind.lower()},
                     'versions': [{'name': 'v1', 'served': True, 'storage': True, 'schema': {'openAPIV3Schema': schema}}]}}


class StoreApi:
    """The waits' reads of the fake kubectl's store: each object with the status ``statuses[kind]`` says after as many
    listings of that kind (a list: one status per listing, the last one kept)."""

    def __init__(self, fake, statuses, log):
        self.fake, self.statuses, self.log, self.listed = fake, statuses, log, {}

    def list_crds(self):
        return [crd(kind) for kind in ('FunctionType', 'FunctionChain', 'DataFlow')]

    def list_objects(self, info, namespace=''):
        kind = info['kind']
        self.log.append('list ' + kind)
        n = self.listed[kind] = self.listed.get(kind, 0) + 1
        status = self.statuses.get(kind, ['Ready'])
        return [dict(obj, status={'status': status[min(n, len(status)) - 1]}) for obj in self.fake.store.values()
                if obj['kind'] == kind and (not namespace or obj['metadata']['namespace'] == namespace)]

    def list_pods(self, namespace=''):
        return []

    def list_events(self, namespace=''):
        return []


def ok_object(kind, name, ns='default', spec=None):
    return {'apiVersion': 'example.com/v1', 'kind': kind, 'metadata': {'name': name, 'namespace': ns}, 'spec': spec or {'x': name}}


TYPES = [fakes.secret('cpu-decode-config', 'default'), ok_object('FunctionType', 'cpu-decode'), ok_object('FunctionType', 'cpu-filter')]
CHAIN = ok_object('FunctionChain', 'chain')
DATAFLOW = ok_object('DataFlow', 'df')


def steps():
    return [{'objects': TYPES, 'ready_kinds': ['FunctionType'], 'namespace': 'default', 'min_count': 2},
            {'objects': [CHAIN], 'ready_kinds': ['FunctionChain'], 'namespace': 'default', 'min_count': 1},
            {'objects': [DATAFLOW], 'ready_kinds': ['DataFlow'], 'namespace': 'default', 'min_count': 1}]


def logged(fake, log):
    """The fake kubectl, logging each apply with the kinds it applies."""
    run = fake.run

    def runner(argv, data):
        if 'apply' in argv:
            log.append('apply ' + ','.join(sorted({obj['kind'] for obj in json.loads(data)['items']})))
        return run(argv, data)
    fake.run = runner
    return fake


def test_each_step_is_applied_once_the_kinds_before_are_ready_then_a_rerun_changes_nothing():
    log = []
    fake = logged(fakes.FakeKubectl({}), log)
    api = StoreApi(fake, {'FunctionType': ['', 'Pending', 'Ready'], 'FunctionChain': ['', 'Ready']}, log)
    result = openkasugai_apply.run(Module(steps()), fakes.applier(fake), lambda: api)
    assert result['changed']
    assert result['changed_objects'] == ['Secret default/cpu-decode-config', 'FunctionType default/cpu-decode', 'FunctionType default/cpu-filter',
                                         'FunctionChain default/chain', 'DataFlow default/df']
    # the chain only once both FunctionTypes are Ready (the third listing), the DataFlow once the chain is
    assert log == ['apply FunctionType,Secret', 'list FunctionType', 'list FunctionType', 'list FunctionType',
                   'apply FunctionChain', 'list FunctionChain', 'list FunctionChain', 'apply DataFlow', 'list DataFlow']
    assert [s['polls'] for s in result['steps']] == [3, 2, 1]
    assert [r['name'] for r in result['resources']] == ['df'] and result['table_lines'][0].startswith('KIND')
    log.clear()
    again = openkasugai_apply.run(Module(steps()), fakes.applier(fake), lambda: api)
    assert not again['changed'] and again['changed_objects'] == [] and [s['polls'] for s in again['steps']] == [1, 1, 1]


def test_a_failed_wait_names_its_step_and_applies_nothing_after_it():
    log = []
    fake = logged(fakes.FakeKubectl({}), log)
    api = StoreApi(fake, {'FunctionType': ['Error']}, log)
    result = openkasugai_apply.run(Module(steps()), fakes.applier(fake), lambda: api)
    assert result['msg'].startswith('step 1 (FunctionType in default): ')
    assert 'not ready' in result['msg'] and 'cpu-decode' in result['msg'] and 'Error' in result['msg']
    assert result['changed'] and len(result['steps']) == 1
    assert log == ['apply FunctionType,Secret', 'list FunctionType']
    assert not any(obj['kind'] in ('FunctionChain', 'DataFlow') for obj in fake.store.values())


def test_fewer_objects_than_wanted_is_not_ready():
    fake = fakes.FakeKubectl({})
    one_type = [{'objects': TYPES[:2], 'ready_kinds': ['FunctionType'], 'namespace': 'default', 'min_count': 2}]
    module = Module(one_type)
    module.params['wait_timeout'] = 0
    result = openkasugai_apply.run(module, fakes.applier(fake), lambda: StoreApi(fake, {}, []))
    assert '2 or more wanted' in result['msg']


def test_check_mode_writes_nothing_waits_for_nothing_and_says_what_would_change():
    fake = fakes.FakeKubectl({})
    first = openkasugai_apply.run(Module(steps(), check_mode=True), fakes.applier(fake, check_mode=True), lambda: 1 / 0)
    assert first['changed'] and len(first['changed_objects']) == 5 and fake.store == {}
    openkasugai_apply.run(Module(steps()), fakes.applier(fake), lambda: StoreApi(fake, {}, []))
    changed_chain = steps()
    changed_chain[1]['objects'] = [ok_object('FunctionChain', 'chain', spec={'x': 'other'})]
    again = openkasugai_apply.run(Module(changed_chain, check_mode=True), fakes.applier(fake, check_mode=True), lambda: 1 / 0)
    assert again['changed_objects'] == ['FunctionChain default/chain']
    assert [o['spec'] for o in fake.store.values() if o['kind'] == 'FunctionChain'] == [{'x': 'chain'}]   # not applied


def test_check_mode_on_a_cluster_without_the_crds_would_create_everything():
    fake = fakes.FakeKubectl({}, unknown_kinds=['FunctionType', 'FunctionChain', 'DataFlow'])
    result = openkasugai_apply.run(Module(steps(), check_mode=True), fakes.applier(fake, check_mode=True), lambda: 1 / 0)
    assert result['changed'] and len(result['changed_objects']) == 5
