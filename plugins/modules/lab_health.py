#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: lab_health
short_description: Say whether a lab cluster is whole (after a reboot, say) and, if not, what did not come back and why
description:
  - Looks at one cluster of the lab model from both sides. Docker, through its CLI - every node container runs and has
    its fixed address on the lab network (pinned in the endpoint's IPAM config, see M(openkasugai.all_in_one.kind_cluster)).
    The API server - every Node is C(Ready) with its kubelet heartbeat (its Lease in C(kube-node-lease)) renewed,
    and every Pod that is not done (C(Succeeded)) is Ready.
  - With O(since), heartbeats and the Pods' C(Ready) must be newer than that time, since a C(Ready) the API server
    wrote before a restart proves nothing about after it.
  - Whatever is not whole is said in RV(problems), one sentence per node and per Pod (its phase, each container's
    waiting or terminated reason, its last exit code).
  - With O(wait), looks again every O(wait_interval) seconds until the cluster is whole, and fails after
    O(wait_timeout) seconds with the problems of the last look. While the API server does not answer (it restarts
    too), that is the problem reported.
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - the C(kubernetes) Python library and the docker CLI on the host that runs the module
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
options:
  cluster:
    description: One cluster of the fact C(lab_model) (C(lab_model.clusters[])), with its nodes, docker network and kubeconfig.
    type: dict
    required: true
  since:
    description: Seconds since the epoch (a restart); heartbeats and Pod readiness older than this do not count.
    type: float
  wait:
    description: Look again until the cluster is whole, or fail after O(wait_timeout).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait with O(wait).
    type: int
    default: 300
  wait_interval:
    description: Seconds between two looks with O(wait).
    type: float
    default: 2
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Changes nothing, so shows no difference.
"""

EXAMPLES = r"""
- name: What did not come back after the reboot
  openkasugai.all_in_one.lab_health:
    cluster: "{{ lab_model.clusters[0] }}"
  register: health

- name: Wait until the lab is whole again after the docker daemon came back
  openkasugai.all_in_one.lab_health:
    cluster: "{{ lab_model.clusters[0] }}"
    since: "{{ daemon_back_at }}"
    wait: true
    wait_timeout: 300
"""

RETURN = r"""
whole:
  description: Every node runs at its fixed address and is Ready with a fresh heartbeat, and every Pod is Ready.
  returned: always
  type: bool
problems:
  description: What is not whole, one sentence per node and per Pod (Pods with their containers' reasons on following lines).
  returned: always
  type: list
  elements: str
  sample: ["node lab-worker: it is not Ready: container runtime network not ready",
           "Pod kube-system/coredns-66bc5c9577-pz4gx: CrashLoopBackOff, 0/1 ready, on lab-control-plane"]
nodes:
  description: One entry per node of the model.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Node (container) name., type: str}
    running: {description: Whether the container runs., type: bool}
    address: {description: Its address on the lab network now., type: str}
    fixed_address: {description: The address pinned in docker's IPAM config (null when none)., type: str}
    ready: {description: Whether the Node is Ready., type: bool}
    heartbeat: {description: When its kubelet last renewed its Lease (seconds since the epoch)., type: float}
    problem: {description: What is wrong with it (empty when nothing)., type: str}
summary:
  description: The cluster's state in a few lines for a person (whole or not, each node, then the problems).
  returned: always
  type: list
  elements: str
  sample: ["cluster lab: whole", "  node lab-control-plane: running, 172.30.0.3 (fixed), Ready"]
pods_not_ready:
  description: The Pods that are not Ready (not counting done ones), each as the openkasugai_info module reports Pods, plus C(lines).
  returned: always
  type: list
  elements: dict
seconds:
  description: How long the module looked (with O(wait), the time until the cluster was whole).
  returned: always
  type: float
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli, lab_health
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kube_api


def look(module, docker, since):
    cluster = module.params['cluster']
    containers = docker_cli.inspect(docker, [n['name'] for n in cluster['nodes']])
    try:
        api = kube_api.KubeCustomResources(cluster['kubeconfig'])
        nodes, leases, pods = api.list_nodes(), api.list_node_leases(), api.list_pods()
    except ok.OpenKasugaiError as exc:
        result = lab_health.assess(cluster, containers, [], [], [], since)
        result['problems'].insert(0, 'the API server of {} does not answer: {}'.format(cluster['name'], exc))
        result['whole'] = False
        return result
    return lab_health.assess(cluster, containers, nodes, leases, pods, since)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cluster=dict(type='dict', required=True),
            since=dict(type='float'),
            wait=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=300),
            wait_interval=dict(type='float', default=2),
            **docker_cli.DOCKER_PATH_SPEC,
        ),
        supports_check_mode=True,
    )
    if not kube_api.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=str(kube_api.KUBERNETES_IMPORT_ERROR))
    p = module.params
    for key in ('name', 'nodes', 'docker_network', 'kubeconfig'):
        if key not in p['cluster']:
            module.fail_json(msg='cluster has no {!r}: give one cluster of lab_model.clusters'.format(key))
    docker = docker_cli.docker(p['docker_path'], module)
    start = time.monotonic()
    try:
        while True:
            result = look(module, docker, p['since'])
            if result['whole'] or not p['wait'] or time.monotonic() - start > p['wait_timeout']:
                break
            time.sleep(p['wait_interval'])
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    result['seconds'] = round(time.monotonic() - start, 1)
    if p['wait'] and not result['whole']:
        module.fail_json(msg='cluster {} is not whole after {}s:\n{}'.format(p['cluster']['name'], p['wait_timeout'], '\n'.join(result['problems'])),
                         changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
