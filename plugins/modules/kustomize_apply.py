#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: kustomize_apply
short_description: Apply a kustomize tree server-side and wait until its workloads, CRDs and webhooks are ready
description:
  - Renders a kustomize directory with C(kubectl kustomize), applies the objects with C(kubectl apply --server-side) as
    one field manager, and waits until what it deployed is ready - each step one kubectl call for the whole tree, so a
    re-run that changes nothing takes a few calls.
  - Changed objects are told apart by reading them before the apply and comparing with what the apply answers (a new
    uid or resourceVersion); a server-side apply that changes nothing writes nothing.
  - Objects the add-on's own controller fills after they exist (O(create_once), a webhook's certificate Secret) are
    created when missing and then left alone; applying their empty placeholder again would take them back from the
    controller. Their namespaces are applied first.
  - The wait (O(wait)) - Deployments, DaemonSets and StatefulSets rolled out as C(kubectl rollout status) reads them,
    CustomResourceDefinitions C(Established), and each O(webhooks) Service with a ready endpoint. When O(wait_timeout)
    is up, the failure names each one that is not ready, why, and the states of its pods that are not.
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - kubectl (with its kustomize) on the host that runs the module, and PyYAML there
options:
  path:
    description:
      - The kustomize directory (with its C(kustomization.yaml)), for a call of one tree; O(resources), O(images),
        O(namespace), O(patches), O(files), O(create_once) and O(webhooks) describe it.
      - Exactly one of O(path) and O(trees) is given.
    type: path
  trees:
    description:
      - Several trees applied by one call, each described as a one-tree call is (the same options, O(trees[].path)
        required). Each is written and rendered in turn; then the objects of the trees of one O(trees[].step) are
        read, applied and waited on together - an object rendered by several trees of a step is applied once, as
        the last of them renders it - and the steps follow each other in order, each once the one before is ready.
      - Trees of which none needs another's objects ready first (the CRD copies of several controllers, several
        controllers' Deployments) share a step. A tree whose objects need another's CRDs Established or webhooks
        ready goes in a later step (or a later call).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The kustomize directory.
        type: path
        required: true
      resources:
        description: As O(resources), for this tree.
        type: list
        elements: str
        default: []
      definitions:
        description: As O(definitions), for this tree.
        type: list
        elements: dict
        default: []
      images:
        description: As O(images), for this tree.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The image name the manifests use.
            type: str
            required: true
          new_name:
            description: The name to use instead.
            type: str
            default: ""
          new_tag:
            description: The tag to use.
            type: str
            default: ""
          digest:
            description: The digest to use (instead of a tag).
            type: str
            default: ""
      namespace:
        description: As O(namespace), for this tree.
        type: str
        default: ""
      patches:
        description: As O(patches), for this tree.
        type: list
        elements: dict
        default: []
      files:
        description: As O(files), for this tree.
        type: list
        elements: dict
        default: []
        suboptions:
          src:
            description: The file to copy.
            type: path
            required: true
          dest:
            description: Its name in the tree.
            type: str
            required: true
      config_maps:
        description: As O(config_maps), for this tree.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: The ConfigMap's name.
            type: str
            required: true
          namespace:
            description: Its namespace; empty for the tree's O(namespace).
            type: str
            default: ""
          files:
            description: The files, absolute paths; each is copied into the tree under its name, its key.
            type: list
            elements: path
            required: true
      create_once:
        description: As O(create_once), for this tree.
        type: list
        elements: dict
        default: []
        suboptions:
          kind:
            description: Their kind.
            type: str
            required: true
          name:
            description: Their name.
            type: str
            required: true
          namespace:
            description: Their namespace; empty for a cluster-scoped kind or for the namespace the tree gives them.
            type: str
            default: ""
      step:
        description:
          - The tree's place in the order of the call - its objects are applied once every tree of a smaller step is
            applied and ready (CRDs Established, workloads rolled out, webhooks answering).
          - One module run for a chain of trees that a playbook would otherwise apply one call after another.
        type: int
        default: 0
      webhooks:
        description: As O(webhooks), for this tree.
        type: list
        elements: dict
        default: []
        suboptions:
          namespace:
            description: The Service's namespace.
            type: str
            required: true
          name:
            description: The Service's name.
            type: str
            required: true
  kubeconfig:
    description: The kubeconfig of the cluster. Required unless O(render_only).
    type: path
  render_only:
    description:
      - Write and render the trees, return their objects (RV(rendered)) and apply nothing - for objects that a caller
        applies itself, in its own order (the scenario stage's function chain and DataFlow, through
        M(openkasugai.all_in_one.openkasugai_apply)). No cluster is read.
    type: bool
    default: false
  resources:
    description:
      - When given, the module writes the tree's C(kustomization.yaml) itself (creating O(path)) with these resources
        (paths relative to O(path)) and O(images), O(namespace) and O(patches), and reports a change when its content
        changed. When empty, the C(kustomization.yaml) already in O(path) is rendered.
      - In check mode a C(kustomization.yaml) or O(files) entry that would change is reported, and the tree is neither
        rendered nor compared (what it would render is not written).
      - A local resource (not a URL) or an O(files) source that does not exist fails the call before anything is
        written, naming it and adding O(missing_hint); in check mode the tree is reported as changed, not rendered
        (the sources may come from an earlier step that check mode did not run).
    type: list
    elements: str
    default: []
  definitions:
    description:
      - Objects (as C(kubectl apply) takes them) written into O(path) as C(definitions.yaml) and added to the
        resources of the C(kustomization.yaml) the module writes (which it then writes even without O(resources)).
        For objects worked out by the playbook (ConfigMaps from files it read, the lab's own pools and networks).
    type: list
    elements: dict
    default: []
  images:
    description: The kustomization's image overrides (with O(resources)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The image name the manifests use.
        type: str
        required: true
      new_name:
        description: The name to use instead.
        type: str
        default: ""
      new_tag:
        description: The tag to use.
        type: str
        default: ""
      digest:
        description: The digest to use (instead of a tag).
        type: str
        default: ""
  namespace:
    description: The namespace the kustomization gives every namespaced object (with O(resources); empty for none).
    type: str
    default: ""
  patches:
    description: The kustomization's patches, C({target, patch}) as kustomize takes them (with O(resources)).
    type: list
    elements: dict
    default: []
  config_maps:
    description:
      - ConfigMaps made from files, as C(kubectl create configmap NAME --from-file=FILE...) makes them (each file's name
        the key, its content the value; no hash suffix on the name), by the kustomization's C(configMapGenerator)
        (the C(kustomization.yaml) the module writes, which it then writes even without O(resources)).
      - For files the kind-host holds (a source tree's JSON), which the playbook then needs not read itself. Each file is
        copied into O(path) under its name, which must be unique in the tree.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The ConfigMap's name.
        type: str
        required: true
      namespace:
        description: Its namespace; empty for O(namespace).
        type: str
        default: ""
      files:
        description: The files, absolute paths; each is copied into O(path) under its name, its key.
        type: list
        elements: path
        required: true
  files:
    description: Single files copied into O(path) (C(src), an absolute path; C(dest), a name in O(path)) before rendering.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: The file to copy.
        type: path
        required: true
      dest:
        description: Its name in O(path).
        type: str
        required: true
  kubectl_path:
    description: The kubectl binary, a path or a name looked up in C(PATH).
    type: str
    default: kubectl
  field_manager:
    description: The server-side apply field manager.
    type: str
    default: openkasugai-all-in-one
  force_conflicts:
    description: Take over fields another manager set (C(--force-conflicts)), so the lab's values win over hand edits.
    type: bool
    default: true
  create_once:
    description: Objects of the tree created only when missing, then left to their controller, by kind and name.
    type: list
    elements: dict
    default: []
    suboptions:
      kind:
        description: Their kind.
        type: str
        required: true
      name:
        description: Their name.
        type: str
        required: true
      namespace:
        description: Their namespace; empty for a cluster-scoped kind or for the namespace the tree gives them.
        type: str
        default: ""
  webhooks:
    description: Services (of admission webhooks) that must have a ready endpoint before the module returns.
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The Service's namespace.
        type: str
        required: true
      name:
        description: The Service's name.
        type: str
        required: true
  missing_hint:
    description: Said after the error when a resource or file of a tree does not exist (what to fix).
    type: str
    default: ""
  absent:
    description:
      - Objects the lab no longer has (an add-on turned off, an object renamed), deleted when they exist - before the
        trees are applied, waiting until they are gone, their dependents first. A kind the cluster does not serve
        (its CRD is not installed) has none. In check mode they are reported, not deleted.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: Its apiVersion.
        type: str
        required: true
      kind:
        description: Its kind.
        type: str
        required: true
      namespace:
        description: Its namespace; empty for a cluster-scoped kind.
        type: str
        default: ""
      name:
        description: Its name.
        type: str
        required: true
  wait:
    description: Wait until the tree's workloads, CRDs and O(webhooks) are ready.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    description: >-
      Nothing is written: objects that do not exist are reported as created, the others are applied with
      C(--dry-run=server) and compared with what the cluster has; nothing is waited for.
  diff_mode:
    support: none
    description: RV(changed_objects) names what changed.
  idempotent:
    support: full
    description: A server-side apply of what the cluster already has writes nothing and reports no change.
"""

EXAMPLES = r"""
- name: Install MetalLB from its kustomization and wait for its controller, speaker and webhook
  openkasugai.all_in_one.kustomize_apply:
    path: /var/lib/openkasugai-lab/addons/kasugai/metallb
    kubeconfig: /var/lib/openkasugai-lab/kasugai/kubeconfig
    kubectl_path: /usr/local/bin/kubectl
    create_once:
      - {kind: Secret, namespace: metallb-system, name: metallb-webhook-cert}
    webhooks:
      - {namespace: metallb-system, name: metallb-webhook-service}

- name: Install the CRDs of three controllers (copies of the same CRD applied once) and wait until they are Established
  openkasugai.all_in_one.kustomize_apply:
    kubeconfig: /var/lib/openkasugai-lab/kasugai/kubeconfig
    kubectl_path: /usr/local/bin/kubectl
    missing_hint: the controller source has no CRDs for this controller
    trees:
      - path: /var/lib/openkasugai-lab/addons/kasugai/openkasugai/3-crd-wbfunction
        resources: [../../../../controller/src/WBFunction/config/crd]
      - path: /var/lib/openkasugai-lab/addons/kasugai/openkasugai/3-crd-wbconnection
        resources: [../../../../controller/src/WBConnection/config/crd]
      - path: /var/lib/openkasugai-lab/addons/kasugai/openkasugai/3-crd-deviceinfo
        resources: [../../../../controller/src/DeviceInfo/config/crd]
"""

RETURN = r"""
objects:
  description: How many objects the tree renders.
  returned: always
  type: int
  sample: 21
changed_objects:
  description: The objects created or changed (in check mode - that would be), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [Deployment metallb-system/controller]
created_once:
  description: The O(create_once) objects created because they were missing.
  returned: always
  type: list
  elements: str
  sample: [Secret metallb-system/metallb-webhook-cert]
deleted:
  description: The O(absent) objects that existed and were deleted (in check mode - would be), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
  sample: [DaemonSet kube-system/okl-accelerator-device-plugin]
written:
  description: The files of O(path) written (in check mode - that would be) - C(kustomization.yaml) and O(files).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/openkasugai-lab/addons/kasugai/openkasugai/2-cluster-wbfunction/kustomization.yaml]
not_rendered:
  description:
    - In check mode, the trees neither rendered nor compared because their C(kustomization.yaml) or O(files) would
      change first or a source of theirs does not exist yet (each reported as changed).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/openkasugai-lab/addons/kasugai/openkasugai/2-cluster-wbfunction]
waited:
  description: Seconds spent waiting for readiness.
  returned: always
  type: float
  sample: 12.5
rendered:
  description:
    - With O(render_only), each tree rendered (in check mode, those of RV(not_rendered) aside), in order - its path
      and the objects C(kubectl kustomize) renders from it.
  returned: when O(render_only)
  type: list
  elements: dict
  sample: [{path: /var/lib/openkasugai-lab/scenarios/kasugai/calc-basic/deploy, objects: [{kind: FunctionChain}]}]
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kustomize
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError

# the options that describe one tree: top-level for a call of one tree, or each entry of O(trees)
TREE_OPTIONS = ('path', 'resources', 'definitions', 'images', 'namespace', 'patches', 'files', 'config_maps', 'create_once', 'step', 'webhooks')
# where O(definitions) are written in the tree (a resource of its kustomization)
DEFINITIONS = 'definitions.yaml'
# a kustomize remote resource without a scheme: github.com/org/repo//dir?ref=v1
REMOTE = re.compile(r'^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/')
HEADER = '# Generated by openkasugai.all_in_one (module kustomize_apply): do not edit, it is rewritten on every run.\n'


def kustomization(params):
    """The text of the kustomization.yaml the options describe."""
    doc = {'apiVersion': 'kustomize.config.k8s.io/v1beta1', 'kind': 'Kustomization'}
    if params['namespace']:
        doc['namespace'] = params['namespace']
    doc['resources'] = list(params['resources']) + ([DEFINITIONS] if params['definitions'] else [])
    images = []
    for image in params['images']:
        entry = {'name': image['name']}
        for option, field in (('new_name', 'newName'), ('new_tag', 'newTag'), ('digest', 'digest')):
            if image.get(option):
                entry[field] = image[option]
        images.append(entry)
    if images:
        doc['images'] = images
    if params['patches']:
        doc['patches'] = [dict(p) for p in params['patches']]
    generated = []
    for config_map in params['config_maps']:
        entry = {'name': config_map['name']}
        if config_map.get('namespace'):
            entry['namespace'] = config_map['namespace']
        entry['files'] = [os.path.basename(src) for src in config_map['files']]
        entry['options'] = {'disableNameSuffixHash': True}
        generated.append(entry)
    if generated:
        doc['configMapGenerator'] = generated
    return HEADER + kustomize.dump(doc)


def write(path, content, check_mode):
    """Write ``content`` (bytes) to ``path`` when it differs; whether it differed."""
    try:
        with open(path, 'rb') as handle:
            if handle.read() == content:
                return False
    except FileNotFoundError:
        pass
    if not check_mode:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        tmp = path + '.part'
        with open(tmp, 'wb') as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return True


def copies(params):
    """``(src, name in the tree)`` of each file copied into the tree: O(files), then the files of O(config_maps)."""
    pairs = [(entry['src'], entry['dest']) for entry in params['files']]
    pairs += [(src, os.path.basename(src)) for config_map in params['config_maps'] for src in config_map['files']]
    return list(dict.fromkeys(pairs))


def write_tree(params, check_mode):
    """Write the kustomization and the files the options give into the tree; the paths that changed."""
    written = []
    pairs = copies(params)
    names = [name for _src, name in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CliError('{}: two files would be copied into the tree as {}'.format(params['path'], ', '.join(twice)))
    for src, name in pairs:
        try:
            with open(src, 'rb') as handle:
                content = handle.read()
        except OSError as exc:
            raise CliError('{} (to be copied into the tree as {}) cannot be read: {}'.format(src, name, exc.strerror)) from exc
        dest = os.path.join(params['path'], name)
        if write(dest, content, check_mode):
            written.append(dest)
    if params['definitions']:
        dest = os.path.join(params['path'], DEFINITIONS)
        if write(dest, (HEADER + kustomize.dump_all(params['definitions'])).encode(), check_mode):
            written.append(dest)
    if params['resources'] or params['definitions'] or params['config_maps']:
        dest = os.path.join(params['path'], 'kustomization.yaml')
        if write(dest, kustomization(params).encode(), check_mode):
            written.append(dest)
    return written


def split(objects, create_once):
    """``(once, namespaces, rest)``: the create_once objects, the Namespaces they need, and the objects applied."""
    def is_once(obj):
        _group, kind, namespace, name = kustomize.key(obj)
        return any(c['kind'] == kind and c['name'] == name and c.get('namespace') in ('', None, namespace) for c in create_once)

    once = [o for o in objects if is_once(o)]
    needed = {kustomize.key(o)[2] for o in once}
    namespaces = [o for o in objects if o.get('kind') == 'Namespace' and kustomize.key(o)[3] in needed]
    rest = [o for o in objects if o not in once]
    return once, namespaces, rest


def trees_of(params):
    """The trees the call applies, in order: O(trees), or the one the top-level options describe."""
    if params['trees']:
        return params['trees']
    return [{option: params.get(option) for option in TREE_OPTIONS}]


def is_remote(resource):
    """Whether a kustomization resource is a URL or a remote repository (``host.tld/...``), not a local path."""
    return '://' in resource or REMOTE.match(resource) is not None


def missing_sources(tree):
    """The files to copy into the tree and its local resources that do not exist (the copies themselves aside).

    A resource is resolved against the tree's path lexically, as kustomize does: on a first apply the tree's
    directory does not exist yet, and the kernel would not resolve ``<missing dir>/../..`` at all.
    """
    pairs = copies(tree)
    copied = {name for _src, name in pairs} | {DEFINITIONS}
    missing = [src for src, _name in pairs if not os.path.exists(src)]
    local = [os.path.normpath(os.path.join(tree['path'], r)) for r in tree['resources'] if r not in copied and not is_remote(r)]
    return missing + [path for path in local if not os.path.exists(path)]


def merged(objects):
    """``objects`` with each key once: where the first copy was, as the last copy has it (what applying them in order leaves)."""
    by_key, order = {}, []
    for obj in objects:
        obj_key = kustomize.key(obj)
        if obj_key not in by_key:
            order.append(obj_key)
        by_key[obj_key] = obj
    return [by_key[k] for k in order]


def run(module, applier):
    p = module.params
    trees = trees_of(p)
    # every tree is checked, written and rendered before anything is applied
    written, not_rendered, rendered, count = [], [], [], 0
    for tree in trees:
        missing = missing_sources(tree)
        if missing and not module.check_mode:
            hint = ': ' + p['missing_hint'] if p['missing_hint'] else ''
            raise CliError('{}: {} {} not exist{}'.format(tree['path'], ', '.join(missing), 'does' if len(missing) == 1 else 'do', hint))
        tree_written = write_tree(tree, module.check_mode)
        written += tree_written
        if module.check_mode and (tree_written or missing):
            # what it would render is not written yet (or its sources not there yet): reported changed as it is
            not_rendered.append(tree['path'])
            continue
        objects = applier.render(tree['path'])
        count += len(objects)
        rendered.append((tree, objects))
    if p['render_only']:
        return dict(changed=bool(written or not_rendered), objects=count, changed_objects=[], created_once=[], deleted=[], written=written,
                    not_rendered=not_rendered, waited=0.0, rendered=[{'path': tree['path'], 'objects': objects} for tree, objects in rendered])
    # what the lab no longer has goes first (an object applied below may be refused beside it)
    deleted = applier.delete_present([{'apiVersion': a['api_version'], 'kind': a['kind'], 'metadata': {'name': a['name'], 'namespace': a['namespace']}}
                                      for a in p['absent']], p['wait_timeout'])
    created, changed, waited = [], [], 0.0
    for step in sorted({tree.get('step') or 0 for tree, _objects in rendered}):
        step_created, step_changed, step_waited = apply_step([(t, o) for t, o in rendered if (t.get('step') or 0) == step], module, applier)
        created += step_created
        changed += step_changed
        waited += step_waited
    return dict(changed=bool(written or not_rendered or deleted or created or changed), objects=count,
                changed_objects=[kustomize.label(k) for k in created + changed], created_once=[kustomize.label(k) for k in created],
                deleted=[kustomize.label(k) for k in deleted], written=written, not_rendered=not_rendered, waited=waited)


def apply_step(rendered, module, applier):
    """Read, create what is missing, apply and wait for the objects of the trees of one step (``(tree, objects)``
    pairs): ``(created keys, changed keys, seconds waited)``."""
    p = module.params
    once, namespaces, rest, webhooks = [], [], [], []
    for tree, objects in rendered:
        tree_once, tree_namespaces, tree_rest = split(objects, tree['create_once'])
        once += tree_once
        namespaces += tree_namespaces
        rest += tree_rest
        webhooks += tree['webhooks']
    # one read, one create of what is missing and one apply for all the trees of the step
    rest = merged(rest)
    created, namespaces_changed = applier.create_missing(merged(once), merged(namespaces))
    changed = namespaces_changed + [k for k in applier.apply(rest) if k not in namespaces_changed]
    waited = 0.0
    if p['wait'] and not module.check_mode:
        waited = applier.wait(rest, webhooks, p['wait_timeout'], known=applier.applied)
    return created, changed, waited


def main():
    tree_options = dict(
        path=dict(type='path', required=True),
        resources=dict(type='list', elements='str', default=[]),
        definitions=dict(type='list', elements='dict', default=[]),
        images=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True), new_name=dict(type='str', default=''), new_tag=dict(type='str', default=''),
            digest=dict(type='str', default=''))),
        namespace=dict(type='str', default=''),
        patches=dict(type='list', elements='dict', default=[]),
        files=dict(type='list', elements='dict', default=[], options=dict(
            src=dict(type='path', required=True), dest=dict(type='str', required=True))),
        config_maps=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True), namespace=dict(type='str', default=''),
            files=dict(type='list', elements='path', required=True))),
        create_once=dict(type='list', elements='dict', default=[], options=dict(
            kind=dict(type='str', required=True), name=dict(type='str', required=True), namespace=dict(type='str', default=''))),
        step=dict(type='int', default=0),
        webhooks=dict(type='list', elements='dict', default=[], options=dict(
            namespace=dict(type='str', required=True), name=dict(type='str', required=True))),
    )
    top_level = dict({option: spec for option, spec in tree_options.items() if option != 'step'}, path=dict(type='path'))
    module = AnsibleModule(
        argument_spec=dict(
            top_level,
            trees=dict(type='list', elements='dict', default=[], options=tree_options),
            kubeconfig=dict(type='path'),
            render_only=dict(type='bool', default=False),
            kubectl_path=dict(type='str', default='kubectl'),
            field_manager=dict(type='str', default='openkasugai-all-in-one'),
            force_conflicts=dict(type='bool', default=True),
            missing_hint=dict(type='str', default=''),
            absent=dict(type='list', elements='dict', default=[], options=dict(
                api_version=dict(type='str', required=True), kind=dict(type='str', required=True),
                namespace=dict(type='str', default=''), name=dict(type='str', required=True))),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=300),
        ),
        mutually_exclusive=[('path', 'trees')],
        required_one_of=[('path', 'trees')],
        required_if=[('render_only', False, ('kubeconfig',))],
        supports_check_mode=True,
    )
    kubectl = Cli('kubectl', module.params['kubectl_path'], option='kubectl_path', module=module)
    applier = kustomize.TreeApplier(kubectl, module.params['kubeconfig'], module.params['field_manager'],
                                    force_conflicts=module.params['force_conflicts'], check_mode=module.check_mode)
    try:
        result = run(module, applier)
    except CliError as exc:
        details = exc.as_dict()
        if module.params['path'] and not details['msg'].startswith(module.params['path']):
            details['msg'] = '{}: {}'.format(module.params['path'], details['msg'])
        module.fail_json(**details)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
