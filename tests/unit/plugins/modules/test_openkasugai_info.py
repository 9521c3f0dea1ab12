# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""openkasugai_info and plugins/module_utils/openkasugai.py.

Real: all of module_utils/openkasugai.py; the module's main() run in-process through AnsibleModule
(fakesys.run_module), and once through ``ansible localhost -m`` (AnsiballZ packaging, module_utils
import); the ``kubernetes`` Python client itself (new_client_from_config reading a real kubeconfig file,
ApiextensionsV1Api, CustomObjectsApi, urllib3 doing real HTTP).

Stand-in, only at the API boundary: ``FakeApiServer``, a small HTTP server on 127.0.0.1 that answers the
GET paths a Kubernetes API server would for this module (CRD list, cluster-wide and namespaced custom
object lists, Pod and Event lists) with JSON shaped like the real one, built from the upstream v1.1.0
controllers' types and code (github.com/openkasugai/controller src/*/api/v1/*_types.go: status field names
and status strings; src/*/internal/controller: object and Pod names, the events they record) and, for Pods
and Events, from what kubelet and kube-scheduler write (containerStatuses[].state.waiting.reason, ...).
No cluster, controller or kubectl is involved; the lead's e2e runs the module against a real kind cluster.
The poll-loop tests use an injected clock and sleep (no real waiting).
"""

import json
import os
import socket
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kube_api
from ansible_collections.openkasugai.all_in_one.plugins.modules import openkasugai_info
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
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
    """The CPUFunction controller writes podName and Running once it has created the Pod <name>-cpu-pod."""
    obj = {'apiVersion': 'example.com/v1', 'kind': 'CPUFunction', 'metadata': _meta(name, namespace),
           'spec': {'functionName': 'cpu-decode', 'nodeName': 'kasugai-worker', 'deviceType': 'cpu',
                    'dataFlowRef': {'namespace': namespace, 'name': 'df'}, 'configName': 'cpufunc-config-decode'},
           'status': {'status': status, 'functionName': 'cpu-decode', 'dataFlowRef': {'namespace': namespace, 'name': 'df'},
                      'configName': 'cpufunc-config-decode', 'imageURI': 'localhost/cpu-decode:1.1.0', 'startTime': '2025-01-01T00:00:01Z'}}
    if status == 'Running':
        obj['status']['podName'] = name + '-cpu-pod'
    return obj


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


def wbfunction(dataflow_name, key, status, function='cpu-decode', device='cpu', namespace='default'):
    """Named and filled as the DataFlow controller creates them: <dataflow>-wbfunction-<function key>."""
    ref = {'namespace': namespace, 'name': dataflow_name}
    spec = {'dataFlowRef': ref, 'functionName': function, 'nodeName': 'kasugai-worker', 'deviceType': device, 'deviceIndex': 0,
            'regionName': device, 'configName': 'cpufunc-config-decode'}
    obj = {'apiVersion': 'example.com/v1', 'kind': 'WBFunction', 'metadata': _meta(f'{dataflow_name}-wbfunction-{key}', namespace), 'spec': spec}
    if status:
        obj['status'] = dict(spec, status=status, functionIndex=0)
    return obj


def wbconnection(dataflow_name, src, dst, status, method='host-100gether', namespace='default'):
    ref = {'namespace': namespace, 'name': dataflow_name}
    ends = {side: {'wbFunctionRef': {'namespace': namespace, 'name': f'{dataflow_name}-wbfunction-{key}'}, 'port': 0}
            for side, key in (('from', src), ('to', dst))}
    spec = dict(ends, dataFlowRef=ref, connectionMethod=method)
    return {'apiVersion': 'example.com/v1', 'kind': 'WBConnection', 'metadata': _meta(f'{dataflow_name}-wbconnection-{src}-{dst}', namespace),
            'spec': spec, 'status': dict(spec, status=status)}


def schedulingdata(name, status, index, namespace='default'):
    return {'apiVersion': 'example.com/v1', 'kind': 'SchedulingData', 'metadata': _meta(name, namespace),
            'spec': {'filterPipeline': ['GenerateCombinations', 'TargetResourceFit', 'TargetResourceFitScore']},
            'status': {'status': status, 'currentFilterIndex': index}}


def functiontarget(node, device, status, available, namespace='default'):
    return {'apiVersion': 'example.com/v1', 'kind': 'FunctionTarget', 'metadata': _meta(f'{node}.{device}-0.{device}', namespace),
            'status': {'status': status, 'available': available, 'nodeName': node, 'deviceType': device, 'deviceIndex': 0,
                       'regionName': device, 'regionType': f'{device}-region', 'maxFunctions': 8, 'currentFunctions': 1}}


# ---------------------------------------------------------------- Pods and Events, as kubelet and kube-scheduler write them

T0 = '2025-01-01T00:00:05Z'
IMAGE = 'localhost/cpu-decode:1.1.0'


def running(ready=True, restarts=0, last=None, name='cpu-container0'):
    return {'name': name, 'state': {'running': {'startedAt': T0}}, 'lastState': last or {}, 'ready': ready,
            'restartCount': restarts, 'image': IMAGE, 'imageID': 'localhost/cpu-decode@sha256:' + 'a' * 64,
            'containerID': 'containerd://' + 'b' * 64, 'started': True}


def waiting(reason, message=None, name='cpu-container0', restarts=0, last=None):
    state = {'reason': reason}
    if message:
        state['message'] = message
    return {'name': name, 'state': {'waiting': state}, 'lastState': last or {}, 'ready': False, 'restartCount': restarts,
            'image': IMAGE, 'imageID': '', 'started': False}


def pod(name, containers, phase='Running', namespace='default', node='kasugai-worker', scheduled=True, unschedulable=None, **extra):
    """A CPUFunction's Pod as GET /api/v1/namespaces/<ns>/pods returns it (trimmed): its two containers,
    cpu-container0 and cpu-container1, and the conditions the kubelet keeps."""
    ready = phase == 'Running' and all(c['ready'] for c in containers)
    unready = [c['name'] for c in containers if not c['ready']]
    conditions = [{'type': 'PodScheduled', 'status': 'True', 'lastProbeTime': None, 'lastTransitionTime': T0}]
    if not scheduled:
        conditions = [{'type': 'PodScheduled', 'status': 'False', 'lastProbeTime': None, 'lastTransitionTime': T0,
                       'reason': 'Unschedulable', 'message': unschedulable}]
    else:
        for kind in ('PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady'):
            cond = {'type': kind, 'status': 'True' if ready or kind in ('PodReadyToStartContainers', 'Initialized') else 'False',
                    'lastProbeTime': None, 'lastTransitionTime': T0}
            if cond['status'] == 'False':
                cond.update(reason='ContainersNotReady', message='containers with unready status: [{}]'.format(' '.join(unready)))
            conditions.append(cond)
    status = {'phase': phase, 'conditions': conditions, 'qosClass': 'BestEffort'}
    if scheduled:
        status.update(hostIP='172.18.0.3', podIP='10.244.1.7', startTime=T0, containerStatuses=containers)
    status.update(extra)
    function = name[:-len('-cpu-pod')]
    return {'kind': 'Pod', 'apiVersion': 'v1',
            'metadata': {'name': name, 'namespace': namespace, 'uid': 'u-' + name, 'creationTimestamp': T0,
                         'labels': {'swb/func-type': 'cpufunc', 'swb/func-name': name},
                         'ownerReferences': [{'apiVersion': 'example.com/v1', 'kind': 'CPUFunction', 'name': function,
                                              'uid': 'u-' + function, 'controller': True, 'blockOwnerDeletion': True}]},
            'spec': {'containers': [{'name': f'cpu-container{i}', 'image': IMAGE} for i in range(2)],
                     **({'nodeName': node} if scheduled else {}), 'restartPolicy': 'Always'},
            'status': status}


def event(kind, name, reason, message, count=1, last='2025-01-01T00:01:00Z', type_='Warning', namespace='default', component='kubelet'):
    """A core/v1 Event, as kubelet (lastTimestamp, count) or the controllers' recorders write it."""
    return {'kind': 'Event', 'apiVersion': 'v1',
            'metadata': {'name': f'{name}.{zlib.crc32((reason + message).encode()):08x}', 'namespace': namespace, 'creationTimestamp': T0},
            'involvedObject': {'kind': kind, 'namespace': namespace, 'name': name, 'uid': 'u-' + name,
                               'apiVersion': 'v1' if kind == 'Pod' else 'example.com/v1'},
            'reason': reason, 'message': message, 'source': {'component': component, 'host': 'kasugai-worker'},
            'firstTimestamp': T0, 'lastTimestamp': last, 'count': count, 'type': type_, 'eventTime': None,
            'reportingComponent': component, 'reportingInstance': 'kasugai-worker'}


def scheduler_event(name, message, when='2025-01-01T00:00:06.250000Z', namespace='default'):
    """kube-scheduler writes events.k8s.io/v1 Events: seen through core/v1 they have eventTime, no lastTimestamp or count."""
    ev = event('Pod', name, 'FailedScheduling', message, namespace=namespace, component='default-scheduler')
    ev.update(firstTimestamp=None, lastTimestamp=None, count=None, eventTime=when, reportingInstance='default-scheduler-kasugai-control-plane')
    return ev


POD = 'df-wbfunction-decode-main-cpu-pod'
PULL_FAILED = (f'Failed to pull image "{IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack image '
               f'"{IMAGE}": failed to resolve reference "{IMAGE}": {IMAGE}: not found')


def image_pull_backoff_pod(name=POD, namespace='default'):
    return pod(name, [waiting('ImagePullBackOff', f'Back-off pulling image "{IMAGE}"'), running(name='cpu-container1')],
               phase='Pending', namespace=namespace)


def image_pull_events(name=POD, namespace='default'):
    """What the kubelet records for a missing image, in the order of their lastTimestamp."""
    return [
        event('Pod', name, 'Scheduled', f'Successfully assigned {namespace}/{name} to kasugai-worker', type_='Normal',
              last=T0, namespace=namespace, component='default-scheduler'),
        event('Pod', name, 'Pulling', f'Pulling image "{IMAGE}"', 4, '2025-01-01T00:01:30Z', 'Normal', namespace),
        event('Pod', name, 'Failed', PULL_FAILED, 4, '2025-01-01T00:01:31Z', namespace=namespace),
        event('Pod', name, 'Failed', 'Error: ErrImagePull', 4, '2025-01-01T00:01:31Z', namespace=namespace),
        event('Pod', name, 'BackOff', f'Back-off pulling image "{IMAGE}"', 11, '2025-01-01T00:04:02Z', namespace=namespace),
        event('Pod', name, 'Failed', 'Error: ImagePullBackOff', 11, '2025-01-01T00:04:02Z', namespace=namespace),
    ]


def crash_loop_pod(name=POD):
    last = {'terminated': {'exitCode': 1, 'reason': 'Error', 'startedAt': T0, 'finishedAt': T0, 'containerID': 'containerd://' + 'c' * 64}}
    message = f'back-off 1m20s restarting failed container=cpu-container0 pod={name}_default(u-{name})'
    return pod(name, [waiting('CrashLoopBackOff', message, restarts=4, last=last), running(name='cpu-container1')])


def ready_pod(name, namespace='default'):
    return pod(name, [running(), running(name='cpu-container1')], namespace=namespace)


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
                        'name': 'compute-w1', 'status': '', 'ready': True, 'detail': ''}]
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

def _res(kind, namespace, name, status, ready=False, detail=''):
    return {'kind': kind, 'api_version': 'example.com/v1', 'namespace': namespace, 'name': name, 'status': status, 'ready': ready,
            'detail': detail}


def test_table_is_aligned_like_kubectl():
    resources = ok.sort_resources([
        _res('WBFunction', 'default', 'cpu-decode-df-wbfunction-decode-main', 'Deployed', True, 'cpu-decode on kasugai-worker cpu-0'),
        _res('DataFlow', 'default', 'df', 'WBFunction/WBConnection creation in progress', detail='chain c, 2 functions'),
        _res('CPUFunction', 'kube-system', 'f', ''),
        _res('FPGA', '', 'fpga-0', 'Ready', True),
    ])
    lines = ok.render_table(resources)
    assert lines[0].split() == ['KIND', 'NAMESPACE', 'NAME', 'STATUS', 'DETAIL']
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
    assert lines[1].endswith('<none>') and lines[3].split()[1] == '<none>'  # empty status, cluster-scoped; no detail, no <none>
    detail = lines[0].index('DETAIL')
    assert detail == starts[3] + len('WBFunction/WBConnection creation in progress') + 3
    assert lines[2][detail:] == 'chain c, 2 functions' and lines[4][detail:] == 'cpu-decode on kasugai-worker cpu-0'
    assert 'creation in progress   chain c' in lines[2]  # a status with spaces stays whole
    assert all(line == line.rstrip() for line in lines)  # the last column is not padded
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
    msg = ok.summary_line(resources, 5, 0, 'example.com')
    assert msg == '3 of 4 resources not ready after 5s: CPUFunction/default/f1: Pending; DataFlow/default/df: no status yet; FPGA/fpga-0: Preparing'
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
    assert ok.summary_line(resources, 3, 2, 'example.com') == '1 example.com resource found after 3s, 2 or more wanted'
    assert ok.summary_line(resources + [_res('DataFlow', 'default', 'df2', 'Error')], 3, 3, 'example.com') == (
        '1 of 2 resources not ready after 3s (3 or more wanted): DataFlow/default/df2: Error')


def test_wait_zero_timeout_lists_once():
    t = FakeClock()
    lister, calls = _lister([_res('DataFlow', 'default', 'df', 'Error')])
    assert ok.wait_until_ready(lister, 0, 2, clock=t.clock, sleep=t.sleep)[1:] == (False, 1)
    assert t.sleeps == []


# ---------------------------------------------------------------- the real v1.1.0 kinds: statuses and the DETAIL column

def _entries(*pairs, ready=None):
    """Entries and objects by key for (kind, object) pairs, as collect() makes them."""
    resources, objects = [], {}
    for kind, obj in pairs:
        info = {'kind': kind, 'group': 'example.com', 'version': 'v1', 'reports_status': kind not in ('ComputeResource', 'TopologyInfo')}
        resources += ok.resource_entries(info, [obj], READY if ready is None else ready)
        objects[ok.key_of(kind, obj)] = obj
    return ok.sort_resources(resources), objects


@pytest.mark.parametrize('kind, obj, status, detail', [
    ('DataFlow', dict(dataflow('df', 'Scheduling in progress'), spec={'functionChainRef': {'namespace': 'chain-ns', 'name': 'cpu-chain'}}),
     'Scheduling in progress', 'chain cpu-chain'),
    ('DataFlow', {**dataflow('df', 'Deployed'), 'status': {'status': 'Deployed', 'scheduledFunctions': {'decode-main': {}, 'infer': {}},
                                                           'scheduledConnections': [{}, {}, {}]}},
     'Deployed', 'chain cpu-decode-filter-resize-glue-infer-chain, 2 functions, 3 connections'),
    ('WBFunction', wbfunction('df', 'decode-main', 'Waiting'), 'Waiting', 'cpu-decode on kasugai-worker cpu-0'),
    # before its controller copies spec to status, the spec says where it goes
    ('WBFunction', wbfunction('df', 'infer', '', 'gpu-infer', 'gpu'), '', 'gpu-infer on kasugai-worker gpu-0'),
    ('WBConnection', wbconnection('df', 'decode-main', 'infer', 'Deployed'), 'Deployed', 'host-100gether: decode-main -> infer'),
    ('CPUFunction', cpufunction('df-wbfunction-decode-main', 'Pending'), 'Pending', 'cpu-decode on kasugai-worker'),
    ('EthernetConnection', ethernetconnection('c', 'Pending', side='INIT'), 'Pending', 'from INIT, to INIT'),
    ('SchedulingData', schedulingdata('df', 'Filtering', 1), 'Filtering', 'filter 2 of 3 (TargetResourceFit)'),
    ('FunctionTarget', functiontarget('kasugai-worker', 'cpu', 'Ready', True), 'Ready', 'available, 1/8 functions'),
    ('ChildBs', {'metadata': _meta('cbs'), 'status': {'status': 'Preparing', 'state': 'WritingBitstreamFile', 'regions': []}},
     'Preparing', 'state WritingBitstreamFile'),
    ('FunctionType', {'metadata': _meta('cpu-decode'), 'spec': {'functionName': 'cpu-decode', 'version': '1.0.0'}, 'status': {'status': 'Ready'}},
     'Ready', 'cpu-decode 1.0.0'),
    ('FPGAReconfiguration', {'metadata': _meta('r'), 'status': {'status': 'Succeeded'}}, 'Succeeded', ''),
    ('ConnectionType', {'metadata': _meta('host-100gether'), 'status': {'status': 'Not Ready', 'interfaces': []}}, 'Not Ready', ''),
    ('DeviceInfo', {'metadata': _meta('deviceinfo-x'),
                    'spec': {'request': {'requestType': 'Deploy', 'functionName': 'cpu-decode', 'nodeName': 'kasugai-worker'}},
                    'status': {'response': {'status': 'Initial'}}}, 'Initial', 'Deploy cpu-decode kasugai-worker'),
])
def test_real_kinds_status_and_detail(kind, obj, status, detail):
    assert ok.extract_status(obj) == status
    assert ok.detail_of(kind, obj) == detail


def test_detail_of_odd_objects():
    """Half-filled objects (just created, or pruned by an older CRD) give what they have, never an exception."""
    for kind in ('DataFlow', 'WBFunction', 'WBConnection', 'CPUFunction', 'EthernetConnection', 'SchedulingData', 'FunctionTarget',
                 'ChildBs', 'FunctionType', 'DeviceInfo', 'TopologyInfo'):
        assert isinstance(ok.detail_of(kind, {'metadata': _meta('x')}), str)
        assert isinstance(ok.detail_of(kind, {'metadata': _meta('x'), 'spec': None, 'status': 'odd'}), str)
    assert ok.detail_of('WBConnection', {'metadata': _meta('x')}) == '? -> ?'
    assert ok.detail_of('SchedulingData', schedulingdata('df', 'Finish', 3)) == ''  # past the last filter


# ---------------------------------------------------------------- Pods: kubectl-like status, and what is wrong with them

UNSCHEDULABLE = ('0/2 nodes are available: 1 Insufficient hugepages-1Gi, 1 node(s) had untolerated taint '
                 '{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 1 No preemption victims found for '
                 'incoming pod, 1 Preemption is not helpful for scheduling.')


@pytest.mark.parametrize('the_pod, expected', [
    (ready_pod('a-cpu-pod'), ('Running', True, '2/2')),
    (image_pull_backoff_pod(), ('ImagePullBackOff', False, '1/2')),
    (crash_loop_pod(), ('CrashLoopBackOff', False, '1/2')),
    (pod('u-cpu-pod', [], phase='Pending', scheduled=False, unschedulable=UNSCHEDULABLE), ('Unschedulable', False, '0/2')),
    (pod('s-cpu-pod', [waiting('ContainerCreating'), waiting('ContainerCreating', name='cpu-container1')], phase='Pending'),
     ('ContainerCreating', False, '0/2')),
    (pod('e-cpu-pod', [{**running(ready=False), 'state': {'terminated': {'exitCode': 137, 'reason': 'OOMKilled'}}},
                       running(name='cpu-container1')]), ('OOMKilled', False, '1/2')),
    (pod('g-cpu-pod', [{**running(ready=False), 'state': {'terminated': {'exitCode': 2}}}]), ('ExitCode:2', False, '0/2')),
    (pod('v-cpu-pod', [], phase='Failed', reason='Evicted', message='The node was low on resource: memory.'), ('Evicted', False, '0/2')),
    (pod('i-cpu-pod', [waiting('PodInitializing')], phase='Pending',
         initContainerStatuses=[{**waiting('ErrImagePull', 'pull failed'), 'name': 'init-net'}]), ('Init:ErrImagePull', False, '0/2')),
    (pod('j-cpu-pod', [waiting('PodInitializing')], phase='Pending',
         initContainerStatuses=[{'name': 'a', 'state': {'terminated': {'exitCode': 0, 'reason': 'Completed'}}, 'ready': False},
                                {'name': 'b', 'state': {'running': {}}, 'ready': False}]), ('Init:1/2', False, '0/2')),
    ({**ready_pod('t-cpu-pod'), 'metadata': {'name': 't-cpu-pod', 'namespace': 'default', 'deletionTimestamp': T0}}, ('Terminating', True, '2/2')),
    (pod('r-cpu-pod', [running(ready=False), running(name='cpu-container1')]), ('Running', False, '1/2')),  # a failing readiness probe
    ({'metadata': {'name': 'bare'}}, ('Unknown', False, '0/0')),
])
def test_pod_status_like_kubectl(the_pod, expected):
    assert ok.pod_status(the_pod) == expected


def test_pod_report_image_pull_backoff():
    report, lines = ok.pod_report(image_pull_backoff_pod(), image_pull_events())
    assert lines == [
        'Pod default/df-wbfunction-decode-main-cpu-pod: ImagePullBackOff, 1/2 ready, phase Pending, on kasugai-worker',
        '  cpu-container0: waiting ImagePullBackOff: Back-off pulling image "localhost/cpu-decode:1.1.0"',
        # the last Warning events, oldest first, without the kubelet's "Error: ErrImagePull" repeating the reason
        '  Warning Failed (x4): ' + PULL_FAILED,
        '  Warning BackOff (x11): Back-off pulling image "localhost/cpu-decode:1.1.0"',
    ]
    assert report == {
        'namespace': 'default', 'name': POD, 'phase': 'Pending', 'status': 'ImagePullBackOff', 'ready': '1/2', 'node': 'kasugai-worker',
        'containers': [{'name': 'cpu-container0', 'ready': False, 'restarts': 0, 'state': 'waiting', 'reason': 'ImagePullBackOff',
                        'message': 'Back-off pulling image "localhost/cpu-decode:1.1.0"', 'exit_code': None,
                        'last_reason': '', 'last_exit_code': None, 'last_message': ''}],
        'events': [{'type': 'Warning', 'reason': 'Failed', 'count': 4, 'message': PULL_FAILED},
                   {'type': 'Warning', 'reason': 'BackOff', 'count': 11, 'message': 'Back-off pulling image "localhost/cpu-decode:1.1.0"'}]}


def test_pod_report_crash_loop_unschedulable_sandbox_evicted():
    crash = [event('Pod', POD, 'BackOff', f'Back-off restarting failed container cpu-container0 in pod {POD}_default(u-{POD})', 17)]
    assert ok.pod_report(crash_loop_pod(), crash)[1] == [
        'Pod default/df-wbfunction-decode-main-cpu-pod: CrashLoopBackOff, 1/2 ready, phase Running, on kasugai-worker',
        '  cpu-container0: waiting CrashLoopBackOff; last exit code 1 (Error), 4 restarts',
        f'  Warning BackOff (x17): Back-off restarting failed container cpu-container0 in pod {POD}_default(u-{POD})',
    ]
    # kube-scheduler's events have no count and no lastTimestamp
    stuck = pod('u-cpu-pod', [], phase='Pending', scheduled=False, unschedulable=UNSCHEDULABLE)
    report, lines = ok.pod_report(stuck, [scheduler_event('u-cpu-pod', UNSCHEDULABLE)])
    assert lines[:2] == ['Pod default/u-cpu-pod: Unschedulable, 0/2 ready, phase Pending', '  not scheduled: ' + UNSCHEDULABLE]
    assert lines[2] == '  Warning FailedScheduling: ' + UNSCHEDULABLE and report['node'] == '' and report['containers'] == []
    # Multus could not attach the network: only the events say so
    sandbox = ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0f3c": plugin '
               'type="multus" name="multus-cni-network" failed (add): [default/s-cpu-pod/u-s:kasugai-worker-config-net-sriov]: '
               'error adding container to network "kasugai-worker-config-net-sriov": SRIOV-CNI failed to load netconf: LoadConf(): '
               'VF pci addr is required')
    lines = ok.pod_report(pod('s-cpu-pod', [waiting('ContainerCreating'), waiting('ContainerCreating', name='cpu-container1')],
                              phase='Pending'), [event('Pod', 's-cpu-pod', 'FailedCreatePodSandBox', sandbox, 3)])[1]
    assert lines == ['Pod default/s-cpu-pod: ContainerCreating, 0/2 ready, phase Pending, on kasugai-worker',
                     '  cpu-container0: waiting ContainerCreating', '  cpu-container1: waiting ContainerCreating',
                     '  Warning FailedCreatePodSandBox (x3): ' + sandbox[:317] + '...']
    lines = ok.pod_report(pod('v-cpu-pod', [], phase='Failed', reason='Evicted', message='The node was low on resource: memory.'))[1]
    assert lines == ['Pod default/v-cpu-pod: Evicted, 0/2 ready, phase Failed, on kasugai-worker',
                     '  Evicted: The node was low on resource: memory.']
    oom = pod('o-cpu-pod', [waiting('CrashLoopBackOff', 'x', restarts=2, last={'terminated': {
        'exitCode': 137, 'reason': 'OOMKilled', 'message': 'killed\nby the kernel'}})])
    assert ok.pod_report(oom)[1][1] == '  cpu-container0: waiting CrashLoopBackOff; last exit code 137 (OOMKilled): killed by the kernel, 2 restarts'
    init = pod('i-cpu-pod', [waiting('PodInitializing')], phase='Pending', initContainerStatuses=[
        {'name': 'done', 'state': {'terminated': {'exitCode': 0, 'reason': 'Completed'}}, 'ready': False},
        {**waiting('ErrImagePull', 'pull failed'), 'name': 'init-net'}])
    assert ok.pod_report(init)[1] == ['Pod default/i-cpu-pod: Init:ErrImagePull, 0/2 ready, phase Pending, on kasugai-worker',
                                      '  init init-net: waiting ErrImagePull: pull failed', '  cpu-container0: waiting PodInitializing']


def test_events_of_one_object():
    events = image_pull_events() + image_pull_events('other-cpu-pod') + [
        event('DataFlow', 'df', 'Reconcile', 'unable to fetch configmap', type_='Normal', last='2025-01-01T00:00:09Z'),
        event('DataFlow', 'df', 'Create', 'Create Start', type_='Normal'),  # the controllers' routine ones
        event('DataFlow', 'df', 'Update', 'Update End', type_='Normal'),
        event('DataFlow', 'df', 'Reconcile', 'in another namespace', type_='Normal', namespace='team2'),
    ]
    assert [ok.event_line(e) for e in ok.events_of(events, 'DataFlow', 'default', 'df')] == ['Normal Reconcile: unable to fetch configmap']
    every = ok.events_of(events, 'Pod', 'default', POD, limit=10)
    assert [e['reason'] for e in every] == ['Scheduled', 'Pulling', 'Failed', 'BackOff']  # oldest first
    assert [e['reason'] for e in ok.events_of(events, 'Pod', 'default', POD, warnings_only=True, limit=1)] == ['BackOff']
    assert ok.events_of(events, 'Pod', 'default', POD, limit=0) == [] and ok.events_of(None, 'Pod', 'default', POD) == []
    # the same second: an event with a fraction of it is later than one without
    a, b = scheduler_event('p', 'a', when='2025-01-01T00:00:06.500000Z'), scheduler_event('p', 'b', when='2025-01-01T00:00:06Z')
    assert [e['message'] for e in ok.events_of([a, b], 'Pod', 'default', 'p')] == ['b', 'a']


def test_not_ready_pods():
    done = pod('job-cpu-pod', [], phase='Succeeded')
    pods = [ready_pod('b-cpu-pod'), crash_loop_pod('z-cpu-pod'), done, image_pull_backoff_pod('a-cpu-pod', 'team2')]
    assert [p['metadata']['name'] for p in ok.not_ready_pods(pods)] == ['z-cpu-pod', 'a-cpu-pod']


# ---------------------------------------------------------------- CPUFunction's Running is not its Pod's

def test_apply_pods():
    resources, objects = _entries(
        ('CPUFunction', cpufunction('df-wbfunction-a', 'Running')), ('CPUFunction', cpufunction('df-wbfunction-b', 'Running')),
        ('CPUFunction', cpufunction('df-wbfunction-c', 'Pending')), ('CPUFunction', cpufunction('df-wbfunction-d', 'Running')),
        ('DataFlow', dataflow('df', 'Deployed')))
    objects[('CPUFunction', 'default', 'df-wbfunction-d')]['status']['podName'] = 'renamed-pod'
    pods = [ready_pod('df-wbfunction-a-cpu-pod'), image_pull_backoff_pod('df-wbfunction-b-cpu-pod'), ready_pod('renamed-pod')]
    ok.apply_pods(resources, objects, pods)
    got = {r['name']: (r['ready'], r.get('pod'), r['detail']) for r in resources}
    assert got['df-wbfunction-a'] == (True, {'name': 'df-wbfunction-a-cpu-pod', 'status': 'Running', 'ready': True},
                                      'cpu-decode on kasugai-worker, pod Running 2/2')
    assert got['df-wbfunction-b'] == (False, {'name': 'df-wbfunction-b-cpu-pod', 'status': 'ImagePullBackOff', 'ready': False},
                                      'cpu-decode on kasugai-worker, pod ImagePullBackOff 1/2')
    assert got['df-wbfunction-c'] == (False, {'name': 'df-wbfunction-c-cpu-pod', 'status': 'NotFound', 'ready': False},
                                      'cpu-decode on kasugai-worker, no pod')
    assert got['df-wbfunction-d'][:2] == (True, {'name': 'renamed-pod', 'status': 'Running', 'ready': True})  # .status.podName counts
    assert got['df'] == (True, None, 'chain cpu-decode-filter-resize-glue-infer-chain')
    assert ok.pod_namespaces(resources + [_res('GPUFunction', 'gpu-ns', 'g', 'Running'), _res('DataFlow', 'x', 'y', '')]) == ['default', 'gpu-ns']


# ---------------------------------------------------------------- why: a line per object, a few per Pod

def _deployment(function_status='Running', wbfunction_status='Waiting', connection_side='INIT'):
    """A DataFlow with two functions and the objects the controllers made for it, as far as they got."""
    flow = dataflow('df', 'WBFunction/WBConnection created')
    flow['status'].update(scheduledFunctions={'decode-main': {}, 'filter-resize-high': {}}, scheduledConnections=[{}, {}, {}])
    return _entries(
        ('DataFlow', flow),
        ('WBFunction', wbfunction('df', 'decode-main', wbfunction_status)),
        ('WBFunction', wbfunction('df', 'filter-resize-high', 'Deployed', 'cpu-filter-resize')),
        ('CPUFunction', cpufunction('df-wbfunction-decode-main', function_status)),
        ('CPUFunction', cpufunction('df-wbfunction-filter-resize-high', 'Running')),
        ('WBConnection', wbconnection('df', 'decode-main', 'filter-resize-high', 'Waiting')),
        ('EthernetConnection', ethernetconnection('df-wbconnection-decode-main-filter-resize-high', 'Pending', side=connection_side)))


def test_diagnose_a_function_pod_in_image_pull_backoff():
    resources, objects = _deployment()
    pods = [image_pull_backoff_pod(), ready_pod('df-wbfunction-filter-resize-high-cpu-pod')]
    ok.apply_pods(resources, objects, pods)
    not_ready, lines, reports = ok.diagnose(resources, objects, pods, image_pull_events())
    assert ok.summary_line(resources, 300.4, 3) == (
        '5 of 7 resources not ready after 300s: CPUFunction/default/df-wbfunction-decode-main: Running, pod ImagePullBackOff; '
        'DataFlow/default/df: WBFunction/WBConnection created; EthernetConnection/default/df-wbconnection-decode-main-filter-resize-high: '
        'Pending; WBConnection/default/df-wbconnection-decode-main-filter-resize-high: Waiting; WBFunction/default/df-wbfunction-decode-main: Waiting')
    assert lines == [
        'CPUFunction/default/df-wbfunction-decode-main: Running: Running means its controller created the Pod; '
        'its Pod df-wbfunction-decode-main-cpu-pod is ImagePullBackOff, 1/2 containers ready',
        'DataFlow/default/df: WBFunction/WBConnection created: waits for its WBFunctions and WBConnections to be Deployed: '
        '1 of 2 WBFunctions not Deployed: decode-main (Waiting); 1 of 1 WBConnection not Deployed: decode-main-filter-resize-high (Waiting)',
        'EthernetConnection/default/df-wbconnection-decode-main-filter-resize-high: Pending: the two ends are not connected yet (from INIT, to INIT)',
        'WBConnection/default/df-wbconnection-decode-main-filter-resize-high: Waiting: '
        'waits for EthernetConnection df-wbconnection-decode-main-filter-resize-high: Pending (from INIT, to INIT)',
        'WBFunction/default/df-wbfunction-decode-main: Waiting: waits for CPUFunction df-wbfunction-decode-main: Running, '
        'its Pod df-wbfunction-decode-main-cpu-pod is ImagePullBackOff, 1/2 containers ready',
        'Pod default/df-wbfunction-decode-main-cpu-pod: ImagePullBackOff, 1/2 ready, phase Pending, on kasugai-worker',
        '  cpu-container0: waiting ImagePullBackOff: Back-off pulling image "localhost/cpu-decode:1.1.0"',
        '  Warning Failed (x4): ' + PULL_FAILED,
        '  Warning BackOff (x11): Back-off pulling image "localhost/cpu-decode:1.1.0"',
    ]
    assert not_ready[0] == {'kind': 'CPUFunction', 'namespace': 'default', 'name': 'df-wbfunction-decode-main', 'status': 'Running',
                            'why': 'Running means its controller created the Pod; '
                                   'its Pod df-wbfunction-decode-main-cpu-pod is ImagePullBackOff, 1/2 containers ready'}
    assert [(n['kind'], n['status']) for n in not_ready] == [
        ('CPUFunction', 'Running'), ('DataFlow', 'WBFunction/WBConnection created'), ('EthernetConnection', 'Pending'),
        ('WBConnection', 'Waiting'), ('WBFunction', 'Waiting')]
    assert [r['name'] for r in reports] == [POD]


def test_diagnose_functions_not_started():
    resources, objects = _deployment(function_status='Pending')
    ok.apply_pods(resources, objects, [])
    why = {(n['kind'], n['name']): n['why'] for n in ok.diagnose(resources, objects)[0]}
    assert why[('CPUFunction', 'df-wbfunction-decode-main')] == (
        'its controller has not created its Pod yet; its Pod df-wbfunction-decode-main-cpu-pod does not exist')
    assert why[('WBFunction', 'df-wbfunction-decode-main')] == 'waits for CPUFunction df-wbfunction-decode-main: Pending'
    # no status at all: the controller of that node is not running
    resources, objects = _entries(('CPUFunction', {'metadata': _meta('f'), 'spec': {'nodeName': 'kasugai-worker2'}}),
                                  ('WBFunction', wbfunction('df', 'infer', 'Waiting')), ('DataFlow', {'metadata': _meta('df')}),
                                  ('FunctionType', {'metadata': _meta('ft'), 'spec': {'functionInfoCMRef': {'namespace': 'default', 'name': 'cm'}}}),
                                  ('WBConnection', wbconnection('df', 'a', 'b', 'Waiting')))
    why = {n['kind']: n['why'] for n in ok.diagnose(resources, objects)[0]}
    assert why == {
        'CPUFunction': 'no status yet: the CPUFunction controller of node kasugai-worker2 (one runs on every node) has not handled it',
        'WBFunction': 'waits for its CPUFunction/GPUFunction/FPGAFunction df-wbfunction-infer, which is not there',
        'DataFlow': 'no status yet: the DataFlow controller (whitebox-k8s-flowctrl) has not handled it',
        'FunctionType': 'no status yet: its controller sets one once it has read the ConfigMap default/cm (spec.functionInfoCMRef), '
                        'and does not look again if that was missing',
        'WBConnection': 'waits for its EthernetConnection/PCIeConnection df-wbconnection-a-b, which is not there'}
    lines = ok.diagnose(resources, objects)[1]
    assert lines[0] == 'CPUFunction/default/f: no status yet: the CPUFunction controller of node kasugai-worker2 (one runs on every node) has not handled it'


def test_diagnose_wbfunction_waits_for_its_deviceinfo():
    resources, objects = _deployment()
    device = {'metadata': _meta('deviceinfo-df-wbfunction-decode-main'), 'status': {'response': {'status': 'Initial'}}}
    objects[ok.key_of('DeviceInfo', device)] = device
    pods = [ready_pod('df-wbfunction-decode-main-cpu-pod'), ready_pod('df-wbfunction-filter-resize-high-cpu-pod')]
    ok.apply_pods(resources, objects, pods)
    why = {n['kind']: n['why'] for n in ok.diagnose(resources, objects, pods)[0]}
    assert why['WBFunction'] == ('waits for CPUFunction df-wbfunction-decode-main: Running, its Pod df-wbfunction-decode-main-cpu-pod is Ready; '
                                 'DeviceInfo deviceinfo-df-wbfunction-decode-main: Initial')
    assert 'CPUFunction' not in why


def test_diagnose_dataflow_stuck_in_scheduling():
    flow = dataflow('df', 'Scheduling in progress')
    flow['spec']['functionChainRef'] = {'namespace': 'chain-imgproc', 'name': 'cpu-chain'}
    # its own SchedulingData, at the second filter
    resources, objects = _entries(('DataFlow', flow), ('SchedulingData', schedulingdata('df', 'Filtering', 1)))
    lines = ok.diagnose(resources, objects)[1]
    assert lines == [
        'DataFlow/default/df: Scheduling in progress: the scheduler is at it: SchedulingData default/df Filtering, filter 2 of 3 (TargetResourceFit)',
        'SchedulingData/default/df: Filtering: scheduling at filter 2 of 3 (TargetResourceFit)']
    # a filter failed: that SchedulingData stays
    resources, objects = _entries(('DataFlow', flow), ('SchedulingData', schedulingdata('df', 'Failed', 0)))
    assert ok.diagnose(resources, objects)[1] == [
        'DataFlow/default/df: Scheduling in progress: the scheduler failed at filter 1 of 3 (GenerateCombinations): SchedulingData default/df '
        'is Failed, stays until deleted, and blocks the scheduling of every DataFlow',
        'SchedulingData/default/df: Failed: a filter failed at filter 1 of 3 (GenerateCombinations); it stays until deleted and blocks the '
        'scheduling of every DataFlow']
    # another DataFlow's SchedulingData (another namespace: the module lists SchedulingData everywhere for this)
    resources, objects = _entries(('DataFlow', flow))
    objects[ok.key_of('SchedulingData', schedulingdata('old-df', 'Failed', 1, 'team2'))] = schedulingdata('old-df', 'Failed', 1, 'team2')
    assert ok.diagnose(resources, objects)[1] == [
        'DataFlow/default/df: Scheduling in progress: the scheduler handles one DataFlow at a time and is held by SchedulingData team2/old-df (Failed)']
    # no SchedulingData: no placement; the FunctionTargets say what there is
    resources, objects = _entries(('DataFlow', flow))
    for target in (functiontarget('kasugai-worker', 'cpu', 'Ready', True), functiontarget('kasugai-worker', 'gpu', 'NotReady', False),
                   functiontarget('kasugai-worker2', 'cpu', 'Ready', False)):
        objects[ok.key_of('FunctionTarget', target)] = target
    assert ok.diagnose(resources, objects)[0][0]['why'] == (
        'no SchedulingData now: the scheduler found no placement and retries; usable FunctionTargets (Ready, available): cpu 1')
    resources, objects = _entries(('DataFlow', flow))
    assert ok.diagnose(resources, objects)[0][0]['why'] == (
        'no SchedulingData now: the scheduler (whitebox-k8s-flowctrl) found no placement and retries, or is not running')
    assert ok.context_kinds(resources) == ['SchedulingData', 'FunctionTarget']
    assert ok.context_kinds(_entries(('DataFlow', dataflow('df', 'Deployed')))[0]) == []


def test_diagnose_final_errors_show_the_controllers_events():
    chain = {'metadata': _meta('cpu-chain', 'chain-imgproc'), 'spec': {}, 'status': {'status': 'Error'}}
    ftype = {'metadata': _meta('cpu-decode', 'chain-imgproc'), 'spec': {'functionInfoCMRef': {'namespace': 'default', 'name': 'funcinfo-cpu-decode'}},
             'status': {'status': 'Error'}}
    resources, objects = _entries(('DataFlow', dataflow('df', 'Error')), ('FunctionChain', chain), ('FunctionType', ftype),
                                  ('WBFunction', wbfunction('df', 'decode-main', 'Failed')),
                                  ('ConnectionType', {'metadata': _meta('host-100gether'), 'status': {'status': 'Not Ready'}}),
                                  ('FPGA', {'metadata': _meta('fpga-0'), 'status': {'status': 'Preparing'}}))
    events = [event('DataFlow', 'df', 'Reconcile', 'FunctionChain was found but not Ready state: cpu-chain(Error)', type_='Normal'),
              event('DataFlow', 'df', 'Create', 'Create Start', type_='Normal'),
              event('FunctionChain', 'cpu-chain', 'Reconcile', 'Function was found but not Ready state: cpu-decode()', 2, type_='Normal',
                    namespace='chain-imgproc')]
    lines = ok.diagnose(resources, objects, [], events)[1]
    assert lines == [
        'ConnectionType/default/host-100gether: Not Ready: no interface is available for it yet (status.availableInterfaces is empty)',
        'DataFlow/default/df: Error: the DataFlow controller gave up (Error is final: delete the DataFlow and apply it again); its events say why',
        '  Normal Reconcile: FunctionChain was found but not Ready state: cpu-chain(Error)',
        'FPGA/default/fpga-0: Preparing: its status is Preparing, not a ready one',
        'FunctionChain/chain-imgproc/cpu-chain: Error: a FunctionType or ConnectionType it names was missing or not Ready; its controller does '
        'not look again: apply the FunctionChain again once they are Ready',
        '  Normal Reconcile (x2): Function was found but not Ready state: cpu-decode()',
        'FunctionType/chain-imgproc/cpu-decode: Error: its ConfigMap default/funcinfo-cpu-decode names no deployableItems with a regionType',
        'WBFunction/default/df-wbfunction-decode-main: Failed: its DeviceInfo deviceinfo-df-wbfunction-decode-main answered Error: '
        'the function could not be deployed on the device',
    ]
    assert ok.summary_line(resources, 12.2, 0, 'example.com', {'Error', 'Failed'}).startswith(
        '6 of 6 resources not ready after 12s (4 failed): DataFlow/default/df: Error; FunctionChain/chain-imgproc/cpu-chain: Error; '
        'FunctionType/chain-imgproc/cpu-decode: Error; WBFunction/default/df-wbfunction-decode-main: Failed; ConnectionType/')


def test_summary_names_at_most_a_few():
    many = [_res('CPUFunction', 'default', f'f{i}', 'Pending') for i in range(9)] + [_res('DataFlow', 'default', 'df', 'Deployed', True)]
    line = ok.summary_line(many, 300, 0)
    assert line.startswith('9 of 10 resources not ready after 300s: CPUFunction/default/f0: Pending; ') and line.endswith('f5: Pending; and 3 more')
    assert ok.summary_line(many[-1:], 1) == 'all 1 resource ready after 1s'
    assert ok.diagnosis_namespaces(many + [_res('FPGA', '', 'fpga', 'NotReady'), _res('X', 'team2', 'x', '')]) == ['default', 'team2']
    assert ok.diagnosis_namespaces(many, 'lab') == ['lab']


def test_wait_stops_at_a_final_status():
    stuck = [_res('DataFlow', 'default', 'df', 'Scheduling in progress')]
    error = [_res('DataFlow', 'default', 'df', 'Error')]
    t = FakeClock()
    assert ok.wait_until_ready(_lister(stuck, error)[0], 60, 2, clock=t.clock, sleep=t.sleep, fail_statuses={'Error'}) == (error, False, 2)
    assert t.sleeps == [2]
    # without fail_statuses it waits until the timeout
    t = FakeClock()
    assert ok.wait_until_ready(_lister(error)[0], 5, 2, clock=t.clock, sleep=t.sleep)[1:] == (False, 4)

# ---------------------------------------------------------------- the module, against a stand-in API server


class FakeApiServer:
    """The API boundary: answers GETs as kube-apiserver would, from ``crds`` and ``objects[plural]``
    (``objects['pods']`` and ``objects['events']`` for the core/v1 lists).

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
        if parts[:2] == ['api', 'v1'] and (len(parts) == 3 or (len(parts) == 5 and parts[2] == 'namespaces')) and parts[-1] in ('pods', 'events'):
            ns = parts[3] if len(parts) == 5 else None  # /api/v1/[namespaces/<ns>/]pods
            items = [o for o in self.objects.get(parts[-1], []) if ns is None or o['metadata'].get('namespace') == ns]
            return 200, {'kind': 'PodList' if parts[-1] == 'pods' else 'EventList', 'apiVersion': 'v1',
                         'metadata': {'resourceVersion': '3'}, 'items': items}
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
        'pods': [ready_pod('other-cpu-pod', 'team2')],
        'events': [],
    }


def _start_function(api, index=0, the_pod=None):
    """What the CPUFunction controller does: create the Pod, then write podName and Running."""
    function = api.objects['cpufunctions'][index]
    name = function['metadata']['name'] + '-cpu-pod'
    api.objects['pods'].append(the_pod or ready_pod(name, function['metadata']['namespace']))
    function['status'].update(status='Running', podName=name)


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
    assert result['resources'][1]['pod'] == {'name': 'other-cpu-pod', 'status': 'Running', 'ready': True}
    assert result['not_ready'] == [{'kind': 'CPUFunction', 'namespace': 'default', 'name': 'df-a-wbfunction-decode-main', 'status': 'Pending',
                                    'why': 'its controller has not created its Pod yet; its Pod df-a-wbfunction-decode-main-cpu-pod does not exist'}]
    assert result['diagnosis'] == ['CPUFunction/default/df-a-wbfunction-decode-main: Pending: ' + result['not_ready'][0]['why']]
    assert result['pods_not_ready'] == []
    assert result['table'] == '\n'.join(result['table_lines']) and len(result['table_lines']) == 7
    assert result['table_lines'][0].split() == ['KIND', 'NAMESPACE', 'NAME', 'STATUS', 'DETAIL']
    assert result['table_lines'][1].split() == ['CPUFunction', 'default', 'df-a-wbfunction-decode-main', 'Pending', 'cpu-decode', 'on',
                                                'kasugai-worker,', 'no', 'pod']
    assert result['table_lines'][2].split()[3:] == ['Running', 'cpu-decode', 'on', 'kasugai-worker,', 'pod', 'Running', '2/2']
    # the Pods of the CPUFunctions' namespaces, then (something is not ready) the Pods and Events of its namespace
    assert {p for p in api.paths if p.startswith('/api/')} == {
        '/api/v1/namespaces/default/pods', '/api/v1/namespaces/team2/pods', '/api/v1/namespaces/default/events'}
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
                              '/apis/example.com/v1/fabrics',
                              '/api/v1/namespaces/team2/pods'}
    assert result['table_lines'][2].split() == ['Fabric', '<none>', 'fabric-0', 'Ready']
    assert result['not_ready'] == [] and result['diagnosis'] == []


def test_module_waits_until_the_function_runs(api, tmp_path):
    def controller(n):  # the CPUFunction controller starts the pod on the third listing, which is Ready on the fifth
        if n == 3:
            _start_function(api, the_pod=pod('df-a-wbfunction-decode-main-cpu-pod', [waiting('ContainerCreating'),
                                                                                     waiting('ContainerCreating', name='cpu-container1')], 'Pending'))
        if n == 5:
            api.objects['pods'][-1] = ready_pod('df-a-wbfunction-decode-main-cpu-pod')
    api.on_crd_list = controller
    failed, result = _run(api, tmp_path, wait=True, wait_interval=0.05, wait_timeout=30)
    assert not failed, result
    assert result['polls'] == 5 and result['not_ready'] == [] and result['diagnosis'] == []
    assert result['resources'][0]['status'] == 'Running' and result['resources'][0]['ready']
    assert '/api/v1/namespaces/default/events' not in api.paths  # nothing to explain, nothing read for it


def test_module_check_pods_off(api, tmp_path):
    """check_pods false: Running is ready, whatever the Pod, and no Pod is read."""
    _start_function(api, the_pod=image_pull_backoff_pod('df-a-wbfunction-decode-main-cpu-pod'))
    failed, result = _run(api, tmp_path, check_pods=False)
    assert not failed, result
    assert all(r['ready'] for r in result['resources']) and 'pod' not in result['resources'][0]
    assert not any(p.startswith('/api/') for p in api.paths)


def test_module_wait_timeout_fails_naming_each_resource(api, tmp_path):
    api.objects['dataflows'].append({'metadata': _meta('df-new')})
    failed, result = _run(api, tmp_path, wait=True, wait_interval=0.05, wait_timeout=1)
    assert failed
    assert result['msg'] == (
        '2 of 7 resources not ready after 1s: CPUFunction/default/df-a-wbfunction-decode-main: Pending; DataFlow/default/df-new: no status yet\n'
        'CPUFunction/default/df-a-wbfunction-decode-main: Pending: its controller has not created its Pod yet; '
        'its Pod df-a-wbfunction-decode-main-cpu-pod does not exist\n'
        'DataFlow/default/df-new: no status yet: the DataFlow controller (whitebox-k8s-flowctrl) has not handled it')
    assert result['polls'] > 2 and len(result['resources']) == 7 and len(result['not_ready']) == 2
    assert result['msg'].split('\n')[1:] == result['diagnosis']
    assert result['table_lines'][0].split() == ['KIND', 'NAMESPACE', 'NAME', 'STATUS', 'DETAIL']


def test_module_wait_fails_with_the_pod_that_does_not_start(api, tmp_path):
    """The CPUFunction says Running; its Pod cannot pull its image. The wait names both, with the kubelet's events."""
    _start_function(api, the_pod=image_pull_backoff_pod('df-a-wbfunction-decode-main-cpu-pod'))
    api.objects['pods'].append(crash_loop_pod('unrelated-cpu-pod'))  # another Pod of the namespace waited on
    api.objects['pods'].append(image_pull_backoff_pod('elsewhere-cpu-pod', 'team3'))  # not in it
    api.objects['events'] = image_pull_events('df-a-wbfunction-decode-main-cpu-pod') + image_pull_events('elsewhere-cpu-pod', 'team3')
    failed, result = _run(api, tmp_path, namespace='default', kinds=['CPUFunction', 'DataFlow'], wait=True, wait_interval=0.05, wait_timeout=1)
    assert failed
    lines = result['msg'].split('\n')
    assert lines[0] == '1 of 3 resources not ready after 1s: CPUFunction/default/df-a-wbfunction-decode-main: Running, pod ImagePullBackOff'
    assert lines[1:] == result['diagnosis'] == [
        'CPUFunction/default/df-a-wbfunction-decode-main: Running: Running means its controller created the Pod; '
        'its Pod df-a-wbfunction-decode-main-cpu-pod is ImagePullBackOff, 1/2 containers ready',
        'Pod default/df-a-wbfunction-decode-main-cpu-pod: ImagePullBackOff, 1/2 ready, phase Pending, on kasugai-worker',
        '  cpu-container0: waiting ImagePullBackOff: Back-off pulling image "localhost/cpu-decode:1.1.0"',
        '  Warning Failed (x4): ' + PULL_FAILED,
        '  Warning BackOff (x11): Back-off pulling image "localhost/cpu-decode:1.1.0"',
        'Pod default/unrelated-cpu-pod: CrashLoopBackOff, 1/2 ready, phase Running, on kasugai-worker',
        '  cpu-container0: waiting CrashLoopBackOff; last exit code 1 (Error), 4 restarts',
    ]
    assert [(p['name'], p['status'], p['containers'][0]['reason']) for p in result['pods_not_ready']] == [
        ('df-a-wbfunction-decode-main-cpu-pod', 'ImagePullBackOff', 'ImagePullBackOff'), ('unrelated-cpu-pod', 'CrashLoopBackOff', 'CrashLoopBackOff')]
    assert result['pods_not_ready'][1]['containers'][0]['last_exit_code'] == 1
    assert result['not_ready'] == [{'kind': 'CPUFunction', 'namespace': 'default', 'name': 'df-a-wbfunction-decode-main', 'status': 'Running',
                                    'why': result['diagnosis'][0].split(': Running: ', 1)[1]}]
    assert '/api/v1/namespaces/team3/pods' not in api.paths


def test_module_wait_stops_at_an_error(api, tmp_path):
    """A DataFlow in Error stays there: the wait fails at once, with the controller's events on it."""
    api.objects['dataflows'][0]['status']['status'] = 'Error'
    api.objects['events'] = [event('DataFlow', 'df-b', 'Reconcile', 'unable to fetch configmap', type_='Normal'),
                             event('DataFlow', 'df-b', 'Create', 'Create Start', type_='Normal')]
    failed, result = _run(api, tmp_path, kinds=['DataFlow'], wait=True, wait_interval=0.05, wait_timeout=30)
    assert failed and result['polls'] == 1
    assert result['msg'].split('\n') == [
        '1 of 2 resources not ready after 0s (1 failed): DataFlow/default/df-b: Error',
        'DataFlow/default/df-b: Error: the DataFlow controller gave up (Error is final: delete the DataFlow and apply it again); its events say why',
        '  Normal Reconcile: unable to fetch configmap']
    # fail_statuses [] waits for it until the timeout
    failed, result = _run(api, tmp_path, kinds=['DataFlow'], wait=True, wait_interval=0.05, wait_timeout=1, fail_statuses=[])
    assert failed and result['polls'] > 2 and result['msg'].startswith('1 of 2 resources not ready after 1s: DataFlow/default/df-b: Error\n')


def test_module_explains_scheduling_from_everywhere(api, tmp_path):
    """A DataFlow stuck in Scheduling in progress: SchedulingData and FunctionTargets are read in every namespace."""
    api.crds = CRDS + [_crd('SchedulingData', 'schedulingdata', {'status': STR, 'currentFilterIndex': {'type': 'integer'}}),
                       _crd('FunctionTarget', 'functiontargets', {'status': STR, 'available': {'type': 'boolean'}})]
    api.objects['dataflows'][0]['status']['status'] = 'Scheduling in progress'
    api.objects['schedulingdata'] = [schedulingdata('old-df', 'Failed', 1, 'team2')]
    failed, result = _run(api, tmp_path, namespace='default', kinds=['DataFlow'])
    assert not failed, result  # no wait: reported, not failed
    assert result['diagnosis'] == ['DataFlow/default/df-b: Scheduling in progress: the scheduler handles one DataFlow at a time '
                                   'and is held by SchedulingData team2/old-df (Failed)']
    assert '/apis/example.com/v1/schedulingdata' in api.paths and '/apis/example.com/v1/functiontargets' in api.paths


def test_module_diagnosis_is_best_effort(api, tmp_path):
    """Events the user may not read: the diagnosis says so, and the rest of it is there."""
    api.errors['/api/v1/namespaces/default/events'] = (403, 'Forbidden')
    failed, result = _run(api, tmp_path, kinds=['CPUFunction'])
    assert not failed, result
    assert result['diagnosis'] == [
        'CPUFunction/default/df-a-wbfunction-decode-main: Pending: its controller has not created its Pod yet; '
        'its Pod df-a-wbfunction-decode-main-cpu-pod does not exist',
        '(listing events in namespace default failed: HTTP 403 Forbidden: /api/v1/namespaces/default/events is forbidden for user lab)']


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
    monkeypatch.setattr(kube_api, 'HAS_KUBERNETES', False)
    monkeypatch.setattr(kube_api, 'KUBERNETES_IMPORT_ERROR', ImportError("No module named 'kubernetes'"))
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': str(tmp_path / 'kc')})
    assert failed and 'kubernetes' in result['msg'] and 'Failed to import the required Python library' in result['msg']


def test_module_bad_wait_options(tmp_path):
    failed, result = run_module(openkasugai_info.main, {'kubeconfig': str(tmp_path / 'kc'), 'wait_interval': 0})
    assert failed and 'wait_interval must be positive' in result['msg']


def test_through_ansible(api, tmp_path):
    """The packaged module (AnsiballZ, module_utils import) via `ansible localhost -m`, with the action group."""
    _start_function(api)
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
