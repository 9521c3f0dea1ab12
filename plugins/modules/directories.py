#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: directories
short_description: Make sure several directories exist, with a mode and owner, in one module run
description:
  - For each of O(paths) what C(ansible.builtin.file) with C(state=directory) does - the directory and its missing
    parents created, the mode, owner and group of each one set - in one module run instead of one per path.
  - The stages create every directory they write into up front with it. A run of C(ansible.builtin.file) costs a module
    start (about 0.3 s on a 2-core kind-host); the images stage alone made ten of them on a re-run that changed nothing.
  - Fails, before changing anything, when a path (or a parent of it) exists and is not a directory.
version_added: 0.3.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  paths:
    description: The directories, absolute paths. Duplicates are made once.
    type: list
    elements: path
    required: true
  mode:
    description:
      - The mode of each directory in O(paths) and of each parent this module creates, as C(ansible.builtin.file)
        reads it (an octal string such as C("0755"), or symbolic).
      - Parents that exist already are left as they are.
    type: raw
    default: '0755'
  owner:
    description: Owner of the directories this module creates or is given (name or uid); unchanged when omitted.
    type: str
  group:
    description: Group of the directories this module creates or is given (name or gid); unchanged when omitted.
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what it would create or change, and changes nothing.
  diff_mode:
    support: full
    description: Per path, C(absent) or its old mode, owner and group before, C(directory) with the new ones after.
"""

EXAMPLES = r"""
- name: Create the directories of the images stage
  openkasugai.all_in_one.directories:
    paths:
      - /var/lib/okl/images/certs
      - /var/lib/okl/images/containerfiles
      - /var/lib/okl/images/archives
    mode: "0755"
"""

RETURN = r"""
created:
  description: The directories it created (parents included), in the order created.
  returned: always
  type: list
  elements: str
  sample: [/var/lib/okl/images, /var/lib/okl/images/certs]
changed_paths:
  description: The paths of O(paths) whose mode, owner or group it set (those it created aside).
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule


def missing_parents(path):
    """The directories ``mkdir -p path`` creates, outermost first; ValueError naming a part that is not a directory."""
    missing = []
    current = path
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise ValueError('{} exists and is not a directory'.format(current))
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return list(reversed(missing))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type='list', elements='path', required=True),
            mode=dict(type='raw', default='0755'),
            owner=dict(type='str'),
            group=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    paths = list(dict.fromkeys(os.path.normpath(path) for path in p['paths']))
    relative = [path for path in paths if not os.path.isabs(path)]
    if relative:
        module.fail_json(msg='paths must be absolute: {}'.format(', '.join(relative)))
    try:
        plan = {path: missing_parents(path) for path in paths}
    except ValueError as exc:
        module.fail_json(msg=str(exc))

    created, changed_paths, diffs = [], [], []
    for path in paths:
        for directory in plan[path]:
            if directory in created:
                continue
            if not module.check_mode:
                os.mkdir(directory)
            created.append(directory)
            diffs.append(dict(before_header=directory, after_header=directory, before=dict(state='absent'), after=dict(state='directory')))
            if not module.check_mode:
                module.set_fs_attributes_if_different(module.load_file_common_arguments(p, path=directory), False)
        if path in created:
            continue
        diff = dict(before_header=path, after_header=path, before={}, after={})
        if module.set_fs_attributes_if_different(module.load_file_common_arguments(p, path=path), False, diff=diff):
            changed_paths.append(path)
            diffs.append(diff)
    module.exit_json(changed=bool(created or changed_paths), created=created, changed_paths=changed_paths, diff=diffs)


if __name__ == '__main__':
    main()
