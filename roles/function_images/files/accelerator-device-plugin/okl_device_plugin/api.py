# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The gRPC stubs of deviceplugin.proto, generated with grpcio-tools, never committed.

The image generates them at build time into ``$OKL_DP_STUBS``; elsewhere (tests, benchmarks)
they are generated on first use into a cache directory named by the proto's digest and the
grpcio-tools version, so a changed proto is never served by stale stubs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile

PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'deviceplugin.proto')
API_VERSION = 'v1beta1'


def generate(out_dir):
    """Run grpc_tools.protoc on our proto into ``out_dir``; returns ``out_dir``."""
    from grpc_tools import protoc  # build-time dependency only
    os.makedirs(out_dir, exist_ok=True)
    args = ['grpc_tools.protoc', '-I' + os.path.dirname(PROTO), '--python_out=' + out_dir,
            '--grpc_python_out=' + out_dir, os.path.basename(PROTO)]
    if protoc.main(args) != 0:
        raise RuntimeError(f'grpc_tools.protoc failed on {PROTO}')
    return out_dir


def _cache_dir():
    import grpc_tools
    with open(PROTO, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:16]
    version = getattr(grpc_tools, '__version__', '') or 'unknown'
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(tempfile.gettempdir(), f'okl-device-plugin-{os.getuid()}')
    return os.path.join(base, f'stubs-{digest}-{version}')


def _import(directory, name):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(directory, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # deviceplugin_pb2_grpc imports deviceplugin_pb2 by this name
    spec.loader.exec_module(module)
    return module


def load():
    """(deviceplugin_pb2, deviceplugin_pb2_grpc)."""
    directory = os.environ.get('OKL_DP_STUBS', '')
    if not directory or not os.path.exists(os.path.join(directory, 'deviceplugin_pb2_grpc.py')):
        directory = _cache_dir()
        if not os.path.exists(os.path.join(directory, 'deviceplugin_pb2_grpc.py')):
            os.makedirs(os.path.dirname(directory), exist_ok=True)
            tmp = generate(tempfile.mkdtemp(prefix='.stubs-', dir=os.path.dirname(directory)))
            try:
                os.rename(tmp, directory)
            except OSError:   # another process got there first
                pass
    return _import(directory, 'deviceplugin_pb2'), _import(directory, 'deviceplugin_pb2_grpc')
