#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: openkasugai_apply
short_description: Apply OpenKasugai objects in steps, each step waiting until the kinds it names are ready
description:
  - Applies O(steps) in order, each with C(kubectl apply --server-side) as one field manager (one call per step), and
    after each, waits until the OpenKasugai kinds it names (O(steps[].ready_kinds)) are ready as the
    M(openkasugai.all_in_one.openkasugai_info) module reads them - before the next step is applied.
  - For what the controllers read once, when an object changes - a FunctionChain checks its FunctionTypes when it is
    created or changed, and one applied before they are C(Ready) stays C(Error); a DataFlow needs its FunctionChain
    C(Ready) - so the objects go in steps (function ConfigMaps, FunctionInfo and FunctionTypes, then the
    FunctionChain, then the DataFlow), each once the one before is ready.
  - Changed objects are told apart by reading them before the apply and comparing with what the apply answers (a new
    uid or resourceVersion); a server-side apply that changes nothing writes nothing, so a re-run reports C(changed=false).
  - One module run for the steps that used to be an apply and a wait each; a re-run that changes nothing costs two
    kubectl calls and one listing per step.
  - When a wait ends without everything ready, the failure names the step, each object that is not ready and why
    (the controllers' events, the Pods of the functions that do not start), as openkasugai_info does.
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - kubectl on the host that runs the module, and the C(kubernetes) Python library there (the waits)
options:
  steps:
    description: The steps, applied in order.
    type: list
    elements: dict
    required: true
    suboptions:
      objects:
        description: The objects of the step (whole manifests). None is fine (a step that only waits).
        type: list
        elements: dict
        default: []
      ready_kinds:
        description:
          - The kinds of O(group) to wait for after the apply (in O(steps[].namespace)), by kind, plural, singular or
            short name. None - no wait.
        type: list
        elements: str
        default: []
      namespace:
        description: The namespace O(steps[].ready_kinds) are looked at in; every namespace when empty.
        type: str
        default: ''
      min_count:
        description: How many objects of O(steps[].ready_kinds) at least must exist before the step is ready.
        type: int
        default: 0
  kubeconfig:
    description: Kubeconfig file of the cluster.
    type: path
    required: true
  kubectl_path:
    description: The kubectl binary (a path or a name looked up in E(PATH)).
    type: str
    default: kubectl
  field_manager:
    description: The field manager of the server-side applies.
    type: str
    default: openkasugai-all-in-one
  force_conflicts:
    description: Take over fields another manager set (C(--force-conflicts)).
    type: bool
    default: true
  group:
    description: API group of the OpenKasugai kinds.
    type: str
    default: example.com
  ready_statuses:
    description: The statuses that count as ready (see openkasugai_info).
    type: list
    elements: str
    default: [Ready, Running, Deployed, OK, Succeeded, Finish]
  fail_statuses:
    description: Statuses the controllers never leave by themselves; one of them ends a wait at once, failed.
    type: list
    elements: str
    default: [Error, Failed]
  check_pods:
    description: A CPUFunction or GPUFunction is ready only once its Pod is Ready (it reports C(Running) as soon as it created it).
    type: bool
    default: true
  wait_timeout:
    description: Seconds each step's wait may take.
    type: int
    default: 300
  wait_interval:
    description: Seconds between two listings of a wait.
    type: float
    default: 2
notes:
  - Check mode applies nothing (C(--dry-run=server) for objects that exist, any that does not would be created) and
    waits for nothing.
  - The objects are applied as given; render kustomize trees first (the scenario role does, with C(kubectl kustomize)).
seealso:
  - module: openkasugai.all_in_one.openkasugai_info
  - module: openkasugai.all_in_one.kustomize_apply
"""

EXAMPLES = r"""
- name: A scenario's objects in the order the controllers need them
  openkasugai.all_in_one.openkasugai_apply:
    kubeconfig: /var/lib/openkasugai-lab/kasugai/kubeconfig
    kubectl_path: /usr/local/bin/kubectl
    steps:
      - objects: "{{ deploy_docs | rejectattr('kind', 'equalto', 'FunctionChain') | list }}"
        ready_kinds: [FunctionType]
        namespace: default
        min_count: 4
      - objects: "{{ deploy_docs | selectattr('kind', 'equalto', 'FunctionChain') | list }}"
        ready_kinds: [FunctionChain]
        namespace: default
        min_count: 1

- name: The DataFlow, then wait until it and its functions and connections run
  openkasugai.all_in_one.openkasugai_apply:
    kubeconfig: /var/lib/openkasugai-lab/kasugai/kubeconfig
    steps:
      - objects: "{{ dataflow_docs }}"
        ready_kinds: [DataFlow, WBFunction, WBConnection, CPUFunction, EthernetConnection]
        namespace: default
        min_count: 3
  register: deployed
"""

RETURN = r"""
changed_objects:
  description: The objects the applies changed (or, in check mode, would change), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
steps:
  description: Per step, what its apply changed and how many listings its wait made (0 without a wait).
  returned: always
  type: list
  elements: dict
  contains:
    changed_objects: {description: The objects this step's apply changed., type: list, elements: str}
    polls: {description: The listings of its wait., type: int}
resources:
  description: The objects the last wait listed, each as openkasugai_info returns it (kind, namespace, name, status, ready, detail).
  returned: always ([] when no step waited)
  type: list
  elements: dict
table_lines:
  description: RV(resources) as a table with columns KIND, NAMESPACE, NAME, STATUS and DETAIL, aligned like kubectl's.
  returned: always
  type: list
  elements: str
not_ready:
  description: Of the last wait, the objects that were not ready and why (see openkasugai_info); [] when all were.
  returned: when a step waited
  type: list
  elements: dict
diagnosis:
  description: Of the last wait, the lines that explain what was not ready (objects, events, Pods).
  returned: when a step waited
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kustomize
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kube_api
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError


def apply_step(applier, objects, check_mode):
    """The keys of the step's objects that the apply changed; in check mode a kind the cluster does not serve yet
    (its CRD not installed) is one more object that would be created."""
    try:
        return applier.apply(objects)
    except CliError as exc:
        if check_mode and kustomize.unknown_kind(exc):
            return [kustomize.key(obj) for obj in objects]
        raise


def run(module, applier, api_of):
    """Apply and wait for each step. ``api_of()`` gives the KubeCustomResources the waits read (made at the first wait)."""
    p = module.params
    changed, steps, last, api = [], [], {'resources': [], 'table_lines': []}, None
    for number, step in enumerate(p['steps'], 1):
        step_changed = apply_step(applier, step['objects'], module.check_mode)
        changed += step_changed
        polls = 0
        if step['ready_kinds'] and not module.check_mode:
            api = api or api_of()
            last = ok.look(api, step['ready_kinds'], step['namespace'], group=p['group'], ready_statuses=p['ready_statuses'],
                           fail_statuses=p['fail_statuses'], check_pods=p['check_pods'], wait=True, timeout=p['wait_timeout'],
                           interval=p['wait_interval'], min_count=step['min_count'])
            polls = last['polls']
            if 'msg' in last:
                last['msg'] = 'step {} ({} in {}): {}'.format(number, ', '.join(step['ready_kinds']), step['namespace'] or 'every namespace',
                                                              last['msg'])
        steps.append({'changed_objects': [kustomize.label(k) for k in step_changed], 'polls': polls})
        if 'msg' in last:
            break
    return dict(last, changed=bool(changed), changed_objects=[kustomize.label(k) for k in changed], steps=steps)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            steps=dict(type='list', elements='dict', required=True, options=dict(
                objects=dict(type='list', elements='dict', default=[]),
                ready_kinds=dict(type='list', elements='str', default=[]),
                namespace=dict(type='str', default=''),
                min_count=dict(type='int', default=0))),
            kubeconfig=dict(type='path', required=True),
            kubectl_path=dict(type='str', default='kubectl'),
            field_manager=dict(type='str', default='openkasugai-all-in-one'),
            force_conflicts=dict(type='bool', default=True),
            group=dict(type='str', default=ok.DEFAULT_GROUP),
            ready_statuses=dict(type='list', elements='str', default=list(ok.DEFAULT_READY_STATUSES)),
            fail_statuses=dict(type='list', elements='str', default=list(ok.DEFAULT_FAIL_STATUSES)),
            check_pods=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=300),
            wait_interval=dict(type='float', default=2),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p['wait_timeout'] < 0 or p['wait_interval'] <= 0 or any(step['min_count'] < 0 for step in p['steps']):
        module.fail_json(msg='wait_timeout and steps[].min_count must not be negative and wait_interval must be positive')
    if not kube_api.HAS_KUBERNETES and any(step['ready_kinds'] for step in p['steps']):
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=str(kube_api.KUBERNETES_IMPORT_ERROR))
    kubectl = Cli('kubectl', p['kubectl_path'], option='kubectl_path', module=module)
    applier = kustomize.TreeApplier(kubectl, p['kubeconfig'], p['field_manager'], force_conflicts=p['force_conflicts'],
                                    check_mode=module.check_mode)
    try:
        result = run(module, applier, lambda: kube_api.KubeCustomResources(p['kubeconfig']))
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    except ok.OpenKasugaiError as exc:
        module.fail_json(msg=str(exc))
    if 'msg' in result:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
