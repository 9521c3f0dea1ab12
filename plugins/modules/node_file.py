#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: node_file
short_description: Put a file into kind nodes (or remove it), every node in one module run
description:
  - Makes O(path) in each of O(containers) (kind node containers, or any running container) hold O(content) with
    O(mode), owned by root, its missing parent directories created (mode 0755); with O(state=absent) removes it.
  - Reads each node's copy first (C(docker exec stat) and C(cat)) and writes only where it differs, as one tar archive
    extracted by C(docker cp - NODE:/) (the file and its directory, with their modes and owner, in one call).
  - What C(community.docker.docker_container_exec) (the directory) and C(community.docker.docker_container_copy_into)
    (the file) do, for all the nodes in one module run instead of two per node.
version_added: 0.3.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - the docker CLI on the host that runs the module; C(stat), C(cat) and C(rm) in the containers
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
options:
  containers:
    description: The containers (kind nodes) to write the file into; each must be running.
    type: list
    elements: str
    required: true
  path:
    description: The file's absolute path inside the containers.
    type: str
    required: true
  content:
    description: What the file holds (text). Required with O(state=present). Never logged.
    type: str
  mode:
    description: The file's mode, an octal string.
    type: str
    default: '0644'
  state:
    description: C(present) writes the file, C(absent) removes it where it exists.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads each node's copy and reports where it would write or remove; changes nothing.
  diff_mode:
    support: none
    description: The content may be a secret (a kubeconfig with a token); RV(changed_containers) names where it changed.
"""

EXAMPLES = r"""
- name: Give the node controllers their kubeconfig on every worker
  openkasugai.all_in_one.node_file:
    containers: [okl-worker, okl-worker2]
    path: /etc/k8s_node/config
    content: "{{ lookup('ansible.builtin.template', 'node-kubeconfig.yaml.j2') }}"
    mode: "0644"
  no_log: true
"""

RETURN = r"""
changed_containers:
  description: The containers whose copy it wrote or removed (in check mode, would).
  returned: always
  type: list
  elements: str
  sample: [okl-worker]
"""

import io
import posixpath
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError

DIRECTORY_MODE = 0o755


def current(docker, container, path):
    """``(mode, uid, gid, content)`` of ``path`` in ``container``, or None when it does not exist."""
    found = docker.run(docker_cli.exec_args(container, ['stat', '-c', '%a %u %g %F', path]), check=False)
    if found.rc != 0:
        if 'No such file' in found.stderr:
            return None
        raise found.error('{}: stat {} failed: {}'.format(container, path, found.stderr.strip() or 'exit status {}'.format(found.rc)))
    mode, uid, gid, kind = found.stdout.strip().split(' ', 3)
    if kind != 'regular file' and kind != 'regular empty file':
        raise CliError('{}: {} is a {}, not a file'.format(container, path, kind))
    content = docker.run(docker_cli.exec_args(container, ['cat', path]), what='{}: cat {}'.format(container, path)).stdout
    return int(mode, 8), int(uid), int(gid), content


def archive(path, content, mode):
    """A tar archive, to extract at ``/``, of ``path``'s directory (0755) and the file, both owned by root."""
    data = content.encode('utf-8')
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo(posixpath.dirname(path).lstrip('/'))
        directory.type, directory.mode = tarfile.DIRTYPE, DIRECTORY_MODE
        if directory.name:
            tar.addfile(directory)
        member = tarfile.TarInfo(path.lstrip('/'))
        member.size, member.mode = len(data), mode
        tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type='list', elements='str', required=True),
            path=dict(type='str', required=True),
            content=dict(type='str', no_log=True),
            mode=dict(type='str', default='0644'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            **docker_cli.DOCKER_PATH_SPEC
        ),
        required_if=[('state', 'present', ['content'])],
        supports_check_mode=True,
    )
    p = module.params
    path = posixpath.normpath(p['path'])
    if not posixpath.isabs(path) or path == '/':
        module.fail_json(msg='path must be an absolute path of a file: {}'.format(p['path']))
    try:
        mode = int(p['mode'], 8)
    except ValueError:
        module.fail_json(msg='mode must be an octal string such as "0644": {}'.format(p['mode']))
    docker = docker_cli.docker(p['docker_path'], module=module)
    changed = []
    try:
        for container in p['containers']:
            now = current(docker, container, path)
            if p['state'] == 'absent':
                if now is not None:
                    changed.append(container)
                    if not module.check_mode:
                        docker.run(docker_cli.exec_args(container, ['rm', '-f', path]), what='{}: rm {}'.format(container, path))
                continue
            if now == (mode, 0, 0, p['content']):
                continue
            changed.append(container)
            if not module.check_mode:
                tar = archive(path, p['content'], mode)
                docker.run(['cp', '-', container + ':/'], stdin_writer=lambda stdin, tar=tar: stdin.write(tar),
                           what='{}: docker cp of {}'.format(container, path))
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    module.exit_json(changed=bool(changed), changed_containers=changed)


if __name__ == '__main__':
    main()
