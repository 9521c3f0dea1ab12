# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""okl-netns-keeper: keeps the lab's netdevs inside their kind node containers.

A physical netdev (PF, VF) returns to the host's namespace when the namespace holding it dies:
a pod deleted, a node container restarted (new PID, new netns). This daemon puts it back, with
its addresses, using the same code as the ``netns_attach`` module: the ``devices`` role installs the
collection's module_utils it imports (cli, docker_cli, netns, sysfs; roles/devices/vars/main.yml) under
``lib/`` beside this file, as the packages ``ansible_collections.openkasugai.all_in_one.plugins.module_utils``.

How it watches: it polls, every ``interval`` seconds (0.5 by default), the names under
``/sys/class/net`` (one directory read) and, for each node, whether the cached PID still has
the same network namespace (one stat). Only when one of those changed (or every ``resync``
seconds, to repair lost addresses) does it run ``ip``/``docker inspect``. Polling was chosen
over ``ip monitor link``/``docker events`` subprocesses: nothing to restart when a monitor dies,
no event storm from our own moves, the same reaction time (well under the 5 s target), and a
steady-state cost of two syscalls per interval.

Config (JSON)::

    {"interval": 0.5, "resync": 30, "procfs_root": "/", "sysfs_root": "/",
     "attachments": [{"container": "kasugai-worker", "pf": "ens1f0", "include_pf": true,
                      "addresses": {"ens1f0": "192.168.91.11/24"}},
                     {"container": "kasugai-worker2", "names": ["veth1"], "rename": {"veth1": "net1"},
                      "addresses": {"net1": ["10.0.0.1/24"]}}]}

Each attachment takes the options of the netns_attach module (names, regex, pf, include_pf,
pci_addresses, addresses, rename).

Every move is logged on stderr (journald). SIGTERM/SIGINT stop it.
"""

import argparse
import json
import logging
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli, netns  # noqa: E402
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError  # noqa: E402

LOG = logging.getLogger('okl-netns-keeper')
TIMEOUT = 60  # seconds any docker or ip command may take


class Node:
    def __init__(self, container, attachments, tools, docker):
        self.container = container
        self.selections = []
        for data in attachments:
            sel = netns.Selection.from_dict(data)
            sel.allow_missing = True  # a device held by a pod, or not yet created, is not an error here
            self.selections.append(sel)
        self.tools = tools
        self.docker = docker
        self.pid = None
        self.ns_id = None
        self.next_lookup = 0.0
        self.last_errors = {}

    def _ns_id(self, pid):
        try:
            st = os.stat(self.tools.netns_file(pid))
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    def refresh_pid(self, now):
        """True when the node has a new namespace (restart) since the last look."""
        if self.pid is not None and self._ns_id(self.pid) == self.ns_id and self.ns_id is not None:
            return False
        if now < self.next_lookup:
            return False
        try:
            pid = docker_cli.container_pid(self.docker, self.container)
        except CliError as exc:
            LOG.warning('%s: %s', self.container, exc.msg)
            pid = None
        ns_id = self._ns_id(pid) if pid else None
        if pid is None or ns_id is None:
            if self.pid is not None:
                LOG.info('%s: not running any more (was PID %s)', self.container, self.pid)
            self.pid, self.ns_id = None, None
            self.next_lookup = now + 2.0  # docker inspect at most every 2 s while the node is down
            return False
        changed = ns_id != self.ns_id
        if changed:
            LOG.info('%s: running as PID %s', self.container, pid)
        self.pid, self.ns_id = pid, ns_id
        return changed

    def reconcile(self):
        """Attach what is missing; True when something moved or changed."""
        acted = False
        if self.pid is None:
            return acted
        for i, sel in enumerate(self.selections):
            try:
                changed, devices, _missing = netns.ensure(self.tools, sel, self.pid)
            except CliError as exc:
                if self.last_errors.get(i) != exc.msg:  # once per distinct problem, not every round
                    LOG.error('%s: %s', self.container, exc.msg)
                self.last_errors[i] = exc.msg
                continue
            if self.last_errors.pop(i, None):
                LOG.info('%s: selection %d works again', self.container, i)
            if changed:
                acted = True
                for dev in devices:
                    if dev['actions']:
                        LOG.info('%s (PID %s): %s [%s] %s -> %s: %s', self.container, self.pid, dev['id'],
                                 dev['pci'] or 'virtual', dev['before'], dev['after'], ', '.join(dev['actions']))
        return acted


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='/etc/openkasugai/netns-keeper.json')
    parser.add_argument('--once', action='store_true', help='reconcile once and exit')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s', stream=sys.stderr)
    with open(args.config) as f:
        config = json.load(f)
    tools = netns.Tools(procfs_root=config.get('procfs_root', '/'), sysfs_root=config.get('sysfs_root', '/'), timeout=TIMEOUT)
    docker = docker_cli.docker(config.get('docker', 'docker'), option='"docker" in ' + args.config, timeout=TIMEOUT)
    grouped = {}
    for item in config.get('attachments') or []:
        grouped.setdefault(item['container'], []).append(item)
    nodes = [Node(name, items, tools, docker) for name, items in sorted(grouped.items())]
    interval = float(config.get('interval', 0.5))
    resync = float(config.get('resync', 30))
    class_net = os.path.join('/sys', 'class', 'net')  # our own namespace: the host's

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    LOG.info('watching %d node(s): %s (every %.2fs, full resync every %.0fs)', len(nodes),
             ', '.join(n.container for n in nodes), interval, resync)
    last_names = None
    last_full = 0.0
    while not stop:
        now = time.monotonic()
        try:
            names = frozenset(os.listdir(class_net))
        except OSError:
            names = frozenset()
        host_changed = names != last_names
        full = now - last_full >= resync
        acted = False
        for node in nodes:
            restarted = node.refresh_pid(now)
            if restarted or host_changed or full:
                acted = node.reconcile() or acted
        if full:
            last_full = now
        # after acting, look again next round (a no-op then): a device that appeared while we
        # worked is not missed, and our own moves settle
        last_names = None if acted else names
        if args.once:
            break
        time.sleep(interval)
    LOG.info('stopping')
    return 0


if __name__ == '__main__':
    sys.exit(main())
