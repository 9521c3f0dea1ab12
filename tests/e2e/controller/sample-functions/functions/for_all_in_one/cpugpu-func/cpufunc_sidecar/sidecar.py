#!/usr/bin/env python3
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Stand-in for the function sidecar of seed 002 (tests/e2e/controller/README.md).

Every second: GET the ConfigMap ``$HOSTNAME-next`` (the pod name) in the pod's own namespace (in-cluster API,
service-account token: the namespace's default service account needs the ``view`` ClusterRole).
When its ``config.yaml`` differs from the config file (/config/config.yaml, the emptyDir shared
with the function) the file is replaced atomically (temporary file + rename) and SIGHUP is sent to
the function's process: every process (shareProcessNamespace) that has an argument equal to
$SIDECAR_MNG_PROSESS_NAME, e.g. ``python3 /calcapp -server ...``; the ``bash -c "...; /calcapp
..."`` wrapper, whose argument only contains the name, is left alone (SIGHUP would end it). No
process found is not an error.

Test hooks (environment): SIDECAR_API_URL (instead of https://$KUBERNETES_SERVICE_HOST:PORT; http
allowed), SIDECAR_SA_DIR (service-account directory), SIDECAR_NAMESPACE, SIDECAR_CONFIGMAP,
CALCAPP_CONFIG (the config file), SIDECAR_POLL_SECONDS.
"""

import datetime
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SA_DIR = os.environ.get("SIDECAR_SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
CONFIG_FILE = os.environ.get("CALCAPP_CONFIG", "/config/config.yaml")
POLL_SECONDS = float(os.environ.get("SIDECAR_POLL_SECONDS", "1"))
CONFIG_KEY = "config.yaml"


def log(level, msg, **fields):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    extra = ("\t" + json.dumps(fields, sort_keys=True)) if fields else ""
    sys.stdout.write("%s\t%s\tsidecar/main.py\t%s%s\n" % (stamp, level, msg, extra))
    sys.stdout.flush()


def api_base():
    url = os.environ.get("SIDECAR_API_URL")
    if url:
        return url.rstrip("/")
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise SystemExit("sidecar: KUBERNETES_SERVICE_HOST is not set and no SIDECAR_API_URL")
    if ":" in host:
        host = "[%s]" % host
    return "https://%s:%s" % (host, port)


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def get_configmap(base, namespace, name, context):
    """The ConfigMap object, or None when it does not exist (yet)."""
    headers = {"Accept": "application/json"}
    token = read_file(os.path.join(SA_DIR, "token"))  # re-read: projected tokens rotate
    if token:
        headers["Authorization"] = "Bearer " + token.strip()
    url = "%s/api/v1/namespaces/%s/configmaps/%s" % (base, urllib.parse.quote(namespace), urllib.parse.quote(name))
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise RuntimeError("GET %s: HTTP %s %s" % (url, err.code, err.read().decode(errors="replace")[:300])) from None


def write_atomically(path, text):
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def find_processes(name):
    """PIDs of the processes with an argument equal to ``name`` (this process excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if name.encode() in argv:
            found.append(int(entry))
    return sorted(found)


def signal_processes(name):
    pids = find_processes(name) if name else []
    if not pids:
        log("INFO", "process not found", prosessName=name)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGHUP)
            log("INFO", "SIGHUP sent", pid=pid, prosessName=name)
        except OSError as err:
            log("ERROR", "send signal failed", pid=pid, error=str(err))


def sync_once(base, namespace, name, context, process_name):
    """Fetch the ConfigMap; rewrite the config and signal when it changed. Returns True when it did."""
    cm = get_configmap(base, namespace, name, context)
    if cm is None:
        return None
    wanted = (cm.get("data") or {}).get(CONFIG_KEY)
    if wanted is None:
        raise RuntimeError("ConfigMap %s/%s has no data.%s" % (namespace, name, CONFIG_KEY))
    if read_file(CONFIG_FILE) == wanted:
        return False
    write_atomically(CONFIG_FILE, wanted)
    log("INFO", "config written", path=CONFIG_FILE, configmap="%s/%s" % (namespace, name), config=wanted)
    signal_processes(process_name)
    return True


def main():
    namespace = os.environ.get("SIDECAR_NAMESPACE") or (read_file(os.path.join(SA_DIR, "namespace")) or "").strip()
    if not namespace:
        raise SystemExit("sidecar: no namespace (service-account namespace file or SIDECAR_NAMESPACE)")
    name = os.environ.get("SIDECAR_CONFIGMAP") or (os.environ.get("HOSTNAME") or socket.gethostname()) + "-next"
    process_name = os.environ.get("SIDECAR_MNG_PROSESS_NAME", "")
    base = api_base()
    context = None
    if base.startswith("https://"):
        ca = os.path.join(SA_DIR, "ca.crt")
        context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
    log("INFO", "sidecar started", api=base, namespace=namespace, configmap=name, config=CONFIG_FILE, prosessName=process_name)
    last = None
    while True:
        try:
            changed = sync_once(base, namespace, name, context, process_name)
            state = "waiting" if changed is None else "ok"
            if changed is None and last != state:
                log("INFO", "ConfigMap not found yet", configmap="%s/%s" % (namespace, name))
            last = state
        except Exception as err:  # keep polling: the API server may be restarting
            message = "%s: %s" % (type(err).__name__, err)
            if last != message:
                log("ERROR", "sync failed", error=message)
            last = message
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main()
