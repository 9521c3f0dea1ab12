#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: openkasugai_info
short_description: Report the status of every OpenKasugai custom resource, optionally wait until all are ready, and say why not
description:
  - Lists the objects of every custom resource kind of API group O(group) (the OpenKasugai controllers' CRDs,
    C(example.com)) that the cluster has, found from its C(apiextensions.k8s.io/v1) CustomResourceDefinitions,
    or only of O(kinds). Each kind is read with its CRD's storage version (or the first served one).
  - The status of an object is the first non-empty string of C(.status.status), C(.status.phase) and
    C(.status.response.status) (DeviceInfo), else its C(Ready) condition, else V('') (not reported yet).
  - What the upstream v1.1.0 controllers write in C(.status.status) - DataFlow C(Scheduling in progress),
    C(WBFunction/WBConnection creation in progress), C(WBFunction/WBConnection created), C(Deployed) or C(Error);
    FunctionChain, FunctionType C(Ready) or C(Error); ConnectionType C(Ready) or C(Not Ready);
    WBFunction, WBConnection C(Waiting), C(Deployed), C(Failed), C(Terminating), C(Released);
    CPUFunction, GPUFunction, FPGAFunction, EthernetConnection, PCIeConnection C(Pending) until C(Running);
    FunctionTarget, FPGA, ChildBs C(NotReady), C(Preparing), C(Ready), C(Error); FPGAReconfiguration
    C(Pending), C(Succeeded), C(Failed); SchedulingData C(Filtering), C(Finish), C(Failed); DeviceInfo
    (C(.status.response.status)) C(Initial), C(Deployed), C(Undeployed), C(Error).
  - A CPUFunction or GPUFunction writes C(Running) as soon as it has created its Pod (C(.status.podName),
    C(<name>-cpu-pod)), whatever becomes of the Pod; with O(check_pods) such an object is ready only once its Pod is Ready.
  - Kinds whose CRD schema declares no status field (ComputeResource, which has a status per region only,
    TopologyInfo, ConnectionTarget) are listed with an empty status and count as ready.
  - With O(wait), lists again every O(wait_interval) seconds until every listed object is ready (and at least
    O(min_count) exist), and fails after O(wait_timeout) seconds, or as soon as an object reports one of
    O(fail_statuses).
  - Whenever something is not ready, says why in RV(not_ready) and RV(diagnosis), and in the failure message of a
    wait. Per object its status and what it waits for (a DataFlow's SchedulingData or WBFunctions, a WBFunction's
    CPUFunction, a CPUFunction's Pod) and the last events its controller recorded on it; then every Pod of the
    namespace(s) concerned that is not Ready, with its phase, each container's waiting or terminated reason and
    message (C(ImagePullBackOff), C(CrashLoopBackOff) with the last exit code) and its last Warning events.
  - Replaces C(kubectl get crd | grep example.com | ... | xargs kubectl get -A) and watching for
    C(OK), C(Running) or C(Deployed) by eye.
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - the C(kubernetes) Python library on the host that runs the module
options:
  kubeconfig:
    description: Kubeconfig file of the cluster.
    type: path
    required: true
  context:
    description: Context of O(kubeconfig) to use; its current context when not set.
    type: str
  group:
    description: API group of the custom resources.
    type: str
    default: example.com
  kinds:
    description:
      - Kinds to look at, each by kind, plural, singular or short name, in any case (V(DataFlow), V(dataflows)).
      - Every kind of O(group) when empty. A kind the cluster has no CRD for is an error.
    type: list
    elements: str
    default: []
  namespace:
    description:
      - Namespace to look in; all namespaces when empty. Cluster-scoped kinds are always listed whole.
      - The diagnosis looks at the Pods and Events of this namespace, or, when empty, of the namespaces of the
        objects that are not ready.
    type: str
    default: ''
  ready_statuses:
    description:
      - Status strings that count as ready, compared exactly.
      - The default holds the final good status of each upstream kind; C(OK) is what EthernetConnection and
        PCIeConnection write per side (C(.status.from.status), C(.status.to.status)).
    type: list
    elements: str
    default: [Ready, Running, Deployed, OK, Succeeded, Finish]
  check_pods:
    description:
      - Also read the Pods of the namespaces of the CPUFunctions and GPUFunctions listed, and count such an object as
        ready only when its Pod (C(.status.podName)) is Ready too.
      - Their controllers write C(Running) once they have created the Pod, before its images are pulled or its
        containers started.
    type: bool
    default: true
  fail_statuses:
    description:
      - With O(wait), statuses that end the wait at once, as a failure; the upstream controllers do not leave them
        by themselves (a DataFlow or FunctionChain in C(Error), a WBFunction or SchedulingData C(Failed)).
      - V([]) waits for every object until O(wait_timeout).
    type: list
    elements: str
    default: [Error, Failed]
  wait:
    description: Wait until every listed object is ready.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait) before failing.
    type: int
    default: 300
  wait_interval:
    description: Seconds between two listings with O(wait).
    type: float
    default: 2
  min_count:
    description:
      - With O(wait), also wait until at least this many objects exist (all kinds together), for a wait started
        before the controllers have created them. V(0) requires none.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Only reads, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Only reads; there is nothing to diff.
  idempotent:
    support: full
    description: Only reads.
  platform:
    support: full
    platforms: posix
    description: Any host with the C(kubernetes) Python library that can reach the API server.
'''

EXAMPLES = r'''
- name: Status of every OpenKasugai resource
  openkasugai.all_in_one.openkasugai_info:
    kubeconfig: /root/.kube/config
  register: ok_status

- name: Show it as kubectl would
  ansible.builtin.debug:
    var: ok_status.table_lines

- name: Wait until the sample data flow is deployed and its functions run
  openkasugai.all_in_one.openkasugai_info:
    kubeconfig: /root/.kube/config
    kinds: [DataFlow, WBFunction, WBConnection, CPUFunction, GPUFunction, EthernetConnection]
    namespace: default
    wait: true
    wait_timeout: 600
    min_count: 1

- name: Say why what is not ready is not
  ansible.builtin.debug:
    var: ok_status.diagnosis
  when: ok_status.not_ready | length > 0
'''

RETURN = r'''
resources:
  description: Every object looked at, sorted by kind, namespace and name.
  returned: always
  type: list
  elements: dict
  contains:
    kind: {description: Kind., type: str}
    api_version: {description: Group and version it was read with., type: str}
    namespace: {description: Namespace; empty for a cluster-scoped kind., type: str}
    name: {description: Name., type: str}
    status: {description: Its status string; empty when not reported (yet)., type: str}
    ready:
      description:
        - Whether the status is one of O(ready_statuses); true for kinds whose CRD declares no status.
        - For a CPUFunction or GPUFunction with O(check_pods), also whether its Pod is Ready.
      type: bool
    detail:
      description:
        - A few words a kind adds to its status, as in the table's DETAIL column; empty for most kinds.
        - DataFlow its FunctionChain and how many functions and connections were scheduled; WBFunction its function,
          node and device; WBConnection its method and ends; CPUFunction, GPUFunction, FPGAFunction its function and
          node (and Pod); EthernetConnection, PCIeConnection the status of each side; SchedulingData its filter;
          FunctionTarget whether it is available.
      type: str
    pod:
      description: The Pod of a CPUFunction or GPUFunction, with O(check_pods).
      type: dict
      returned: for CPUFunction and GPUFunction with O(check_pods)
      contains:
        name: {description: Its name., type: str}
        status:
          description: Its status as C(kubectl get pods) shows it (C(Running), C(ImagePullBackOff), C(CrashLoopBackOff)), C(NotFound).
          type: str
        ready: {description: Whether it is Ready., type: bool}
  sample:
    - {kind: DataFlow, api_version: example.com/v1, namespace: default, name: cpu-decode-df, status: Deployed, ready: true,
       detail: "chain cpu-decode-chain, 1 function, 2 connections"}
not_ready:
  description: The objects of RV(resources) that are not ready, and why.
  returned: always
  type: list
  elements: dict
  contains:
    kind: {description: Kind., type: str}
    namespace: {description: Namespace; empty for a cluster-scoped kind., type: str}
    name: {description: Name., type: str}
    status: {description: Its status string; empty when not reported (yet)., type: str}
    why:
      description: Why it is not ready, on one line (what it waits for, or what its status means).
      type: str
  sample:
    - {kind: CPUFunction, namespace: default, name: cpu-decode-df-wbfunction-decode-main, status: Running,
       why: "Running means its controller created the Pod; its Pod cpu-decode-df-wbfunction-decode-main-cpu-pod is
             ImagePullBackOff, 0/2 containers ready"}
diagnosis:
  description:
    - Why what is not ready is not, as text - a line per object of RV(not_ready) with the last events its
      controller recorded on it below it, then a few lines per Pod not Ready of the namespaces concerned
      (its status, each container's state, reason and message, its last Warning events).
    - Empty when everything is ready. The failure message of a wait is a summary line followed by these lines.
  returned: always
  type: list
  elements: str
  sample:
    - "CPUFunction/default/df-wbfunction-decode-main: Running: Running means its controller created the Pod; its Pod
       df-wbfunction-decode-main-cpu-pod is ImagePullBackOff, 0/2 containers ready"
    - "Pod default/df-wbfunction-decode-main-cpu-pod: ImagePullBackOff, 0/2 ready, phase Pending, on kasugai-worker"
    - "  cpu-container0: waiting ImagePullBackOff: Back-off pulling image \"localhost/cpu-decode:1.1.0\""
    - "  Warning Failed (x4): Failed to pull image \"localhost/cpu-decode:1.1.0\": ... not found"
pods_not_ready:
  description: The Pods of the namespaces concerned that are not Ready (nor Succeeded), as in RV(diagnosis).
  returned: always
  type: list
  elements: dict
  contains:
    namespace: {description: Namespace., type: str}
    name: {description: Name., type: str}
    phase: {description: Its phase., type: str}
    status: {description: Its status as C(kubectl get pods) shows it., type: str}
    ready:
      description: Ready containers of all, C(0/2).
      type: str
    node: {description: The node it is scheduled to; empty when not scheduled., type: str}
    containers:
      description: Its containers that are not ready.
      type: list
      elements: dict
      contains:
        name: {description: Name; C(init ) before an init container's., type: str}
        state:
          description: C(waiting), C(terminated) or C(running).
          type: str
        reason:
          description: Reason of that state (C(ImagePullBackOff), C(CrashLoopBackOff), C(Error)).
          type: str
        message: {description: Message of that state., type: str}
        exit_code: {description: Exit code when terminated., type: int}
        last_reason:
          description: Reason of its last termination, after a restart.
          type: str
        last_exit_code:
          description: Exit code of its last termination, after a restart.
          type: int
        restarts: {description: How many times it restarted., type: int}
        ready: {description: Whether it is ready., type: bool}
    events:
      description: Its last Warning events, oldest first.
      type: list
      elements: dict
      contains:
        type: {description: Event type., type: str}
        reason: {description: Event reason., type: str}
        message: {description: Event message., type: str}
        count: {description: How many times it happened., type: int}
kinds:
  description: The kinds looked at.
  returned: always
  type: list
  elements: str
  sample: [CPUFunction, DataFlow, FunctionChain, FunctionType, WBConnection, WBFunction]
table:
  description: RV(resources) as a table with columns KIND, NAMESPACE, NAME, STATUS and DETAIL, aligned like kubectl's.
  returned: always
  type: str
  sample: "KIND       NAMESPACE   NAME            STATUS     DETAIL\nDataFlow   default     cpu-decode-df   Deployed   chain cpu-decode-chain"
table_lines:
  description: RV(table), one line per element.
  returned: always
  type: list
  elements: str
  sample:
    - "KIND       NAMESPACE   NAME            STATUS     DETAIL"
    - "DataFlow   default     cpu-decode-df   Deployed   chain cpu-decode-chain"
polls:
  description: How many times the resources were listed.
  returned: always
  type: int
  sample: 1
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kube_api


def main():
    module = AnsibleModule(
        argument_spec={
            'kubeconfig': {'type': 'path', 'required': True},
            'context': {'type': 'str'},
            'group': {'type': 'str', 'default': ok.DEFAULT_GROUP},
            'kinds': {'type': 'list', 'elements': 'str', 'default': []},
            'namespace': {'type': 'str', 'default': ''},
            'ready_statuses': {'type': 'list', 'elements': 'str', 'default': list(ok.DEFAULT_READY_STATUSES)},
            'check_pods': {'type': 'bool', 'default': True},
            'fail_statuses': {'type': 'list', 'elements': 'str', 'default': list(ok.DEFAULT_FAIL_STATUSES)},
            'wait': {'type': 'bool', 'default': False},
            'wait_timeout': {'type': 'int', 'default': 300},
            'wait_interval': {'type': 'float', 'default': 2},
            'min_count': {'type': 'int', 'default': 0},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not kube_api.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=str(kube_api.KUBERNETES_IMPORT_ERROR))
    if p['wait_timeout'] < 0 or p['wait_interval'] <= 0 or p['min_count'] < 0:
        module.fail_json(msg='wait_timeout and min_count must not be negative and wait_interval must be positive')
    try:
        api = kube_api.KubeCustomResources(p['kubeconfig'], p['context'])
        result = ok.look(api, p['kinds'], p['namespace'], group=p['group'], ready_statuses=p['ready_statuses'],
                         fail_statuses=p['fail_statuses'], check_pods=p['check_pods'], wait=p['wait'],
                         timeout=p['wait_timeout'], interval=p['wait_interval'], min_count=p['min_count'])
    except ok.OpenKasugaiError as exc:
        module.fail_json(msg=str(exc))
    if 'msg' in result:
        module.fail_json(changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
