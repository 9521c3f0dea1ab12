#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: openkasugai_infra_info
short_description: Build OpenKasugai's infrastructureinfo and deployinfo ConfigMaps as InfoCollector writes them
description:
  - OpenKasugai v1.1.0's controllers read two ConfigMaps in namespace C(default). WBFunction reads C(infrastructureinfo)
    (the type, index and UUID of each device of each node); DeviceInfo reads it and C(deployinfo) (each device's regions and
    their limits) to build the ComputeResource of its node. Upstream writes them with C(src/tools/InfoCollector), a cgo
    program run on every node that needs libfpga and DCGM. This module builds the same two documents from the lab's
    worker nodes, their GPUs and the host's C(/proc/cpuinfo) (kind nodes share the host's kernel). It only computes;
    apply the returned RV(configmaps) with e.g. C(kubernetes.core.k8s).
  - Per node, as InfoCollector's C(GetDeviceInfo) lists them, sorted by node name - its GPUs by index (UUID, model and
    index as DCGM or C(nvidia-smi --query-gpu=index,uuid,name) report them), a CPU device C(<node>-cpu0) of index 0
    and a memory device C(<node>-mem0) of type C(memory). The memory device is in C(infrastructureinfo) only.
  - A device's type is its model mapped by O(device_type_map) (C(convDeviceType)); its regions are the
    C(functionTargets) of the O(region_table) entries whose C(subDeviceSpecRef) is its model. As in InfoCollector's
    C(MakeDeployInfoConvFuncName) (the function its C(main.go) calls), a region named C(cpu) has its C(maxFunctions)
    and C(maxCapacity) multiplied by the number of CPUs (distinct C(physical id) values of O(cpuinfo_path)).
  - "Models the tables do not know still work (upstream would write the raw model as the device type and no regions,
    on which DeviceInfo fails): a CPU is type C(cpu) with one region C(cpu) (O(cpu_max_functions), O(cpu_max_capacity),
    multiplied by the CPU count); a GPU is named like upstream names its GPUs (C(Tesla T4) is C(t4),
    C(NVIDIA A100 80GB PCIe) is C(a100)): its model in lower case without vendor (NVIDIA), product line (Tesla),
    memory size (C(80GB)), form factor and interconnect (C(PCIe), C(SXM4), C(HBM3), C(NVL)) and anything but
    C([a-z0-9]), for example C(h100), C(l40s), C(geforcertx4090); it gets one region of that name and type
    (O(gpu_max_functions), O(gpu_max_capacity)). Map a model in O(device_type_map) and O(region_table) to choose
    otherwise. A new GPU type also needs an entry in upstream's C(functionkindmap.json) (C(GPUFunction))."
  - The ConfigMaps' data are compact JSON as Go's C(json.Marshal) writes them, with the keys in the order of
    InfoCollector's Go structs and absent optional fields left out, so that the same input gives the same text.
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  nodes:
    description:
      - The worker nodes that run functions, each with its GPUs. A node name is its Kubernetes node name, which is what
        InfoCollector takes (its hostname) and what DeviceInfo compares with C(K8S_NODENAME).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Kubernetes node name, for example C(okl-worker). Required.
        type: str
      gpus:
        description: The node's GPUs.
        type: list
        elements: dict
        default: []
        suboptions:
          index:
            description: GPU index on the node (DCGM's GPU id, C(nvidia-smi)'s C(index)). Required.
            type: int
          uuid:
            description: GPU UUID, for example C(GPU-5a1e6b0c-2f9d-3c41-8e52-0d6f1b7a9c33). Required.
            type: str
          model:
            description: GPU model as DCGM and C(nvidia-smi --query-gpu=name) report it, for example C(Tesla T4). Required.
            type: str
  nvidia_smi:
    description:
      - Another way to give a node's GPUs - by node name, what C(nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader)
        printed on it, one C(index, uuid, name) line per GPU (nvidia-smi and DCGM read the same NVML).
      - A node named here must be one of O(nodes) and have no O(nodes[].gpus).
    type: dict
    default: {}
  cpuinfo_path:
    description:
      - The C(/proc/cpuinfo) of the nodes. Kind nodes share the host's kernel, so the host's is theirs.
      - The CPU model is the value of its C(model name) lines (the last in sorted order when they differ); the CPU count
        the number of distinct C(physical id) values, 1 when there is none (some VMs).
    type: path
    default: /proc/cpuinfo
  device_type_map:
    description:
      - Upstream's C(devicetypemap.json), a list of C({inputDeviceType, outputDeviceType}) mapping a model to a device
        type, for example C(Tesla T4) to C(t4). The first entry of a model counts.
    type: list
    elements: dict
    default: []
  region_table:
    description:
      - Upstream's C(region-unique-info.json), a list of C({subDeviceSpecRef, functionTargets}); C(subDeviceSpecRef) is a
        model, each function target C({regionName, regionType, maxFunctions, maxCapacity}) (the two limits optional).
    type: list
    elements: dict
    default: []
  device_type_map_file:
    description:
      - The file O(device_type_map) is read from, on the host that runs the module (upstream's
        C(test/sample-data/sample-data-common/json/devicetypemap.json) in the controller source), instead of giving it.
    type: path
  region_table_file:
    description:
      - The file O(region_table) is read from, on the host that runs the module (upstream's
        C(test/sample-data/sample-data-common/json/region-unique-info.json) in the controller source), instead of giving it.
    type: path
  cpu_max_functions:
    description: C(maxFunctions) of the C(cpu) region of a CPU model that O(region_table) does not know, per CPU.
    type: int
    default: 110
  cpu_max_capacity:
    description: C(maxCapacity) of the C(cpu) region of a CPU model that O(region_table) does not know, per CPU.
    type: int
    default: 120
  gpu_max_functions:
    description: C(maxFunctions) of the region of a GPU model that O(region_table) does not know.
    type: int
    default: 110
  gpu_max_capacity:
    description: C(maxCapacity) of the region of a GPU model that O(region_table) does not know (upstream's T4 has 40).
    type: int
    default: 40
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: The module only reads.
  idempotent:
    support: full
    description: Read-only; the same input gives the same documents.
notes:
  - FPGAs are not listed; the lab has none (InfoCollector finds them with libfpga).
seealso:
  - name: OpenKasugai controller
    description: InfoCollector, src/tools/InfoCollector/pkg/infocollect/infocollect.go.
    link: https://github.com/openkasugai/controller
'''

EXAMPLES = r'''
- name: Build the ConfigMaps from upstream's tables
  openkasugai.all_in_one.openkasugai_infra_info:
    nodes:
      - name: okl-worker
      - name: okl-worker2
        gpus:
          - {index: 0, uuid: GPU-5a1e6b0c-2f9d-3c41-8e52-0d6f1b7a9c33, model: Tesla T4}
    device_type_map: "{{ lookup('ansible.builtin.file', src + '/test/sample-data/sample-data-common/json/devicetypemap.json') | from_json }}"
    region_table: "{{ lookup('ansible.builtin.file', src + '/test/sample-data/sample-data-common/json/region-unique-info.json') | from_json }}"
  register: infra

- name: The same, the tables read from the controller source on the kind-host
  openkasugai.all_in_one.openkasugai_infra_info:
    nodes: [{name: okl-worker}, {name: okl-worker2}]
    device_type_map_file: /var/lib/okl/src/test/sample-data/sample-data-common/json/devicetypemap.json
    region_table_file: /var/lib/okl/src/test/sample-data/sample-data-common/json/region-unique-info.json

- name: The same, the GPUs as nvidia-smi lists them on each GPU worker
  openkasugai.all_in_one.openkasugai_infra_info:
    nodes: [{name: okl-worker}, {name: okl-worker2}]
    nvidia_smi:
      okl-worker2: "0, GPU-5a1e6b0c-2f9d-3c41-8e52-0d6f1b7a9c33, Tesla T4\n"
  register: infra_from_nvidia_smi

- name: Apply them
  kubernetes.core.k8s:
    kubeconfig: "{{ kubeconfig }}"
    definition: "{{ item }}"
  loop: "{{ infra.configmaps }}"
'''

RETURN = r'''
infrastructureinfo:
  description: The document of the C(infrastructureinfo) ConfigMap (WBFunction's and DeviceInfo's C(InfrastructureInfo)).
  returned: always
  type: dict
  sample:
    devices:
      - {nodeName: okl-worker, deviceUUID: okl-worker-cpu0, deviceType: cpu, deviceIndex: 0}
      - {nodeName: okl-worker, deviceUUID: okl-worker-mem0, deviceType: memory, deviceIndex: 0}
deployinfo:
  description: The document of the C(deployinfo) ConfigMap (DeviceInfo's C(DeployInfo)); no memory devices.
  returned: always
  type: dict
  sample:
    devices:
      - nodeName: okl-worker
        deviceUUID: okl-worker-cpu0
        functionTargets: [{regionType: cpu, regionName: cpu, maxFunctions: 110, maxCapacity: 120}]
configmaps:
  description:
    - The two complete ConfigMaps, C(infrastructureinfo) then C(deployinfo), in namespace C(default), each with one data
      key C(<name>.json) holding the document as compact JSON.
  returned: always
  type: list
  elements: dict
  sample:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: infrastructureinfo, namespace: default}
      data:
        infrastructureinfo.json: >-
          {"devices":[{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0","deviceType":"cpu","deviceIndex":0},
          {"nodeName":"okl-worker","deviceUUID":"okl-worker-mem0","deviceType":"memory","deviceIndex":0}]}
cpu:
  description: The CPU read from O(cpuinfo_path).
  returned: always
  type: dict
  contains:
    model:
      description: Its model name.
      type: str
      sample: AMD EPYC 7763 64-Core Processor
    count:
      description: Number of CPUs (sockets) by which the C(cpu) region's limits are multiplied.
      type: int
      sample: 1
    device_type:
      description: Its device type.
      type: str
      sample: cpu
    known:
      description: Whether O(device_type_map) and O(region_table) both know the model.
      type: bool
      sample: false
gpus:
  description: Every GPU of O(nodes), in the order of the documents, with the device type it was given.
  returned: always
  type: list
  elements: dict
  contains:
    node:
      description: Node name.
      type: str
    index:
      description: GPU index.
      type: int
    uuid:
      description: GPU UUID.
      type: str
    model:
      description: GPU model.
      type: str
    device_type:
      description: Its device type.
      type: str
      sample: t4
    known:
      description: Whether O(device_type_map) and O(region_table) both know the model.
      type: bool
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.infra_info import InfraInfoError, infra_info, parse_cpuinfo


def read_table(module, option, path):
    """The JSON list in ``path`` (an upstream table), or fail_json naming ``option``."""
    try:
        with open(path, encoding='utf-8') as handle:
            table = json.load(handle)
    except OSError as exc:
        module.fail_json(msg=f'{option}: cannot read {path}: {exc.strerror}')
    except ValueError as exc:
        module.fail_json(msg=f'{option}: {path} is not JSON: {exc}')
    if not isinstance(table, list) or not all(isinstance(entry, dict) for entry in table):
        module.fail_json(msg=f'{option}: {path} is not a list of objects')
    return table


def main():
    module = AnsibleModule(
        argument_spec={
            'nodes': {'type': 'list', 'elements': 'dict', 'required': True, 'options': {
                'name': {'type': 'str'},
                'gpus': {'type': 'list', 'elements': 'dict', 'default': [], 'options': {
                    'index': {'type': 'int'},
                    'uuid': {'type': 'str'},
                    'model': {'type': 'str'},
                }},
            }},
            'nvidia_smi': {'type': 'dict', 'default': {}},
            'cpuinfo_path': {'type': 'path', 'default': '/proc/cpuinfo'},
            'device_type_map': {'type': 'list', 'elements': 'dict', 'default': []},
            'region_table': {'type': 'list', 'elements': 'dict', 'default': []},
            'device_type_map_file': {'type': 'path'},
            'region_table_file': {'type': 'path'},
            'cpu_max_functions': {'type': 'int', 'default': 110},
            'cpu_max_capacity': {'type': 'int', 'default': 120},
            'gpu_max_functions': {'type': 'int', 'default': 110},
            'gpu_max_capacity': {'type': 'int', 'default': 40},
        },
        mutually_exclusive=[('device_type_map', 'device_type_map_file'), ('region_table', 'region_table_file')],
        supports_check_mode=True,
    )
    params = module.params
    for table in ('device_type_map', 'region_table'):
        if params[table + '_file']:
            params[table] = read_table(module, table + '_file', params[table + '_file'])
    path = params['cpuinfo_path']
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            text = handle.read()
    except OSError as exc:
        module.fail_json(msg=f'cpuinfo_path: cannot read {path}: {exc.strerror}')
    try:
        model, count = parse_cpuinfo(text)
        result = infra_info(params['nodes'], model, count, params['device_type_map'], params['region_table'],
                            params['cpu_max_functions'], params['cpu_max_capacity'],
                            params['gpu_max_functions'], params['gpu_max_capacity'], params['nvidia_smi'])
    except InfraInfoError as exc:
        if exc.field == 'cpuinfo_path':
            module.fail_json(msg=f'cpuinfo_path: {path} {exc.message}')
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
