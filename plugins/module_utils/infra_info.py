# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The ``infrastructureinfo`` and ``deployinfo`` ConfigMaps of OpenKasugai, written the way InfoCollector writes them.

OpenKasugai v1.1.0's controllers read two ConfigMaps in namespace ``default``: WBFunction reads
``infrastructureinfo`` (which device of which node has which type and UUID) and DeviceInfo reads
both, ``deployinfo`` giving each device's regions, to build the ComputeResource of its node
(``K8S_NODENAME``). Upstream writes them with ``src/tools/InfoCollector``, a cgo program run on each
node that needs libfpga and DCGM. This module builds the same documents from the lab's worker nodes,
their GPUs and the host's ``/proc/cpuinfo`` (kind nodes share the host's kernel).

What InfoCollector v1.1.0 does, and what is kept here (``pkg/infocollect/infocollect.go``):

* ``GetDeviceInfo``: per node (its hostname, which is the node name in a kind node container) the FPGAs
  (libfpga; none in this lab), the GPUs (DCGM: UUID, ``Identifiers.Model``, GPU index), one CPU device
  ``<node>-cpu0`` of index 0 whose type is the model name of ``grep model.name /proc/cpuinfo | sort -u``
  and one memory device ``<node>-mem0`` of type ``memory``. The CPU count is the number of distinct
  ``physical id`` lines.
* ``MakeInfrastructureInfo``: every device, its type mapped by ``devicetypemap.json``
  (``convDeviceType``; a type the map does not know stays as it is).
* ``MakeInDeviceDeployInfo`` then ``MakeDeployInfoConvFuncName`` (the one ``main.go`` calls; the
  unused ``MakeDeployInfo`` would dereference a nil ``DeviceUUID``): every device but memory, with
  the function targets of the ``region-unique-info.json`` entries whose ``subDeviceSpecRef`` is the
  device's model; a target named ``cpu`` has its ``maxFunctions`` and ``maxCapacity`` multiplied by
  the CPU count.
* ``pkg/configmap``: data key ``<name>.json``, value Go's ``json.Marshal`` of ``{"devices": [...]}``,
  fields in the Go structs' order, nil pointers left out (``omitempty``).

Where this differs, on purpose:

* A model the tables do not know still gets a usable device. Upstream would write the raw model name as
  the device type and ``"functionTargets":null``, on which DeviceInfo's ``createComputeResourceCR``
  dereferences a nil pointer. Here an unknown CPU is type ``cpu`` with the region ``cpu``
  (``cpu_max_functions``/``cpu_max_capacity``, 110/120 as upstream gives every CPU it knows, scaled by
  the CPU count); an unknown GPU gets a type named like upstream's (``gpu_device_type``: ``Tesla T4`` is
  ``t4``, ``NVIDIA A100 80GB PCIe`` is ``a100``) and one region of that name (110/40 by default, the T4's).
* A cpuinfo without ``physical id`` (some VMs, ARM) counts 1 CPU; upstream counts 0 and writes 0.
* The value of ``model name`` is all that follows the first colon (upstream splits on every colon).
* The devices are sorted by node name, then as InfoCollector lists one node's (GPUs by index, the CPU,
  memory), so that the documents do not depend on the order nodes ran in and re-applying them changes
  nothing. Upstream appends each node's devices after the other nodes' as each InfoCollector runs.

Pure Python (no Ansible import).
"""

from __future__ import annotations

import json
import re

NAMESPACE = 'default'
INFRASTRUCTUREINFO = 'infrastructureinfo'
DEPLOYINFO = 'deployinfo'
CPU_DEVICE_TYPE = 'cpu'
CPU_REGION = 'cpu'            # the region name InfoCollector scales by the CPU count
MEMORY_DEVICE_TYPE = 'memory'
DEFAULT_CPU_MAX_FUNCTIONS = 110
DEFAULT_CPU_MAX_CAPACITY = 120
DEFAULT_GPU_MAX_FUNCTIONS = 110
DEFAULT_GPU_MAX_CAPACITY = 40

# Words of a GPU model name that are not part of upstream's device type names (t4, a100):
# the vendor and product line, memory size, form factor and interconnect.
_GPU_NOISE = re.compile(r'^(nvidia|tesla|\d+gb|pcie|sxm\d*|hbm\d*e?|nvl|mig)$', re.IGNORECASE)
# Go's encoding/json escapes these even inside strings (HTML safety); they can only occur in strings.
_GO_ESCAPES = {'<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029'}


class InfraInfoError(ValueError):
    """A wrong input; ``field`` names the module option (``nodes[1].gpus[0].uuid``)."""

    def __init__(self, field, message):
        super().__init__(f'{field}: {message}')
        self.field = field
        self.message = message


def parse_cpuinfo(text, field='cpuinfo_path'):
    """Return ``(model, count)`` from the text of ``/proc/cpuinfo``, as InfoCollector reads them.

    ``model``: the value of the ``model name`` lines; with several distinct ones the last in sorted
    order (what ``grep model.name /proc/cpuinfo | sort -u`` and InfoCollector's loop keep).
    ``count``: the number of distinct ``physical id`` values (sockets), at least 1.
    """
    models, sockets = set(), set()
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if not sep:
            continue
        key = key.strip()
        if re.fullmatch(r'model.name', key):
            models.add(value.strip('\n\r\t '))
        elif key == 'physical id':
            sockets.add(value.strip())
    if not models:
        raise InfraInfoError(field, "has no 'model name' line (InfoCollector writes no CPU device without it)")
    model = sorted(models)[-1]
    if not model:
        raise InfraInfoError(field, "its 'model name' is empty")
    return model, max(1, len(sockets))


def gpu_device_type(model):
    """The device type of a GPU model that devicetypemap.json does not know, named like upstream's.

    Upstream maps ``Tesla T4`` to ``t4`` and ``NVIDIA A100 80GB PCIe`` to ``a100``: the model's own
    name, lower case, without vendor, product line, memory size and form factor. So
    ``NVIDIA H100 80GB HBM3`` is ``h100``, ``NVIDIA A100-SXM4-40GB`` ``a100``, ``NVIDIA L40S`` ``l40s``,
    ``NVIDIA GeForce RTX 4090`` ``geforcertx4090``. Only ``[a-z0-9]`` is kept; ``gpu`` if nothing is left.
    """
    words = [w for w in re.split(r'[\s\-_/]+', model) if w and not _GPU_NOISE.match(w)]
    return re.sub(r'[^a-z0-9]', '', ''.join(words).lower()) or 'gpu'


def go_json(obj):
    """Compact JSON as Go's ``json.Marshal`` writes it (UTF-8, HTML characters escaped)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(',', ':'))
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def configmap(name, document):
    """The ConfigMap InfoCollector's ``CreateConfigMap`` writes: one key ``<name>.json``."""
    return {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': name, 'namespace': NAMESPACE},
            'data': {name + '.json': go_json(document)}}


def _int(value, field):
    if isinstance(value, bool) or not isinstance(value, int):
        raise InfraInfoError(field, f'must be an integer, not {value!r}')
    return value


def _str(value, field):
    if not isinstance(value, str) or not value.strip():
        raise InfraInfoError(field, f'must be a non-empty string, not {value!r}')
    return value


def _device_type_map(entries):
    table = {}
    for i, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            raise InfraInfoError(f'device_type_map[{i}]', f'must be a dict with inputDeviceType and outputDeviceType, not {entry!r}')
        key = _str(entry.get('inputDeviceType'), f'device_type_map[{i}].inputDeviceType')
        value = _str(entry.get('outputDeviceType'), f'device_type_map[{i}].outputDeviceType')
        table.setdefault(key, value)  # convDeviceType takes the first match
    return table


def _region_table(entries):
    table = []
    for i, entry in enumerate(entries or []):
        field = f'region_table[{i}]'
        if not isinstance(entry, dict):
            raise InfraInfoError(field, f'must be a dict with subDeviceSpecRef and functionTargets, not {entry!r}')
        ref = _str(entry.get('subDeviceSpecRef'), field + '.subDeviceSpecRef')
        targets = entry.get('functionTargets') or []
        if not isinstance(targets, list):
            raise InfraInfoError(field + '.functionTargets', f'must be a list, not {targets!r}')
        checked = []
        for j, target in enumerate(targets):
            tfield = f'{field}.functionTargets[{j}]'
            if not isinstance(target, dict):
                raise InfraInfoError(tfield, f'must be a dict, not {target!r}')
            item = {'regionName': _str(target.get('regionName'), tfield + '.regionName'),
                    'regionType': _str(target.get('regionType'), tfield + '.regionType')}
            for key in ('maxFunctions', 'maxCapacity'):
                if target.get(key) is not None:
                    item[key] = _int(target[key], f'{tfield}.{key}')
            checked.append(item)
        table.append((ref, checked))
    return table


def _regions(model, table, cpu_count):
    """Function targets of a device of ``model`` as MakeInDeviceDeployInfo + MakeDeployInfoConvFuncName build them."""
    targets = [t for ref, ts in table if ref == model for t in ts]
    out = []
    for name in [t['regionName'] for t in targets]:   # the device's regions, in table order
        for target in targets:                         # each matching table target
            if target['regionName'] != name:
                continue
            region = {'regionType': target['regionType'], 'regionName': target['regionName']}
            for key in ('maxFunctions', 'maxCapacity'):
                if key in target:
                    region[key] = target[key] * cpu_count if name == CPU_REGION else target[key]
            out.append(region)
    return out


def parse_nvidia_smi(text, field='nvidia_smi'):
    """GPUs from ``nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader``: ``[{index, uuid, model}]``.

    nvidia-smi reads the same NVML that DCGM does: its index, UUID and name are DCGM's GPU id,
    ``UUID`` and ``Identifiers.Model``, what InfoCollector takes.
    """
    if not isinstance(text, str):
        raise InfraInfoError(field, f'must be the text nvidia-smi printed, not {text!r}')
    gpus = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(',', 2)]
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1] or not parts[2]:
            raise InfraInfoError(field, f'line {number} {line!r} is not "index, uuid, name" '
                                        '(nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader)')
        gpus.append({'index': int(parts[0]), 'uuid': parts[1], 'model': parts[2]})
    return gpus


def _merge_nvidia_smi(nodes, nvidia_smi):
    """``nodes`` with the GPUs of ``nvidia_smi`` ({node name: nvidia-smi output}) given to their nodes."""
    if not nvidia_smi:
        return nodes
    if not isinstance(nvidia_smi, dict):
        raise InfraInfoError('nvidia_smi', f'must be a dict of node name to nvidia-smi output, not {nvidia_smi!r}')
    names = [node.get('name') if isinstance(node, dict) else None for node in nodes]
    merged = list(nodes)
    for name, text in nvidia_smi.items():
        field = f'nvidia_smi.{name}'
        if name not in names:
            raise InfraInfoError(field, f'{name} is not one of nodes ({", ".join(str(n) for n in names)})')
        i = names.index(name)
        if merged[i].get('gpus'):
            raise InfraInfoError(field, f'nodes[{i}] ({name}) also has gpus; give its GPUs one way')
        merged[i] = dict(merged[i], gpus=parse_nvidia_smi(text, field))
    return merged


def _nodes(nodes):
    if not isinstance(nodes, list) or not nodes:
        raise InfraInfoError('nodes', 'must be a non-empty list of worker nodes')
    seen, out = {}, []
    for i, node in enumerate(nodes):
        field = f'nodes[{i}]'
        if not isinstance(node, dict):
            raise InfraInfoError(field, f'must be a dict with name and gpus, not {node!r}')
        name = _str(node.get('name'), field + '.name')
        if name in seen:
            raise InfraInfoError(field + '.name', f'{name} is already nodes[{seen[name]}]')
        seen[name] = i
        gpus = node.get('gpus') or []
        if not isinstance(gpus, list):
            raise InfraInfoError(field + '.gpus', f'must be a list, not {gpus!r}')
        indexes, checked = {}, []
        for j, gpu in enumerate(gpus):
            gfield = f'{field}.gpus[{j}]'
            if not isinstance(gpu, dict):
                raise InfraInfoError(gfield, f'must be a dict with index, uuid and model, not {gpu!r}')
            index = _int(gpu.get('index'), gfield + '.index')
            if index < 0:
                raise InfraInfoError(gfield + '.index', f'must not be negative, not {index}')
            if index in indexes:
                raise InfraInfoError(gfield + '.index', f'{index} is already {field}.gpus[{indexes[index]}]')
            indexes[index] = j
            checked.append({'index': index, 'uuid': _str(gpu.get('uuid'), gfield + '.uuid'),
                            'model': _str(gpu.get('model'), gfield + '.model')})
        out.append({'name': name, 'gpus': sorted(checked, key=lambda g: g['index'])})
    uuids = {}
    for node in out:
        for gpu in node['gpus']:
            if gpu['uuid'] in uuids:
                raise InfraInfoError('nodes', f"GPU {gpu['uuid']} is on both {uuids[gpu['uuid']]} and {node['name']}")
            uuids[gpu['uuid']] = node['name']
    return sorted(out, key=lambda n: n['name'])


def infra_info(nodes, cpu_model, cpu_count, device_type_map=(), region_table=(),
               cpu_max_functions=DEFAULT_CPU_MAX_FUNCTIONS, cpu_max_capacity=DEFAULT_CPU_MAX_CAPACITY,
               gpu_max_functions=DEFAULT_GPU_MAX_FUNCTIONS, gpu_max_capacity=DEFAULT_GPU_MAX_CAPACITY,
               nvidia_smi=None):
    """Build both documents; returns the module's result (without ``changed``).

    ``nodes``: ``[{name, gpus: [{index, uuid, model}]}]``; ``cpu_model``/``cpu_count`` from
    ``parse_cpuinfo``; ``device_type_map``/``region_table``: the content of upstream's
    ``devicetypemap.json`` and ``region-unique-info.json``; ``nvidia_smi``: another way to give
    GPUs, ``{node name: nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader output}``.
    """
    if not isinstance(nodes, list) or not nodes:
        raise InfraInfoError('nodes', 'must be a non-empty list of worker nodes')
    nodes = _nodes(_merge_nvidia_smi(nodes, nvidia_smi))
    cpu_count = _int(cpu_count, 'cpu_count')
    if cpu_count < 1:
        raise InfraInfoError('cpu_count', f'must be at least 1, not {cpu_count}')
    for key, value in (('cpu_max_functions', cpu_max_functions), ('cpu_max_capacity', cpu_max_capacity),
                       ('gpu_max_functions', gpu_max_functions), ('gpu_max_capacity', gpu_max_capacity)):
        if _int(value, key) < 0:
            raise InfraInfoError(key, f'must not be negative, not {value}')
    types = _device_type_map(device_type_map)
    table = _region_table(region_table)

    cpu_regions = _regions(cpu_model, table, cpu_count)
    cpu = {'model': cpu_model, 'count': cpu_count, 'device_type': types.get(cpu_model, CPU_DEVICE_TYPE),
           'known': cpu_model in types and bool(cpu_regions)}
    if not cpu_regions:
        cpu_regions = _regions(cpu_model, [(cpu_model, [{'regionName': CPU_REGION, 'regionType': CPU_REGION,
                                                         'maxFunctions': cpu_max_functions,
                                                         'maxCapacity': cpu_max_capacity}])], cpu_count)

    infra, deploy, gpus = [], [], []
    for node in nodes:
        name = node['name']
        for gpu in node['gpus']:
            regions = _regions(gpu['model'], table, cpu_count)
            device_type = types.get(gpu['model']) or gpu_device_type(gpu['model'])
            gpus.append({'node': name, 'index': gpu['index'], 'uuid': gpu['uuid'], 'model': gpu['model'],
                         'device_type': device_type, 'known': gpu['model'] in types and bool(regions)})
            if not regions:
                regions = [{'regionType': device_type, 'regionName': device_type,
                            'maxFunctions': gpu_max_functions, 'maxCapacity': gpu_max_capacity}]
            infra.append({'nodeName': name, 'deviceUUID': gpu['uuid'], 'deviceType': device_type, 'deviceIndex': gpu['index']})
            deploy.append({'nodeName': name, 'deviceUUID': gpu['uuid'], 'functionTargets': regions})
        cpu_uuid = name + '-cpu0'
        infra.append({'nodeName': name, 'deviceUUID': cpu_uuid, 'deviceType': cpu['device_type'], 'deviceIndex': 0})
        deploy.append({'nodeName': name, 'deviceUUID': cpu_uuid, 'functionTargets': [dict(r) for r in cpu_regions]})
        infra.append({'nodeName': name, 'deviceUUID': name + '-mem0',
                      'deviceType': types.get(MEMORY_DEVICE_TYPE, MEMORY_DEVICE_TYPE), 'deviceIndex': 0})

    infrastructureinfo = {'devices': infra}
    deployinfo = {'devices': deploy}
    return {'infrastructureinfo': infrastructureinfo, 'deployinfo': deployinfo,
            'configmaps': [configmap(INFRASTRUCTUREINFO, infrastructureinfo), configmap(DEPLOYINFO, deployinfo)],
            'cpu': cpu, 'gpus': gpus}
