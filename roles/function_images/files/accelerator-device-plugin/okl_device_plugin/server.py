# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The device plugin: one gRPC server per pool, registration with kubelet, the watch loop.

Life cycle (what kubelet expects of a device plugin):
- each pool serves the DevicePlugin service on ``<socket_dir>/okl-<pool>.sock``, then registers
  that endpoint and its resource name on ``<socket_dir>/kubelet.sock``;
- ``ListAndWatch`` sends the whole list, then again on every change;
- when kubelet restarts it deletes every socket of the directory and makes a new kubelet.sock:
  the loop sees either (inotify, or the poll's look at both sockets), serves again on a new
  socket and registers again;
- sysfs is scanned again on inotify events in the watched trees (debounced) and every
  ``poll_interval`` seconds whatever happens;
- SIGTERM/SIGINT stop the servers and remove the sockets.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import stat
import sys
import threading
import time
from concurrent import futures

import grpc

from okl_device_plugin import __version__, api, config, discovery
from okl_device_plugin.inotify import IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO, Inotify

LOG = logging.getLogger('okl-device-plugin')
STREAM_TICK = 1.0        # how often an idle ListAndWatch stream looks whether it should end
DEBOUNCE = 0.02          # events closer than this are one rescan


def _socket_identity(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_ctime_ns) if stat.S_ISSOCK(info.st_mode) else None


class DevicePluginService:
    """The DevicePlugin gRPC service of one pool (the servicer class is generated)."""

    def __init__(self, pb2, inventory, stopping):
        self.pb2 = pb2
        self.inventory = inventory
        self.pool = inventory.pool
        self.stopping = stopping

    def GetDevicePluginOptions(self, request, context):
        return self.pb2.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True)

    def _response(self, devices):
        pb2 = self.pb2
        items = []
        for device in devices:
            topology = pb2.TopologyInfo(nodes=[pb2.NUMANode(ID=device.numa_node)]) if device.numa_node is not None else None
            items.append(pb2.Device(ID=device.id, health=device.health, topology=topology))
        return pb2.ListAndWatchResponse(devices=items)

    def ListAndWatch(self, request, context):
        version, devices = self.inventory.snapshot()
        LOG.info('%s: kubelet watches; %d devices, %d healthy', self.pool.resource_name, len(devices),
                 sum(1 for d in devices if not d.reason))
        yield self._response(devices)
        while context.is_active() and not self.stopping.is_set():
            update = self.inventory.wait_newer(version, STREAM_TICK)
            if update is None:
                continue
            version, devices = update
            yield self._response(devices)

    def GetPreferredAllocation(self, request, context):
        pb2 = self.pb2
        devices = self.inventory.snapshot()[1]
        by_id = {d.id: d for d in devices}
        responses = []
        for creq in request.container_requests:
            ids = discovery.preferred_allocation(by_id, list(creq.available_deviceIDs), list(creq.must_include_deviceIDs),
                                                 creq.allocation_size)
            responses.append(pb2.ContainerPreferredAllocationResponse(deviceIDs=ids))
        return pb2.PreferredAllocationResponse(container_responses=responses)

    def Allocate(self, request, context):
        pb2 = self.pb2
        by_id = {d.id: d for d in self.inventory.snapshot()[1]}
        responses = []
        for creq in request.container_requests:
            try:
                envs, nodes = discovery.allocate(self.pool, by_id, list(creq.devices_ids))
            except discovery.AllocationError as exc:
                LOG.warning('Allocate refused: %s', exc)
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            specs = [pb2.DeviceSpec(container_path=node, host_path=node, permissions=self.pool.permissions) for node in nodes]
            responses.append(pb2.ContainerAllocateResponse(envs=envs, devices=specs))
            LOG.info('%s: allocated %s (device nodes: %s)', self.pool.resource_name, ','.join(creq.devices_ids),
                     ' '.join(nodes) or 'none')
        return pb2.AllocateResponse(container_responses=responses)

    def PreStartContainer(self, request, context):
        return self.pb2.PreStartContainerResponse()


class PoolServer:
    """One pool's gRPC server on its socket, and its registration with kubelet."""

    def __init__(self, cfg, inventory, pb2, pb2_grpc, stopping):
        self.cfg = cfg
        self.inventory = inventory
        self.pool = inventory.pool
        self.pb2, self.pb2_grpc = pb2, pb2_grpc
        self.stopping = stopping
        self.socket = os.path.join(cfg.socket_dir, self.pool.endpoint)
        self.server = None
        self.registered_with = None     # identity of the kubelet.sock we registered on
        self.registrations = 0

    def serve(self):
        self.stop()
        if os.path.lexists(self.socket):
            os.unlink(self.socket)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix=self.pool.name))
        servicer = type('Servicer', (DevicePluginService, self.pb2_grpc.DevicePluginServicer), {})
        self.pb2_grpc.add_DevicePluginServicer_to_server(servicer(self.pb2, self.inventory, self.stopping), server)
        server.add_insecure_port('unix://' + self.socket)
        server.start()
        self.server = server
        self.registered_with = None

    def register(self):
        """Register on kubelet.sock; True on success (kubelet then dials our socket)."""
        kubelet = os.path.join(self.cfg.socket_dir, 'kubelet.sock')
        identity = _socket_identity(kubelet)
        if identity is None:
            return False
        request = self.pb2.RegisterRequest(
            version=api.API_VERSION, endpoint=self.pool.endpoint, resource_name=self.pool.resource_name,
            options=self.pb2.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True))
        try:
            with grpc.insecure_channel('unix://' + kubelet) as channel:
                self.pb2_grpc.RegistrationStub(channel).Register(request, timeout=10)
        except grpc.RpcError as exc:
            LOG.warning('%s: registration with kubelet failed (%s: %s); trying again within a second',
                        self.pool.resource_name, exc.code().name, exc.details())
            return False
        self.registered_with = identity
        self.registrations += 1
        LOG.info('%s: registered with kubelet as %s (registration %d)', self.pool.resource_name, self.pool.endpoint,
                 self.registrations)
        return True

    def healthy_connection(self):
        """False when kubelet restarted (our socket gone, or a new kubelet.sock) since we registered."""
        if self.server is None or _socket_identity(self.socket) is None:
            return False
        return self.registered_with is not None and self.registered_with == _socket_identity(
            os.path.join(self.cfg.socket_dir, 'kubelet.sock'))

    def stop(self):
        if self.server is not None:
            self.inventory.wake()
            self.server.stop(grace=1).wait(5)
            self.server = None
        if os.path.lexists(self.socket) and _socket_identity(self.socket) is not None:
            try:
                os.unlink(self.socket)
            except OSError:
                pass


class Plugin:
    """Every pool, the watch loop and its stop event."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.stopping = threading.Event()
        self.pb2, self.pb2_grpc = api.load()
        self.inventories = [discovery.Inventory(pool, cfg.sysfs_root, cfg.dev_root) for pool in cfg.pools]
        self.servers = [PoolServer(cfg, inv, self.pb2, self.pb2_grpc, self.stopping) for inv in self.inventories]
        self.inotify = Inotify() if cfg.use_inotify else None
        self.rescans = 0
        self.owners = {}

    # -- sysfs ----------------------------------------------------------
    def _watch_dirs(self):
        """Directories whose changes may change a pool, each with the devices it belongs to.

        A device's own sysfs tree belongs to that device (a change there rescans it alone); the PCI
        and FPGA listings and the device nodes' directories belong to no single device (a change
        there rescans everything).
        """
        sys_dir = os.path.join(self.cfg.sysfs_root, 'sys')
        class_dir = os.path.join(sys_dir, 'class')
        shared = [os.path.join(sys_dir, 'bus', 'pci', 'devices'), os.path.join(sys_dir, 'bus', 'dfl', 'devices'), class_dir]
        if os.path.isdir(class_dir):
            shared += [os.path.join(class_dir, c) for c in os.listdir(class_dir) if c.startswith('fpga')]
        owners = {path: None for path in shared}
        for index, inv in enumerate(self.inventories):
            for device in inv.devices.values():
                for node in device.device_nodes:
                    owners[os.path.dirname(os.path.join(self.cfg.dev_root, node.lstrip('/')))] = None
                link = os.path.join(sys_dir, 'bus', 'pci', 'devices', device.id)
                if not os.path.isdir(link):
                    continue
                base = os.path.normpath(os.path.join(os.path.dirname(link), os.readlink(link))) if os.path.islink(link) else link
                owners[os.path.dirname(base)] = None     # functions appear and leave here
                for dirpath, dirnames, _files in os.walk(base):
                    owner = owners.setdefault(dirpath, set())
                    if owner is not None:
                        owner.add((index, device.id))
                    if dirpath.count(os.sep) - base.count(os.sep) >= 5:
                        dirnames[:] = []
        return owners

    def rescan(self, events=None):
        """Rescan after ``events`` (inotify's), only the devices they belong to when that is known."""
        targets = None
        if events:
            targets = set()
            for path, _name, _mask in events:
                owner = self.owners.get(path)
                if owner is None:
                    targets = None
                    break
                targets |= owner
        self.rescans += 1
        for index, inv in enumerate(self.inventories):
            only = None if targets is None else {device_id for i, device_id in targets if i == index}
            if only is not None and not only:
                continue
            for line in inv.rescan(only):
                LOG.info('%s: %s', inv.pool.resource_name, line)
        if self.inotify and self.inotify.available and targets is None:
            self.owners = self._watch_dirs()
            for path in self.owners:
                self.inotify.watch(path)

    # -- kubelet ----------------------------------------------------------
    def connect(self):
        for server in self.servers:
            if server.healthy_connection():
                continue
            if server.server is None or _socket_identity(server.socket) is None:
                server.serve()
            server.register()

    # -- the loop -----------------------------------------------------------
    def run(self):
        os.makedirs(self.cfg.socket_dir, exist_ok=True)
        if self.inotify and self.inotify.available:
            self.inotify.watch(self.cfg.socket_dir)
        else:
            LOG.info('inotify unavailable: polling every %ss', self.cfg.poll_interval)
        self.rescan()
        for inv in self.inventories:
            devices = list(inv.devices.values())
            LOG.info('%s: %d devices (%s)', inv.pool.resource_name, len(devices), ', '.join(d.id for d in devices) or 'none')
        self.connect()
        next_poll = time.monotonic() + self.cfg.poll_interval
        # kubelet.sock is looked at every second even without inotify: a restart must not wait a poll
        socket_check = min(1.0, self.cfg.poll_interval)
        while not self.stopping.is_set():
            timeout = min(socket_check, max(0.0, next_poll - time.monotonic()))
            if self.inotify and self.inotify.available:
                events = self.inotify.wait(timeout)
            else:
                self.stopping.wait(timeout)
                events = []
            if self.stopping.is_set():
                break
            socket_events = [e for e in events if e[0] == self.cfg.socket_dir]
            sysfs_events = [e for e in events if e[0] != self.cfg.socket_dir]
            if sysfs_events:
                deadline = time.monotonic() + DEBOUNCE
                while time.monotonic() < deadline:   # let a burst of writes settle into one rescan
                    more = self.inotify.wait(deadline - time.monotonic())
                    socket_events += [e for e in more if e[0] == self.cfg.socket_dir]
                    sysfs_events += [e for e in more if e[0] != self.cfg.socket_dir]
                self.rescan(sysfs_events)
            if time.monotonic() >= next_poll:
                self.rescan()
                next_poll = time.monotonic() + self.cfg.poll_interval
            if socket_events and any(e[2] & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO) for e in socket_events):
                LOG.debug('device-plugins directory changed: %s', socket_events)
            self.connect()
        self.shutdown()

    def shutdown(self):
        LOG.info('stopping: removing %s', ', '.join(s.socket for s in self.servers))
        self.stopping.set()
        for server in self.servers:
            server.stop()
        if self.inotify:
            self.inotify.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='okl-device-plugin', description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=os.environ.get('OKL_DP_CONFIG', '/etc/okl-device-plugin/config.json'),
                        help='JSON configuration (default: %(default)s)')
    parser.add_argument('--print-devices', action='store_true', help='scan once, print each pool as JSON and exit')
    parser.add_argument('--version', action='version', version=__version__)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(message)s', stream=sys.stderr)
    try:
        cfg = config.load(args.config)
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.print_devices:
        import json
        out = {pool.resource_name: [dict(id=d.id, health=d.health, reason=d.reason, numa_node=d.numa_node,
                                         device_nodes=list(d.device_nodes))
                                    for d in discovery.discover(pool, cfg.sysfs_root, cfg.dev_root).values()]
               for pool in cfg.pools}
        print(json.dumps(out, indent=2))
        return 0
    plugin = Plugin(cfg)

    def stop(signum, _frame):
        LOG.info('signal %d', signum)
        plugin.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    plugin.run()
    return 0
