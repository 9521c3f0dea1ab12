# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Stand-in for the OpenKasugai controllers, for the end-to-end test (tests/e2e/controller/README.md).

The real controllers (whitebox-k8s-flowctrl, the CPU function and Ethernet connection controllers)
cannot be built in the test environment. This one program does, by polling the API server once a
second, the part of their work the arithmetic scenario of seed 002 needs:

* FunctionType, FunctionChain: status.status set to FUNCTION_TYPE_READY / FUNCTION_CHAIN_READY.
* DataFlow: for each function of its FunctionChain, the FunctionType -> function info ConfigMap ->
  function config ConfigMap is followed to the Pod template, and in the DataFlow's namespace are
  created: the Pod ``<df>-wbfunction-<key>-cpu-pod``, a CPUFunction ``<df>-wbfunction-<key>``, the
  Service ``<df>-wbfunction-<key>-service`` (LoadBalancer for the first function, ClusterIP for the
  others) and, for every connection A -> B, the ConfigMap ``<df>-wbfunction-<A>-cpu-pod-next`` that
  gives A the address of B (read by the function's sidecar). Everything is owned by the DataFlow, so
  deleting it garbage-collects the rest. The DataFlow becomes DATAFLOW_DEPLOYED once every pod runs.

Python 3.11 standard library only; in-cluster service-account credentials.
"""

import copy
import datetime
import json
import os
import ssl
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

FUNCTION_TYPE_READY = "Ready"
FUNCTION_CHAIN_READY = "Ready"
DATAFLOW_DEPLOYING = "Deploying"
DATAFLOW_DEPLOYED = "Deployed"
CPUFUNCTION_PENDING = "Pending"
CPUFUNCTION_RUNNING = "Running"

POLL_SECONDS = 1.0
READY_FILE = os.environ.get("STANDIN_READY_FILE", "/tmp/ready")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
FUNCTION_CONFIG_NAMESPACE = "default"
START_OF_CHAIN = "wb-start-of-chain"
END_OF_CHAIN = "wb-end-of-chain"
GROUP_VERSION = "example.com/v1"


def log(level, msg, **fields):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    extra = ("\t" + json.dumps(fields, sort_keys=True, default=str)) if fields else ""
    sys.stdout.write("%s\t%s\t%s%s\n" % (stamp, level, msg, extra))
    sys.stdout.flush()


class ApiError(Exception):
    def __init__(self, code, method, path, body):
        super().__init__("%s %s: HTTP %s %s" % (method, path, code, body[:300]))
        self.code = code


class KubeApi:
    """The few REST calls the controller makes, over urllib with the pod's service account."""

    def __init__(self, base_url, token_file=None, ca_file=None, timeout=10):
        self.base_url = base_url.rstrip("/")
        self.token_file = token_file
        self.timeout = timeout
        self.context = None
        if self.base_url.startswith("https://"):
            self.context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()

    @classmethod
    def in_cluster(cls):
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise SystemExit("KUBERNETES_SERVICE_HOST is not set: not running in a pod")
        if ":" in host:
            host = "[%s]" % host
        return cls("https://%s:%s" % (host, port), os.path.join(SA_DIR, "token"), os.path.join(SA_DIR, "ca.crt"))

    def request(self, method, path, body=None, content_type="application/json"):
        headers = {"Accept": "application/json"}
        if self.token_file and os.path.exists(self.token_file):
            with open(self.token_file) as f:  # re-read: projected tokens rotate
                headers["Authorization"] = "Bearer " + f.read().strip()
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, method, path, err.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else {}

    def get(self, path):
        """The object, or None when it does not exist."""
        try:
            return self.request("GET", path)
        except ApiError as err:
            if err.code == 404:
                return None
            raise

    def list(self, path):
        return self.request("GET", path).get("items") or []

    def create(self, path, obj):
        """Create; an object that already exists (409) is not an error. Returns True when created."""
        try:
            self.request("POST", path, obj)
            return True
        except ApiError as err:
            if err.code == 409:
                return False
            raise

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, "application/merge-patch+json")


# --- paths ---------------------------------------------------------------------------------

def cr_path(plural, namespace=None, name=None, sub=None):
    path = "/apis/example.com/v1"
    if namespace:
        path += "/namespaces/" + urllib.parse.quote(namespace)
    path += "/" + plural
    if name:
        path += "/" + urllib.parse.quote(name)
    if sub:
        path += "/" + sub
    return path


def core_path(plural, namespace, name=None):
    path = "/api/v1/namespaces/%s/%s" % (urllib.parse.quote(namespace), plural)
    if name:
        path += "/" + urllib.parse.quote(name)
    return path


def status_of(obj):
    return (obj.get("status") or {}).get("status")


def meta(obj):
    return obj.get("metadata") or {}


class ConfigError(Exception):
    """Something a DataFlow needs is missing or malformed; the DataFlow waits for the next poll."""


# --- reconcilers ---------------------------------------------------------------------------

class Controller:
    def __init__(self, api):
        self.api = api
        self.last_errors = {}  # object -> last error logged, so a persisting error is logged once

    def error(self, key, msg):
        if self.last_errors.get(key) != msg:
            log("ERROR", msg, object=key)
            self.last_errors[key] = msg

    def clear_error(self, key):
        self.last_errors.pop(key, None)

    def poll(self):
        """One pass over every FunctionType, FunctionChain and DataFlow. Raises when a list fails."""
        function_types = self.api.list(cr_path("functiontypes"))
        function_chains = self.api.list(cr_path("functionchains"))
        dataflows = self.api.list(cr_path("dataflows"))
        for plural, items, ready in (("functiontypes", function_types, FUNCTION_TYPE_READY),
                                     ("functionchains", function_chains, FUNCTION_CHAIN_READY)):
            for obj in items:
                if status_of(obj) != ready and not meta(obj).get("deletionTimestamp"):
                    self.set_status(plural, obj, ready)
        for df in dataflows:
            key = "dataflow %s/%s" % (meta(df).get("namespace"), meta(df).get("name"))
            if status_of(df) == DATAFLOW_DEPLOYED or meta(df).get("deletionTimestamp"):
                continue
            try:
                self.reconcile_dataflow(df)
                self.clear_error(key)
            except ConfigError as err:
                self.error(key, str(err))
            except Exception as err:  # carry on with the other DataFlows
                self.error(key, "%s: %s" % (type(err).__name__, err))
        return len(function_types), len(function_chains), len(dataflows)

    def set_status(self, plural, obj, value):
        m = meta(obj)
        self.api.merge_patch(cr_path(plural, m["namespace"], m["name"], "status"), {"status": {"status": value}})
        log("INFO", "status set", kind=obj.get("kind") or plural, namespace=m["namespace"], name=m["name"], status=value)

    # A DataFlow -------------------------------------------------------------------------

    def function_config(self, ft_namespace, key, function, function_types):
        """The first entry of the function config (template, envs, Annotations) of one chain function."""
        name = function.get("functionName")
        candidates = [ft for ft in function_types if (ft.get("spec") or {}).get("functionName") == name]
        if not candidates:
            raise ConfigError("function %r: no FunctionType with functionName %r in namespace %s" % (key, name, ft_namespace))
        same_version = [ft for ft in candidates if (ft.get("spec") or {}).get("version") == function.get("version")]
        ft = (same_version or candidates)[0]
        ref = (ft.get("spec") or {}).get("functionInfoCMRef") or {}
        if not ref.get("name"):
            raise ConfigError("FunctionType %s: spec.functionInfoCMRef.name is missing" % meta(ft).get("name"))
        info_ns = ref.get("namespace") or ft_namespace
        info = self.api.get(core_path("configmaps", info_ns, ref["name"]))
        if info is None:
            raise ConfigError("function info ConfigMap %s/%s not found" % (info_ns, ref["name"]))
        try:
            items = json.loads((info.get("data") or {}).get("deployableItems") or "[]")
            config_name = items[0]["configName"]
        except (ValueError, LookupError, TypeError) as err:
            raise ConfigError("ConfigMap %s/%s: data.deployableItems[0].configName unreadable (%s)" % (info_ns, ref["name"], err)) from None
        config = self.api.get(core_path("configmaps", FUNCTION_CONFIG_NAMESPACE, config_name))
        if config is None:
            raise ConfigError("function config ConfigMap %s/%s not found" % (FUNCTION_CONFIG_NAMESPACE, config_name))
        data = config.get("data") or {}
        text = data.get(config_name + ".json")
        if text is None:
            json_keys = [k for k in data if k.endswith(".json")]
            if len(json_keys) != 1:
                raise ConfigError("ConfigMap %s/%s has no key %s.json" % (FUNCTION_CONFIG_NAMESPACE, config_name, config_name))
            text = data[json_keys[0]]
        try:
            entry = json.loads(text)[0]
            template = entry["template"]
            template["spec"]["containers"]
        except (ValueError, LookupError, TypeError) as err:
            raise ConfigError("ConfigMap %s/%s: [0].template.spec.containers unreadable (%s)" % (FUNCTION_CONFIG_NAMESPACE, config_name, err)) from None
        return entry

    def reconcile_dataflow(self, df):
        m = meta(df)
        ns, df_name = m["namespace"], m["name"]
        ref = (df.get("spec") or {}).get("functionChainRef") or {}
        if not ref.get("name"):
            raise ConfigError("spec.functionChainRef.name is missing")
        chain_ns = ref.get("namespace") or ns
        chain = self.api.get(cr_path("functionchains", chain_ns, ref["name"]))
        if chain is None:
            raise ConfigError("FunctionChain %s/%s not found" % (chain_ns, ref["name"]))
        spec = chain.get("spec") or {}
        functions = spec.get("functions") or {}
        connections = spec.get("connections") or []
        if not functions:
            raise ConfigError("FunctionChain %s/%s has no functions" % (chain_ns, ref["name"]))
        ft_ns = spec.get("functionTypeNamespace") or chain_ns
        function_types = self.api.list(cr_path("functiontypes", ft_ns))
        configs = {key: self.function_config(ft_ns, key, fn or {}, function_types) for key, fn in functions.items()}

        if status_of(df) != DATAFLOW_DEPLOYING:
            self.set_status("dataflows", df, DATAFLOW_DEPLOYING)

        owner = {"apiVersion": GROUP_VERSION, "kind": "DataFlow", "name": df_name, "uid": m["uid"],
                 "controller": True, "blockOwnerDeletion": True}
        first = {c["to"]["functionKey"] for c in connections if (c.get("from") or {}).get("functionKey") == START_OF_CHAIN and c.get("to")}
        ports = {key: container_ports(configs[key]["template"]) for key in functions}

        running = True
        for key in functions:
            base = "%s-wbfunction-%s" % (df_name, key)
            pod_name = base + "-cpu-pod"
            pod = self.ensure(core_path("pods", ns), core_path("pods", ns, pod_name),
                              lambda k=key, p=pod_name: build_pod(p, ns, df_name, configs[k], owner), m["uid"])
            pod_running = (pod is not None and (pod.get("status") or {}).get("phase") == "Running"
                           and owned_by(pod, m["uid"]) and not meta(pod).get("deletionTimestamp"))
            running = running and pod_running

            fn = self.ensure(cr_path("cpufunctions", ns), cr_path("cpufunctions", ns, base),
                             lambda k=key, b=base, p=pod_name: build_cpufunction(b, ns, functions[k], p, owner), m["uid"])
            if fn is not None and owned_by(fn, m["uid"]):
                want = CPUFUNCTION_RUNNING if pod_running else CPUFUNCTION_PENDING
                if status_of(fn) != want:
                    self.set_status("cpufunctions", fn, want)

            if ports[key]:
                service_type = "LoadBalancer" if key in first else "ClusterIP"
                self.ensure(core_path("services", ns), core_path("services", ns, base + "-service"),
                            lambda b=base, p=pod_name, k=key, t=service_type: build_service(b + "-service", ns, p, ports[k], t, owner),
                            m["uid"])
            else:
                self.error("service " + base, "function %r: the template declares no containerPort, no Service created" % key)

        for conn in connections:
            src = (conn.get("from") or {}).get("functionKey")
            dst = (conn.get("to") or {}).get("functionKey")
            if src in (START_OF_CHAIN, END_OF_CHAIN) or dst in (START_OF_CHAIN, END_OF_CHAIN):
                continue
            if src not in functions or dst not in functions:
                self.error("connection %s->%s" % (src, dst), "connection %s -> %s names a function the chain lacks" % (src, dst))
                continue
            if not ports[dst]:
                continue
            name = "%s-wbfunction-%s-cpu-pod-next" % (df_name, src)
            host = "%s-wbfunction-%s-service.%s.svc.cluster.local" % (df_name, dst, ns)
            data = {"config.yaml": "next:\n  host: %s\n  port: %d\n" % (host, ports[dst][0][0])}
            cm = self.ensure(core_path("configmaps", ns), core_path("configmaps", ns, name),
                             lambda n=name, d=data: build_configmap(n, ns, d, df_name, owner), m["uid"])
            if cm is not None and owned_by(cm, m["uid"]) and cm.get("data") != data:
                self.api.merge_patch(core_path("configmaps", ns, name), {"data": data})
                log("INFO", "updated", kind="ConfigMap", namespace=ns, name=name, data=data)

        if running:
            self.set_status("dataflows", df, DATAFLOW_DEPLOYED)

    def ensure(self, collection, path, build, owner_uid):
        """The object at ``path``; created from ``build()`` when absent (the new object is returned)."""
        obj = self.api.get(path)
        if obj is not None:
            if not owned_by(obj, owner_uid):
                self.error(path, "%s exists but belongs to another owner (an earlier DataFlow being deleted?): waiting" % path)
            return obj
        new = build()
        if self.api.create(collection, new):
            log("INFO", "created", kind=new["kind"], namespace=new["metadata"]["namespace"], name=new["metadata"]["name"])
        return self.api.get(path)


def owned_by(obj, uid):
    return any(ref.get("uid") == uid for ref in meta(obj).get("ownerReferences") or [])


def container_ports(template):
    """``[(port, protocol)]`` of every container of the Pod template, in order, without repeats."""
    out = []
    for container in (template.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            item = (int(port["containerPort"]), port.get("protocol") or "TCP")
            if item not in out:
                out.append(item)
    return out


def build_pod(name, namespace, dataflow, config, owner):
    template = copy.deepcopy(config["template"])
    spec = template.get("spec") or {}
    envs = config.get("envs") or {}
    for container in spec.get("containers") or []:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        env = container.setdefault("env", [])
        present = {e.get("name") for e in env}
        env.extend({"name": k, "value": str(v)} for k, v in envs.items() if k not in present)
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update({"swb/func-name": name, "okl-standin/dataflow": dataflow})
    annotations = dict(tmeta.get("annotations") or {})
    annotations.update({k: str(v) for k, v in (config.get("Annotations") or {}).items()})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations,
                         "ownerReferences": [owner]},
            "spec": spec}


def build_cpufunction(name, namespace, function, pod_name, owner):
    return {"apiVersion": GROUP_VERSION, "kind": "CPUFunction",
            "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
            "spec": {"functionName": function.get("functionName"), "podName": pod_name}}


def build_service(name, namespace, pod_name, ports, service_type, owner):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "ownerReferences": [owner]},
            "spec": {"type": service_type, "selector": {"swb/func-name": pod_name},
                     "ports": [{"name": "p%d" % port, "port": port, "targetPort": port, "protocol": proto}
                               for port, proto in ports]}}


def build_configmap(name, namespace, data, dataflow, owner):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {"okl-standin/dataflow": dataflow},
                         "ownerReferences": [owner]},
            "data": data}


def main():
    api = KubeApi.in_cluster()
    controller = Controller(api)
    log("INFO", "stand-in controller started", api=api.base_url, poll_seconds=POLL_SECONDS)
    ready = False
    last_counts = None
    while True:
        try:
            counts = controller.poll()
            controller.clear_error("poll")
            if counts != last_counts:
                log("INFO", "poll", functiontypes=counts[0], functionchains=counts[1], dataflows=counts[2])
                last_counts = counts
            if not ready:
                with open(READY_FILE, "w") as f:
                    f.write("ready\n")
                ready = True
                log("INFO", "ready: the first poll listed every resource")
        except Exception as err:
            controller.error("poll", "poll failed: %s: %s" % (type(err).__name__, err))
            if not isinstance(err, (ApiError, OSError)):
                traceback.print_exc(file=sys.stdout)
                sys.stdout.flush()
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
