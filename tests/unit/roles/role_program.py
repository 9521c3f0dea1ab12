# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Install a role's standalone program (the netns keeper, the boot unit) the way the role's tasks do.

The program goes into a directory and the collection's module_utils it imports into ``lib/`` beside it, as
the packages ``ansible_collections.openkasugai.all_in_one.plugins.module_utils`` (roles/<role>/vars/main.yml
lists the files and the package directories; tasks/keeper.yml and tasks/boot_unit.yml install them).
"""

import os
import shutil

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PROGRAMS = {  # role: (program, prefix of its variables)
    'devices': ('okl_netns_keeper.py', 'devices_keeper'),
    'accelerators': ('okl_lab_restore.py', 'accelerators_boot_unit'),
}


def install(role, dest):
    """Install the program of ``role`` into the directory ``dest``; returns the program's path."""
    program, prefix = PROGRAMS[role]
    with open(os.path.join(REPO, 'roles', role, 'vars', 'main.yml'), encoding='utf-8') as handle:
        role_vars = yaml.safe_load(handle)
    os.makedirs(dest, exist_ok=True)
    shutil.copy(os.path.join(REPO, 'roles', role, 'files', program), dest)
    for package in role_vars[prefix + '_packages']:
        os.makedirs(os.path.join(dest, 'lib', package), exist_ok=True)
        open(os.path.join(dest, 'lib', package, '__init__.py'), 'w', encoding='utf-8').close()
    for name in role_vars[prefix + '_module_utils']:
        shutil.copy(os.path.join(REPO, 'plugins', 'module_utils', name), os.path.join(dest, 'lib', role_vars[prefix + '_packages'][-1]))
    return os.path.join(dest, program)
