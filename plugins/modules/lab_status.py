#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: lab_status
short_description: Write what the lab is now as a table (Markdown) and a picture (SVG), from the live lab
description:
  - Looks at every cluster of the lab model as it is now - docker (each node container, its state and address on the
    lab network), each node's network namespace (the devices it holds, C(ip -d -j link) through C(docker exec)), the
    API server (Nodes, Pods, Deployments and DaemonSets, OpenKasugai's DataFlows) and the scenario results on disk
    (C(result.json) under O(scenario_output_dir)).
  - Writes three files to O(dest) - C(status.md) (tables - per cluster its nodes with their state, the devices in
    each and its GPUs, the add-ons with the readiness of their workloads, the DataFlows, the scenarios' last
    results and, when the cluster is not whole, why), C(status.svg) (the same as a picture - the host, each cluster
    with its docker network as a bus and its nodes on it with their devices, add-ons, DataFlows and scenarios
    coloured by state) and C(status.json) (the snapshot both are drawn from).
  - A cluster whose API server does not answer is still drawn, from docker's side, with the error.
  - The files change only when the lab does (the snapshot carries no time of its own unless O(taken) gives one).
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - the C(kubernetes) Python library and the docker CLI on the host that runs the module
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
options:
  model:
    description: The fact C(lab_model) (the preflight role's normalized model).
    type: dict
    required: true
  dest:
    description: Directory to write C(status.md), C(status.svg) and C(status.json) to; created when missing.
    type: path
    required: true
  scenario_output_dir:
    description: Where the scenario stage keeps its outputs (C(<cluster>/<scenario id>/result.json)).
    type: path
    required: true
  host:
    description: The name of the kind-host, shown in the title.
    type: str
    default: kind-host
  taken:
    description: When the snapshot was taken, as shown (e.g. C(ansible_date_time.iso8601)); empty leaves it out.
    type: str
    default: ''
attributes:
  check_mode:
    support: full
    description: Looks, and reports whether the files would change, without writing them.
  diff_mode:
    support: none
    description: The files are reports; no diff is shown.
"""

EXAMPLES = r"""
- name: Write the lab's status table and picture
  openkasugai.all_in_one.lab_status:
    model: "{{ lab_model }}"
    dest: "{{ lab_model.state_dir }}/status"
    scenario_output_dir: "{{ lab_model.state_dir }}/scenario-output"
    host: "{{ inventory_hostname }}"
  vars:
    ansible_python_interpreter: "{{ lab_model.state_dir }}/python/bin/python3"   # with the kubernetes library
"""

RETURN = r"""
files:
  description: The files written (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/var/lib/openkasugai-lab/status/status.md, /var/lib/openkasugai-lab/status/status.svg,
           /var/lib/openkasugai-lab/status/status.json]
snapshot:
  description:
    - What was seen - C(host), C(taken), C(registry) and C(clusters), each with C(name), C(network), C(whole),
      C(problems), C(api_error), C(nodes) (C(name), C(role), C(running), C(ready), C(address), C(devices) - each
      C(name), C(kind), C(pci), C(state) - or null when the node's namespace could not be read, C(gpus)), C(workloads),
      C(addons) (C(name), C(ready), C(detail)), C(openkasugai) (DataFlows - C(kind), C(namespace), C(name), C(status))
      and C(scenarios) (C(name), C(result) - V(passed), V(failed) or V(not run) - and C(detail)).
  returned: always
  type: dict
summary:
  description: One line per cluster for a person.
  returned: always
  type: list
  elements: str
  sample: ["cluster kasugai: whole, 3 nodes Ready, add-ons ready 2/2, scenarios passed 1/1"]
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli, lab_health, lab_status
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import kube_api


def node_links(docker, node):
    """``ip -d -j link`` inside a running node, or None when it cannot be read."""
    result = docker.run(docker_cli.exec_args(node, ['ip', '-d', '-j', 'link', 'show']), check=False)
    return result.json() if result.rc == 0 else None


def scenario_results(directory, cluster):
    results = {}
    for item in cluster.get('scenarios') or []:
        path = os.path.join(directory, cluster['name'], item['id'], 'result.json')
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as handle:
                try:
                    results[item['id']] = json.load(handle)
                except ValueError:
                    results[item['id']] = {'matched': False, 'chain': [], 'seconds_from_dataflow_applied': 'unreadable result.json'}
    return results


def look(docker, cluster, scenario_dir):
    containers = docker_cli.inspect(docker, [n['name'] for n in cluster['nodes']])
    links = {name: node_links(docker, name) for name, obj in containers.items() if ((obj.get('State') or {}).get('Running'))}
    results = scenario_results(scenario_dir, cluster)
    try:
        api = kube_api.KubeCustomResources(cluster['kubeconfig'])
        health = lab_health.assess(cluster, containers, api.list_nodes(), api.list_node_leases(), api.list_pods())
        workloads = lab_status.workload_entries(*api.list_workloads())
        dataflows = []
        if cluster['addons'].get('openkasugai', {}).get('enabled'):
            dataflows = ok.collect(api, ok.DEFAULT_GROUP, ['DataFlow'], '', set(ok.DEFAULT_READY_STATUSES))[1]
    except ok.OpenKasugaiError as exc:
        health = lab_health.assess(cluster, containers, [], [], [])
        message = 'the API server of {} does not answer: {}'.format(cluster['name'], exc)
        health['problems'].insert(0, message)
        health['whole'] = False
        return lab_status.cluster_snapshot(cluster, health, links, [], [], results, api_error=str(exc))
    return lab_status.cluster_snapshot(cluster, health, links, workloads, dataflows, results)


def summary_line(cluster):
    nodes_ready = sum(1 for n in cluster['nodes'] if n['ready'])
    addons_ready = sum(1 for a in cluster['addons'] if a['ready'])
    passed = sum(1 for s in cluster['scenarios'] if s['result'] == 'passed')
    return 'cluster {}: {}, {}/{} nodes Ready, add-ons ready {}/{}, scenarios passed {}/{}'.format(
        cluster['name'], 'whole' if cluster['whole'] else 'NOT whole', nodes_ready, len(cluster['nodes']),
        addons_ready, len(cluster['addons']), passed, len(cluster['scenarios']))


def write_if_changed(path, content, check_mode):
    if os.path.isfile(path):
        with open(path, encoding='utf-8') as handle:
            if handle.read() == content:
                return False
    if not check_mode:
        tmp = path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            model=dict(type='dict', required=True),
            dest=dict(type='path', required=True),
            scenario_output_dir=dict(type='path', required=True),
            host=dict(type='str', default='kind-host'),
            taken=dict(type='str', default=''),
            **docker_cli.DOCKER_PATH_SPEC,
        ),
        supports_check_mode=True,
    )
    if not kube_api.HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib('kubernetes'), exception=str(kube_api.KUBERNETES_IMPORT_ERROR))
    p = module.params
    model = p['model']
    for key in ('clusters', 'registry'):
        if key not in model:
            module.fail_json(msg='model has no {!r}: give the fact lab_model'.format(key))
    docker = docker_cli.docker(p['docker_path'], module)
    try:
        clusters = [look(docker, cluster, p['scenario_output_dir']) for cluster in model['clusters']]
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    snapshot = dict(host=p['host'], taken=p['taken'],
                    registry=dict(type=model['registry'].get('type', 'none'), url=model['registry'].get('url', '')), clusters=clusters)
    files = {'status.md': lab_status.markdown(snapshot), 'status.svg': lab_status.svg(snapshot),
             'status.json': json.dumps(snapshot, indent=2, sort_keys=True) + '\n'}
    changed = not os.path.isdir(p['dest'])
    if changed and not module.check_mode:
        os.makedirs(p['dest'], mode=0o755)
    paths = []
    for name, content in files.items():
        path = os.path.join(p['dest'], name)
        paths.append(path)
        changed = write_if_changed(path, content, module.check_mode) or changed
    module.exit_json(changed=changed, files=paths, snapshot=snapshot, summary=[summary_line(c) for c in clusters])


if __name__ == '__main__':
    main()
