# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The arithmetic (calcapp) scenario of seed 002: what a chain computes, what the receiver logged.

Pure Python, no Ansible import: the calc_check module, the calc filter plugin and the unit tests
share it.

A chain is ``send -> (plus|minus|multiply|divide|average_results)* -> rcv``. ``send`` takes the
input values; every middle function appends ``{operator, value}`` to the request's ``results``
and forwards the request, inputs unchanged; ``rcv`` logs the request with zap's development
console encoder, one line per request. The real calcapp (OpenKasugai v1.1.0) logs the gRPC request
as protobuf text inside a JSON string (its spacing deliberately unstable)::

    <time>\\tINFO\\tcalcapp/main.go:312\\tstart call Do\\t{"req": "inputs:10 inputs:2 inputs:4 results:{operator:\\"plus\\" value:16}"}

and a JSON object ``{"req": {"inputs": [...], "results": [...]}}`` is read as well. The request
fields are omitempty: ``inputs`` and ``results`` may be missing when empty and a result's
``value`` is missing when it is 0. Arithmetic is IEEE float64 as in Go: division by zero
gives +/-Inf or NaN, never an error.
"""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import json
import math
import re
from collections import namedtuple

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import prototext
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.scenarios import CALC_FUNCTIONS

FIRST, LAST = CALC_FUNCTIONS[0], CALC_FUNCTIONS[-1]        # send, rcv
OPERATIONS = tuple(name for name in CALC_FUNCTIONS if name not in (FIRST, LAST))

# The operator name a function writes into its result (upstream's type string for
# average_results is "average").
OPERATOR_NAMES = {name: ('average' if name == 'average_results' else name) for name in OPERATIONS}

FunctionKey = namedtuple('FunctionKey', ['key', 'function_name'])

# chain name -> (FunctionChain function key, FunctionType name)
CALC_KEYS = {
    name: FunctionKey('average' if name == 'average_results' else name,
                      'calcapp-' + name.replace('_', '-'))
    for name in CALC_FUNCTIONS
}

FUNCTION_VERSION = '1.0.0'
START_OF_CHAIN = 'wb-start-of-chain'
END_OF_CHAIN = 'wb-end-of-chain'
CONNECTION_TYPE = 'auto'


def function_key(name):
    """``(key, function_name)`` of a chain name: ``average_results`` -> ``('average', 'calcapp-average-results')``.

    The answer is a namedtuple, so ``.key`` and ``.function_name`` work too.
    """
    try:
        return CALC_KEYS[name]
    except (KeyError, TypeError):
        raise ValueError('unknown calcapp function {!r} (known: {})'.format(name, ', '.join(CALC_FUNCTIONS))) from None


def function_type_name(name, network='internal'):
    """The FunctionType of a chain name on a network: ``plus`` -> ``calcapp-plus``; over SR-IOV ``calcapp-sriov-plus``."""
    function_name = function_key(name).function_name
    if network == 'sriov':
        return function_name.replace('calcapp-', 'calcapp-sriov-', 1)
    return function_name


def validate_chain(chain):
    """Check ``send -> operations* -> rcv``; return the operations in between. Raises ValueError."""
    chain = list(chain or [])
    unknown = [name for name in chain if name not in CALC_FUNCTIONS]
    if unknown:
        raise ValueError('unknown calcapp function(s) in the chain: {} (known: {})'.format(
            ', '.join(repr(name) for name in unknown), ', '.join(CALC_FUNCTIONS)))
    if len(chain) < 2 or chain[0] != FIRST or chain[-1] != LAST:
        raise ValueError('a calcapp chain starts with {} and ends with {}, got: {}'.format(
            FIRST, LAST, ' -> '.join(chain) or '(empty)'))
    middle = chain[1:-1]
    misplaced = [name for name in middle if name in (FIRST, LAST)]
    if misplaced:
        raise ValueError('{} and {} may only be the ends of a calcapp chain, got: {}'.format(FIRST, LAST, ' -> '.join(chain)))
    return middle


def function_chain_spec(chain, namespace, network='internal'):
    """The ``spec`` of a FunctionChain for ``chain`` with FunctionTypes in ``namespace``.

    Each function appears once: FunctionChain function keys must be unique, so a chain that
    repeats a function is refused (ValueError). Over SR-IOV (``network='sriov'``) the FunctionTypes
    are ``calcapp-sriov-<op>`` (v1.1.0's calc-func/sriov sample data), else ``calcapp-<op>``.
    """
    validate_chain(chain)
    chain = list(chain)
    repeated = sorted({name for name in chain if chain.count(name) > 1})
    if repeated:
        raise ValueError('a FunctionChain holds each function once; repeated: {}'.format(', '.join(repeated)))
    if not isinstance(namespace, str) or not namespace:
        raise ValueError('namespace must be a non-empty string, got {!r}'.format(namespace))
    keys = [CALC_KEYS[name].key for name in chain]
    functions = {CALC_KEYS[name].key: {'functionName': function_type_name(name, network), 'version': FUNCTION_VERSION}
                 for name in chain}
    ends = [START_OF_CHAIN] + keys + [END_OF_CHAIN]
    connections = [
        {'from': {'functionKey': src, 'port': 0}, 'to': {'functionKey': dst, 'port': 0}, 'connectionTypeName': CONNECTION_TYPE}
        for src, dst in zip(ends[:-1], ends[1:], strict=True)
    ]
    return {
        'functionTypeNamespace': namespace,
        'connectionTypeNamespace': namespace,
        'functions': functions,
        'connections': connections,
    }


# --- arithmetic ----------------------------------------------------------------------------

_SPECIAL = {
    'nan': math.nan, '+nan': math.nan, '-nan': math.nan,
    'inf': math.inf, '+inf': math.inf, '-inf': -math.inf,
    'infinity': math.inf, '+infinity': math.inf, '-infinity': -math.inf,
}


def to_float(value):
    """A number, a numeric string (``'10'``, ``'2.5'``, ``'NaN'``, ``'+Inf'``) -> float; ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError('not a number: {!r}'.format(value))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _SPECIAL:
            return _SPECIAL[text.lower()]
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError('not a number: {!r}'.format(value))


def _divide(a, b):
    """IEEE float64 division as Go does it: x/0 is +/-Inf, 0/0 and NaN/0 are NaN."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    positive = (a > 0) == (math.copysign(1.0, b) > 0)
    return math.inf if positive else -math.inf


_BINARY = {
    'plus': lambda a, b: a + b,
    'minus': lambda a, b: a - b,
    'multiply': lambda a, b: a * b,
    'divide': _divide,
}


def fold(operation, inputs):
    """plus/minus/multiply/divide over the inputs: the first input, then the operator with each following one.

    With fewer than two inputs the answer is 0.0 (as upstream calcapp does).
    """
    inputs = [to_float(v) for v in inputs]
    if len(inputs) <= 1:
        return 0.0
    binary = _BINARY[operation]
    acc = inputs[0]
    for value in inputs[1:]:
        acc = binary(acc, value)
    return acc


def average(values):
    """Mean of the values so far, summed in order then divided; NaN when there are none (0/0)."""
    total = 0.0
    for value in values:
        total += value
    return _divide(total, float(len(values)))


def expected_results(inputs, chain):
    """``[{'operator', 'value'}]`` that the chain's functions append, in order."""
    inputs = [to_float(v) for v in inputs]
    results = []
    for name in validate_chain(chain):
        if name == 'average_results':
            value = average([r['value'] for r in results])
        else:
            value = fold(name, inputs)
        results.append({'operator': OPERATOR_NAMES[name], 'value': value})
    return results


# --- comparison and formatting -------------------------------------------------------------

def close(a, b, tolerance):
    """Equal within ``tolerance`` (relative and absolute); NaN equals NaN, Inf only the same Inf."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)


def same_values(a, b, tolerance):
    return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=True))


def same_results(expected, received, tolerance):
    """Same operators in the same order and every value close."""
    if received is None or len(expected) != len(received):
        return False
    return all(e['operator'] == r['operator'] and close(e['value'], r['value'], tolerance)
               for e, r in zip(expected, received, strict=True))


def format_number(value):
    """``16`` for 16.0, ``2.5``, ``NaN``, ``+Inf``, ``-Inf`` (Go's spelling of the specials)."""
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_results(results):
    if results is None:
        return '(no request)'
    if not results:
        return '(no results)'
    return ' '.join('{}={}'.format(r['operator'] or '?', format_number(r['value'])) for r in results)


def format_inputs(inputs):
    return ' '.join(format_number(v) for v in inputs) or '(no inputs)'


# --- the receiver's log --------------------------------------------------------------------

_OBJECT_START = re.compile(r'(?:^|[\t ])\{')
_DECODER = json.JSONDecoder()


def _request_of(line):
    """The ``req`` object of a log line, or None when the line carries none.

    The fields of a zap console line are tab separated and the structured fields come last as one
    JSON object. The first ``{`` at the start of the line or after a tab or space that decodes to
    a JSON object is taken as that object (a message with braces in it does not decode).
    """
    for match in _OBJECT_START.finditer(line):
        start = match.end() - 1
        try:
            obj, _end = _DECODER.raw_decode(line, start)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        req = obj.get('req')
        return req if isinstance(req, (dict, str)) else None
    return None


def _last(values):
    """The value of a scalar field read from protobuf text (the last occurrence wins, as in protobuf)."""
    return values[-1] if isinstance(values, list) and values else None


def _request(req):
    """A logged request (a JSON object, or protobuf text) -> ``{'inputs': [float], 'results': [{'operator', 'value'}]}``;
    ValueError if malformed."""
    if isinstance(req, str):
        message = prototext.parse(req)   # ProtoTextError is a ValueError
        req = {'inputs': message.get('inputs', []),
               'results': [{'operator': _last(r.get('operator')), 'value': _last(r.get('value'))} if isinstance(r, dict) else r
                           for r in message.get('results', [])]}
    inputs = req.get('inputs') or []
    results = req.get('results') or []
    if not isinstance(inputs, list) or not isinstance(results, list):
        raise ValueError('inputs and results must be lists')
    out = {'inputs': [to_float(v) for v in inputs], 'results': []}
    for item in results:
        if not isinstance(item, dict):
            raise ValueError('a result must be an object')
        operator = item.get('operator') or ''
        if not isinstance(operator, str):
            raise ValueError('operator must be a string')
        value = item.get('value')
        out['results'].append({'operator': operator, 'value': 0.0 if value is None else to_float(value)})
    return out


def parse_log(text):
    """The requests the receiver logged, in order, and how many request lines could not be read.

    Returns ``(requests, unreadable)``. Lines without a ``{"req": ...}`` object (other
    messages, stack traces, plain text) are skipped; request lines whose fields are not numbers
    are counted in ``unreadable``.
    """
    requests, unreadable = [], 0
    for line in (text or '').splitlines():
        if '{' not in line:
            continue
        req = _request_of(line)
        if req is None:
            continue
        try:
            requests.append(_request(req))
        except ValueError:
            unreadable += 1
    return requests, unreadable


def last_matching(requests, inputs, tolerance):
    """The last request whose inputs equal ``inputs`` (within ``tolerance``), or None."""
    for request in reversed(requests):
        if same_values(request['inputs'], inputs, tolerance):
            return request
    return None


def check(log, inputs, chain, tolerance=1e-9):
    """Compare what the chain should compute for ``inputs`` with the last matching request in ``log``.

    Returns a dict with ``expected``, ``received`` (None when no request had these inputs),
    ``requests``, ``unreadable``, ``matched``, ``summary`` and ``msg`` (a sentence for a
    failure, or None when matched). Raises ValueError for a bad chain or inputs.
    """
    if tolerance is None or tolerance < 0 or math.isnan(tolerance):
        raise ValueError('tolerance must be a number >= 0, got {!r}'.format(tolerance))
    values = [to_float(v) for v in inputs]
    expected = expected_results(values, chain)
    requests, unreadable = parse_log(log)
    request = last_matching(requests, values, tolerance)
    received = None if request is None else request['results']
    matched = same_results(expected, received, tolerance)
    shown_inputs = format_inputs(values)
    shown_expected = format_results(expected)
    if matched:
        verdict = 'OK'
    elif received is None:
        verdict = 'NOT FOUND'
    else:
        verdict = 'MISMATCH'
    summary = '{} -> {} (expected {}): {}'.format(shown_inputs, format_results(received), shown_expected, verdict)
    msg = None
    if received is None:
        seen = '; '.join(format_inputs(r['inputs']) for r in requests[-3:])
        msg = 'no request with inputs {} in the receiver log ({} request(s) found{}{}); expected {}'.format(
            shown_inputs, len(requests),
            ', last inputs: ' + seen if seen else '',
            ', {} request line(s) unreadable'.format(unreadable) if unreadable else '',
            shown_expected)
    elif not matched:
        msg = 'calcapp results for inputs {} differ: expected {}, received {}'.format(
            shown_inputs, shown_expected, format_results(received))
    return {
        'expected': expected,
        'received': received,
        'requests': len(requests),
        'unreadable': unreadable,
        'matched': matched,
        'summary': summary,
        'msg': msg,
    }
