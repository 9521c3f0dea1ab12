# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Self-test of the e2e stand-ins under tests/e2e/controller/ (no cluster, no images, no network).

Real: the calcapp servers, client and sidecar run as the programs they are (local subprocesses
on free ports, TCP between them, SIGHUP between processes); the controller's reconcile code runs
unchanged on the sample data files; ``kubectl kustomize`` renders the config dirs.
Stand-ins here: the Kubernetes API. The sidecar talks HTTP to a small in-process server that
serves one ConfigMap; the controller is given an in-memory object store (FakeApi) instead of its
urllib client, and pods are marked Running by the test. The pod network is 127.0.0.1, the
config file of each function a temp file (CALCAPP_CONFIG).

Run: ``python3 tests/e2e/controller/selftest.py`` (exit 0 = every check passed or was skipped);
tests/unit/test_e2e_standins.py runs the same checks under pytest. The controller check needs
PyYAML (the project's venv has it) to read the sample YAML; the kustomize check needs kubectl
($OKL_KUBECTL, the test bed's cache or PATH). Either is skipped, with the reason, when missing.
"""

import contextlib
import copy
import http.server
import importlib.machinery
import importlib.util
import io
import json
import os
import py_compile
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FLOWCTRL = os.path.join(HERE, "src", "whitebox-k8s-flowctrl")
CONTROLLER = os.path.join(FLOWCTRL, "standin", "standin-controller.py")
CONFIG_DEFAULT = os.path.join(FLOWCTRL, "config", "default")
FUNCTIONS = os.path.join(HERE, "sample-functions", "functions", "for_all_in_one")
CALCAPP = os.path.join(FUNCTIONS, "calc-func", "cpufunc_calcapp", "calcapp.py")
SIDECAR = os.path.join(FUNCTIONS, "cpugpu-func", "cpufunc_sidecar", "sidecar.py")
SAMPLE = os.path.join(HERE, "test", "sample-data", "sample-data-for-all-in-one", "calc-func", "basic")
KUBECTL_CACHE = "/var/cache/openkasugai-tests/bin/k8s-v1.34.1-r1/kubectl"

CHAIN = ["plus", "minus", "multiply", "divide", "average_results", "receiver"]  # send is the client
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\tINFO\tcalcapp/main\.py:(\d+)\tstart call Do\t(.*)$")


class Skip(Exception):
    """A check that cannot run here (a tool or module missing)."""


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def read(path):
    with open(path) as f:
        return f.read()


def write_config(path, port):
    with open(path, "w") as f:
        f.write('next:\n  host: "127.0.0.1"\n  port: %d\n' % port)


class Processes:
    """Subprocesses started by a check, each with its stdout in a file; all stopped at the end."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, argv, env=None):
        out = os.path.join(self.tmp, name + ".log")
        full_env = dict(os.environ)
        full_env.update(env or {})
        with open(out, "w") as stdout:
            proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.STDOUT, env=full_env, start_new_session=True)
        proc.log = out
        self.procs.append(proc)
        return proc

    def server(self, name, operator, port, config):
        proc = self.start(name, [sys.executable, CALCAPP, "-server", "-port", str(port), "-operator", operator],
                          {"CALCAPP_CONFIG": config, "CALCAPP_CONNECT_RETRY_SECONDS": "3"})
        wait_for(lambda: accepts(port) or proc.poll() is not None, 10, "%s on port %d" % (name, port))
        if proc.poll() is not None:
            raise AssertionError("%s exited: %s" % (name, read(proc.log)))
        return proc

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def client(values, config=None, host=None, port=None, retry="3"):
    argv = [sys.executable, CALCAPP]
    if host:
        argv += ["-host", host, "-port", str(port)]
    env = dict(os.environ, CALCAPP_CONNECT_RETRY_SECONDS=retry)
    if config:
        env["CALCAPP_CONFIG"] = config
    return subprocess.run(argv + [str(v) for v in values], check=False, capture_output=True, text=True, env=env, timeout=60)


def request_lines(log_text):
    """The ``{"req": ...}`` JSON text of every "start call Do" line, checking the line's shape."""
    out = []
    for line in log_text.splitlines():
        if "\tstart call Do\t" not in line:
            continue
        match = LOG_LINE.match(line)
        assert match, "log line not in zap console shape: %r" % line
        out.append(match.group(3))
    return out


# --- checks ---------------------------------------------------------------------------------

def check_py_compile():
    """The three programs compile (python3 -m py_compile; the bytecode goes to a temp dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        for path in (CONTROLLER, SIDECAR, CALCAPP):
            run = subprocess.run([sys.executable, "-m", "py_compile", path], check=False, capture_output=True, text=True,
                                 env=dict(os.environ, PYTHONPYCACHEPREFIX=tmp))
            assert run.returncode == 0, run.stderr
            py_compile.compile(path, cfile=os.path.join(tmp, "check.pyc"), doraise=True)


def check_executables():
    """calcapp and sidecar are executable with a python3 shebang (the images COPY them as they are)."""
    for path in (CALCAPP, SIDECAR):
        assert os.access(path, os.X_OK), "%s is not executable" % path
        with open(path) as f:
            first = f.readline()
        assert first.startswith("#!") and "python3" in first, "%s: shebang %r" % (path, first)


def check_go_json():
    """calcapp writes numbers as Go's encoding/json does (the receiver's log is compared as text)."""
    calcapp = load_module("standin_calcapp", CALCAPP)
    cases = [(16.0, "16"), (1.25, "1.25"), (25.3125, "25.3125"), (0.1, "0.1"), (-2.5, "-2.5"), (1 / 3, "0.3333333333333333"),
             (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e-7, "1.5e-7"), (1e-6, "0.000001"), (5e-324, "5e-324"),
             (2.0 ** 53, "9007199254740992"), (123456789.125, "123456789.125"), (1e100, "1e+100"), (0.0, "0"), (-0.0, "-0"),
             (float("nan"), '"NaN"'), (float("inf"), '"+Inf"'), (float("-inf"), '"-Inf"')]
    for value, expected in cases:
        assert calcapp.go_float(value) == expected, (value, calcapp.go_float(value), expected)
    assert calcapp.go_json({"a": [1.0, "x<y&z"], "b": None}) == '{"a":[1,"x\\u003cy\\u0026z"],"b":null}'
    assert calcapp.zap_fields({"req": {"inputs": [10.0]}}) == '{"req": {"inputs":[10]}}'


def check_kustomize():
    """``kubectl kustomize config/default`` renders the CRDs, RBAC and the controller Deployment."""
    kubectl = os.environ.get("OKL_KUBECTL") or (KUBECTL_CACHE if os.access(KUBECTL_CACHE, os.X_OK) else shutil.which("kubectl"))
    if not kubectl:
        raise Skip("no kubectl (set OKL_KUBECTL)")
    out = subprocess.run([kubectl, "kustomize", CONFIG_DEFAULT], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in out.stdout.split("\n---\n") if d.strip()]
    kinds = sorted(re.search(r"^kind: (\S+)$", d, re.M).group(1) for d in docs)
    assert kinds == sorted(["Namespace", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
                            "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"]), kinds
    text = out.stdout
    for crd in ("dataflows", "functionchains", "functiontypes", "cpufunctions"):
        assert "name: %s.example.com" % crd in text, crd
    for needle in ("name: whitebox-k8s-flowctrl-system", "name: whitebox-k8s-flowctrl-controller-manager",
                   "namespace: whitebox-k8s-flowctrl-system", "image: localhost/whitebox-k8s-flowctrl:latest",
                   "serviceAccountName: whitebox-k8s-flowctrl-controller-manager", "name: whitebox-k8s-flowctrl-manager-role",
                   "jsonPath: .status.status", "x-kubernetes-preserve-unknown-fields: true", "- /standin-controller.py",
                   "- /tmp/ready", "imagePullPolicy: IfNotPresent"):
        assert needle in text, "kustomize output lacks %r" % needle


def check_calc_chain():
    """plus -> minus -> multiply -> divide -> average_results -> receiver as local servers; the
    client (send) gives 10 2 4 and the receiver's log line is compared character for character."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = Processes(tmp)
        try:
            ports = [free_port() for _op in CHAIN]
            servers = {}
            for i, op in enumerate(CHAIN):
                config = os.path.join(tmp, op + ".yaml")
                if i + 1 < len(CHAIN):
                    write_config(config, ports[i + 1])
                servers[op] = procs.server(op, op, ports[i], config)
            send_config = os.path.join(tmp, "send.yaml")
            write_config(send_config, ports[0])

            run = client([10, 2, 4], config=send_config)
            assert run.returncode == 0, "client: rc %d %s %s" % (run.returncode, run.stdout, run.stderr)
            got = request_lines(read(servers["receiver"].log))
            expected = ('{"req": {"inputs":[10,2,4],"results":[{"operator":"plus","value":16},{"operator":"minus","value":4},'
                        '{"operator":"multiply","value":80},{"operator":"divide","value":1.25},{"operator":"average","value":25.3125}]}}')
            assert got == [expected], "receiver logged %r" % got
            assert request_lines(read(servers["plus"].log)) == ['{"req": {"inputs":[10,2,4]}}']
            assert request_lines(read(servers["divide"].log))[-1].endswith('{"operator":"multiply","value":80}]}}')

            # Go's omitempty (a 0 value is left out), IEEE division by zero, NaN/Inf spelled as strings.
            assert client([5, 0], host="127.0.0.1", port=ports[0]).returncode == 0
            assert client([0, 0], host="127.0.0.1", port=ports[0]).returncode == 0
            assert client([7], host="127.0.0.1", port=ports[0]).returncode == 0
            got = request_lines(read(servers["receiver"].log))[1:]
            assert got == [
                '{"req": {"inputs":[5,0],"results":[{"operator":"plus","value":5},{"operator":"minus","value":5},'
                '{"operator":"multiply"},{"operator":"divide","value":"+Inf"},{"operator":"average","value":"+Inf"}]}}',
                '{"req": {"inputs":[0,0],"results":[{"operator":"plus"},{"operator":"minus"},{"operator":"multiply"},'
                '{"operator":"divide","value":"NaN"},{"operator":"average","value":"NaN"}]}}',
                '{"req": {"inputs":[7],"results":[{"operator":"plus"},{"operator":"minus"},{"operator":"multiply"},'
                '{"operator":"divide"},{"operator":"average"}]}}',
            ], "receiver logged %r" % got

            # The config file not there yet: the request waits for it (the sidecar writes it late).
            os.remove(os.path.join(tmp, "plus.yaml"))
            late = subprocess.Popen([sys.executable, CALCAPP, "-host", "127.0.0.1", "-port", str(ports[0]), "8", "2"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, CALCAPP_CONNECT_RETRY_SECONDS="5"))
            time.sleep(1.0)
            write_config(os.path.join(tmp, "plus.yaml"), ports[1])
            _out, err = late.communicate(timeout=30)
            assert late.returncode == 0, err
            assert request_lines(read(servers["receiver"].log))[-1].startswith('{"req": {"inputs":[8,2],"results":[{"operator":"plus","value":10}')

            # A broken link: the first function answers ERROR, so the client fails (exit 1, stderr).
            write_config(os.path.join(tmp, "average_results.yaml"), free_port())
            run = client([1, 2], host="127.0.0.1", port=ports[0])
            assert run.returncode == 1 and "ERROR" in run.stderr, (run.returncode, run.stderr)
            # Nothing listening at all: exit 1 after the retry time.
            run = client([1, 2], host="127.0.0.1", port=free_port(), retry="0.5")
            assert run.returncode == 1 and "failed" in run.stderr, (run.returncode, run.stderr)
            # Usage errors.
            assert client([]).returncode == 1
            bad = subprocess.run([sys.executable, CALCAPP, "-server", "-operator", "modulo"],
                                 check=False, capture_output=True, text=True, timeout=30)
            assert bad.returncode == 1 and "operator" in bad.stderr
        finally:
            procs.stop()


class FakeConfigMapApi(http.server.ThreadingHTTPServer):
    """Serves GET /api/v1/namespaces/<ns>/configmaps/<name> from ``self.configmaps``; checks the token."""

    daemon_threads = True

    def __init__(self, token):
        super().__init__(("127.0.0.1", 0), FakeConfigMapHandler)
        self.token = token
        self.configmaps = {}
        self.requests = 0


class FakeConfigMapHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.requests += 1
        if self.headers.get("Authorization") != "Bearer " + self.server.token:
            return self.reply(401, {"kind": "Status", "code": 401})
        match = re.match(r"^/api/v1/namespaces/([^/]+)/configmaps/([^/]+)$", self.path)
        cm = self.server.configmaps.get(match.groups()) if match else None
        if cm is None:
            return self.reply(404, {"kind": "Status", "code": 404})
        return self.reply(200, cm)


def check_sidecar_reload():
    """The sidecar copies ConfigMap <HOSTNAME>-next into the config file and SIGHUPs the function:
    the plus server then forwards to the new address without a restart. A ``bash -c`` process
    whose argument merely contains the name is not signalled."""
    with tempfile.TemporaryDirectory() as tmp:
        procs = Processes(tmp)
        api = FakeConfigMapApi("t0ken")
        threading.Thread(target=api.serve_forever, daemon=True).start()
        try:
            sa_dir = os.path.join(tmp, "sa")
            os.mkdir(sa_dir)
            with open(os.path.join(sa_dir, "token"), "w") as f:
                f.write("t0ken\n")
            r1_port, r2_port, plus_port = free_port(), free_port(), free_port()
            plus_config = os.path.join(tmp, "plus.yaml")
            write_config(plus_config, r1_port)
            r1 = procs.server("r1", "receiver", r1_port, os.path.join(tmp, "r1.yaml"))
            r2 = procs.server("r2", "receiver", r2_port, os.path.join(tmp, "r2.yaml"))
            plus = procs.server("plus", "plus", plus_port, plus_config)
            wrapper = procs.start("wrapper", ["bash", "-c", "sleep 60; echo " + CALCAPP])

            assert client([1, 2], host="127.0.0.1", port=plus_port).returncode == 0
            assert len(request_lines(read(r1.log))) == 1

            sidecar = procs.start("sidecar", [sys.executable, SIDECAR], {
                "SIDECAR_API_URL": "http://127.0.0.1:%d" % api.server_address[1], "SIDECAR_SA_DIR": sa_dir,
                "SIDECAR_NAMESPACE": "okl-test", "HOSTNAME": "df-x-wbfunction-plus-cpu-pod",
                "SIDECAR_MNG_PROSESS_NAME": CALCAPP, "CALCAPP_CONFIG": plus_config, "SIDECAR_POLL_SECONDS": "0.2"})
            wait_for(lambda: api.requests >= 2, 10, "the sidecar polling")
            assert read(plus_config) == 'next:\n  host: "127.0.0.1"\n  port: %d\n' % r1_port, "config changed without a ConfigMap"

            new = "next:\n  host: localhost\n  port: %d\n" % r2_port
            api.configmaps[("okl-test", "df-x-wbfunction-plus-cpu-pod-next")] = {"kind": "ConfigMap", "data": {"config.yaml": new}}
            wait_for(lambda: read(plus_config) == new, 10, "the sidecar writing the config")
            wait_for(lambda: "config reloaded" in read(plus.log), 10, "plus logging the SIGHUP")
            assert "SIGHUP sent" in read(sidecar.log) and '"pid": %d' % plus.pid in read(sidecar.log), read(sidecar.log)
            assert wrapper.poll() is None, "the bash -c wrapper was signalled"
            assert not [n for n in os.listdir(tmp) if n.startswith(".config-")], "temporary file left behind"

            assert client([3, 4], host="127.0.0.1", port=plus_port).returncode == 0
            assert request_lines(read(r2.log)) == ['{"req": {"inputs":[3,4],"results":[{"operator":"plus","value":7}]}}']
            assert len(request_lines(read(r1.log))) == 1
            assert plus.poll() is None and sidecar.poll() is None

            # Same content again: no rewrite, no second signal.
            signals = read(sidecar.log).count("SIGHUP sent")
            time.sleep(0.6)
            assert read(sidecar.log).count("SIGHUP sent") == signals
        finally:
            api.shutdown()
            api.server_close()
            procs.stop()


# --- the controller on an in-memory API ---------------------------------------------------------

PATH = re.compile(r"^(/api/v1|/apis/example\.com/v1)(?:/namespaces/([^/]+))?/([^/]+)(?:/([^/]+))?(?:/(status))?$")
PLURALS = {"ConfigMap": "configmaps", "Pod": "pods", "Service": "services", "FunctionType": "functiontypes",
           "FunctionChain": "functionchains", "DataFlow": "dataflows", "CPUFunction": "cpufunctions"}


def merge(target, patch):
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeApi:
    """The controller's API object (get/list/create/merge_patch) over a dict; counts writes."""

    def __init__(self):
        self.objects = {}  # (prefix, namespace, plural, name) -> object
        self.writes = []

    def key(self, path):
        match = PATH.match(path)
        assert match, "unexpected path %s" % path
        return match.groups()

    def get(self, path):
        prefix, ns, plural, name, _sub = self.key(path)
        return copy.deepcopy(self.objects.get((prefix, ns, plural, name)))

    def list(self, path):
        prefix, ns, plural, name, _sub = self.key(path)
        assert name is None
        return [copy.deepcopy(o) for (p, n, pl, _name), o in sorted(self.objects.items()) if p == prefix and pl == plural and ns in (None, n)]

    def create(self, path, obj):
        prefix, ns, plural, name, _sub = self.key(path)
        assert name is None and ns == obj["metadata"]["namespace"]
        key = (prefix, ns, plural, obj["metadata"]["name"])
        if key in self.objects:
            return False
        obj = copy.deepcopy(obj)
        obj["metadata"]["uid"] = str(uuid.uuid4())
        if plural == "pods":
            obj["status"] = {"phase": "Pending"}
        self.objects[key] = obj
        self.writes.append(("create", key))
        return True

    def merge_patch(self, path, patch):
        prefix, ns, plural, name, sub = self.key(path)
        obj = self.objects[(prefix, ns, plural, name)]
        if sub == "status":
            patch = {"status": patch.get("status")}
        merge(obj, patch)
        self.writes.append(("patch", (prefix, ns, plural, name), json.dumps(patch, sort_keys=True)))
        return copy.deepcopy(obj)

    def load(self, obj):
        kind = obj["kind"]
        prefix = "/api/v1" if kind in ("ConfigMap", "Pod", "Service") else "/apis/example.com/v1"
        ns = obj["metadata"]["namespace"]
        assert self.create("%s/namespaces/%s/%s" % (prefix, ns, PLURALS[kind]), obj)

    def find(self, plural, ns, name):
        prefix = "/api/v1" if plural in ("configmaps", "pods", "services") else "/apis/example.com/v1"
        return self.objects.get((prefix, ns, plural, name))


def load_module(name, path):
    """Import a program by path, writing no __pycache__ into the source tree."""
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module


def check_controller():
    """The controller's reconcile on the sample data: statuses, the 7 pods, CPUFunctions, Services
    (send's a LoadBalancer) and the 6 "-next" ConfigMaps; Deployed once the pods run; idempotent;
    a missing FunctionChain / FunctionType is logged and the other DataFlows carry on."""
    try:
        import yaml
    except ImportError:
        raise Skip("PyYAML is not installed (needed to read the sample YAML)") from None
    ctl = load_module("standin_controller", CONTROLLER)
    calcapp = load_module("standin_calcapp", CALCAPP)
    api = FakeApi()
    for name in ("cm-cpufunc-config.yaml", "functioninfo.yaml", "functiontype.yaml", "functionchain.yaml", "df-cpufunc.yaml"):
        with open(os.path.join(SAMPLE, name)) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    api.load(doc)
    ns = "cpufunc-calcapp"
    # Two broken DataFlows next to the good one.
    api.load({"apiVersion": "example.com/v1", "kind": "DataFlow", "metadata": {"name": "df-nochain", "namespace": ns},
              "spec": {"functionChainRef": {"name": "no-such-chain", "namespace": ns}}})
    api.load({"apiVersion": "example.com/v1", "kind": "FunctionChain", "metadata": {"name": "chain-notype", "namespace": ns},
              "spec": {"functionTypeNamespace": ns, "functions": {"x": {"functionName": "calcapp-modulo", "version": "1.0.0"}},
                       "connections": []}})
    api.load({"apiVersion": "example.com/v1", "kind": "DataFlow", "metadata": {"name": "df-notype", "namespace": ns},
              "spec": {"functionChainRef": {"name": "chain-notype"}}})

    controller = ctl.Controller(api)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        controller.poll()
    logged = out.getvalue()
    assert "ERROR\tFunctionChain %s/no-such-chain not found" % ns in logged, logged
    assert "no FunctionType with functionName 'calcapp-modulo'" in logged, logged

    for ft in ("send", "plus", "minus", "multiply", "divide", "average-results", "rcv"):
        assert api.find("functiontypes", ns, "functype-calcapp-" + ft)["status"] == {"status": ctl.FUNCTION_TYPE_READY}
    assert api.find("functionchains", ns, "calcapp-chain")["status"] == {"status": ctl.FUNCTION_CHAIN_READY}
    df = api.find("dataflows", ns, "df-calcapp")
    assert df["status"]["status"] == ctl.DATAFLOW_DEPLOYING, df["status"]
    assert (api.find("dataflows", ns, "df-nochain").get("status") or {}).get("status") is None

    keys = ["send", "plus", "minus", "multiply", "divide", "average", "rcv"]
    operators = {"plus": "plus", "minus": "minus", "multiply": "multiply", "divide": "divide", "average": "average_results", "rcv": "receiver"}
    owner = [{"apiVersion": "example.com/v1", "kind": "DataFlow", "name": "df-calcapp", "uid": df["metadata"]["uid"],
              "controller": True, "blockOwnerDeletion": True}]
    pods = sorted(n for (p, n_, pl, n) in api.objects if pl == "pods")
    assert pods == sorted("df-calcapp-wbfunction-%s-cpu-pod" % k for k in keys), pods
    for key in keys:
        base = "df-calcapp-wbfunction-" + key
        pod = api.find("pods", ns, base + "-cpu-pod")
        assert pod["metadata"]["ownerReferences"] == owner
        assert pod["metadata"]["labels"] == {"swb/func-name": base + "-cpu-pod", "okl-standin/dataflow": "df-calcapp"}
        assert pod["metadata"]["annotations"] == {"ethernet.swb.example.com/network": "clusterip"}
        assert pod["spec"]["shareProcessNamespace"] is True
        app, sidecar = pod["spec"]["containers"]
        for container in (app, sidecar):
            assert container["imagePullPolicy"] == "IfNotPresent"
            assert {"name": "SIDECAR_MNG_PROSESS_NAME", "value": "/calcapp"} in container["env"]
        assert sidecar["command"] == ["/sidecar"] and sidecar["image"] == "localhost/cpufunc_sidecar:latest"
        assert app["image"] == "localhost/cpufunc_calcapp:latest" and app["command"][:2] == ["bash", "-c"]
        run = app["command"][2].split("; ", 1)
        assert run[0] == "cp /config.yaml.tmpl /config/config.yaml.tmpl", run
        if key == "send":
            assert run[1] == "tail -F /dev/null"
        else:
            argv = run[1].split()
            assert argv[0] == "/calcapp"
            opts, rest = calcapp.parse_args(argv[1:])
            assert opts == {"server": True, "port": 8080, "host": "", "operator": operators[key]} and rest == [], (key, opts)

        fn = api.find("cpufunctions", ns, base)
        assert fn["spec"] == {"functionName": "calcapp-" + ("average-results" if key == "average" else key), "podName": base + "-cpu-pod"}
        assert fn["status"] == {"status": ctl.CPUFUNCTION_PENDING} and fn["metadata"]["ownerReferences"] == owner

        svc = api.find("services", ns, base + "-service")
        assert svc["spec"] == {"type": "LoadBalancer" if key == "send" else "ClusterIP", "selector": {"swb/func-name": base + "-cpu-pod"},
                               "ports": [{"name": "p8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}]}, svc
        assert svc["metadata"]["ownerReferences"] == owner

    nexts = sorted(n for (p, n_, pl, n) in api.objects if pl == "configmaps" and n.endswith("-next"))
    assert nexts == sorted("df-calcapp-wbfunction-%s-cpu-pod-next" % k for k in keys[:-1]), nexts
    for src, dst in zip(keys[:-1], keys[1:], strict=True):
        cm = api.find("configmaps", ns, "df-calcapp-wbfunction-%s-cpu-pod-next" % src)
        assert cm["data"] == {"config.yaml": "next:\n  host: df-calcapp-wbfunction-%s-service.%s.svc.cluster.local\n  port: 8080\n" % (dst, ns)}
        assert cm["metadata"]["ownerReferences"] == owner
        # calcapp reads what the sidecar copies from it.
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(cm["data"]["config.yaml"])
            f.flush()
            assert calcapp.load_config(f.name) == ("df-calcapp-wbfunction-%s-service.%s.svc.cluster.local" % (dst, ns), 8080)

    # Second pass with nothing changed: no new object, no write at all beyond the first pass.
    writes = len(api.writes)
    with contextlib.redirect_stdout(io.StringIO()):
        controller.poll()
    assert len(api.writes) == writes, api.writes[writes:]

    # Pods run: CPUFunctions Running, DataFlow Deployed; later passes leave it alone.
    for key in keys[:-1]:
        api.find("pods", ns, "df-calcapp-wbfunction-%s-cpu-pod" % key)["status"]["phase"] = "Running"
    with contextlib.redirect_stdout(io.StringIO()):
        controller.poll()
    assert api.find("dataflows", ns, "df-calcapp")["status"]["status"] == ctl.DATAFLOW_DEPLOYING, "Deployed before every pod ran"
    api.find("pods", ns, "df-calcapp-wbfunction-rcv-cpu-pod")["status"]["phase"] = "Running"
    with contextlib.redirect_stdout(io.StringIO()):
        controller.poll()
    assert api.find("dataflows", ns, "df-calcapp")["status"]["status"] == ctl.DATAFLOW_DEPLOYED
    for key in keys:
        assert api.find("cpufunctions", ns, "df-calcapp-wbfunction-" + key)["status"]["status"] == ctl.CPUFUNCTION_RUNNING
    writes = len(api.writes)
    with contextlib.redirect_stdout(io.StringIO()):
        controller.poll()
    assert len(api.writes) == writes, api.writes[writes:]


CHECKS = [
    ("py_compile", check_py_compile),
    ("executables", check_executables),
    ("go_json", check_go_json),
    ("kustomize", check_kustomize),
    ("calc_chain", check_calc_chain),
    ("sidecar_reload", check_sidecar_reload),
    ("controller", check_controller),
]


def main(argv=None):
    names = (sys.argv[1:] if argv is None else argv) or [name for name, _check in CHECKS]
    failed = 0
    for name, check in CHECKS:
        if name not in names:
            continue
        start = time.monotonic()
        try:
            check()
            print("PASS %s (%.1fs)" % (name, time.monotonic() - start))
        except Skip as err:
            print("SKIP %s: %s" % (name, err))
        except Exception as err:  # report every check, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(err).__name__, err))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
