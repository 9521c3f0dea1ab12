"""A kubectl for unit tests: a small in-memory API server (FakeKubectl) that renders kustomize trees from a dict,
stores objects with a uid and a resourceVersion, bumps the resourceVersion only when an apply changes the object (as a
server-side apply does), and reports workloads ready and CRDs Established after a given number of reads. Used by the
tests of module_utils.kustomize and of the kustomize_apply module.
"""

import json

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kustomize
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli


def deployment(name, ns='demo', replicas=1, image='demo:1'):
    return {'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': name, 'namespace': ns},
            'spec': {'replicas': replicas, 'selector': {'matchLabels': {'app': name}},
                     'template': {'metadata': {'labels': {'app': name}}, 'spec': {'containers': [{'name': 'c', 'image': image}]}}}}


def namespace(name):
    return {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': name}}


def secret(name, ns='demo'):
    return {'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': name, 'namespace': ns}}


def crd(name):
    return {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition', 'metadata': {'name': name},
            'spec': {'group': 'example.com'}}


CLUSTER_SCOPED = ('Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding')


class FakeKubectl:
    """kubectl against an in-memory API server (see the module docstring)."""

    def __init__(self, trees, ready_after=0, endpoints_ready=True, pods=(), unknown_kinds=()):
        self.trees = trees
        self.unknown_kinds = set(unknown_kinds)
        self.store = {}
        self.calls = []
        self.inputs = []   # what each call read on stdin, beside calls
        self.ready_after = ready_after
        self.reads = 0
        self.endpoints_ready = endpoints_ready
        self.pods = list(pods)
        self.uid = 0

    def cli(self):
        return Cli('kubectl', 'kubectl', runner=self.run)

    def _status(self, obj):
        ready = self.reads > self.ready_after
        if obj['kind'] == 'Deployment':
            want = obj['spec'].get('replicas', 1)
            n = want if ready else 0
            return {'observedGeneration': obj['metadata']['generation'], 'replicas': want, 'updatedReplicas': n, 'availableReplicas': n}
        if obj['kind'] == 'CustomResourceDefinition':
            return {'conditions': [{'type': 'Established', 'status': 'True' if ready else 'False', 'reason': 'Installing'}]}
        return None

    def _out(self, obj):
        out = json.loads(json.dumps(obj))
        status = self._status(obj)
        if status is not None:
            out['status'] = status
        return out

    def run(self, argv, data):
        self.calls.append(argv[1:])
        self.inputs.append(data)
        args = argv[1:]
        if args[0] == '--kubeconfig':
            args = args[2:]
        items_in = json.loads(data)['items'] if data else []
        if args[0] == 'kustomize':
            return 0, self.trees[args[1]], ''
        if args[:2] == ['get', 'endpointslices']:
            ready = self.endpoints_ready
            return 0, json.dumps({'kind': 'List', 'items': [{'endpoints': [{'conditions': {'ready': ready}}]}]}), ''
        if args[:2] == ['get', 'pods']:
            return 0, json.dumps({'kind': 'List', 'items': self.pods}), ''
        unknown = [o['kind'] for o in items_in if o['kind'] in self.unknown_kinds]
        if unknown:
            return 1, '', 'error: resource mapping not found for name: "x" from "STDIN": no matches for kind "{}" in version "x/v1"'.format(unknown[0])
        if args[0] == 'delete':
            for obj in items_in:
                self.store.pop(kustomize.key(self._placed(obj)), None)
            return 0, '', ''
        if args[0] == 'get':
            self.reads += 1
            keys = [kustomize.key(self._placed(o)) for o in items_in]
            found = [self._out(self.store[k]) for k in keys if k in self.store]
            return 0, json.dumps({'kind': 'List', 'items': found}), ''
        if args[0] == 'create':
            for obj in items_in:
                self._write(obj)
            return 0, json.dumps({'kind': 'List', 'items': items_in}), ''
        if args[0] == 'apply':
            assert '--server-side' in args and args[args.index('--field-manager') + 1] == 'okl-test'
            dry = '--dry-run=server' in args
            out = [self._write(obj, dry) for obj in items_in]
            return 0, json.dumps({'kind': 'List', 'items': [self._out(o) for o in out]}), ''
        return 1, '', 'unexpected kubectl call {}'.format(args)

    def _placed(self, obj):
        """The object as the API server stores it: a namespaced one without a namespace in the kubeconfig's, default."""
        if obj['kind'] in CLUSTER_SCOPED or (obj.get('metadata') or {}).get('namespace'):
            return obj
        return dict(obj, metadata=dict(obj['metadata'], namespace='default'))

    def _write(self, obj, dry=False):
        obj = self._placed(obj)
        k = kustomize.key(obj)
        old = self.store.get(k)
        body = {f: v for f, v in obj.items() if f != 'metadata'}
        if old is not None and {f: v for f, v in old.items() if f != 'metadata'} == body:
            return old
        self.uid += 1
        meta = dict(obj['metadata'], uid=(old or {}).get('metadata', {}).get('uid') or 'uid-{}'.format(self.uid),
                    resourceVersion=str(self.uid), generation=((old or {}).get('metadata', {}).get('generation') or 0) + 1)
        new = dict(obj, metadata=meta)
        if not dry:
            self.store[k] = new
        return new


def applier(fake, check_mode=False):
    return kustomize.TreeApplier(fake.cli(), '/kc', 'okl-test', check_mode=check_mode, interval=0, sleep=lambda s: None)
