# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""OpenKasugai custom resources: which kinds a cluster has, what status each object reports,
a kubectl-like table of them, and a poll loop that waits until all are ready.

Everything but :class:`KubeCustomResources` works on plain dicts (CRDs and objects as the API
server returns them in JSON) and injected callables, so it runs without a cluster.

Where the OpenKasugai controllers (github.com/openkasugai/controller, src/) write a status:

- ``.status.status``: DataFlow (``Scheduling in progress``, ``WBFunction/WBConnection creation in
  progress``, ``WBFunction/WBConnection created``, ``Deployed``, ``Error``); FunctionChain,
  FunctionType (``Ready``, ``Error``); ConnectionType (``Ready``, ``Not Ready``); WBFunction,
  WBConnection (``Allocated``, ``Deployed``, ``Waiting``, ``Released``, ``Terminating``,
  ``Failed``); CPUFunction, GPUFunction, FPGAFunction, EthernetConnection, PCIeConnection
  (``Pending`` until ``Running``); FunctionTarget, FPGA, ChildBs (``NotReady``, ``Preparing``,
  ``Ready``, ``Error``); FPGAReconfiguration (``Pending``, ``Succeeded``, ``Failed``);
  SchedulingData (``Filtering``, ``Finish``, ``Failed``).
- ``.status.response.status``: DeviceInfo (``Initial``, ``Deployed``, ``Undeployed``, ``Error``).
- nothing: ComputeResource (a status per region only), TopologyInfo, ConnectionTarget.
"""

import json
import time

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError as exc:  # the module reports it with missing_required_lib
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = exc
else:
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None

DEFAULT_GROUP = 'example.com'
# The statuses above that mean "done and working"; everything else is still on its way or failed.
DEFAULT_READY_STATUSES = ['Ready', 'Running', 'Deployed', 'OK', 'Succeeded', 'Finish']

# Where a status string may be, in the order tried, before a Ready condition.
STATUS_PATHS = (('status', 'status'), ('status', 'phase'), ('status', 'response', 'status'))
NONE = '<none>'
COLUMNS = (('KIND', 'kind'), ('NAMESPACE', 'namespace'), ('NAME', 'name'), ('STATUS', 'status'))
REQUEST_TIMEOUT = 30


class OpenKasugaiError(Exception):
    """Something the module reports with fail_json: a missing kind, an API or kubeconfig error."""


def _dig(data, path):
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


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
        })
    return out


def sort_resources(resources):
    return sorted(resources, key=lambda r: (r['kind'], r['namespace'], r['name']))


def render_table(resources):
    """Lines of a kubectl-like table (KIND NAMESPACE NAME STATUS, columns 3 spaces apart)."""
    if not resources:
        return ['No resources found.']
    rows = [[column[0] for column in COLUMNS]]
    rows += [[r[column[1]] or NONE for column in COLUMNS] for r in resources]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return ['   '.join(row[i].ljust(widths[i]) for i in range(len(COLUMNS))).rstrip() for row in rows]


def describe(resource):
    return '{}/{}{}: {}'.format(resource['kind'], resource['namespace'] + '/' if resource['namespace'] else '',
                                resource['name'], resource['status'] or 'no status yet')


def wait_until_ready(list_resources, timeout, interval, min_count=0, clock=None, sleep=None):
    """Call ``list_resources()`` until it returns at least ``min_count`` resources, all ready.

    Sleeps ``interval`` (less when the deadline is nearer) between calls and stops at
    ``timeout`` seconds. Returns ``(resources, done, polls)``: the last listing, whether it
    met the condition and how many listings were made.
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
        left = deadline - clock()
        if left <= 0:
            return resources, False, polls
        sleep(min(interval, left))


def timeout_message(resources, timeout, min_count, group):
    not_ready = [r for r in resources if not r['ready']]
    parts = []
    if len(resources) < min_count:
        parts.append('{} {} resource{} found, {} or more wanted'.format(len(resources), group, '' if len(resources) == 1 else 's', min_count))
    if not_ready:
        parts.append('{} of {} not ready: {}'.format(len(not_ready), len(resources), '; '.join(describe(r) for r in not_ready)))
    return 'timed out after {}s waiting for the {} resources: {}'.format(timeout, group, '; '.join(parts))


def _api_error(what, exc):
    if HAS_KUBERNETES and isinstance(exc, ApiException):
        detail = ''
        try:
            detail = json.loads(exc.body or '{}').get('message') or ''
        except (TypeError, ValueError, AttributeError):
            detail = ''
        return OpenKasugaiError('{}: HTTP {} {}{}'.format(what, exc.status, exc.reason, ': ' + detail if detail else ''))
    return OpenKasugaiError('{}: {}'.format(what, exc))


def _api_errors():
    return (ApiException, ConfigException, Urllib3HTTPError, OSError, ValueError)


class KubeCustomResources:
    """The only code that talks to the kubernetes client: list CRDs, list the objects of one kind."""

    def __init__(self, kubeconfig, context=None, request_timeout=REQUEST_TIMEOUT):
        self.timeout = request_timeout
        try:
            api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context or None, persist_config=False)
        except _api_errors() as exc:
            raise _api_error('cannot load kubeconfig {}{}'.format(kubeconfig, ' (context {})'.format(context) if context else ''), exc) from exc
        self.extensions = k8s_client.ApiextensionsV1Api(api_client)
        self.custom = k8s_client.CustomObjectsApi(api_client)

    def list_crds(self):
        """Every CustomResourceDefinition, as JSON dicts (not the client's models)."""
        try:
            response = self.extensions.list_custom_resource_definition(_preload_content=False, _request_timeout=self.timeout)
            return json.loads(response.data).get('items') or []
        except _api_errors() as exc:
            raise _api_error('listing CustomResourceDefinitions failed', exc) from exc

    def list_objects(self, info, namespace=''):
        """The objects of one kind (``kind_infos`` entry), in ``namespace`` or all namespaces."""
        try:
            if namespace and info['namespaced']:
                result = self.custom.list_namespaced_custom_object(info['group'], info['version'], namespace, info['plural'],
                                                                   _request_timeout=self.timeout)
            else:
                result = self.custom.list_cluster_custom_object(info['group'], info['version'], info['plural'],
                                                                _request_timeout=self.timeout)
        except _api_errors() as exc:
            raise _api_error('listing {}.{}/{} failed'.format(info['plural'], info['group'], info['version']), exc) from exc
        return result.get('items') or []


def collect(api, group, kinds, namespace, ready_statuses):
    """One listing: ``(kind infos looked at, sorted resource entries)``. ``api`` is a KubeCustomResources."""
    infos = select_kinds(kind_infos(api.list_crds(), group), kinds, group)
    resources = []
    for info in infos:
        resources += resource_entries(info, api.list_objects(info, namespace), ready_statuses)
    return infos, sort_resources(resources)
