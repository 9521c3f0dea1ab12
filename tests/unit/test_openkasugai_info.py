# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""openkasugai_info and plugins/module_utils/openkasugai.py.

Real: all of module_utils/openkasugai.py; the module's main() run in-process through AnsibleModule
(fakesys.run_module), and once through ``ansible localhost -m`` (AnsiballZ packaging, module_utils
import); the ``kubernetes`` Python client itself (new_client_from_config reading a real kubeconfig file,
ApiextensionsV1Api, CustomObjectsApi, urllib3 doing real HTTP).

Stand-in, only at the API boundary: ``FakeApiServer``, a small HTTP server on 127.0.0.1 that answers the
three GET paths a Kubernetes API server would for this module (CRD list, cluster-wide and namespaced custom
object lists) with JSON shaped like the real one, built from the upstream controllers' types
(github.com/openkasugai/controller src/*/api/v1/*_types.go: status field names and status strings).
No cluster, controller or kubectl is involved; the lead's e2e runs the module against a real kind cluster.
The poll-loop tests use an injected clock and sleep (no real waiting).
"""

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.modules import openkasugai_info
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
READY = set(ok.DEFAULT_READY_STATUSES)


# ---------------------------------------------------------------- realistic CRDs and objects

def _crd(kind, plural, status_props, group='example.com', versions=None, scope='Namespaced', short=None):
    """A CRD as controller-gen writes them (example.com_<plural>.yaml), trimmed to what matters."""
    schema = {'type': 'object', 'properties': {
        'apiVersion': {'type': 'string'}, 'kind': {'type': 'string'}, 'metadata': {'type': 'object'},
        'spec': {'type': 'object', 'properties': {'x': {'type': 'string'}}}}}
    if status_props is not None:
        schema['properties']['status'] = {'type': 'object', 'properties': status_props}
    versions = versions or [{'name': 'v1', 'served': True, 'storage': True}]
    for version in versions:
        version.setdefault('schema', {'openAPIV3Schema': schema})
    names = {'kind': kind, 'listKind': kind + 'List', 'plural': plural, 'singular': kind.lower()}
    if short:
        names['shortNames'] = short
    return {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',
            'metadata': {'name': f'{plural}.{group}'},
            'spec': {'group': group, 'names': names, 'scope': scope, 'versions': versions}}


STR = {'type': 'string'}
REF = {'type': 'object', 'properties': {'namespace': STR, 'name': STR}}
CRDS = [
    # whitebox-k8s-flowctrl/api/v1/dataflow_types.go: status.status plus the scheduling result
    _crd('DataFlow', 'dataflows', {'status': STR, 'functionChain': {'type': 'object'}, 'startPoint': STR}, short=['df']),
    # CPUFunction/api/v1/cpufunction_types.go: status.status defaults to Pending
    _crd('CPUFunction', 'cpufunctions', {'status': {'type': 'string', 'default': 'Pending'}, 'dataFlowRef': REF,
                                         'podName': STR, 'functionName': STR}),
    # EthernetConnection: overall status plus one per side (OK/INIT/NG)
    _crd('EthernetConnection', 'ethernetconnections', {'status': STR, 'from': {'type': 'object', 'properties': {'status': STR}},
                                                       'to': {'type': 'object', 'properties': {'status': STR}}}),
    # DeviceInfo/api/v1/deviceinfo_types.go: status.response.status
    _crd('DeviceInfo', 'deviceinfos', {'response': {'type': 'object', 'properties': {'status': STR, 'deviceUUID': STR}}}),
    # whitebox-k8s-flowctrl/api/v1/computeresource_types.go: a status per region only
    _crd('ComputeResource', 'computeresources', {'nodeName': STR, 'regions': {'type': 'array', 'items': {
        'type': 'object', 'properties': {'status': STR, 'name': STR}}}}),
    # a CRD served in two versions: v1 is the storage one, v1alpha1 must not be used
    _crd('FunctionType', 'functiontypes', {'status': STR, 'regionTypeCandidates': {'type': 'array'}},
         versions=[{'name': 'v1alpha1', 'served': True, 'storage': False}, {'name': 'v1', 'served': True, 'storage': True}]),
    # not OpenKasugai: another group, never listed
    _crd('IPPool', 'ippools', {'phase': STR}, group='nv-ipam.nvidia.com'),
]


def _meta(name, namespace='default'):
    return {'name': name, 'namespace': namespace, 'uid': 'u-' + name, 'creationTimestamp': '2025-01-01T00:00:00Z'}


def dataflow(name, status):
    return {'apiVersion': 'example.com/v1', 'kind': 'DataFlow', 'metadata': _meta(name),
            'spec': {'functionChainRef': {'namespace': 'chain-imgproc', 'name': 'cpu-decode-filter-resize-glue-infer-chain'}},
            'status': {'status': status, 'startPoint': '', 'functionChain': {'metadata': {'name': 'x'}}}}


def cpufunction(name, status, namespace='default'):
    return {'apiVersion': 'example.com/v1', 'kind': 'CPUFunction', 'metadata': _meta(name, namespace),
            'spec': {'functionName': 'cpu-decode', 'nodeName': 'kasugai-worker', 'deviceType': 'cpu'},
            'status': {'status': status, 'functionName': 'cpu-decode', 'dataFlowRef': {'namespace': 'default', 'name': 'df'},
                       'startTime': '2025-01-01T00:00:01Z', 'podName': name + '-pod'}}


def ethernetconnection(name, status, side='OK'):
    return {'apiVersion': 'example.com/v1', 'kind': 'EthernetConnection', 'metadata': _meta(name),
            'status': {'status': status, 'from': {'status': side}, 'to': {'status': side}}}


def computeresource(node):
    return {'apiVersion': 'example.com/v1', 'kind': 'ComputeResource', 'metadata': _meta('compute-' + node),
            'spec': {'nodeName': node}, 'status': {'nodeName': node, 'regions': [
                {'name': 'cpu-0', 'status': 'Ready', 'type': 'cpu', 'available': True}]}}


def deviceinfo(name, status):
    return {'apiVersion': 'example.com/v1', 'kind': 'DeviceInfo', 'metadata': _meta(name),
            'status': {'response': {'status': status, 'deviceUUID': 'GPU-1'}}}


# ---------------------------------------------------------------- status extraction

def _schema_of(kind):
    crd = next(c for c in CRDS if c['spec']['names']['kind'] == kind)
    return ok.served_version(crd)['schema']['openAPIV3Schema']


@pytest.mark.parametrize('obj, expected', [
    (dataflow('df', 'Scheduling in progress'), 'Scheduling in progress'),
    (dataflow('df', 'Deployed'), 'Deployed'),
    (cpufunction('f', 'Pending'), 'Pending'),
    # the overall status counts, not the per-side OK
    (ethernetconnection('e', 'Pending', side='OK'), 'Pending'),
    (deviceinfo('d', 'Deployed'), 'Deployed'),
    # a region status must not be taken for the object's
    (computeresource('kasugai-worker'), ''),
    ({'metadata': _meta('new')}, ''),  # created, not reconciled yet
])
def test_status_of_upstream_kinds(obj, expected):
    assert ok.extract_status(obj) == expected


def test_status_places_in_order():
    """status.status, then phase, then response.status, then the Ready condition, then nothing."""
    assert ok.extract_status({'status': {'status': 'Running', 'phase': 'Failed'}}) == 'Running'
    assert ok.extract_status({'status': {'status': '', 'phase': 'Bound'}}) == 'Bound'
    assert ok.extract_status({'status': {'response': {'status': 'Initial'}}}) == 'Initial'
    conds = [{'type': 'Synced', 'status': 'True'}, {'type': 'Ready', 'status': 'True', 'reason': 'Done'}]
    assert ok.extract_status({'status': {'conditions': conds}}) == 'Ready'
    assert ok.extract_status({'status': {'conditions': [{'type': 'Ready', 'status': 'False', 'reason': 'ImagePullBackOff'}]}}) == 'ImagePullBackOff'
    assert ok.extract_status({'status': {'conditions': [{'type': 'Ready', 'status': 'False'}]}}) == 'NotReady'
    assert ok.extract_status({'status': {'conditions': [{'type': 'Ready', 'status': 'Unknown'}]}}) == 'Unknown'
    assert ok.extract_status({'status': {'conditions': [{'type': 'Available', 'status': 'True'}]}}) == ''
    assert ok.extract_status({'status': {'status': 3}}) == ''  # not a string
    assert ok.extract_status({'metadata': {}}) == ''
    assert ok.extract_status({'status': None}) == ''


def test_which_kinds_report_a_status():
    assert ok.reports_status(_schema_of('DataFlow')) and ok.reports_status(_schema_of('DeviceInfo'))
    assert not ok.reports_status(_schema_of('ComputeResource'))  # regions[].status is not the object's
    free = {'type': 'object', 'properties': {'status': {'type': 'object', 'x-kubernetes-preserve-unknown-fields': True}}}
    assert ok.reports_status(free) and ok.reports_status(None)
    assert ok.reports_status({'type': 'object', 'x-kubernetes-preserve-unknown-fields': True})
    assert not ok.reports_status({'type': 'object', 'properties': {'spec': {'type': 'object'}}})
    conditions = {'type': 'object', 'properties': {'status': {'type': 'object', 'properties': {'conditions': {'type': 'array'}}}}}
    assert ok.reports_status(conditions)
    not_a_string = {'type': 'object', 'properties': {'status': {'type': 'object', 'properties': {'status': {'type': 'integer'}}}}}
    assert not ok.reports_status(not_a_string)


def test_entries_ready_and_kinds_without_status():
    infos = {i['kind']: i for i in ok.kind_infos(CRDS, 'example.com')}
    flows = ok.resource_entries(infos['DataFlow'], [dataflow('a', 'Deployed'), dataflow('b', 'Error'), {'metadata': _meta('c')}], READY)
    assert [(e['name'], e['status'], e['ready']) for e in flows] == [('a', 'Deployed', True), ('b', 'Error', False), ('c', '', False)]
    assert flows[0]['api_version'] == 'example.com/v1' and flows[0]['namespace'] == 'default'
    compute = ok.resource_entries(infos['ComputeResource'], [computeresource('w1')], READY)
    assert compute == [{'kind': 'ComputeResource', 'api_version': 'example.com/v1', 'namespace': 'default',
                        'name': 'compute-w1', 'status': '', 'ready': True}]
    # ready_statuses is what decides
    assert ok.resource_entries(infos['DataFlow'], [dataflow('a', 'Deployed')], {'Running'})[0]['ready'] is False


# ---------------------------------------------------------------- discovery and kind selection

def test_kind_infos_filters_group_and_picks_storage_version():
    infos = ok.kind_infos(CRDS, 'example.com')
    assert [i['kind'] for i in infos] == ['CPUFunction', 'ComputeResource', 'DataFlow', 'DeviceInfo', 'EthernetConnection', 'FunctionType']
    assert {i['kind']: i['version'] for i in infos}['FunctionType'] == 'v1'
    not_served = _crd('Old', 'olds', {'status': STR}, versions=[{'name': 'v1', 'served': False, 'storage': True}])
    assert ok.kind_infos([not_served], 'example.com') == []
    only_served = _crd('Two', 'twos', {'status': STR}, versions=[{'name': 'v1beta1', 'served': False, 'storage': True},
                                                                 {'name': 'v1', 'served': True, 'storage': False}])
    assert ok.kind_infos([only_served], 'example.com')[0]['version'] == 'v1'


def test_select_kinds_by_any_name():
    infos = ok.kind_infos(CRDS, 'example.com')
    chosen = ok.select_kinds(infos, ['dataflows', 'df', 'CPUFUNCTION', 'deviceinfo'], 'example.com')
    assert [i['kind'] for i in chosen] == ['CPUFunction', 'DataFlow', 'DeviceInfo']
    assert ok.select_kinds(infos, [], 'example.com') == infos


def test_unknown_kind_is_named():
    infos = ok.kind_infos(CRDS, 'example.com')
    with pytest.raises(ok.OpenKasugaiError) as err:
        ok.select_kinds(infos, ['DataFlow', 'GPUFunction', 'wbfunctions'], 'example.com')
    msg = str(err.value)
    assert 'kinds GPUFunction, wbfunctions' in msg and 'group example.com' in msg
    assert 'the cluster has: CPUFunction, ComputeResource, DataFlow' in msg
    with pytest.raises(ok.OpenKasugaiError, match=r'kind DataFlow \(the cluster has: none\)'):
        ok.select_kinds([], ['DataFlow'], 'example.com')


# ---------------------------------------------------------------- table

def _res(kind, namespace, name, status, ready=False):
    return {'kind': kind, 'api_version': 'example.com/v1', 'namespace': namespace, 'name': name, 'status': status, 'ready': ready}


def test_table_is_aligned_like_kubectl():
    resources = ok.sort_resources([
        _res('WBFunction', 'default', 'cpu-decode-df-wbfunction-decode-main', 'Deployed', True),
        _res('DataFlow', 'default', 'df', 'WBFunction/WBConnection creation in progress'),
        _res('CPUFunction', 'kube-system', 'f', ''),
        _res('FPGA', '', 'fpga-0', 'Ready', True),
    ])
    lines = ok.render_table(resources)
    assert lines[0].split() == ['KIND', 'NAMESPACE', 'NAME', 'STATUS']
    assert [line.split()[0] for line in lines[1:]] == ['CPUFunction', 'DataFlow', 'FPGA', 'WBFunction']
    # every column starts at the same offset in every line, 3 spaces after the widest cell before it
    starts = [lines[0].index(title) for title in ('KIND', 'NAMESPACE', ' NAME ', 'STATUS')]
    starts[2] += 1
    assert starts == [0, len('CPUFunction') + 3, len('CPUFunction') + 3 + len('kube-system') + 3,
                      len('CPUFunction') + 3 + len('kube-system') + 3 + len('cpu-decode-df-wbfunction-decode-main') + 3]
    for line, res in zip(lines[1:], resources, strict=True):
        for start, key in zip(starts, ('kind', 'namespace', 'name', 'status'), strict=True):
            assert line[start:].startswith(res[key] or '<none>')
            assert start == 0 or line[start - 1] == ' '
    assert lines[1].endswith('<none>') and lines[3].split()[1] == '<none>'  # empty status, cluster-scoped
    assert lines[2].endswith('creation in progress')  # a status with spaces stays whole, last column not padded
    assert all(line == line.rstrip() for line in lines)
    assert ok.render_table([]) == ['No resources found.']


# ---------------------------------------------------------------- the poll loop

class FakeClock:
    """time.monotonic / time.sleep stand-ins: sleeping advances the clock, and is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def _lister(*answers):
    """Returns the given listings one per call, then the last one again."""
    calls = []

    def lister():
        calls.append(1)
        return answers[min(len(calls), len(answers)) - 1]
    return lister, calls


def test_wait_becomes_ready_after_three_polls():
    pending = [_res('CPUFunction', 'default', 'f', 'Pending'), _res('DataFlow', 'default', 'df', 'Deployed', True)]
    running = [_res('CPUFunction', 'default', 'f', 'Running', True), _res('DataFlow', 'default', 'df', 'Deployed', True)]
    lister, calls = _lister(pending, pending, running)
    t = FakeClock()
    resources, done, polls = ok.wait_until_ready(lister, 60, 2, clock=t.clock, sleep=t.sleep)
    assert done and polls == 3 and len(calls) == 3 and resources == running
    assert t.sleeps == [2, 2]  # only the poll interval, between listings


def test_wait_already_ready_does_not_sleep():
    t = FakeClock()
    ready = [_res('DataFlow', 'default', 'df', 'Deployed', True)]
    assert ok.wait_until_ready(_lister(ready)[0], 60, 2, clock=t.clock, sleep=t.sleep) == (ready, True, 1)
    assert t.sleeps == []


def test_wait_times_out_and_names_what_is_not_ready():
    stuck = [_res('CPUFunction', 'default', 'f1', 'Pending'), _res('DataFlow', 'default', 'df', ''),
             _res('FPGA', '', 'fpga-0', 'Preparing'), _res('FunctionType', 'default', 'ft', 'Ready', True)]
    lister, calls = _lister(stuck)
    t = FakeClock()
    resources, done, polls = ok.wait_until_ready(lister, 5, 2, clock=t.clock, sleep=t.sleep)
    assert not done and resources == stuck
    assert t.sleeps == [2, 2, 1] and polls == 4 and t.now == 1005.0  # the last sleep is cut to the deadline
    msg = ok.timeout_message(resources, 5, 0, 'example.com')
    assert msg.startswith('timed out after 5s waiting for the example.com resources: 3 of 4 not ready: ')
    assert 'CPUFunction/default/f1: Pending; DataFlow/default/df: no status yet; FPGA/fpga-0: Preparing' in msg
    assert 'FunctionType' not in msg


def test_wait_for_min_count():
    """No resources yet (the controllers have not created them): min_count keeps the wait going."""
    one = [_res('DataFlow', 'default', 'df', 'Deployed', True)]
    lister, calls = _lister([], [], one)
    t = FakeClock()
    assert ok.wait_until_ready(lister, 60, 1.5, min_count=1, clock=t.clock, sleep=t.sleep) == (one, True, 3)
    assert t.sleeps == [1.5, 1.5]
    # min_count 0: nothing found is nothing to wait for
    assert ok.wait_until_ready(_lister([])[0], 60, 1.5, clock=t.clock, sleep=t.sleep) == ([], True, 1)
    # never enough
    resources, done, polls = ok.wait_until_ready(_lister(one)[0], 3, 1, min_count=2, clock=t.clock, sleep=t.sleep)
    assert not done and polls == 4
    assert ok.timeout_message(resources, 3, 2, 'example.com') == (
        'timed out after 3s waiting for the example.com resources: 1 example.com resource found, 2 or more wanted')


def test_wait_zero_timeout_lists_once():
    t = FakeClock()
    lister, calls = _lister([_res('DataFlow', 'default', 'df', 'Error')])
    assert ok.wait_until_ready(lister, 0, 2, clock=t.clock, sleep=t.sleep)[1:] == (False, 1)
    assert t.sleeps == []


# ---------------------------------------------------------------- the module, against a stand-in API server

class FakeApiServer:
    """The API boundary: answers GETs as kube-apiserver would, from ``crds`` and ``objects[plural]``.

    ``on_crd_list(n)`` (n = how many CRD listings so far) may change ``objects`` between polls;
    ``errors[path] = (code, reason)`` answers a path with a kube Status error.
    """

    def __init__(self, crds, objects):
        self.crds, self.objects, self.errors = crds, objects, {}
        self.paths, self.crd_lists, self.on_crd_list = [], 0, None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split('?', 1)[0]
                server.paths.append(path)
                code, body = server.answer(path, self.headers.get('Authorization'))
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path, auth):
        if auth != 'Bearer lab-token':
            return 401, self.status(401, 'Unauthorized', 'Unauthorized')
        if path in self.errors:
            code, reason = self.errors[path]
            return code, self.status(code, reason, f'{path} is {reason.lower()} for user lab')
        if path == '/apis/apiextensions.k8s.io/v1/customresourcedefinitions':
            self.crd_lists += 1
            if self.on_crd_list:
                self.on_crd_list(self.crd_lists)
            return 200, {'kind': 'CustomResourceDefinitionList', 'apiVersion': 'apiextensions.k8s.io/v1',
                         'metadata': {'resourceVersion': '1'}, 'items': self.crds}
        parts = path.strip('/').split('/')
        if len(parts) == 4 and parts[0] == 'apis':  # /apis/<group>/<version>/<plural>
            group, version, ns, plural = parts[1], parts[2], None, parts[3]
        elif len(parts) == 6 and parts[0] == 'apis' and parts[3] == 'namespaces':
            group, version, ns, plural = parts[1], parts[2], parts[4], parts[5]
        else:
            return 404, self.status(404, 'NotFound', 'the server could not find the requested resource')
        crd = next((c for c in self.crds if c['spec']['group'] == group and c['spec']['names']['plural'] == plural), None)
        if crd is None or version not in [v['name'] for v in crd['spec']['versions'] if v['served']]:
            return 404, self.status(404, 'NotFound', 'the server could not find the requested resource')
        items = [o for o in self.objects.get(plural, []) if ns is None or o['metadata'].get('namespace') == ns]
        return 200, {'apiVersion': f'{group}/{version}', 'kind': crd['spec']['names']['listKind'],
                     'metadata': {'resourceVersion': '2'}, 'items': items}

    @staticmethod
    def status(code, reason, message):
        return {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
                'message': message, 'reason': reason, 'code': code}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _kubeconfig(tmp_path, port):
    """A real kubeconfig: current-context points at a closed port, context 'lab' at the fake server."""
    path = tmp_path / 'kubeconfig'
    path.write_text(f'''apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {{server: "http://127.0.0.1:{port}"}}
- name: gone
  cluster: {{server: "http://127.0.0.1:{_free_port()}"}}
users:
- name: lab
  user: {{token: lab-token}}
contexts:
- name: lab
  context: {{cluster: lab, user: lab}}
- name: gone
  context: {{cluster: gone, user: lab}}
current-context: gone
''')
    return str(path)


def _objects():
    return {
        'dataflows': [dataflow('df-b', 'Deployed'), dataflow('df-a', 'Deployed')],
        'cpufunctions': [cpufunction('df-a-wbfunction-decode-main', 'Pending'), cpufunction('other', 'Running', 'team2')],
        'computeresources': [computeresource('kasugai-worker')],
        'deviceinfos': [deviceinfo('deviceinfo-1', 'Deployed')],
        'ippools': [{'metadata': _meta('pool'), 'status': {'phase': 'Bad'}}],
    }


@pytest.fixture
def api():
    with FakeApiServer(CRDS, _objects()) as server:
        yield server


def _run(server, tmp_path, check_mode=False, **args):
    args = dict({'kubeconfig': _kubeconfig(tmp_path, server.port), 'context': 'lab'}, **args)
    return run_module(openkasugai_info.main, args, check_mode=check_mode)


def test_module_lists_every_kind_of_the_group(api, tmp_path):
    failed, result = _run(api, tmp_path)
    assert not failed, result
    assert result['changed'] is False and result['polls'] == 1
    assert result['kinds'] == ['CPUFunction', 'ComputeResource', 'DataFlow', 'DeviceInfo', 'EthernetConnection', 'FunctionType']
    assert [(r['kind'], r['namespace'], r['name'], r['status'], r['ready']) for r in result['resources']] == [
        ('CPUFunction', 'default', 'df-a-wbfunction-decode-main', 'Pending', False),
        ('CPUFunction', 'team2', 'other', 'Running', True),
        ('ComputeResource', 'default', 'compute-kasugai-worker', '', True),
        ('DataFlow', 'default', 'df-a', 'Deployed', True),
        ('DataFlow', 'default', 'df-b', 'Deployed', True),
        ('DeviceInfo', 'default', 'deviceinfo-1', 'Deployed', True),
    ]
    assert result['not_ready'] == [result['resources'][0]]
    assert result['table'] == '\n'.join(result['table_lines']) and len(result['table_lines']) == 7
    assert result['table_lines'][1].split() == ['CPUFunction', 'default', 'df-a-wbfunction-decode-main', 'Pending']
    # the storage version of FunctionType, all namespaces, never the other group
    assert '/apis/example.com/v1/functiontypes' in api.paths and '/apis/example.com/v1alpha1/functiontypes' not in api.paths
    assert not any('nv-ipam' in p for p in api.paths)
    # check mode reads the same
    assert _run(api, tmp_path, check_mode=True) == (False, result)


def test_module_one_namespace_and_some_kinds(api, tmp_path):
    """A namespace limits the namespaced kinds; a cluster-scoped kind is listed whole, with no namespace."""
    api.crds = CRDS + [_crd('Fabric', 'fabrics', {'status': STR}, scope='Cluster')]
    api.objects['fabrics'] = [{'metadata': {'name': 'fabric-0'}, 'status': {'status': 'Ready'}}]
    failed, result = _run(api, tmp_path, namespace='team2', kinds=['cpufunctions', 'DataFlow', 'fabric'])
    assert not failed, result
    assert result['kinds'] == ['CPUFunction', 'DataFlow', 'Fabric']
    assert [(r['kind'], r['namespace'], r['name']) for r in result['resources']] == [('CPUFunction', 'team2', 'other'), ('Fabric', '', 'fabric-0')]
    assert set(api.paths) == {'/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
                              '/apis/example.com/v1/namespaces/team2/cpufunctions',
                              '/apis/example.com/v1/namespaces/team2/dataflows',
                              '/apis/example.com/v1/fabrics'}
    assert result['table_lines'][2].split() == ['Fabric', '<none>', 'fabric-0', 'Ready']


def test_module_waits_until_the_function_runs(api, tmp_path):
    def controller(n):  # the CPUFunction controller starts the pod on the third listing
        if n == 3:
            api.objects['cpufunctions'][0]['status']['status'] = 'Running'
    api.on_crd_list = controller
    failed, result = _run(api, tmp_path, wait=True, wait_interval=0.05, wait_timeout=30)
    assert not failed, result
    assert result['polls'] == 3 and result['not_ready'] == []
    assert result['resources'][0]['status'] == 'Running'


def test_module_wait_timeout_fails_naming_each_resource(api, tmp_path):
    api.objects['dataflows'].append({'metadata': _meta('df-new')})
    failed, result = _run(api, tmp_path, wait=True, wait_interval=0.05, wait_timeout=1)
    assert failed
    assert result['msg'] == ('timed out after 1s waiting for the example.com resources: 2 of 7 not ready: '
                             'CPUFunction/default/df-a-wbfunction-decode-main: Pending; DataFlow/default/df-new: no status yet')
    assert result['polls'] > 2 and len(result['resources']) == 7 and len(result['not_ready']) == 2
    assert result['table_lines'][0].split() == ['KIND', 'NAMESPACE', 'NAME', 'STATUS']


def test_module_waits_for_min_count(api, tmp_path):
    api.objects = {}

    def controller(n):
        if n == 2:
            api.objects['dataflows'] = [dataflow('df', 'Deployed')]
    api.on_crd_list = controller
    failed, result = _run(api, tmp_path, kinds=['DataFlow'], wait=True, wait_interval=0.05, min_count=1)
    assert not failed, result
    assert result['polls'] == 2 and [r['name'] for r in result['resources']] == ['df']


def test_module_unknown_kind(api, tmp_path):
    failed, result = _run(api, tmp_path, kinds=['DataFlow', 'GPUFunction'])
    assert failed
    assert result['msg'].startswith('no CustomResourceDefinition of group example.com for kind GPUFunction (the cluster has: CPUFunction,')


def test_module_api_error_is_reported_without_a_traceback(api, tmp_path):
    api.errors['/apis/example.com/v1/deviceinfos'] = (403, 'Forbidden')
    failed, result = _run(api, tmp_path)
    assert failed
    assert result['msg'] == ('listing deviceinfos.example.com/v1 failed: HTTP 403 Forbidden: '
                             '/apis/example.com/v1/deviceinfos is forbidden for user lab')
    assert 'exception' not in result and 'Traceback' not in json.dumps(result)


def test_module_unreachable_api_server(api, tmp_path):
    """No context: the kubeconfig's current context, whose server port is closed."""
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': _kubeconfig(tmp_path, api.port)})
    assert failed and result['msg'].startswith('listing CustomResourceDefinitions failed: ')
    assert 'Traceback' not in json.dumps(result) and api.paths == []


def test_module_bad_kubeconfig(tmp_path):
    missing = str(tmp_path / 'nope')
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': missing})
    assert failed and result['msg'].startswith(f'cannot load kubeconfig {missing}: ')
    (tmp_path / 'kc').write_text('apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n')
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': str(tmp_path / 'kc'), 'context': 'lab'})
    assert failed and result['msg'].startswith('cannot load kubeconfig {} (context lab): '.format(tmp_path / 'kc'))


def test_module_without_the_kubernetes_library(monkeypatch, tmp_path):
    monkeypatch.setattr(ok, 'HAS_KUBERNETES', False)
    monkeypatch.setattr(ok, 'KUBERNETES_IMPORT_ERROR', ImportError("No module named 'kubernetes'"))
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': str(tmp_path / 'kc')})
    assert failed and 'kubernetes' in result['msg'] and 'Failed to import the required Python library' in result['msg']


def test_module_bad_wait_options(tmp_path):
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': str(tmp_path / 'kc'), 'wait_interval': 0})
    assert failed and 'wait_interval must be positive' in result['msg']


def test_through_ansible(api, tmp_path):
    """The packaged module (AnsiballZ, module_utils import) via `ansible localhost -m`, with the action group."""
    api.objects['cpufunctions'][0]['status']['status'] = 'Running'
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collection-root'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_PYTHON_INTERPRETER=os.path.realpath(os.path.join(ROOT, '.venv', 'bin', 'python')))
    args = {'kubeconfig': _kubeconfig(tmp_path, api.port), 'context': 'lab', 'wait': True, 'wait_timeout': 30, 'kinds': ['CPUFunction', 'DataFlow']}
    proc = subprocess.run(['ansible', 'localhost', '-m', 'openkasugai.all_in_one.openkasugai_info', '-a', json.dumps(args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    out = json.loads(proc.stdout)
    result = out['plays'][0]['tasks'][0]['hosts']['localhost']
    assert proc.returncode == 0, result
    assert result['kinds'] == ['CPUFunction', 'DataFlow'] and result['not_ready'] == [] and result['polls'] == 1
    assert [line.split()[2] for line in result['table_lines'][1:]] == ['df-a-wbfunction-decode-main', 'other', 'df-a', 'df-b']
