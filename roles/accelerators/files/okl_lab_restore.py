# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""okl-lab-restore: after a reboot, put the host back the way the lab left it, before docker starts the nodes.

A reboot undoes what the accelerators stage did to the host: every PF is back at 0 VFs and the NVIDIA
driver is loaded again on the host. The kind nodes (started by docker) and the netns keeper (moving
netdevs into them) need both done first, so this runs once at boot, ordered before docker.service:

1. unloads the GPU driver modules the lab keeps off the host (``modprobe -r``, in the order given:
   users first), when they are loaded;
2. gives every lab PF its VF count again (through 0, as the kernel wants) and waits for the VFs and
   their netdevs.

It does everything it can and exits non-zero if any step failed (the journal says which and why).
Config (JSON, written by the accelerators role from the lab model)::

    {"sysfs_root": "/", "modprobe": "modprobe", "timeout": 60, "wait_for_netdevs": true,
     "unload_modules": ["nvidia_drm", "nvidia_modeset", "nvidia_uvm", "nvidia"],
     "vfs": [{"pf": "0000:3b:00.0", "num_vfs": 8}]}

PFs are given by PCI address: a netdev name can change across reboots. The accelerators role installs
the collection's module_utils this imports (cli, sysfs, sriov: the sriov_vfs module's code;
roles/accelerators/vars/main.yml) under ``lib/`` beside this file, as the packages
``ansible_collections.openkasugai.all_in_one.plugins.module_utils``.
"""

import argparse
import json
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import sriov  # noqa: E402
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli, CliError  # noqa: E402
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import Sysfs  # noqa: E402

LOG = logging.getLogger('okl-lab-restore')


def unload(sysfs, modprobe, names):
    """modprobe -r each loaded module (``modprobe``: a cli.Cli); returns the failures as sentences."""
    failures = []
    for name in names:
        if not sysfs.module_loaded(name):
            continue
        try:
            rc, out, err = modprobe.run(['-r', name], check=False)
        except CliError as exc:
            failures.append('modprobe -r {}: {}'.format(name, exc.msg))
            continue
        if rc != 0 or sysfs.module_loaded(name):
            failures.append('modprobe -r {} failed (rc {}): {} (holders: {})'.format(
                name, rc, (err or out).strip() or 'still loaded', ', '.join(sysfs.module_holders(name)) or 'none'))
        else:
            LOG.info('unloaded %s from the host', name)
    return failures


def restore_vfs(sysfs, entries, timeout, wait_for_netdevs):
    failures = []
    for entry in entries:
        try:
            vfs = sriov.set_num_vfs(sysfs, entry['pf'], int(entry['num_vfs']), timeout, wait_for_netdevs)
        except sriov.SriovError as exc:
            failures.append(exc.msg)
            continue
        LOG.info('%s has its %d VFs: %s', entry['pf'], len(vfs), ', '.join(vf['netdev'] or vf['pci_address'] for vf in vfs) or 'none')
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='/etc/openkasugai/lab-restore.json')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')
    with open(args.config, encoding='utf-8') as handle:
        config = json.load(handle)
    sysfs = Sysfs(config.get('sysfs_root', '/'))
    modprobe = Cli('modprobe', config.get('modprobe', 'modprobe'), option='"modprobe" in ' + args.config, timeout=120)
    failures = unload(sysfs, modprobe, config.get('unload_modules', []))
    failures += restore_vfs(sysfs, config.get('vfs', []), float(config.get('timeout', 60)), bool(config.get('wait_for_netdevs', True)))
    for failure in failures:
        LOG.error('%s', failure)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
