# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The accelerator device plugin's gRPC life with kubelet, over real unix sockets.

Real: grpcio servers and channels on unix sockets in tmp_path, the stubs generated from our proto
by grpcio-tools, the plugin's watch loop (inotify, or polling), signals to a plugin process.
Fake: kubelet, a Registration server written here that, like kubelet's device manager, dials the
plugin's endpoint after Register, asks its options and keeps a ListAndWatch stream open; and the
machine (tests/unit/fakesys.py). A kubelet restart is what kubelet does: every socket of the
directory deleted, a new kubelet.sock.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc
import pytest
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys
from okl_device_plugin import api, config, server

pb2, pb2_grpc = api.load()
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
# What pytest.ini's pythonpath gives the tests, for the Python processes they start.
PYTHONPATH = os.pathsep.join([os.path.join(REPO, '.collection-root'), os.path.join(REPO, 'roles/function_images/files/accelerator-device-plugin')])


class FakeKubelet(pb2_grpc.RegistrationServicer):
    def __init__(self, socket_dir):
        self.socket_dir = socket_dir
        self.registrations = queue.Queue()
        self.updates = queue.Queue()
        self.options = None
        self.channels = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb2_grpc.add_RegistrationServicer_to_server(self, self.server)
        self.server.add_insecure_port('unix://' + os.path.join(socket_dir, 'kubelet.sock'))
        self.server.start()

    def Register(self, request, context):
        channel = grpc.insecure_channel('unix://' + os.path.join(self.socket_dir, request.endpoint))
        self.channels.append(channel)
        self.plugin = pb2_grpc.DevicePluginStub(channel)
        self.options = self.plugin.GetDevicePluginOptions(pb2.Empty(), timeout=5)
        stream = self.plugin.ListAndWatch(pb2.Empty())
        threading.Thread(target=self._watch, args=(stream,), daemon=True).start()
        self.registrations.put(request)
        return pb2.Empty()

    def _watch(self, stream):
        try:
            for response in stream:
                self.updates.put({d.ID: (d.health, [n.ID for n in d.topology.nodes]) for d in response.devices})
        except grpc.RpcError:
            pass

    def next_update(self, timeout=10):
        return self.updates.get(timeout=timeout)

    def stop(self):
        for channel in self.channels:
            channel.close()
        self.server.stop(0).wait()


def restart_kubelet(kubelet, socket_dir):
    """What kubelet does when it restarts: its server goes, every socket is deleted, a new one comes."""
    kubelet.stop()
    for name in os.listdir(socket_dir):
        os.unlink(os.path.join(socket_dir, name))
    return FakeKubelet(socket_dir)


@pytest.fixture
def machine(tmp_path):
    fake = FakeSys(tmp_path / 'host')
    fake.add_dfl_fpga('0000:5e:00.0', 1, numa_node=0)
    fake.add_dfl_fpga('0000:5f:00.0', 2, numa_node=0)
    fake.add_dfl_fpga('0000:b1:00.0', 3, numa_node=1)
    return fake


def make_config(machine, socket_dir, **extra):
    data = {'pools': [{'name': 'accelerator', 'resource_name': 'b-com.com/accelerator'}],
            'sysfs_root': machine.root, 'dev_root': machine.root, 'socket_dir': str(socket_dir), 'poll_interval': 30}
    data.update(extra)
    return data


@pytest.fixture
def running(machine, tmp_path):
    """Start a plugin (in a thread) with a kubelet already there; stop it afterwards."""
    started = []

    def start(**extra):
        socket_dir = tmp_path / 'device-plugins'
        socket_dir.mkdir(exist_ok=True)
        kubelet = FakeKubelet(str(socket_dir))
        plugin = server.Plugin(config.parse(make_config(machine, socket_dir, **extra)))
        thread = threading.Thread(target=plugin.run, daemon=True)
        thread.start()
        started.append((plugin, thread))
        return plugin, kubelet, str(socket_dir)

    yield start
    for plugin, thread in started:
        plugin.stopping.set()
        thread.join(10)
        assert not thread.is_alive(), 'the plugin did not stop'


def test_registers_lists_and_allocates(running):
    plugin, kubelet, socket_dir = running()
    request = kubelet.registrations.get(timeout=10)
    assert (request.version, request.endpoint, request.resource_name) == ('v1beta1', 'okl-accelerator.sock', 'b-com.com/accelerator')
    assert request.options.get_preferred_allocation_available and not request.options.pre_start_required
    assert kubelet.options.get_preferred_allocation_available
    assert kubelet.next_update() == {'0000:5e:00.0': ('Healthy', [0]), '0000:5f:00.0': ('Healthy', [0]),
                                     '0000:b1:00.0': ('Healthy', [1])}
    response = kubelet.plugin.Allocate(pb2.AllocateRequest(container_requests=[
        pb2.ContainerAllocateRequest(devices_ids=['0000:5f:00.0', '0000:b1:00.0']),
        pb2.ContainerAllocateRequest(devices_ids=['0000:5e:00.0'])]), timeout=5)
    first, second = response.container_responses
    assert dict(first.envs) == {'ACCELERATOR_UNITS': '0000:5f:00.0,0000:b1:00.0', 'ACCELERATOR_DEVICES': '0000:5f:00.0,0000:b1:00.0'}
    assert [(d.host_path, d.container_path, d.permissions) for d in first.devices] == [
        ('/dev/dfl-port.2', '/dev/dfl-port.2', 'rw'), ('/dev/dfl-port.3', '/dev/dfl-port.3', 'rw')]
    assert dict(second.envs)['ACCELERATOR_UNITS'] == '0000:5e:00.0' and [d.host_path for d in second.devices] == ['/dev/dfl-port.1']
    with pytest.raises(grpc.RpcError) as info:
        kubelet.plugin.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=['0000:00:01.0'])]))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and '0000:00:01.0' in info.value.details()
    preferred = kubelet.plugin.GetPreferredAllocation(pb2.PreferredAllocationRequest(container_requests=[
        pb2.ContainerPreferredAllocationRequest(available_deviceIDs=['0000:5e:00.0', '0000:b1:00.0', '0000:5f:00.0'],
                                                allocation_size=2)]), timeout=5)
    assert list(preferred.container_responses[0].deviceIDs) == ['0000:5e:00.0', '0000:5f:00.0']
    assert kubelet.plugin.PreStartContainer(pb2.PreStartContainerRequest(devices_ids=['0000:5e:00.0']), timeout=5) is not None
    kubelet.stop()


@pytest.mark.parametrize('mode', [{'use_inotify': True}, {'use_inotify': False, 'poll_interval': 0.1}], ids=['inotify', 'poll'])
def test_health_changes_and_new_devices_stream_without_restart(running, machine, mode):
    _plugin, kubelet, _dir = running(**mode)
    kubelet.registrations.get(timeout=10)
    assert len(kubelet.next_update()) == 3
    start = time.monotonic()
    machine.set_port_errors('0000:5f:00.0', 0x2)
    assert kubelet.next_update(5)['0000:5f:00.0'] == ('Unhealthy', [0])
    noticed = time.monotonic() - start
    machine.set_port_errors('0000:5f:00.0', 0)
    assert kubelet.next_update(5)['0000:5f:00.0'] == ('Healthy', [0])
    machine.remove_pci('0000:b1:00.0')
    update = kubelet.next_update(5)
    assert update['0000:b1:00.0'][0] == 'Unhealthy' and len(update) == 3
    machine.restore_pci('0000:b1:00.0')
    assert kubelet.next_update(5)['0000:b1:00.0'][0] == 'Healthy'
    machine.add_dfl_fpga('0000:b2:00.0', 4, numa_node=1)
    assert kubelet.next_update(5)['0000:b2:00.0'] == ('Healthy', [1])
    if mode['use_inotify']:
        assert noticed < 2, f'inotify should see a change well before the 30 s poll, took {noticed:.2f}s'
    kubelet.stop()


def wait_registrations(plugin, count):
    """Until the plugin has counted ``count`` registrations: it counts one once kubelet's Register has returned, which
    on a loaded machine (a cold make test compiles beside it) can take seconds after kubelet got it: a wait, not a timing."""
    deadline = time.monotonic() + 20
    while plugin.servers[0].registrations < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert plugin.servers[0].registrations == count


def test_registers_again_when_kubelet_restarts(running, machine):
    plugin, kubelet, socket_dir = running()
    kubelet.registrations.get(timeout=10)
    kubelet.next_update()
    # kubelet restarts once the first Register has returned (one it cut off would be tried again and counted once)
    wait_registrations(plugin, 1)
    kubelet = restart_kubelet(kubelet, socket_dir)
    request = kubelet.registrations.get(timeout=10)
    assert request.endpoint == 'okl-accelerator.sock'
    assert os.path.exists(os.path.join(socket_dir, 'okl-accelerator.sock'))
    assert len(kubelet.next_update()) == 3
    # a Register cut off by the restart is tried again a second later
    wait_registrations(plugin, 2)
    # the new connection serves Allocate and streams changes
    response = kubelet.plugin.Allocate(pb2.AllocateRequest(container_requests=[pb2.ContainerAllocateRequest(devices_ids=['0000:5e:00.0'])]))
    assert dict(response.container_responses[0].envs)['ACCELERATOR_DEVICES'] == '0000:5e:00.0'
    machine.set_port_errors('0000:5e:00.0', 1)
    assert kubelet.next_update(5)['0000:5e:00.0'][0] == 'Unhealthy'
    kubelet.stop()


def test_waits_for_a_kubelet_that_is_not_there_yet(running, machine, tmp_path):
    socket_dir = tmp_path / 'late'
    socket_dir.mkdir()
    plugin = server.Plugin(config.parse(make_config(machine, socket_dir)))
    thread = threading.Thread(target=plugin.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_dir / 'okl-accelerator.sock') and time.monotonic() < deadline:
            time.sleep(0.02)
        kubelet = FakeKubelet(str(socket_dir))
        assert kubelet.registrations.get(timeout=10).resource_name == 'b-com.com/accelerator'
        kubelet.stop()
    finally:
        plugin.stopping.set()
        thread.join(10)


def test_sigterm_stops_cleanly_and_removes_its_socket(machine, tmp_path):
    socket_dir = tmp_path / 'device-plugins'
    socket_dir.mkdir()
    kubelet = FakeKubelet(str(socket_dir))
    cfg = tmp_path / 'config.json'
    cfg.write_text(json.dumps(make_config(machine, socket_dir)))
    env = dict(os.environ, OKL_DP_STUBS=os.path.dirname(pb2.__file__), PYTHONPATH=PYTHONPATH)
    proc = subprocess.Popen([sys.executable, '-m', 'okl_device_plugin', '--config', str(cfg)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, registered = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if 'registered with kubelet as' in line:
                registered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        kubelet.registrations.get(timeout=20)
        assert os.path.exists(socket_dir / 'okl-accelerator.sock')
        # signalled once its Register has returned (kubelet got it a moment before): a wait, not a timing
        assert registered.wait(20), ''.join(lines)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        reader.join(10)
        output = ''.join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
        kubelet.stop()
    assert proc.returncode == 0, output
    assert not os.path.exists(socket_dir / 'okl-accelerator.sock')
    assert 'registered with kubelet as okl-accelerator.sock' in output and 'signal 15' in output


def test_bad_configuration_exits_2_naming_the_field(tmp_path):
    cfg = tmp_path / 'config.json'
    cfg.write_text(json.dumps({'pools': [{'name': 'x', 'resource_name': 'nodomain'}]}))
    result = server.main(['--config', str(cfg)])
    assert result == 2


def test_benchmark_runs_and_prints_its_numbers():
    """tests/bench/bench_device_plugin.py (make bench runs it over 512 devices) on a few devices, so
    that it cannot rot; its numbers are not judged here."""
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tests/bench/bench_device_plugin.py'), '--devices', '16', '--repeat', '4'],
                            env=dict(os.environ, PYTHONPATH=PYTHONPATH), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for what in ('discovery of 16 devices', 'ListAndWatch: first list of 16 devices', 'Allocate of 2 among 16 over gRPC',
                 'sysfs change -> ListAndWatch update, inotify', 'sysfs change -> ListAndWatch update, polling'):
        assert what in result.stdout, result.stdout
