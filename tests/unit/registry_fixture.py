"""A real TLS container registry for tests.

Real: Debian's ``docker-registry`` (distribution 2.8, /usr/bin/docker-registry) listening on
127.0.0.1 on a free port, serving HTTPS with a server certificate signed by a throw-away test CA
generated here with python-cryptography. Nothing is faked: clients (buildah, skopeo, docker) must
trust the CA to talk to it.

Usage from any test::

    from ansible_collections.openkasugai.all_in_one.tests.unit.registry_fixture import TlsRegistry

    with TlsRegistry() as reg:
        reg.url          # "localhost:<port>"
        reg.cert_dir     # directory holding ca.crt (for --cert-dir / certs.d)
        reg.ca_file      # the CA certificate (PEM)
        reg.other_ca_dir # a directory with an unrelated CA (for "wrong CA" tests)

or as a pytest fixture: ``tls_registry = pytest.fixture(scope="module")(registry_fixture.tls_registry)``.

The registry stores blobs under a temporary directory that is removed on exit.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REGISTRY_BINARY = "/usr/bin/docker-registry"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def make_ca(common_name: str):
    """Return (key, certificate) of a self-signed CA valid for one day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server_cert(ca_key, ca_cert, names=("localhost",), ips=("127.0.0.1",)):
    """Return (key, certificate) for a TLS server, signed by the given CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


class TlsRegistry:
    """docker-registry over HTTPS on 127.0.0.1:<free port>, trusted through a test CA."""

    def __init__(self, workdir: str | None = None, start_timeout: float = 30.0):
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="okl-registry-"))
        self.start_timeout = start_timeout
        self.port = _free_port()
        self.url = f"localhost:{self.port}"
        self.cert_dir = self.workdir / "certs"
        self.ca_file = self.cert_dir / "ca.crt"
        self.other_ca_dir = self.workdir / "wrong-ca"
        self.storage = self.workdir / "storage"
        self.log_file = self.workdir / "registry.log"
        self.proc: subprocess.Popen | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> TlsRegistry:
        if not os.access(REGISTRY_BINARY, os.X_OK):
            raise RuntimeError(f"{REGISTRY_BINARY} is missing: apt-get install docker-registry")
        for d in (self.cert_dir, self.other_ca_dir, self.storage):
            d.mkdir(parents=True, exist_ok=True)
        ca_key, ca_cert = make_ca("okl test registry CA")
        srv_key, srv_cert = make_server_cert(ca_key, ca_cert)
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        server_dir = self.workdir / "server"
        server_dir.mkdir(exist_ok=True)
        (server_dir / "server.crt").write_bytes(srv_cert.public_bytes(serialization.Encoding.PEM))
        (server_dir / "server.key").write_bytes(_pem_key(srv_key))
        (server_dir / "server.key").chmod(0o600)
        _other_key, other_cert = make_ca("an unrelated CA")
        (self.other_ca_dir / "ca.crt").write_bytes(other_cert.public_bytes(serialization.Encoding.PEM))
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
            f"  tls:\n    certificate: {server_dir / 'server.crt'}\n    key: {server_dir / 'server.key'}\n"
        )
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + self.start_timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self.proc.returncode}: {self.log_file.read_text()}")
            try:
                conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=2)
                conn.request("GET", "/v2/")
                if conn.getresponse().status == 200:
                    return
            except OSError as exc:  # connection refused until the listener is up
                last = exc
            # poll the real condition (the /v2/ endpoint), with a short back-off between tries
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url} within {self.start_timeout}s: {last}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    def get(self, path: str) -> tuple[int, bytes]:
        """HTTPS GET on the registry API, verifying the server with the test CA."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=10)
        conn.request("GET", path, headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                                           "application/vnd.docker.distribution.manifest.v2+json"})
        resp = conn.getresponse()
        return resp.status, resp.read()

    def tags(self, repository: str) -> list[str]:
        import json

        status, body = self.get(f"/v2/{repository}/tags/list")
        if status == 404:
            return []
        return json.loads(body).get("tags") or []


def tls_registry():
    """Generator usable as a pytest fixture: ``pytest.fixture(scope="module")(tls_registry)``."""
    reg = TlsRegistry().start()
    try:
        yield reg
    finally:
        reg.stop()
