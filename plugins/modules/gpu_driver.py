#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gpu_driver
short_description: Unload or load the NVIDIA kernel module stack, naming whoever holds it
description:
  - With O(state=absent), unloads the kernel modules in O(modules) in that order (dependents
    first) with C(modprobe -r), skipping modules that are not loaded.
  - Before unloading anything it reads C(refcnt) and C(holders/) of each module under
    O(sysfs_root) and scans C(/proc/*/fd) under O(procfs_root) for open C(/dev/nvidia*) files.
    When the stack is in use it fails, listing the holder modules outside O(modules) and the
    processes (pid, command name, files) holding the devices; nothing is unloaded.
  - With O(state=present), loads the modules in reverse order (C(nvidia) first) with C(modprobe).
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  state:
    description:
      - V(absent) unloads the modules, V(present) loads them.
    type: str
    choices: [absent, present]
    default: absent
  modules:
    description:
      - The module stack, dependents first. Unloaded in this order, loaded in reverse.
    type: list
    elements: str
    default: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia]
  sysfs_root:
    description:
      - Directory that holds C(sys/module).
    type: path
    default: /
  procfs_root:
    description:
      - Directory that holds C(proc/), scanned for processes with C(/dev/nvidia*) open.
    type: path
    default: /
  modprobe_path:
    description:
      - The modprobe binary; found on the PATH when not given.
    type: path
requirements:
  - kmod (modprobe)
attributes:
  check_mode:
    support: full
    description: Checks holders and reports what would be unloaded or loaded; runs nothing.
  diff_mode:
    support: full
    description: Lists the loaded modules of the stack before and after.
  idempotent:
    support: full
    description: Modules already in the wanted state are skipped.
notes:
  - Unloading fails in check mode too when the stack is in use, so a check run shows the blocker.
'''

EXAMPLES = r'''
- name: Hand the GPU to a kind node (unload the host driver)
  openkasugai.all_in_one.gpu_driver:
    state: absent

- name: Give the driver back to the host
  openkasugai.all_in_one.gpu_driver:
    state: present
    modules: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia]
'''

RETURN = r'''
loaded_before:
  description: Modules of the stack that were loaded before the module ran.
  returned: success
  type: list
  elements: str
  sample: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia]
unloaded:
  description: Modules unloaded (that would be, in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: [nvidia_drm, nvidia_modeset, nvidia_uvm, nvidia]
loaded:
  description: Modules loaded (that would be, in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: []
processes:
  description: Processes holding C(/dev/nvidia*) open (returned on failure too).
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Process id.
      type: int
    name:
      description: Command name (C(/proc/<pid>/comm)).
      type: str
    files:
      description: The device files it holds.
      type: list
      elements: str
  sample: [{pid: 4242, name: nvidia-persistenced, files: [/dev/nvidia0, /dev/nvidiactl]}]
holders:
  description: Holder modules outside O(modules), per module (returned on failure too).
  returned: always
  type: dict
  sample: {nvidia: [nvidia_peermem]}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.kmod import (
    NVIDIA_MODULES,
    device_users,
    module_states,
    unload_blockers,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs


def _modprobe(module, modprobe, args, name, sysfs, want_loaded):
    try:
        rc, out, err = modprobe.run(args + [name], what=' '.join(['modprobe'] + args + [name]))
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    if sysfs.module_loaded(name) != want_loaded:
        module.fail_json(msg=f"{' '.join(['modprobe'] + args + [name])} returned 0 but module {name} is {'still' if not want_loaded else 'not'} "
                             f"present under {sysfs.path('module')}", cmd=modprobe.argv(args + [name]), rc=rc, stdout=out, stderr=err)


def main():
    module = AnsibleModule(
        argument_spec={
            'state': {'type': 'str', 'choices': ['absent', 'present'], 'default': 'absent'},
            'modules': {'type': 'list', 'elements': 'str', 'default': list(NVIDIA_MODULES)},
            'sysfs_root': {'type': 'path', 'default': '/'},
            'procfs_root': {'type': 'path', 'default': '/'},
            'modprobe_path': {'type': 'path'},
        },
        supports_check_mode=True,
    )
    params = module.params
    modules = params['modules']
    sysfs = Sysfs(params['sysfs_root'])
    states = module_states(params['sysfs_root'], modules)
    loaded_before = [name for name in modules if states[name]['loaded']]
    result = {'changed': False, 'loaded_before': loaded_before, 'unloaded': [], 'loaded': [], 'processes': [], 'holders': {}}

    if params['state'] == 'absent':
        todo = loaded_before
        if todo:
            foreign, busy = unload_blockers(states, modules)
            processes = device_users(params['procfs_root'])
            result['processes'] = processes
            result['holders'] = foreign
            if foreign or busy or processes:
                parts = []
                if foreign:
                    parts.append('held by other modules: ' + '; '.join(f"{m} by {', '.join(h)}" for m, h in foreign.items()))
                if processes:
                    parts.append('open by processes: ' + ', '.join(f"{p['pid']} ({p['name']})" for p in processes))
                elif busy:
                    parts.append('in use (references beyond holder modules): ' + ', '.join(f'{m} +{n}' for m, n in busy.items()))
                module.fail_json(msg='Cannot unload the GPU driver, it is in use: ' + '; '.join(parts)
                                 + '. Stop those processes (e.g. systemctl stop nvidia-persistenced nvidia-dcgm, '
                                   'display managers, containers using the GPU) or unload the other modules, then run again.',
                                 **{k: v for k, v in result.items() if k != 'changed'})
    else:
        todo = [name for name in reversed(modules) if not states[name]['loaded']]

    after = [name for name in modules if name not in todo] if params['state'] == 'absent' else list(modules)
    result['changed'] = bool(todo)
    result['unloaded' if params['state'] == 'absent' else 'loaded'] = todo
    if module._diff:
        result['diff'] = {'before': '\n'.join(loaded_before) + '\n', 'after': '\n'.join(after) + '\n',
                          'before_header': 'loaded modules', 'after_header': 'loaded modules'}
    if not todo or module.check_mode:
        module.exit_json(**result)

    modprobe = Cli('modprobe', params['modprobe_path'], option='modprobe_path', module=module)
    for name in todo:
        if params['state'] == 'absent':
            if sysfs.module_loaded(name):  # modprobe -r of a dependent may have taken it already
                _modprobe(module, modprobe, ['-r'], name, sysfs, False)
        else:
            if not sysfs.module_loaded(name):
                _modprobe(module, modprobe, [], name, sysfs, True)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
