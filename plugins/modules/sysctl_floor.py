#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: sysctl_floor
short_description: Raise kernel settings to at least the given values, never lowering one, and persist them
description:
  - For each of O(settings) reads the running value (C(/proc/sys/<name with dots as slashes>)), raises it to the
    given value when it is lower, and writes the value kept (the higher of the two) to O(file), a C(sysctl.d) drop-in
    this module owns whole (one C(name=value) line per setting, as C(ansible.posix.sysctl) writes them), so that it
    holds after a reboot.
  - A setting set higher than asked (by the distribution, another tool or the administrator) is kept, running and in
    O(file).
  - All settings in one module run, where C(slurp) and C(ansible.posix.sysctl) cost two per setting.
  - Fails before changing anything when a setting does not exist on this kernel or its value is not an integer.
version_added: 0.3.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  settings:
    description: The floor of each setting, by its sysctl name (C(fs.inotify.max_user_watches)). Integer values.
    type: dict
    required: true
  file:
    description: The drop-in that persists them (mode 0644), written whole, only when its content differs.
    type: path
    required: true
  procfs_root:
    description: Root under which C(/proc) is read and written (as the lab_model module's; tests point it at a fake tree).
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: Reports the settings it would raise and whether O(file) would change; changes nothing.
  diff_mode:
    support: full
    description: O(file) before and after.
"""

EXAMPLES = r"""
- name: Raise the inotify limits kind needs
  openkasugai.all_in_one.sysctl_floor:
    settings:
      fs.inotify.max_user_watches: 524288
      fs.inotify.max_user_instances: 512
    file: /etc/sysctl.d/90-openkasugai-lab.conf
"""

RETURN = r"""
settings:
  description: Each setting's running value before, and the value kept (running after, and in O(file)).
  returned: always
  type: dict
  sample: {fs.inotify.max_user_watches: {before: 8192, after: 524288}, fs.inotify.max_user_instances: {before: 1024, after: 1024}}
raised:
  description: The settings whose running value was (in check mode, would be) raised.
  returned: always
  type: list
  elements: str
file_changed:
  description: Whether O(file) was (would be) written.
  returned: always
  type: bool
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

NAME = re.compile(r'^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$')


def setting_path(procfs_root, name):
    return os.path.join(procfs_root, 'proc', 'sys', *name.split('.'))


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def plan(settings, procfs_root):
    """{name: {before, after}} for ``settings`` (name -> floor); ValueError naming the first one that cannot be kept."""
    result = {}
    for name, floor in settings.items():
        if not NAME.match(name):
            raise ValueError('settings: {!r} is not a sysctl name (dotted, as fs.inotify.max_user_watches)'.format(name))
        try:
            wanted = int(floor)
        except (TypeError, ValueError):
            raise ValueError('settings.{}: {!r} is not an integer'.format(name, floor)) from None
        try:
            current_text = read_file(setting_path(procfs_root, name))
        except OSError as exc:
            raise ValueError('settings.{}: {} cannot be read: {}'.format(name, setting_path(procfs_root, name), exc.strerror)) from None
        if current_text is None:
            raise ValueError('settings.{}: this kernel has no such setting ({} does not exist)'.format(name, setting_path(procfs_root, name)))
        try:
            current = int(current_text.strip())
        except ValueError:
            raise ValueError('settings.{}: its running value {!r} is not one integer'.format(name, current_text.strip())) from None
        result[name] = {'before': current, 'after': max(current, wanted)}
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            file=dict(type='path', required=True),
            procfs_root=dict(type='path', default='/'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        settings = plan(p['settings'], p['procfs_root'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    raised = [name for name, value in settings.items() if value['after'] != value['before']]
    content = ''.join('{}={}\n'.format(name, value['after']) for name, value in settings.items())
    before = read_file(p['file'])
    file_changed = before != content
    if not module.check_mode:
        for name in raised:
            try:
                with open(setting_path(p['procfs_root'], name), 'w') as f:
                    f.write('{}\n'.format(settings[name]['after']))
            except OSError as exc:
                module.fail_json(msg='settings.{}: raising it to {} failed: {}'.format(name, settings[name]['after'], exc.strerror),
                                 raised=raised[:raised.index(name)])
        if file_changed:
            directory = os.path.dirname(p['file'])
            os.makedirs(directory, mode=0o755, exist_ok=True)
            tmp = os.path.join(directory, '.{}.tmp'.format(os.path.basename(p['file'])))
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 'w') as f:
                f.write(content)
            os.chmod(tmp, 0o644)
            os.replace(tmp, p['file'])
    result = dict(changed=bool(raised or file_changed), settings=settings, raised=raised, file_changed=file_changed)
    if module._diff:
        result['diff'] = dict(before_header=p['file'], after_header=p['file'], before=before or '', after=content)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
