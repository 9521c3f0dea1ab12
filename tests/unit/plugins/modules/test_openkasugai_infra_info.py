# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""openkasugai_infra_info.

Real: the module's main() run in-process through AnsibleModule (fakesys.run_module), and once through
``ansible localhost -m`` (AnsiballZ packaging, module_utils import); cpuinfo files holding this machine's
/proc/cpuinfo and the other samples of tests/unit/plugins/module_utils/test_infra_info.py, and this
machine's /proc/cpuinfo itself; upstream's devicetypemap.json and region-unique-info.json (from the same file).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.modules import openkasugai_infra_info
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module
from ansible_collections.openkasugai.all_in_one.tests.unit.plugins.module_utils.test_infra_info import (
    DEVICE_TYPE_MAP,
    EPYC_CPUINFO,
    LAB2_DEPLOYINFO,
    LAB2_INFRASTRUCTUREINFO,
    LAB2_NODES,
    REGION_TABLE,
    T4_UUID,
    T4LAB_DEPLOYINFO,
    T4LAB_INFRASTRUCTUREINFO,
    T4LAB_NODES,
    XEON_CPUINFO,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def _cpuinfo(tmp_path, text):
    path = tmp_path / 'cpuinfo'
    path.write_text(text)
    return str(path)


def _run(args, check_mode=False):
    return run_module(openkasugai_infra_info.main, args, check_mode=check_mode)


def _data(result):
    return {cm['metadata']['name']: cm['data'][cm['metadata']['name'] + '.json'] for cm in result['configmaps']}


def test_two_worker_cpu_lab(tmp_path):
    args = {'nodes': LAB2_NODES, 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO),
            'device_type_map': DEVICE_TYPE_MAP, 'region_table': REGION_TABLE}
    failed, result = _run(args)
    assert not failed, result
    assert result['changed'] is False
    assert _data(result) == {'infrastructureinfo': LAB2_INFRASTRUCTUREINFO, 'deployinfo': LAB2_DEPLOYINFO}
    assert [cm['metadata'] for cm in result['configmaps']] == [{'name': 'infrastructureinfo', 'namespace': 'default'},
                                                               {'name': 'deployinfo', 'namespace': 'default'}]
    assert all(cm['apiVersion'] == 'v1' and cm['kind'] == 'ConfigMap' for cm in result['configmaps'])
    assert result['infrastructureinfo'] == json.loads(LAB2_INFRASTRUCTUREINFO)
    assert result['deployinfo'] == json.loads(LAB2_DEPLOYINFO)
    assert result['cpu'] == {'model': 'AMD EPYC', 'count': 1, 'device_type': 'cpu', 'known': False}
    # the same in check mode, and without the tables (names only, gpus defaulted)
    failed, checked = _run(args, check_mode=True)
    assert not failed and checked == result
    failed, bare = _run({'nodes': [{'name': 'okl-worker2'}, {'name': 'okl-worker'}], 'cpuinfo_path': args['cpuinfo_path']})
    assert not failed and _data(bare) == _data(result)


def test_known_xeon_with_t4(tmp_path):
    nodes = [dict(node, gpus=[dict(gpu, index=str(gpu['index'])) for gpu in node['gpus']]) for node in T4LAB_NODES]  # "0" as a form would give it
    failed, result = _run({'nodes': nodes, 'cpuinfo_path': _cpuinfo(tmp_path, XEON_CPUINFO),
                           'device_type_map': DEVICE_TYPE_MAP, 'region_table': REGION_TABLE})
    assert not failed, result
    assert _data(result) == {'infrastructureinfo': T4LAB_INFRASTRUCTUREINFO, 'deployinfo': T4LAB_DEPLOYINFO}
    assert result['cpu']['known'] is True and result['cpu']['count'] == 2
    assert result['gpus'] == [{'node': 'okl-worker2', 'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4', 'device_type': 't4', 'known': True}]


def test_tables_read_from_files(tmp_path):
    """The tables as files (upstream's JSON in the controller source): the same documents as given inline."""
    (tmp_path / 'devicetypemap.json').write_text(json.dumps(DEVICE_TYPE_MAP, indent=2))
    (tmp_path / 'region-unique-info.json').write_text(json.dumps(REGION_TABLE))
    cpuinfo = _cpuinfo(tmp_path, XEON_CPUINFO)
    failed, inline = _run({'nodes': T4LAB_NODES, 'cpuinfo_path': cpuinfo, 'device_type_map': DEVICE_TYPE_MAP, 'region_table': REGION_TABLE})
    failed, result = _run({'nodes': T4LAB_NODES, 'cpuinfo_path': cpuinfo, 'device_type_map_file': str(tmp_path / 'devicetypemap.json'),
                           'region_table_file': str(tmp_path / 'region-unique-info.json')})
    assert not failed, result
    assert {k: v for k, v in result.items() if k != 'invocation'} == {k: v for k, v in inline.items() if k != 'invocation'}


@pytest.mark.parametrize('content,why', [
    (None, 'cannot read {path}: No such file or directory'),
    ('{"not": "a list"}', '{path} is not a list of objects'),
    ('[1, 2]', '{path} is not a list of objects'),
    ('[{', '{path} is not JSON: '),
])
def test_a_bad_table_file_fails_naming_the_option(tmp_path, content, why):
    path = tmp_path / 'region-unique-info.json'
    if content is not None:
        path.write_text(content)
    failed, result = _run({'nodes': LAB2_NODES, 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO), 'region_table_file': str(path)})
    assert failed and result['msg'].startswith('region_table_file: ' + why.format(path=path))


def test_a_table_and_its_file_are_exclusive(tmp_path):
    failed, result = _run({'nodes': LAB2_NODES, 'device_type_map': DEVICE_TYPE_MAP, 'device_type_map_file': str(tmp_path / 'x.json')})
    assert failed and 'mutually exclusive: device_type_map|device_type_map_file' in result['msg']


def test_gpus_from_nvidia_smi(tmp_path):
    """The GPUs as the role reads them: nvidia-smi's CSV per GPU worker."""
    failed, result = _run({'nodes': [{'name': 'okl-worker'}, {'name': 'okl-worker2'}],
                           'nvidia_smi': {'okl-worker2': f'0, {T4_UUID}, Tesla T4\n'},
                           'cpuinfo_path': _cpuinfo(tmp_path, XEON_CPUINFO),
                           'device_type_map': DEVICE_TYPE_MAP, 'region_table': REGION_TABLE})
    assert not failed, result
    assert _data(result) == {'infrastructureinfo': T4LAB_INFRASTRUCTUREINFO, 'deployinfo': T4LAB_DEPLOYINFO}
    failed, result = _run({'nodes': [{'name': 'okl-worker'}], 'nvidia_smi': {'okl-worker2': ''},
                           'cpuinfo_path': _cpuinfo(tmp_path, XEON_CPUINFO)})
    assert failed and result['msg'].startswith('nvidia_smi.okl-worker2: ')


def test_unknown_cpu_limits(tmp_path):
    failed, result = _run({'nodes': LAB2_NODES[:1], 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO),
                           'cpu_max_functions': 8, 'cpu_max_capacity': 16})
    assert not failed, result
    assert result['deployinfo']['devices'][0]['functionTargets'] == [
        {'regionType': 'cpu', 'regionName': 'cpu', 'maxFunctions': 8, 'maxCapacity': 16}]


def test_live_proc_cpuinfo():
    """The default cpuinfo_path, this machine's."""
    if not os.path.exists('/proc/cpuinfo'):
        pytest.skip('no /proc/cpuinfo')
    failed, result = _run({'nodes': LAB2_NODES})
    assert not failed, result
    assert result['cpu']['model'] and result['cpu']['count'] >= 1
    assert [d['deviceUUID'] for d in result['deployinfo']['devices']] == ['okl-worker-cpu0', 'okl-worker2-cpu0']


@pytest.mark.parametrize('text', ['', 'processor\t: 0\nBogoMIPS\t: 243.75\nCPU architecture: 8\n'], ids=['empty', 'no-model-name'])
def test_cpuinfo_without_model_fails(tmp_path, text):
    path = _cpuinfo(tmp_path, text)
    failed, result = _run({'nodes': LAB2_NODES, 'cpuinfo_path': path})
    assert failed
    assert result['msg'].startswith(f'cpuinfo_path: {path} has no ')


@pytest.mark.parametrize('name', ['missing', 'a-directory'])
def test_unreadable_cpuinfo_fails(tmp_path, name):
    path = tmp_path / name
    if name == 'a-directory':
        path.mkdir()
    failed, result = _run({'nodes': LAB2_NODES, 'cpuinfo_path': str(path)})
    assert failed
    assert result['msg'].startswith(f'cpuinfo_path: cannot read {path}: ')


def test_node_without_name_fails(tmp_path):
    failed, result = _run({'nodes': [{'name': 'okl-worker'}, {'gpus': []}], 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO)})
    assert failed
    assert result['msg'].startswith('nodes[1].name: ')


def test_gpu_without_uuid_fails(tmp_path):
    failed, result = _run({'nodes': [{'name': 'okl-worker', 'gpus': [{'index': 0, 'model': 'Tesla T4'}]}],
                           'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO)})
    assert failed
    assert result['msg'].startswith('nodes[0].gpus[0].uuid: ')


def test_unknown_node_key_fails(tmp_path):
    failed, result = _run({'nodes': [{'name': 'okl-worker', 'role': 'worker'}], 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO)})
    assert failed and 'role' in result['msg']


def test_bad_region_table_fails(tmp_path):
    failed, result = _run({'nodes': LAB2_NODES, 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO),
                           'region_table': [{'subDeviceSpecRef': 'Tesla T4', 'functionTargets': [{'regionName': 't4'}]}]})
    assert failed
    assert result['msg'].startswith('region_table[0].functionTargets[0].regionType: ')


def test_packaged(tmp_path):
    """The packaged module (AnsiballZ, module_utils import) via `ansible localhost -m`, in the action group's module list."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collection-root'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_PYTHON_INTERPRETER=os.path.realpath(os.path.join(ROOT, '.venv', 'bin', 'python')))
    args = {'nodes': LAB2_NODES, 'cpuinfo_path': _cpuinfo(tmp_path, EPYC_CPUINFO),
            'device_type_map': DEVICE_TYPE_MAP, 'region_table': REGION_TABLE}
    proc = subprocess.run(['ansible', 'localhost', '-m', 'openkasugai.all_in_one.openkasugai_infra_info', '-a', json.dumps(args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    out = json.loads(proc.stdout)
    result = out['plays'][0]['tasks'][0]['hosts']['localhost']
    assert proc.returncode == 0, result
    assert result['changed'] is False
    assert _data(result) == {'infrastructureinfo': LAB2_INFRASTRUCTUREINFO, 'deployinfo': LAB2_DEPLOYINFO}
