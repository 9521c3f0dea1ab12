#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: openkasugai_info
short_description: Report the status of every OpenKasugai custom resource, and optionally wait until all are ready
description:
  - Lists the objects of every custom resource kind of API group O(group) (the OpenKasugai controllers' CRDs,
    C(example.com)) that the cluster has, found from its C(apiextensions.k8s.io/v1) CustomResourceDefinitions,
    or only of O(kinds). Each kind is read with its CRD's storage version (or the first served one).
  - The status of an object is the first non-empty string of C(.status.status), C(.status.phase) and
    C(.status.response.status) (DeviceInfo), else its C(Ready) condition, else V('') (not reported yet).
  - What the upstream controllers write in C(.status.status) - DataFlow C(Scheduling in progress) ... C(Deployed)
    or C(Error); FunctionChain, FunctionType C(Ready) or C(Error); ConnectionType C(Ready) or C(Not Ready);
    WBFunction, WBConnection C(Allocated), C(Deployed), C(Waiting), C(Released), C(Terminating), C(Failed);
    CPUFunction, GPUFunction, FPGAFunction, EthernetConnection, PCIeConnection C(Pending) until C(Running);
    FunctionTarget, FPGA, ChildBs C(NotReady), C(Preparing), C(Ready), C(Error); FPGAReconfiguration
    C(Pending), C(Succeeded), C(Failed); SchedulingData C(Filtering), C(Finish), C(Failed); DeviceInfo
    (C(.status.response.status)) C(Initial), C(Deployed), C(Undeployed), C(Error).
  - Kinds whose CRD schema declares no status field (ComputeResource, which has a status per region only,
    TopologyInfo, ConnectionTarget) are listed with an empty status and count as ready.
  - With O(wait), lists again every O(wait_interval) seconds until every listed object is ready (and at least
    O(min_count) exist), and fails after O(wait_timeout) seconds naming each object that is not.
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
    description: Namespace to look in; all namespaces when empty. Cluster-scoped kinds are always listed whole.
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
      description: Whether the status is one of O(ready_statuses); true for kinds whose CRD declares no status.
      type: bool
  sample:
    - {kind: DataFlow, api_version: example.com/v1, namespace: default, name: cpu-decode-df, status: Deployed, ready: true}
not_ready:
  description: The entries of RV(resources) that are not ready.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: CPUFunction, api_version: example.com/v1, namespace: default, name: cpu-decode-df-wbfunction-decode-main,
       status: Pending, ready: false}
kinds:
  description: The kinds looked at.
  returned: always
  type: list
  elements: str
  sample: [CPUFunction, DataFlow, FunctionChain, FunctionType, WBConnection, WBFunction]
table:
  description: RV(resources) as a table with columns KIND, NAMESPACE, NAME and STATUS, aligned like kubectl's.
  returned: always
  type: str
  sample: "KIND       NAMESPACE   NAME            STATUS\nDataFlow   default     cpu-decode-df   Deployed"
table_lines:
  description: RV(table), one line per element.
  returned: always
  type: list
  elements: str
  sample:
    - "KIND       NAMESPACE   NAME            STATUS"
    - "DataFlow   default     cpu-decode-df   Deployed"
polls:
  description: How many times the resources were listed.
  returned: always
  type: int
  sample: 1
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok


def main():
    module = AnsibleModule(
        argument_spec={
            'kubeconfig': {'type': 'path', 'required': True},
            'context': {'type': 'str'},
            'group': {'type': 'str', 'default': ok.DEFAULT_GROUP},
            'kinds': {'type': 'list', 'elements': 'str', 'default': []},
            'namespace': {'type': 'str', 'default': ''},
            'ready_statuses': {'type': 'list', 'elements': 'str', 'default': list(ok.DEFAULT_READY_STATUSES)},
            'wait': {'type': 'bool', 'default': False},
            'wait_timeout': {'type': 'int', 'default': 300},
            'wait_interval': {'type': 'float', 'default': 2},
            'min_count': {'type': 'int', 'default': 0},
        },
        supports_check_mode=True,
    )
    p = module.params
    if not ok.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=str(ok.KUBERNETES_IMPORT_ERROR))
    if p['wait_timeout'] < 0 or p['wait_interval'] <= 0 or p['min_count'] < 0:
        module.fail_json(msg='wait_timeout and min_count must not be negative and wait_interval must be positive')

    seen = {'kinds': []}

    def listing():
        infos, resources = ok.collect(api, p['group'], p['kinds'], p['namespace'], set(p['ready_statuses']))
        seen['kinds'] = [info['kind'] for info in infos]
        return resources

    try:
        api = ok.KubeCustomResources(p['kubeconfig'], p['context'])
        if p['wait']:
            resources, done, polls = ok.wait_until_ready(listing, p['wait_timeout'], p['wait_interval'], p['min_count'])
        else:
            resources, done, polls = listing(), True, 1
    except ok.OpenKasugaiError as exc:
        module.fail_json(msg=str(exc))

    lines = ok.render_table(resources)
    result = {
        'changed': False,
        'resources': resources,
        'not_ready': [r for r in resources if not r['ready']],
        'kinds': seen['kinds'],
        'table': '\n'.join(lines),
        'table_lines': lines,
        'polls': polls,
    }
    if not done:
        module.fail_json(msg=ok.timeout_message(resources, p['wait_timeout'], p['min_count'], p['group']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
