"""The lab_model module, run for real through `ansible localhost -m` (JSON callback).

Real: ansible, the module and its argument spec as the preflight role calls them. The model is
checked without the host (check_host: false): the host rules are tested in test_lab_model.py; but for the host
result, read from fake /sys and /proc trees.
"""

import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
SHA = 'sha256:' + 'a' * 64
DOWNLOADS = {name: {'version': 'v1', 'url': 'https://example.invalid/%s' % name, 'checksum': SHA}
             for name in ('kind', 'kubectl', 'hardware_drivers', 'parson')}


def module(args):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collection-root'), ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_LOCALHOST_WARNING='0')
    argv = ['ansible', 'localhost', '-m', 'openkasugai.all_in_one.lab_model', '-a', json.dumps(dict({'check_host': False}, **args))]
    p = subprocess.run(argv, check=False, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(p.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


def lab(**cluster):
    return {'registry': {'type': 'external', 'url': 'harbor.example.com', 'ca_file': '/etc/ca.crt',
                         'username': 'admin', 'password': 's3cr3t-pw'},
            'downloads': DOWNLOADS,
            'clusters': [dict({'name': 'kasugai', 'docker_network': {'subnet': '172.30.0.0/24'},
                               'nodes': [{'role': 'control-plane'}, {'role': 'worker'}]}, **cluster)]}


def test_a_good_model_passes_with_its_plan():
    r = module(lab())
    assert not r.get('failed') and r['changed'] is False, r
    assert r['model']['clusters'][0]['index'] == 0
    assert any(line.startswith('cluster kasugai: 1 control-plane + 1 workers') for line in r['plan'])


def test_a_type_error_and_a_cross_field_error_are_reported_together():
    args = lab(nodes=[{'role': 'control-plane'}, {'role': 'worker', 'nics': [{'pf': 'ens1f0', 'num_vfs': 'eight'}]}])
    args['registry']['url'] = 'https://harbor.example.com'
    r = module(args)
    assert r['failed'] is True
    assert 'The lab model is refused (2 problems)' in r['msg']
    assert any(p.startswith('lab_clusters[0] (kasugai).nodes[1].nics[0].num_vfs: ') and 'convert to int' in p for p in r['problems'])
    assert any(p.startswith('lab_registry.url: ') and 'carries a scheme' in p for p in r['problems'])
    assert 's3cr3t-pw' not in json.dumps(r)


def test_a_wrong_module_option_is_still_refused():
    r = module(dict(lab(), check_host='maybe'))
    assert r['failed'] is True and 'check_host' in r['msg']


def test_with_the_host_checked_it_reports_the_inotify_limits_and_the_docker_socket(tmp_path):
    inotify = tmp_path / 'proc' / 'sys' / 'fs' / 'inotify'
    inotify.mkdir(parents=True)
    (inotify / 'max_user_watches').write_text('8192\n')
    (inotify / 'max_user_instances').write_text('128\n')
    (tmp_path / 'sys').mkdir()
    socket = tmp_path / 'docker.sock'   # a plain file stands in for the engine's socket: only its existence is read
    args = dict(lab(), registry={'type': 'none'}, check_host=True, check_downloads=False, sysfs_root=str(tmp_path),
                procfs_root=str(tmp_path), state_dir=str(tmp_path / 'state'), docker_host='unix://' + str(socket))
    r = module(args)
    assert not r.get('failed'), r
    assert r['host'] == {'inotify': {'max_user_watches': 8192, 'max_user_instances': 128}, 'docker_socket': False}
    socket.write_text('')
    assert module(args)['host']['docker_socket'] is True
    assert module(dict(args, docker_host='tcp://192.0.2.1:2376'))['host']['docker_socket'] is True
    assert 'host' not in module(lab())
