# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""OpenKasugai custom resources: which kinds a cluster has, what status each object reports,
a kubectl-like table of them, a poll loop that waits until all are ready, and the diagnosis of
what is not ready (the objects' statuses and events, the Pods of their namespaces).

Everything works on plain dicts (CRDs, objects, Pods and Events as the API server returns them in JSON)
and injected callables, so it runs without a cluster and without the kubernetes library: the reads are
``kube_api.KubeCustomResources``'s.

Where the OpenKasugai v1.1.0 controllers (github.com/openkasugai/controller, src/) write a status,
checked against src/*/api/v1/*_types.go and src/*/internal/controller/:

- ``.status.status``: DataFlow (``Scheduling in progress``, ``WBFunction/WBConnection creation in
  progress``, ``WBFunction/WBConnection created``, ``Deployed``, ``Error``; ``Error`` is final);
  FunctionChain, FunctionType (``Ready``, ``Error``; a FunctionChain that saw a FunctionType not
  ``Ready`` stays ``Error``: its controller watches FunctionChains only); ConnectionType (``Ready``,
  ``Not Ready``); WBFunction, WBConnection (``Waiting`` once their CPUFunction/GPUFunction/FPGAFunction
  or EthernetConnection/PCIeConnection of the same name exists, ``Deployed`` once that is ``Running``,
  ``Failed`` when a WBFunction's DeviceInfo answers ``Error``, ``Terminating``, ``Released``);
  CPUFunction, GPUFunction (``Pending`` until ``Running``, which they write as soon as they have
  *created* their Pod ``<name>-cpu-pod``/``<name>-gpu-pod`` (``.status.podName``): ``Running`` says
  nothing about the Pod, hence :func:`apply_pods`); FPGAFunction, EthernetConnection, PCIeConnection
  (``Pending`` until ``Running``; the connections also write ``INIT``/``OK``/``NG`` per side in
  ``.status.from.status`` and ``.status.to.status``); FunctionTarget, FPGA, ChildBs (``NotReady``,
  ``Preparing``, ``Ready``, ``Error``); FPGAReconfiguration (``Pending``, ``Succeeded``, ``Failed``);
  SchedulingData (``Filtering``, ``Finish``, ``Failed``: deleted at ``Finish``; a ``Failed`` one stays
  and blocks the scheduling of every other DataFlow, the scheduler handles one at a time).
- ``.status.response.status``: DeviceInfo (``Initial``, ``Deployed``, ``Undeployed``, ``Error``;
  deleted by its WBFunction once ``Deployed``).
- nothing: ComputeResource (a status per region only), TopologyInfo, ConnectionTarget.

None of them has status conditions; the controllers record Events (all of type Normal) on their
objects, the useful ones (reason ``Reconcile``) say why a FunctionChain or DataFlow is in ``Error``.
"""


import re
import time

DEFAULT_GROUP = 'example.com'
# The statuses above that mean "done and working"; everything else is still on its way or failed.
DEFAULT_READY_STATUSES = ['Ready', 'Running', 'Deployed', 'OK', 'Succeeded', 'Finish']
# Statuses the controllers never leave by themselves: with wait, one of them ends the wait at once.
DEFAULT_FAIL_STATUSES = ['Error', 'Failed']

# Where a status string may be, in the order tried, before a Ready condition.
STATUS_PATHS = (('status', 'status'), ('status', 'phase'), ('status', 'response', 'status'))
NONE = '<none>'
COLUMNS = (('KIND', 'kind'), ('NAMESPACE', 'namespace'), ('NAME', 'name'), ('STATUS', 'status'), ('DETAIL', 'detail'))
# Kinds whose controller starts a Pod per object: kind -> suffix of the Pod's name (.status.podName).
POD_KINDS = {'CPUFunction': '-cpu-pod', 'GPUFunction': '-gpu-pod'}
FUNCTION_KINDS = ('CPUFunction', 'GPUFunction', 'FPGAFunction')
CONNECTION_KINDS = ('EthernetConnection', 'PCIeConnection')
# How much of the diagnosis to give: events per object, characters per message, objects in the summary.
EVENTS_PER_OBJECT = 3
MESSAGE_CHARS = 320
SUMMARY_OBJECTS = 6
# Events the controllers record on every create/update/delete; they say nothing about a problem.
ROUTINE_EVENT_MESSAGES = {'{} {}'.format(a, b) for a in ('Create', 'Update', 'Delete') for b in ('Start', 'End')}
# The kubelet's ``Error: ErrImagePull``-like events only repeat a container's waiting reason.
REPEATING_EVENT = re.compile(r'^Error: \w+$')


class OpenKasugaiError(Exception):
    """Something the module reports with fail_json: a missing kind, an API or kubeconfig error."""


def _dig(data, path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value):
    return value if isinstance(value, str) else ''


def _one_line(message, limit=MESSAGE_CHARS):
    """A message on one line, cut to ``limit`` characters."""
    text = ' '.join(str(message or '').split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + '...'


def key_of(kind, obj):
    meta = obj.get('metadata') or {}
    return (kind, meta.get('namespace') or '', meta.get('name') or '')


def reports_status(schema):
    """Whether objects of a CRD version with this openAPIV3Schema can carry a status string.

    False when the schema leaves no room for one: no ``status`` at all, or a ``status`` whose declared
    fields include none of :data:`STATUS_PATHS` (as strings) and no ``conditions`` (ComputeResource,
    TopologyInfo, ConnectionTarget); the API server prunes undeclared fields. True when it declares
    one, and when the schema does not say (none given, or fields preserved as they come).
    """
    if not isinstance(schema, dict) or not isinstance(schema.get('properties'), dict) or schema.get('x-kubernetes-preserve-unknown-fields'):
        return True
    props = schema['properties'].get('status')
    if props is None:
        return False
    if not isinstance(props, dict) or not isinstance(props.get('properties'), dict) or props.get('x-kubernetes-preserve-unknown-fields'):
        return True
    for path in STATUS_PATHS:
        node = schema
        for key in path:
            node = _dig(node, ('properties', key))
        if isinstance(node, dict) and node.get('type') == 'string':
            return True
    return isinstance(_dig(props, ('properties', 'conditions')), dict)


def extract_status(obj):
    """The status string of one object: the first non-empty string of :data:`STATUS_PATHS`, else
    its ``Ready`` condition (``Ready`` when True, else its reason, else ``NotReady`` or the
    condition's status), else ``''`` (nothing reported yet)."""
    if not isinstance(obj.get('status'), dict):
        return ''
    for path in STATUS_PATHS:
        value = _dig(obj, path)
        if isinstance(value, str) and value:
            return value
    for cond in _dig(obj, ('status', 'conditions')) or []:
        if isinstance(cond, dict) and cond.get('type') == 'Ready':
            if cond.get('status') == 'True':
                return 'Ready'
            return cond.get('reason') or ('NotReady' if cond.get('status') == 'False' else cond.get('status') or 'Unknown')
    return ''


def served_version(crd):
    """The version to read a CRD's objects with: its storage version if served, else the first served."""
    versions = [v for v in _dig(crd, ('spec', 'versions')) or [] if v.get('served', True)]
    for version in versions:
        if version.get('storage'):
            return version
    return versions[0] if versions else None


def kind_infos(crds, group):
    """Every served kind of ``group`` among ``crds`` (CRD dicts), sorted by kind."""
    out = []
    for crd in crds:
        spec = crd.get('spec') or {}
        version = served_version(crd)
        if spec.get('group') != group or version is None:
            continue
        names = spec.get('names') or {}
        out.append({
            'kind': names.get('kind'),
            'plural': names.get('plural'),
            'aliases': {n.lower() for n in [names.get('kind'), names.get('plural'), names.get('singular')] + list(names.get('shortNames') or []) if n},
            'group': group,
            'version': version['name'],
            'namespaced': spec.get('scope', 'Namespaced') == 'Namespaced',
            'reports_status': reports_status(_dig(version, ('schema', 'openAPIV3Schema'))),
        })
    return sorted(out, key=lambda info: info['kind'])


def select_kinds(infos, wanted, group):
    """The infos named by ``wanted`` (kind, plural, singular or short name, any case); all when empty.

    Raises OpenKasugaiError naming every wanted kind the cluster has no CRD for.
    """
    if not wanted:
        return list(infos)
    chosen, unknown = [], []
    for name in wanted:
        match = [info for info in infos if name.lower() in info['aliases']]
        if not match:
            unknown.append(name)
        chosen += [info for info in match if info not in chosen]
    if unknown:
        have = ', '.join(info['kind'] for info in infos) or 'none'
        raise OpenKasugaiError('no CustomResourceDefinition of group {} for kind{} {} (the cluster has: {})'.format(
            group, 's' if len(unknown) > 1 else '', ', '.join(unknown), have))
    return sorted(chosen, key=lambda info: info['kind'])


def _count(number, noun):
    return '{} {}{}'.format(number, noun, '' if number == 1 else 's')


def _strip_prefix(name, prefix):
    return name[len(prefix):] if prefix and name.startswith(prefix) and len(name) > len(prefix) else name


def _parts(obj):
    spec = obj.get('spec') if isinstance(obj.get('spec'), dict) else {}
    status = obj.get('status') if isinstance(obj.get('status'), dict) else {}
    return spec, status


def _field(spec, status, name):
    """A field the controllers copy from spec to status: status first, then spec."""
    value = status.get(name)
    return value if value not in (None, '') else spec.get(name)


def _ref(spec, status, *path):
    return _text(_dig(status, path)) or _text(_dig(spec, path))


def detail_of(kind, obj):
    """The DETAIL column: what a kind has to add to its status, in a few words; ``''`` for most kinds."""
    spec, status = _parts(obj)
    if kind == 'DataFlow':
        parts = ['chain ' + _text(_dig(spec, ('functionChainRef', 'name')))] if _dig(spec, ('functionChainRef', 'name')) else []
        if isinstance(status.get('scheduledFunctions'), dict) and status['scheduledFunctions']:
            parts.append(_count(len(status['scheduledFunctions']), 'function'))
        if isinstance(status.get('scheduledConnections'), list) and status['scheduledConnections']:
            parts.append(_count(len(status['scheduledConnections']), 'connection'))
        return ', '.join(parts)
    if kind == 'WBFunction':
        device = '-'.join(str(v) for v in (_field(spec, status, 'deviceType'), _field(spec, status, 'deviceIndex')) if v not in (None, ''))
        return ' '.join(p for p in (_text(_field(spec, status, 'functionName')), 'on' if _field(spec, status, 'nodeName') else '',
                                    _text(_field(spec, status, 'nodeName')), device) if p)
    if kind == 'WBConnection':
        prefix = _ref(spec, status, 'dataFlowRef', 'name') + '-wbfunction-'
        ends = [_strip_prefix(_ref(spec, status, side, 'wbFunctionRef', 'name'), prefix) or '?' for side in ('from', 'to')]
        method = _text(_field(spec, status, 'connectionMethod'))
        return '{}{} -> {}'.format(method + ': ' if method else '', *ends)
    if kind in FUNCTION_KINDS:
        fn, node = _text(spec.get('functionName')), _text(spec.get('nodeName'))
        return ' '.join(p for p in (fn, 'on ' + node if node else '') if p)
    if kind in CONNECTION_KINDS:
        sides = [(side, _text(_dig(status, (side, 'status')))) for side in ('from', 'to')]
        return ', '.join('{} {}'.format(side, value) for side, value in sides if value)
    if kind == 'SchedulingData':
        pipeline, index = spec.get('filterPipeline') or [], status.get('currentFilterIndex')
        if isinstance(index, int) and isinstance(pipeline, list) and 0 <= index < len(pipeline):
            return 'filter {} of {} ({})'.format(index + 1, len(pipeline), pipeline[index])
        return ''
    if kind == 'FunctionTarget':
        parts = [] if status.get('available') is None else ['available' if status.get('available') else 'not available']
        if status.get('maxFunctions') is not None:
            parts.append('{}/{} functions'.format(status.get('currentFunctions') or 0, status['maxFunctions']))
        return ', '.join(parts)
    if kind == 'FunctionType':
        return ' '.join(_text(spec.get(k)) for k in ('functionName', 'version') if spec.get(k))
    if kind == 'ChildBs':
        state = _text(status.get('state'))
        return 'state ' + state if state and state != status.get('status') else ''
    if kind == 'DeviceInfo':
        return ' '.join(_text(_dig(spec, ('request', k))) for k in ('requestType', 'functionName', 'nodeName') if _dig(spec, ('request', k)))
    return ''


def resource_entries(info, objects, ready_statuses):
    """One result entry per object of one kind. Objects of a kind that reports no status are ready."""
    out = []
    for obj in objects:
        meta = obj.get('metadata') or {}
        status = extract_status(obj)
        out.append({
            'kind': info['kind'],
            'api_version': '{}/{}'.format(info['group'], info['version']),
            'namespace': meta.get('namespace') or '',
            'name': meta.get('name') or '',
            'status': status,
            'ready': status in ready_statuses if info['reports_status'] else True,
            'detail': detail_of(info['kind'], obj),
        })
    return out


def sort_resources(resources):
    return sorted(resources, key=lambda r: (r['kind'], r['namespace'], r['name']))


def render_table(resources):
    """Lines of a kubectl-like table (KIND NAMESPACE NAME STATUS DETAIL, columns 3 spaces apart)."""
    if not resources:
        return ['No resources found.']
    rows = [[column[0] for column in COLUMNS]]
    rows += [[r.get(column[1]) or (NONE if column[1] != 'detail' else '') for column in COLUMNS] for r in resources]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ['   '.join(row[i].ljust(widths[i]) for i in range(len(COLUMNS))).rstrip() for row in rows]


# ---------------------------------------------------------------- Pods and Events

def _container_states(pod):
    """``(init container statuses, container statuses)`` of a Pod."""
    status = pod.get('status') or {}
    return ([c for c in status.get('initContainerStatuses') or [] if isinstance(c, dict)],
            [c for c in status.get('containerStatuses') or [] if isinstance(c, dict)])


def _terminated_reason(term):
    if term.get('reason'):
        return term['reason']
    return 'Signal:{}'.format(term['signal']) if term.get('signal') else 'ExitCode:{}'.format(term.get('exitCode'))


def pod_condition(pod, kind):
    for cond in _dig(pod, ('status', 'conditions')) or []:
        if isinstance(cond, dict) and cond.get('type') == kind:
            return cond
    return None


def pod_is_ready(pod):
    cond = pod_condition(pod, 'Ready')
    return bool(cond) and cond.get('status') == 'True'


def pod_status(pod):
    """``(status, ready, 'n/m')`` of a Pod much as ``kubectl get pods`` shows them: the first problem
    (``Init:ImagePullBackOff``, ``CrashLoopBackOff``, ``Error``, ``Unschedulable``, ``Terminating``) else its phase."""
    status = pod.get('status') or {}
    reason = status.get('reason') or status.get('phase') or 'Unknown'
    inits, containers = _container_states(pod)
    problem = None
    for number, cstat in enumerate(inits):
        term, wait = _dig(cstat, ('state', 'terminated')), _dig(cstat, ('state', 'waiting'))
        if isinstance(term, dict) and term.get('exitCode') == 0:
            continue
        if isinstance(term, dict):
            problem = 'Init:' + _terminated_reason(term)
        elif isinstance(wait, dict) and wait.get('reason') and wait['reason'] != 'PodInitializing':
            problem = 'Init:' + wait['reason']
        else:
            problem = 'Init:{}/{}'.format(number, len(inits))
        break
    if problem is None:
        for cstat in containers:
            term, wait = _dig(cstat, ('state', 'terminated')), _dig(cstat, ('state', 'waiting'))
            if isinstance(wait, dict) and wait.get('reason'):
                problem = wait['reason']
            elif isinstance(term, dict):
                problem = _terminated_reason(term)
            if problem:
                break
    scheduled = pod_condition(pod, 'PodScheduled')
    if problem is None and scheduled and scheduled.get('status') == 'False':
        problem = scheduled.get('reason') or 'Unschedulable'
    if _dig(pod, ('metadata', 'deletionTimestamp')):
        problem = 'Terminating'
    total = len(_dig(pod, ('spec', 'containers')) or []) or len(containers)
    ready = sum(1 for cstat in containers if cstat.get('ready'))
    return problem or reason, pod_is_ready(pod), '{}/{}'.format(ready, total)


def _event_time(event):
    """When an event last happened, as a sortable string (core/v1 and events.k8s.io/v1 style events)."""
    when = event.get('lastTimestamp') or _dig(event, ('series', 'lastObservedTime')) or event.get('eventTime') \
        or event.get('firstTimestamp') or _dig(event, ('metadata', 'creationTimestamp')) or ''
    when = str(when).rstrip('Z')
    whole, fraction = (when.split('.', 1) + [''])[:2]
    return (whole, fraction.ljust(9, '0'))


def events_of(events, kind, namespace, name, warnings_only=False, limit=EVENTS_PER_OBJECT):
    """The last ``limit`` events about one object, oldest first, without the controllers' routine ones."""
    chosen = []
    for event in events or []:
        obj = event.get('involvedObject') or event.get('regarding') or {}
        if obj.get('kind') != kind or obj.get('name') != name or (obj.get('namespace') or '') != namespace:
            continue
        if warnings_only and event.get('type') != 'Warning':
            continue
        message = _one_line(event.get('message') or event.get('note'))
        if message in ROUTINE_EVENT_MESSAGES or REPEATING_EVENT.match(message):
            continue
        chosen.append(event)
    return sorted(chosen, key=_event_time)[-limit:] if limit else []


def event_summary(event):
    count = event.get('count') or _dig(event, ('series', 'count')) or 1
    return {'type': event.get('type') or '', 'reason': event.get('reason') or '', 'count': count,
            'message': _one_line(event.get('message') or event.get('note'))}


def event_line(event):
    """``Warning Failed (x4): Failed to pull image "..."``"""
    ev = event_summary(event)
    return '{} {}{}: {}'.format(ev['type'] or 'Event', ev['reason'], ' (x{})'.format(ev['count']) if ev['count'] > 1 else '', ev['message'])


def container_report(prefix, cstat):
    """One not-ready container: its state, why, and its last run if it restarted."""
    state = cstat.get('state') or {}
    report = {'name': prefix + (cstat.get('name') or '?'), 'ready': bool(cstat.get('ready')), 'restarts': cstat.get('restartCount') or 0,
              'state': next((k for k in ('waiting', 'terminated', 'running') if isinstance(state.get(k), dict)), 'unknown'),
              'reason': '', 'message': '', 'exit_code': None, 'last_reason': '', 'last_exit_code': None, 'last_message': ''}
    now = state.get(report['state']) or {}
    report['reason'] = now.get('reason') or ''
    # the kubelet's CrashLoopBackOff message only names the container and Pod again
    report['message'] = _one_line(now.get('message')) if report['reason'] != 'CrashLoopBackOff' else ''
    report['exit_code'] = now.get('exitCode')
    last = _dig(cstat, ('lastState', 'terminated'))
    if isinstance(last, dict):
        report['last_reason'] = last.get('reason') or ''
        report['last_exit_code'] = last.get('exitCode')
        report['last_message'] = _one_line(last.get('message'))
    return report


def container_line(report):
    """``cpu-container0: waiting CrashLoopBackOff: back-off 40s ...; last exit code 1 (Error), 5 restarts``"""
    text = '{}: {}'.format(report['name'], report['state'] if report['state'] != 'running' else 'running, not ready')
    if report['reason']:
        text += ' ' + report['reason']
    if report['exit_code'] is not None:
        text += ', exit code {}'.format(report['exit_code'])
    if report['message']:
        text += ': ' + report['message']
    if report['last_exit_code'] is not None:
        text += '; last exit code {}{}{}'.format(report['last_exit_code'], ' ({})'.format(report['last_reason']) if report['last_reason'] else '',
                                                 ': ' + report['last_message'] if report['last_message'] else '')
    if report['restarts']:
        text += ', ' + _count(report['restarts'], 'restart')
    return text


def pod_report(pod, events=None):
    """What is wrong with one Pod: a dict for the module's result and the lines of its diagnosis."""
    meta, status = pod.get('metadata') or {}, pod.get('status') or {}
    state, ready, counts = pod_status(pod)
    inits, containers = _container_states(pod)
    reports = [container_report('init ', cstat) for cstat in inits
               if not cstat.get('ready') and _dig(cstat, ('state', 'terminated', 'exitCode')) != 0]
    reports += [container_report('', cstat) for cstat in containers if not cstat.get('ready')]
    report = {'namespace': meta.get('namespace') or '', 'name': meta.get('name') or '', 'phase': status.get('phase') or '',
              'status': state, 'ready': counts, 'node': _dig(pod, ('spec', 'nodeName')) or '', 'containers': reports,
              'events': [event_summary(e) for e in events_of(events, 'Pod', meta.get('namespace') or '', meta.get('name') or '', True)]}
    head = 'Pod {}/{}: {}, {} ready'.format(report['namespace'], report['name'], state, counts)
    if report['phase'] and report['phase'] != state:
        head += ', phase ' + report['phase']
    head += ', on ' + report['node'] if report['node'] else ''
    lines = [head]
    scheduled = pod_condition(pod, 'PodScheduled')
    if scheduled and scheduled.get('status') == 'False':
        lines.append('  not scheduled: {}'.format(_one_line(scheduled.get('message') or scheduled.get('reason'))))
    if status.get('message'):
        lines.append('  {}: {}'.format(status.get('reason') or 'message', _one_line(status['message'])))
    lines += ['  ' + container_line(r) for r in reports]
    lines += ['  ' + event_line(e) for e in events_of(events, 'Pod', report['namespace'], report['name'], True)]
    return report, lines


def not_ready_pods(pods):
    """The Pods that are not Ready and not done (Succeeded), sorted by namespace and name."""
    chosen = [p for p in pods or [] if not pod_is_ready(p) and _dig(p, ('status', 'phase')) != 'Succeeded']
    return sorted(chosen, key=lambda p: (_dig(p, ('metadata', 'namespace')) or '', _dig(p, ('metadata', 'name')) or ''))


def pod_namespaces(resources):
    """The namespaces whose Pods :func:`apply_pods` needs: those of the CPUFunctions and GPUFunctions."""
    return sorted({r['namespace'] for r in resources if r['kind'] in POD_KINDS and r['namespace']})


def pod_name_of(kind, obj):
    """The Pod of a CPUFunction/GPUFunction: ``.status.podName``, else the name its controller gives it."""
    return _text(_dig(obj, ('status', 'podName'))) or (key_of(kind, obj)[2] + POD_KINDS[kind]).lower()


def apply_pods(resources, objects, pods):
    """Give every CPUFunction/GPUFunction entry a ``pod`` ({name, status, ready}) and make it ready only
    when its Pod is Ready too: their controllers write ``Running`` once they have created the Pod."""
    by_key = {(_dig(p, ('metadata', 'namespace')) or '', _dig(p, ('metadata', 'name')) or ''): p for p in pods or []}
    for entry in resources:
        if entry['kind'] not in POD_KINDS:
            continue
        obj = objects.get((entry['kind'], entry['namespace'], entry['name'])) or {}
        name = pod_name_of(entry['kind'], obj)
        pod = by_key.get((entry['namespace'], name))
        if pod is None:
            entry['pod'] = {'name': name, 'status': 'NotFound', 'ready': False}
            entry['detail'] = ', '.join(p for p in (entry.get('detail'), 'no pod') if p)
        else:
            state, ready, counts = pod_status(pod)
            entry['pod'] = {'name': name, 'status': state, 'ready': ready}
            entry['detail'] = ', '.join(p for p in (entry.get('detail'), 'pod {} {}'.format(state, counts)) if p)
        entry['ready'] = entry['ready'] and entry['pod']['ready']
    return resources


# ---------------------------------------------------------------- why an object is not ready

def _find(objects, kinds, namespace, name):
    for kind in kinds:
        obj = objects.get((kind, namespace, name))
        if obj is not None:
            return kind, obj
    return None, None


def _members(objects, kind, namespace, dataflow):
    """The objects of ``kind`` that a DataFlow owns (``dataFlowRef``), sorted by name."""
    out = []
    for (k, ns, name), obj in objects.items():
        spec, status = _parts(obj)
        if k == kind and ns == namespace and _ref(spec, status, 'dataFlowRef', 'name') == dataflow:
            out.append((name, extract_status(obj)))
    return sorted(out)


def _pod_phrase(kind, obj, pods_by_key):
    name = pod_name_of(kind, obj)
    pod = pods_by_key.get((key_of(kind, obj)[1], name))
    if pod is None:
        return 'its Pod {} does not exist'.format(name)
    state, ready, counts = pod_status(pod)
    return 'its Pod {} is {}{}'.format(name, 'Ready' if ready else state, '' if ready else ', {} containers ready'.format(counts))


def _scheduling_why(namespace, name, objects):
    own = objects.get(('SchedulingData', namespace, name))
    if own is not None:
        status, where = extract_status(own), detail_of('SchedulingData', own)
        if status == 'Failed':
            return ('the scheduler failed{}: SchedulingData {}/{} is Failed, stays until deleted, and blocks the scheduling of every DataFlow'
                    .format(' at ' + where if where else '', namespace, name))
        return 'the scheduler is at it: SchedulingData {}/{} {}{}'.format(namespace, name, status or 'has no status yet', ', ' + where if where else '')
    others = sorted('{}/{} ({})'.format(k[1], k[2], extract_status(o) or 'no status') for k, o in objects.items()
                    if k[0] == 'SchedulingData' and (k[1], k[2]) != (namespace, name))
    if others:
        return 'the scheduler handles one DataFlow at a time and is held by SchedulingData {}'.format(', '.join(others[:2]))
    targets = [o for k, o in objects.items() if k[0] == 'FunctionTarget']
    if targets:
        usable = {}
        for target in targets:
            if extract_status(target) == 'Ready' and _dig(target, ('status', 'available')):
                kind = _text(_dig(target, ('status', 'deviceType'))) or '?'
                usable[kind] = usable.get(kind, 0) + 1
        return 'no SchedulingData now: the scheduler found no placement and retries; usable FunctionTargets (Ready, available): {}'.format(
            ', '.join('{} {}'.format(k, v) for k, v in sorted(usable.items())) or 'none')
    return 'no SchedulingData now: the scheduler (whitebox-k8s-flowctrl) found no placement and retries, or is not running'


def why_not_ready(entry, objects, pods_by_key=None):
    """One line: why an object is not ready, from its status and the objects it waits for."""
    kind, namespace, name, status = entry['kind'], entry['namespace'], entry['name'], entry['status']
    obj = objects.get((kind, namespace, name)) or {'metadata': {'namespace': namespace, 'name': name}}
    spec = _parts(obj)[0]
    pods_by_key = pods_by_key or {}
    pod = entry.get('pod')
    if kind in POD_KINDS and status == 'Running' and pod and not pod.get('ready'):
        return 'Running means its controller created the Pod; ' + _pod_phrase(kind, obj, pods_by_key)
    if not status:
        if kind in FUNCTION_KINDS:
            return 'no status yet: the {} controller of node {} (one runs on every node) has not handled it'.format(kind, spec.get('nodeName') or '?')
        if kind == 'FunctionType':
            config_map = '{}/{}'.format(_dig(spec, ('functionInfoCMRef', 'namespace')) or '?', _dig(spec, ('functionInfoCMRef', 'name')) or '?')
            return ('no status yet: its controller sets one once it has read the ConfigMap {} (spec.functionInfoCMRef), '
                    'and does not look again if that was missing'.format(config_map))
        if kind == 'DataFlow':
            return 'no status yet: the DataFlow controller (whitebox-k8s-flowctrl) has not handled it'
        return 'no status yet: its controller has not handled it'
    if kind == 'DataFlow':
        if status == 'Scheduling in progress':
            return _scheduling_why(namespace, name, objects)
        if status == 'WBFunction/WBConnection creation in progress':
            return 'the DataFlow controller is creating its WBFunctions and WBConnections'
        if status == 'WBFunction/WBConnection created':
            parts = []
            for member in ('WBFunction', 'WBConnection'):
                found = _members(objects, member, namespace, name)
                waiting = [(n, s) for n, s in found if s != 'Deployed']
                if found:
                    prefix = '{}-{}-'.format(name, member.lower())
                    parts.append('{} of {} {}{} not Deployed{}'.format(len(waiting), len(found), member, '' if len(found) == 1 else 's', ': ' + ', '.join(
                        '{} ({})'.format(_strip_prefix(n, prefix), s or 'no status') for n, s in waiting[:4]) if waiting else ''))
            return 'waits for its WBFunctions and WBConnections to be Deployed' + (': ' + '; '.join(parts) if parts else '')
        if status == 'Error':
            return 'the DataFlow controller gave up (Error is final: delete the DataFlow and apply it again); its events say why'
    if kind == 'WBFunction':
        if status == 'Failed':
            return 'its DeviceInfo deviceinfo-{} answered Error: the function could not be deployed on the device'.format(name)
        fkind, fobj = _find(objects, FUNCTION_KINDS, namespace, name)
        if fobj is None:
            return 'waits for its CPUFunction/GPUFunction/FPGAFunction {}, which is not there'.format(name)
        fstatus = extract_status(fobj)
        text = 'waits for {} {}: {}'.format(fkind, name, fstatus or 'no status yet')
        if fkind in POD_KINDS and fstatus == 'Running':
            text += ', ' + _pod_phrase(fkind, fobj, pods_by_key)
        device = objects.get(('DeviceInfo', namespace, 'deviceinfo-' + name))
        if fstatus == 'Running' and device is not None:
            text += '; DeviceInfo deviceinfo-{}: {}'.format(name, extract_status(device) or 'no status yet')
        return text
    if kind == 'WBConnection':
        ckind, cobj = _find(objects, CONNECTION_KINDS, namespace, name)
        if cobj is None:
            return 'waits for its EthernetConnection/PCIeConnection {}, which is not there'.format(name)
        sides = detail_of(ckind, cobj)
        return 'waits for {} {}: {}{}'.format(ckind, name, extract_status(cobj) or 'no status yet', ' ({})'.format(sides) if sides else '')
    if kind in POD_KINDS and status == 'Pending':
        return 'its controller has not created its Pod yet; ' + _pod_phrase(kind, obj, pods_by_key)
    if kind in CONNECTION_KINDS:
        sides = detail_of(kind, obj)
        return 'the two ends are not connected yet{}'.format(' ({})'.format(sides) if sides else '')
    if kind == 'SchedulingData':
        where = detail_of(kind, obj)
        if status == 'Failed':
            return 'a filter failed{}; it stays until deleted and blocks the scheduling of every DataFlow'.format(' at ' + where if where else '')
        return 'scheduling' + (' at ' + where if where else '')
    if kind == 'FunctionChain' and status == 'Error':
        return ('a FunctionType or ConnectionType it names was missing or not Ready; its controller does not look again: '
                'apply the FunctionChain again once they are Ready')
    if kind == 'FunctionType' and status == 'Error':
        return 'its ConfigMap {}/{} names no deployableItems with a regionType'.format(
            _dig(spec, ('functionInfoCMRef', 'namespace')) or '?', _dig(spec, ('functionInfoCMRef', 'name')) or '?')
    if kind == 'ConnectionType' and status == 'Not Ready':
        return 'no interface is available for it yet (status.availableInterfaces is empty)'
    return 'its status is {}, not a ready one'.format(status)


def diagnose(resources, objects, pods=None, events=None):
    """Why what is not ready is not ready.

    ``resources``: the entries (after :func:`apply_pods`); ``objects``: the objects by :func:`key_of`, and
    any other ones worth looking at (SchedulingData, FunctionTargets of other namespaces); ``pods`` and
    ``events``: those of the namespaces looked at. Returns ``(not_ready, lines, pods_not_ready)``:
    {kind, namespace, name, status, why} per object not ready, the diagnosis text (a line per object,
    its events below it, then a few lines per Pod that is not Ready) and a dict per such Pod.
    """
    pods_by_key = {(_dig(p, ('metadata', 'namespace')) or '', _dig(p, ('metadata', 'name')) or ''): p for p in pods or []}
    not_ready, lines = [], []
    for entry in resources:
        if entry['ready']:
            continue
        why = why_not_ready(entry, objects, pods_by_key)
        not_ready.append({'kind': entry['kind'], 'namespace': entry['namespace'], 'name': entry['name'], 'status': entry['status'], 'why': why})
        lines.append('{}: {}{}'.format(describe(entry, pod=False), entry['status'] + ': ' if entry['status'] else '', why))
        lines += ['  ' + event_line(e) for e in events_of(events, entry['kind'], entry['namespace'], entry['name'])]
    reports = []
    for pod in not_ready_pods(pods):
        report, pod_lines = pod_report(pod, events)
        reports.append(report)
        lines += pod_lines
    return not_ready, lines, reports


def describe(resource, pod=True):
    """``Kind/namespace/name``, with ``: status`` (and a Running CPUFunction's Pod when that is not Ready) unless ``pod`` is False."""
    where = '{}/{}{}'.format(resource['kind'], resource['namespace'] + '/' if resource['namespace'] else '', resource['name'])
    if not pod:
        return where
    text = '{}: {}'.format(where, resource['status'] or 'no status yet')
    if resource['status'] == 'Running' and resource.get('pod') and not resource['pod'].get('ready'):
        text += ', pod ' + resource['pod']['status']
    return text


def wait_until_ready(list_resources, timeout, interval, min_count=0, clock=None, sleep=None, fail_statuses=()):
    """Call ``list_resources()`` until it returns at least ``min_count`` resources, all ready.

    Sleeps ``interval`` (less when the deadline is nearer) between calls and stops at ``timeout``
    seconds, or as soon as a resource's status is one of ``fail_statuses``. Returns
    ``(resources, done, polls)``: the last listing, whether it met the condition and how many
    listings were made.
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = clock() + timeout
    polls = 0
    while True:
        resources = list_resources()
        polls += 1
        if len(resources) >= min_count and all(r['ready'] for r in resources):
            return resources, True, polls
        if any(r['status'] in fail_statuses for r in resources):
            return resources, False, polls
        left = deadline - clock()
        if left <= 0:
            return resources, False, polls
        sleep(min(interval, left))


def summary_line(resources, seconds, min_count=0, group=DEFAULT_GROUP, fail_statuses=()):
    """The first line of a failed wait: ``3 of 12 resources not ready after 300s: Kind/ns/name: status; ...``."""
    not_ready = [r for r in resources if not r['ready']]
    failed = [r for r in not_ready if r['status'] in fail_statuses]
    after = 'after {}s'.format(int(round(seconds)))
    if not_ready:
        text = '{} of {} {} not ready {}'.format(len(not_ready), len(resources), 'resource' if len(resources) == 1 else 'resources', after)
        notes = ['{} failed'.format(len(failed))] if failed else []
        if len(resources) < min_count:
            notes.append('{} or more wanted'.format(min_count))
        text += ' ({})'.format(', '.join(notes)) if notes else ''
        shown = (failed + [r for r in not_ready if r not in failed])[:SUMMARY_OBJECTS]
        text += ': ' + '; '.join(describe(r) for r in shown)
        return text + ('; and {} more'.format(len(not_ready) - len(shown)) if len(not_ready) > len(shown) else '')
    if len(resources) < min_count:
        return '{} {} {} found {}, {} or more wanted'.format(len(resources), group, 'resource' if len(resources) == 1 else 'resources', after, min_count)
    return 'all {} {} ready {}'.format(len(resources), 'resource' if len(resources) == 1 else 'resources', after)


def diagnosis_namespaces(resources, namespace=''):
    """The namespaces whose Pods and Events to look at: the one waited on, else those of what is not ready."""
    if namespace:
        return [namespace]
    return sorted({r['namespace'] for r in resources if not r['ready'] and r['namespace']})


def context_kinds(resources):
    """Kinds to list in every namespace to explain a DataFlow stuck in ``Scheduling in progress``."""
    if any(r['kind'] == 'DataFlow' and r['status'] == 'Scheduling in progress' for r in resources):
        return ['SchedulingData', 'FunctionTarget']
    return []


def collect(api, group, kinds, namespace, ready_statuses):
    """One listing: ``(kind infos looked at, sorted resource entries, objects by key_of)``. ``api`` is a KubeCustomResources."""
    infos = select_kinds(kind_infos(api.list_crds(), group), kinds, group)
    resources, objects = [], {}
    for info in infos:
        items = api.list_objects(info, namespace)
        resources += resource_entries(info, items, ready_statuses)
        objects.update((key_of(info['kind'], obj), obj) for obj in items)
    return infos, sort_resources(resources), objects


def collect_pods(api, namespaces):
    """The Pods of ``namespaces``, one listing per namespace."""
    pods = []
    for namespace in namespaces:
        pods += api.list_pods(namespace)
    return pods


def explain(api, group, namespace, resources, objects):
    """What explains the ``resources`` that are not ready: ``(not_ready, lines, pod_reports)``. Reads the objects they
    refer to, the Pods and Events of their namespaces; best effort: a read that fails is one more line."""
    objects, notes, pods, events = dict(objects), [], [], []
    wanted = context_kinds(resources)
    if wanted:
        try:
            for info in kind_infos(api.list_crds(), group):
                if info['kind'] in wanted:
                    objects.update((key_of(info['kind'], obj), obj) for obj in api.list_objects(info))
        except OpenKasugaiError as exc:
            notes.append('(could not read {}: {})'.format(' and '.join(wanted), exc))
    for name in diagnosis_namespaces(resources, namespace):
        for read, into in ((api.list_pods, pods), (api.list_events, events)):
            try:
                into += read(name)
            except OpenKasugaiError as exc:
                notes.append('({})'.format(exc))
    not_ready, lines, pod_reports = diagnose(resources, objects, pods, events)
    return not_ready, lines + notes, pod_reports


def look(api, kinds, namespace='', group=DEFAULT_GROUP, ready_statuses=None, fail_statuses=None, check_pods=True,
         wait=False, timeout=300, interval=2, min_count=0, clock=None, sleep=None):
    """List the ``kinds`` of ``group`` in ``namespace`` (all when empty), with their Pods' states when ``check_pods``;
    with ``wait``, poll until at least ``min_count`` are there and all ready (:func:`wait_until_ready`).

    Returns what the openkasugai_info module returns (``resources``, ``not_ready``, ``diagnosis``, ``pods_not_ready``,
    ``kinds``, ``table``, ``table_lines``, ``polls``), plus ``msg`` when the wait did not end ready: its summary line and
    the diagnosis. Raises OpenKasugaiError when a listing fails.
    """
    clock = clock or time.monotonic
    ready = set(DEFAULT_READY_STATUSES if ready_statuses is None else ready_statuses)
    final = set(DEFAULT_FAIL_STATUSES if fail_statuses is None else fail_statuses) - ready
    seen = {'kinds': [], 'objects': {}}

    def listing():
        infos, resources, objects = collect(api, group, kinds, namespace, ready)
        if check_pods:
            apply_pods(resources, objects, collect_pods(api, pod_namespaces(resources)))
        seen.update(kinds=[info['kind'] for info in infos], objects=objects)
        return resources

    started = clock()
    if wait:
        resources, done, polls = wait_until_ready(listing, timeout, interval, min_count, clock=clock, sleep=sleep, fail_statuses=final)
    else:
        resources, done, polls = listing(), True, 1
    not_ready, diagnosis, pods_not_ready = [], [], []
    if not done or not all(r['ready'] for r in resources):
        not_ready, diagnosis, pods_not_ready = explain(api, group, namespace, resources, seen['objects'])
    lines = render_table(resources)
    result = {'resources': resources, 'not_ready': not_ready, 'diagnosis': diagnosis, 'pods_not_ready': pods_not_ready,
              'kinds': seen['kinds'], 'table': '\n'.join(lines), 'table_lines': lines, 'polls': polls}
    if not done:
        failed = any(r['status'] in final for r in resources)
        seconds = clock() - started if failed else timeout
        result['msg'] = '\n'.join([summary_line(resources, seconds, min_count, group, final)] + diagnosis)
    return result
