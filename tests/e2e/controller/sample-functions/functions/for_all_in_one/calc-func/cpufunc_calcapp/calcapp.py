#!/usr/bin/env python3
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Stand-in for the calcapp function of the OpenKasugai arithmetic scenario (tests/e2e/controller/README.md).

Same command line as the upstream program::

    /calcapp -server -port 8080 -operator <plus|minus|multiply|divide|average_results|receiver>
    /calcapp [-host H -port P] v1 v2 ...      (no -host: next.host/next.port of the config file)

Transport: NOT gRPC. One JSON object per line over TCP, request
``{"inputs": [..], "results": [{"operator", "value"}]}``, reply ``{"status": "OK"}`` (or
``{"status": "ERROR", "error": ...}``). A server other than the receiver appends its result and
forwards the request to the address in the config file (read again for every request, so a new
config applies without a restart; a file not there yet is waited for like a connection), then answers OK only when the next function answered OK: the
client's exit status (0/1) says whether the whole chain was reached.

Every server logs each request, as zap's development console encoder would::

    <UTC time, ms>\tINFO\tcalcapp/main.py:<line>\tstart call Do\t{"req": <request JSON>}

with Go's encoding/json spelling: omitempty ``inputs``/``results``/``operator``/``value``, floats
as Go writes them (16, 1.25, 1e+21), NaN and infinities as the strings "NaN", "+Inf", "-Inf".

CALCAPP_CONFIG overrides the config file (/config/config.yaml), CALCAPP_CONNECT_RETRY_SECONDS the
time connecting to the next function is retried (10). SIGHUP (sent by the sidecar after
it rewrote the config) is logged as "config reloaded".
"""

import datetime
import json
import math
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from decimal import Decimal

CONFIG_FILE = os.environ.get("CALCAPP_CONFIG", "/config/config.yaml")
OPERATORS = ("plus", "minus", "multiply", "divide", "average_results", "receiver")
RESULT_OPERATOR = {"average_results": "average"}  # the name written into the result
CONNECT_RETRY_SECONDS = float(os.environ.get("CALCAPP_CONNECT_RETRY_SECONDS", "10"))
REPLY_TIMEOUT_SECONDS = 120.0
USAGE = """Usage: %s
(server mode) -server -port <port> -operator <operator>
(client mode) [-host <host> -port <port>] <1.0 ...values>
"""

_log_lock = threading.Lock()


# --- zap-shaped logging with Go's JSON spelling ---------------------------------------------

def go_float(value):
    """A float as Go's encoding/json writes it; NaN and infinities as the strings protojson uses."""
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"+Inf"' if value > 0 else '"-Inf"'
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    if 1e-6 <= abs(value) < 1e21:
        return format(Decimal(repr(value)).normalize(), "f")
    text = repr(value)  # shortest digits, exponent form: '1e+21', '1.5e-07'
    mantissa, exponent = text.split("e")
    sign, digits = exponent[0], exponent[1:]
    if sign == "-" and len(digits) == 2 and digits[0] == "0":
        digits = digits[1:]  # encoding/json turns e-07 into e-7
    return "%se%s%s" % (mantissa, sign, digits)


def go_json(obj):
    """Compact JSON as encoding/json writes it (key order kept, HTML characters escaped)."""
    if obj is None:
        return "null"
    if obj is True or obj is False:
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return go_float(obj)
    if isinstance(obj, str):
        text = json.dumps(obj, ensure_ascii=False)
        for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
            text = text.replace(char, escape)
        return text
    if isinstance(obj, dict):
        return "{" + ",".join("%s:%s" % (go_json(str(k)), go_json(v)) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in obj) + "]"
    return go_json(str(obj))


def zap_fields(fields):
    """The context object of a zap console line: top level spaced, values compact."""
    return "{" + ", ".join("%s: %s" % (go_json(k), go_json(v)) for k, v in fields.items()) + "}"


def log(level, msg, fields=None):
    caller = "calcapp/main.py:%d" % sys._getframe(1).f_lineno
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    parts = [stamp, level, caller, msg]
    if fields:
        parts.append(zap_fields(fields))
    with _log_lock:
        sys.stdout.write("\t".join(parts) + "\n")
        sys.stdout.flush()


def request_for_log(req):
    """The request as the Go struct marshals it: empty lists and zero values left out (omitempty)."""
    out = {}
    if req["inputs"]:
        out["inputs"] = list(req["inputs"])
    if req["results"]:
        results = []
        for item in req["results"]:
            entry = {}
            if item["operator"]:
                entry["operator"] = item["operator"]
            if item["value"] != 0:  # NaN != 0, so NaN is kept
                entry["value"] = item["value"]
            results.append(entry)
        out["results"] = results
    return out


# --- arithmetic (IEEE float64, as Go) -------------------------------------------------------

def ieee_divide(a, b):
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


FOLDS = {
    "plus": lambda a, b: a + b,
    "minus": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": ieee_divide,
}


def operate(operator, req):
    """The value one function appends: a left fold of the inputs (0.0 for fewer than two), or the
    mean of the results so far (NaN for none: 0/0)."""
    if operator in FOLDS:
        inputs = req["inputs"]
        if len(inputs) < 2:
            return 0.0
        value = inputs[0]
        for item in inputs[1:]:
            value = FOLDS[operator](value, item)
        return value
    if operator == "average_results":
        total = 0.0
        for item in req["results"]:
            total += item["value"]
        return ieee_divide(total, float(len(req["results"])))
    raise ValueError("operator %r computes nothing" % operator)


def to_float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not a number: %r" % (value,))
    return float(value)  # accepts 'NaN', '+Inf', 'inf' as well


def parse_request(obj):
    if not isinstance(obj, dict):
        raise ValueError("a request is a JSON object")
    inputs = [to_float(v) for v in obj.get("inputs") or []]
    results = []
    for item in obj.get("results") or []:
        if not isinstance(item, dict):
            raise ValueError("a result is a JSON object")
        value = item.get("value")
        results.append({"operator": str(item.get("operator") or ""), "value": 0.0 if value is None else to_float(value)})
    return {"inputs": inputs, "results": results}


# --- config and transport --------------------------------------------------------------------

def load_config(path=None):
    """``(host, port)`` from ``next: {host, port}`` of the config file (a two-level YAML mapping)."""
    path = path or CONFIG_FILE
    with open(path) as f:
        text = f.read()
    host, port, in_next = None, None, False
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, _sep, value = stripped.partition(":")
        key, value = key.strip(), value.split(" #")[0].strip().strip("\"'")
        if raw[:1] not in (" ", "\t"):
            in_next = key == "next"
            continue
        if in_next and key == "host":
            host = value
        elif in_next and key == "port":
            port = int(value)
    if not host or port is None:
        raise ValueError("%s: next.host and next.port are required" % path)
    return host, port


def wait_config():
    """``load_config()``, waiting up to CONNECT_RETRY_SECONDS for the file to appear (the sidecar
    writes it shortly after the pod starts)."""
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    while True:
        try:
            return load_config()
        except FileNotFoundError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.3)


def send(host, port, req):
    """Send one request, return the reply object. Connecting is retried for CONNECT_RETRY_SECONDS."""
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=3)
            break
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.3)
    with sock:
        sock.settimeout(REPLY_TIMEOUT_SECONDS)
        sock.sendall((json.dumps(req) + "\n").encode())
        with sock.makefile("rb") as stream:
            line = stream.readline()
    if not line:
        raise ConnectionError("%s:%d closed the connection without a reply" % (host, port))
    return json.loads(line)


# --- server ----------------------------------------------------------------------------------

class Function:
    def __init__(self, operator):
        self.operator = operator

    def handle(self, req):
        log("INFO", "start call Do", {"req": request_for_log(req)})
        if self.operator == "receiver":
            return {"status": "OK"}
        value = operate(self.operator, req)
        next_req = {"inputs": req["inputs"],
                    "results": req["results"] + [{"operator": RESULT_OPERATOR.get(self.operator, self.operator), "value": value}]}
        address = "?"
        try:
            host, port = wait_config()
            address = "%s:%d" % (host, port)
            reply = send(host, port, next_req)
        except (OSError, ValueError) as err:
            log("ERROR", "send message failed", {"address": address, "error": str(err)})
            return {"status": "ERROR", "error": "forward to %s: %s" % (address, err)}
        log("INFO", "send message", {"address": address, "res": reply})
        if not isinstance(reply, dict) or reply.get("status") != "OK":
            return {"status": "ERROR", "error": "next function %s answered %s" % (address, json.dumps(reply))}
        return {"status": "OK"}


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            if not line.strip():
                continue
            try:
                req = parse_request(json.loads(line))
            except ValueError as err:
                log("ERROR", "bad request", {"error": str(err)})
                reply = {"status": "ERROR", "error": "bad request: %s" % err}
            else:
                reply = self.server.function.handle(req)
            self.wfile.write((json.dumps(reply) + "\n").encode())
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def on_sighup(_signum, _frame):
    try:
        host, port = load_config()
        log("INFO", "config reloaded", {"config": CONFIG_FILE, "next": "%s:%d" % (host, port)})
    except (OSError, ValueError) as err:
        log("INFO", "config reloaded", {"config": CONFIG_FILE, "error": str(err)})


def run_server(port, operator):
    server = Server(("", port), Handler)
    server.function = Function(operator)
    signal.signal(signal.SIGHUP, on_sighup)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    log("INFO", "start server", {"port": port, "operator": operator})
    try:
        while thread.is_alive():
            thread.join(1.0)  # the main thread only waits, so signal handlers run here safely
    except KeyboardInterrupt:
        pass
    return 0


def run_client(host, port, values):
    req = {"inputs": values, "results": []}
    address = "%s:%d" % (host, port)
    log("INFO", "send message", {"address": address, "request": request_for_log(req)})
    try:
        reply = send(host, port, req)
    except (OSError, ValueError) as err:
        sys.stderr.write("calcapp: send to %s failed: %s\n" % (address, err))
        return 1
    log("INFO", "receive message", {"address": address, "response": reply})
    if isinstance(reply, dict) and reply.get("status") == "OK":
        return 0
    sys.stderr.write("calcapp: %s answered %s\n" % (address, json.dumps(reply)))
    return 1


# --- command line (Go flag style: -name value, -name=value, flags before values) -------------

def usage(error):
    sys.stderr.write("calcapp: %s\n" % error)
    sys.stderr.write(USAGE % os.path.basename(sys.argv[0]))
    raise SystemExit(1)


def is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def parse_args(argv):
    opts = {"server": False, "port": 8080, "host": "", "operator": ""}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-" or is_number(arg):
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if name not in opts:
            usage("flag provided but not defined: -%s" % name)
        if name == "server":
            opts["server"] = (not has_value) or value.lower() in ("1", "t", "true")
        else:
            if not has_value:
                i += 1
                if i >= len(argv):
                    usage("flag needs an argument: -%s" % name)
                value = argv[i]
            if name == "port":
                try:
                    value = int(value)
                except ValueError:
                    usage("invalid value %r for flag -port" % value)
            opts[name] = value
        i += 1
    return opts, argv[i:]


def main(argv=None):
    opts, args = parse_args(sys.argv[1:] if argv is None else argv)
    if opts["server"]:
        if opts["operator"] not in OPERATORS:
            log("ERROR", "operator not match", {"operator": opts["operator"]})
            usage("-operator must be one of " + ",".join(OPERATORS))
        return run_server(opts["port"], opts["operator"])
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if not args:
        usage("zero values")
    values = []
    for arg in args:
        try:
            values.append(float(arg))
        except ValueError:
            usage("not a number: %r" % arg)
    host, port = opts["host"], opts["port"]
    if not host:
        try:
            host, port = wait_config()
        except (OSError, ValueError) as err:
            usage("no -host and no usable config file: %s" % err)
    return run_client(host, port, values)


if __name__ == "__main__":
    sys.exit(main())
