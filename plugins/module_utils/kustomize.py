# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Kustomize trees applied to a cluster and waited on, with kubectl (the kustomize_apply module).

The steps, each one kubectl call for all the trees of a call (but the render, one per tree), so that a
re-run that changes nothing costs a few calls and no per-object round trips:

0. objects the lab no longer has (``absent``) are read and deleted when they exist, dependents first;
1. ``kubectl kustomize DIR`` renders each tree;
2. the objects the add-on's own controller fills after creating them (``create_once``: a webhook's
   certificate Secret) are created when missing and then left alone, their namespaces applied first;
3. ``kubectl get -f -`` reads the rest as they are, ``kubectl apply --server-side`` applies them (one
   field manager, conflicts forced: the lab's values win over hand edits of the same fields), and its
   answer says which objects changed (a new uid or resourceVersion: a server-side apply that changes
   nothing writes nothing);
4. the wait, whose first look is that answer (status included): workloads rolled out (Deployment, DaemonSet, StatefulSet as ``kubectl rollout status``
   reads them), CRDs Established, webhook Services with a ready endpoint; when the time is up, each
   one that is not is named with why (its pods' states).

In check mode nothing is written: objects that do not exist would be created, the others are applied
with ``--dry-run=server`` and compared with what the cluster has.
"""

import json
import time

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError

try:
    import yaml

    # libyaml's parser where PyYAML has it: ten times faster on the add-ons' CRDs (a controller's tree is 150 kB)
    class _Loader(getattr(yaml, 'CSafeLoader', yaml.SafeLoader)):  # pylint: disable=too-many-ancestors
        """YAML as kubectl reads it into JSON: a timestamp stays the string it is (PyYAML would make a datetime)."""

    _Loader.yaml_implicit_resolvers = {first: [r for r in resolvers if r[0] != 'tag:yaml.org,2002:timestamp']
                                       for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
except ImportError:  # pragma: no cover - PyYAML comes with the kubernetes library the add-ons stage installs
    yaml = None

WORKLOADS = ('Deployment', 'DaemonSet', 'StatefulSet')
# metadata the API server writes on every write, and what only the server owns: left out of check mode's comparison
VOLATILE_METADATA = ('resourceVersion', 'managedFields', 'generation', 'creationTimestamp', 'uid', 'selfLink')


def key(obj):
    """``(group, kind, namespace, name)`` of an object: the same for the rendered one and the cluster's."""
    group = (obj.get('apiVersion') or '').rpartition('/')[0]
    meta = obj.get('metadata') or {}
    return (group, obj.get('kind') or '', meta.get('namespace') or '', meta.get('name') or '')


def lookup(found, obj_key):
    """The cluster's object for a rendered object's key in ``found`` (by key), or None. A namespaced object rendered
    without a namespace is where kubectl put it: the kubeconfig's namespace, ``default`` in a kind kubeconfig."""
    if obj_key in found:
        return found[obj_key]
    group, kind, namespace, name = obj_key
    return found.get((group, kind, 'default', name)) if not namespace else None


def label(obj_key):
    """``Kind namespace/name`` (or ``Kind name``) of a key."""
    _group, kind, namespace, name = obj_key
    return '{} {}{}'.format(kind, namespace + '/' if namespace else '', name)


def items(listing):
    """The objects of a ``kubectl get -o json`` answer (a List, one object, or nothing)."""
    if not listing:
        return []
    if listing.get('kind', '').endswith('List') and 'items' in listing:
        return [i for i in listing['items'] if i]
    return [listing]


def unknown_kind(exc):
    """Whether a kubectl failure says that the cluster serves no such kind (its CRD is not installed)."""
    text = '{} {}'.format(exc.stderr or '', exc.msg)
    return 'no matches for kind' in text or "doesn't have a resource type" in text


def parse_rendered(text):
    """The objects ``kubectl kustomize`` printed (YAML documents), empty documents left out."""
    if yaml is None:
        raise CliError('kustomize_apply needs PyYAML on the host that runs it (the kubernetes library brings it)')
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc]  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise CliError('kubectl kustomize printed YAML that does not parse: {}'.format(exc)) from exc


def dump(doc):
    """``doc`` as block-style YAML, keys in the order given."""
    return dump_all([doc])


def dump_all(docs):
    """``docs`` as YAML documents, block style, keys in the order given."""
    if yaml is None:
        raise CliError('kustomize_apply needs PyYAML on the host that runs it (the kubernetes library brings it)')
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)


def as_input(objects):
    """Objects as kubectl's ``-f -`` reads them (a List, in JSON)."""
    return json.dumps({'apiVersion': 'v1', 'kind': 'List', 'items': objects})


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def workload_state(obj):
    """``(rolled_out, what)`` of a Deployment, DaemonSet or StatefulSet, read as ``kubectl rollout status`` reads it."""
    kind, spec, status = obj.get('kind'), obj.get('spec') or {}, obj.get('status') or {}
    generation = _int((obj.get('metadata') or {}).get('generation'), 0)
    if _int(status.get('observedGeneration'), -1) < generation:
        return False, 'its controller has not seen generation {} yet'.format(generation)
    if kind == 'DaemonSet':
        want = _int(status.get('desiredNumberScheduled'))
        updated, available = _int(status.get('updatedNumberScheduled')), _int(status.get('numberAvailable'))
        if updated < want or available < want:
            return False, '{} of {} pods updated, {} available'.format(updated, want, available)
        return True, '{} of {} pods available'.format(available, want)
    want = _int(spec.get('replicas'), 1)
    updated = _int(status.get('updatedReplicas'))
    if kind == 'StatefulSet':
        ready = _int(status.get('readyReplicas'))
        if updated < want or ready < want:
            return False, '{} of {} replicas updated, {} ready'.format(updated, want, ready)
        return True, '{} of {} replicas ready'.format(ready, want)
    total, available = _int(status.get('replicas')), _int(status.get('availableReplicas'))
    if updated < want:
        return False, '{} of {} replicas updated'.format(updated, want)
    if total > updated:
        return False, '{} old replicas are still being replaced'.format(total - updated)
    if available < updated:
        return False, '{} of {} updated replicas available'.format(available, updated)
    return True, '{} of {} replicas available'.format(available, want)


def crd_state(obj):
    """``(established, what)`` of a CustomResourceDefinition."""
    for cond in (obj.get('status') or {}).get('conditions') or []:
        if cond.get('type') == 'Established':
            if cond.get('status') == 'True':
                return True, 'Established'
            return False, 'not Established: {}'.format(ok._one_line(cond.get('message') or cond.get('reason') or cond.get('status')))
    return False, 'not Established yet'


def not_ready(objects):
    """``{key: what}`` of the workloads not rolled out and the CRDs not Established among ``objects`` (the cluster's)."""
    waiting = {}
    for obj in objects:
        if obj.get('kind') in WORKLOADS:
            done, what = workload_state(obj)
        elif obj.get('kind') == 'CustomResourceDefinition':
            done, what = crd_state(obj)
        else:
            continue
        if not done:
            waiting[key(obj)] = what
    return waiting


def endpoints_ready(slices):
    """Whether EndpointSlices (of one Service) list a ready endpoint."""
    for piece in slices:
        for endpoint in piece.get('endpoints') or []:
            if (endpoint.get('conditions') or {}).get('ready'):
                return True
    return False


def selector_arg(obj):
    """``-l`` value of a workload's matchLabels, or None when it selects otherwise."""
    labels = (((obj.get('spec') or {}).get('selector') or {}).get('matchLabels')) or {}
    return ','.join('{}={}'.format(k, v) for k, v in sorted(labels.items())) or None


def comparable(obj):
    """An object without what the server rewrites on every write, and without status: what check mode compares."""
    out = {k: v for k, v in obj.items() if k != 'status'}
    meta = dict(out.get('metadata') or {})
    for field in VOLATILE_METADATA:
        meta.pop(field, None)
    out['metadata'] = meta
    return out


class TreeApplier:
    """Applies one rendered tree with ``kubectl`` (a module_utils.cli.Cli) against ``kubeconfig``."""

    def __init__(self, kubectl, kubeconfig, field_manager, force_conflicts=True, check_mode=False, interval=2.0, clock=time.monotonic,
                 sleep=time.sleep):
        self.kubectl = kubectl
        self.kubeconfig = kubeconfig
        self.field_manager = field_manager
        self.force_conflicts = force_conflicts
        self.check_mode = check_mode
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.applied = {}   # the objects as the last apply answered with them, by key: the wait's first look

    def _run(self, args, **kwargs):
        return self.kubectl.run(['--kubeconfig', self.kubeconfig] + list(args), **kwargs)

    def render(self, path):
        result = self.kubectl.run(['kustomize', path], what='kubectl kustomize ' + path)
        return parse_rendered(result.stdout)

    def get(self, objects):
        """The cluster's copies of ``objects`` that exist, by key."""
        if not objects:
            return {}
        listing = self._run(['get', '--ignore-not-found', '-o', 'json', '-f', '-'], input=as_input(objects),
                            what='kubectl get (the objects of the tree)').json()
        return {key(obj): obj for obj in items(listing)}

    def _apply(self, objects, dry_run=False):
        args = ['apply', '--server-side', '--field-manager', self.field_manager, '-o', 'json', '-f', '-']
        if self.force_conflicts:
            args.append('--force-conflicts')
        if dry_run:
            args.append('--dry-run=server')
        listing = self._run(args, input=as_input(objects), what='kubectl apply --server-side' + (' --dry-run=server' if dry_run else '')).json()
        return {key(obj): obj for obj in items(listing)}

    def delete_present(self, refs, timeout):
        """Delete those of ``refs`` (apiVersion, kind, metadata.namespace and .name) that exist, waiting until they are
        gone, their dependents first (a DaemonSet's pods); the keys of those that existed (in check mode: that would be
        deleted). A kind the cluster does not serve (its CRD is not installed) has none."""
        if not refs:
            return []
        try:
            found = self.get(refs)
        except CliError as exc:
            if not unknown_kind(exc):
                raise
            found = {}
            for ref in refs:  # which of them is the unknown kind: one read each
                try:
                    found.update(self.get([ref]))
                except CliError as one:
                    if not unknown_kind(one):
                        raise
        present = [ref for ref in refs if lookup(found, key(ref)) is not None]
        if present and not self.check_mode:
            self._run(['delete', '--ignore-not-found', '--wait', '--cascade=foreground', '--timeout={}s'.format(timeout), '-f', '-'],
                      input=as_input(present), what='kubectl delete (what the lab no longer has)')
        return [key(ref) for ref in present]

    def create_missing(self, objects, namespaces):
        """Create those of ``objects`` the cluster lacks, their ``namespaces`` applied first.

        ``(created, namespaces_changed)``: the keys of the objects created (in check mode, that would be) and of the
        namespaces the apply changed."""
        if not objects:
            return [], []
        found = self.get(objects)
        missing = [o for o in objects if lookup(found, key(o)) is None]
        if not missing:
            return [], []
        if self.check_mode:
            return [key(o) for o in missing], []
        namespaces_changed = self.apply(namespaces)
        self._run(['create', '-o', 'json', '-f', '-'], input=as_input(missing), what='kubectl create (the objects the add-on fills)')
        return [key(o) for o in missing], namespaces_changed

    def apply(self, objects):
        """Apply ``objects``; the keys of those that changed (or, in check mode, would change)."""
        if not objects:
            return []
        before = self.get(objects)
        keys = [key(o) for o in objects]
        if self.check_mode:
            if any(lookup(before, k) is None for k in keys):
                # what a first apply would create; the rest cannot be dry-run before it (namespaces, CRDs)
                return keys
            after = self._apply(objects, dry_run=True)
            return [k for k in keys if lookup(after, k) is not None and comparable(lookup(after, k)) != comparable(lookup(before, k))]
        # the apply answers with each object as it now is (uid, resourceVersion, status): no second read
        after = self.applied = self._apply(objects)
        changed = []
        for k in keys:
            old, new = lookup(before, k), lookup(after, k)
            old_id = ((old or {}).get('metadata') or {})
            new_id = ((new or {}).get('metadata') or {})
            if old is None or (old_id.get('uid'), old_id.get('resourceVersion')) != (new_id.get('uid'), new_id.get('resourceVersion')):
                changed.append(k)
        return changed

    def _webhooks_waiting(self, webhooks):
        waiting = {}
        for hook in webhooks:
            listing = self._run(['get', 'endpointslices', '-n', hook['namespace'], '-l', 'kubernetes.io/service-name=' + hook['name'], '-o', 'json'],
                                what='kubectl get endpointslices').json()
            if not endpoints_ready(items(listing)):
                waiting[('', 'Service', hook['namespace'], hook['name'])] = 'the webhook has no ready endpoint yet'
        return waiting

    def wait(self, objects, webhooks, timeout, known=None):
        """Wait until the workloads and CRDs of ``objects`` and the ``webhooks`` are ready; the seconds waited.

        ``known``: the objects as just read or applied (by key), taken for the first look instead of reading them.
        CliError after ``timeout`` seconds, naming each one that is not ready, why, and its pods' states."""
        watched = [o for o in objects if o.get('kind') in WORKLOADS + ('CustomResourceDefinition',)]
        if not watched and not webhooks:
            return 0.0
        start = self.clock()
        while True:
            if known:
                current = {k: v for k, v in known.items() if any(lookup({k: v}, key(o)) is not None for o in watched)}
                known = None
            else:
                current = self.get(watched)
            waiting = {key(o): 'it does not exist' for o in watched if lookup(current, key(o)) is None}
            waiting.update(not_ready(current.values()))
            waiting.update(self._webhooks_waiting(webhooks))
            if not waiting:
                return round(self.clock() - start, 1)
            if self.clock() - start >= timeout:
                raise CliError('not ready after {}s: {}'.format(timeout, '; '.join(self._explain(k, what, current) for k, what in sorted(waiting.items()))))
            self.sleep(self.interval)

    def _explain(self, obj_key, what, current):
        """``Kind ns/name: what`` and, for a workload, the states of its pods that are not ready."""
        line = '{}: {}'.format(label(obj_key), what)
        obj = current.get(obj_key)
        selector = selector_arg(obj) if obj and obj.get('kind') in WORKLOADS else None
        if selector:
            try:
                pods = items(self._run(['get', 'pods', '-n', obj_key[2], '-l', selector, '-o', 'json'], what='kubectl get pods').json())
            except CliError as exc:
                return line + ' (its pods could not be read: {})'.format(exc.msg)
            lines = [ok.pod_report(pod)[1] for pod in pods if not ok.pod_is_ready(pod)]
            if lines:
                line += ' (' + ' | '.join(' '.join(part.strip() for part in pod_lines) for pod_lines in lines) + ')'
            elif not pods:
                line += ' (no pod of it exists)'
        return line
