#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

DOCUMENTATION = r'''
---
module: calc_check
short_description: Check the arithmetic scenario's receiver log against what the chain should compute
description:
  - Computes the results that a calcapp chain (seed 002, arithmetic scenario) appends for the given
    O(inputs), and compares them with the last request with those inputs that the receiver (C(rcv))
    logged.
  - O(chain) is C(send), then any of C(plus), C(minus), C(multiply), C(divide), C(average_results), then C(rcv).
    C(plus), C(minus), C(multiply) and C(divide) fold the inputs left to right (the first input, then the
    operator with each following one); with fewer than two inputs their result is C(0). Division by zero
    gives C(+Inf), C(-Inf) or C(NaN) as IEEE floats do. C(average_results) writes the mean of the values of
    the results before it under the operator name C(average) (C(NaN) when there are none).
  - >-
    The receiver logs each request on one line with zap's development console encoder. OpenKasugai's calcapp
    puts the gRPC request there as protobuf text in a JSON string,
    C({"req": "inputs:10 inputs:2 inputs:4 results:{operator:\\"plus\\" value:16}"}); it is parsed as the protobuf
    text format (any spacing, field order, list syntax, escapes), never matched as a string. A JSON object
    C({"req": {"inputs": [...], "results": [{"operator": ..., "value": ...}]}}) is read too. Missing
    C(inputs) or C(results) are empty and a missing C(value) is C(0); C(NaN), C(+Inf) and C(-Inf) are also
    read when written as strings. Lines without a C(req) field (other messages, stack traces) are skipped.
  - O(log) should be the receiver's log only (C(kubectl logs) of the C(rcv) pod). The other functions of the
    chain run the same program, and requests they logged would carry the same inputs with fewer results.
  - Reads only; never changes anything.
version_added: 0.1.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  log:
    description:
      - The receiver's log text, for example the C(stdout) of C(kubectl logs) of the C(rcv) pod.
    type: str
    required: true
  inputs:
    description:
      - The values given to C(send) (C(/calcapp 10 2 4)), as numbers or numeric strings.
    type: list
    elements: raw
    required: true
  chain:
    description:
      - The functions of the chain in order, from C(send), C(plus), C(minus), C(multiply), C(divide),
        C(average_results) and C(rcv). It must start with C(send) and end with C(rcv).
    type: list
    elements: str
    required: true
  tolerance:
    description:
      - Largest difference, relative and absolute, between an expected and a logged value (and between the
        given and the logged inputs) that still counts as equal. C(NaN) equals C(NaN).
    type: float
    default: 1e-9
  fail_on_mismatch:
    description:
      - Fail when no request with O(inputs) is in the log or when its results differ from the expected ones.
      - When V(false), the module reports RV(matched) and never fails for that.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Only reads its options; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: all
    description: Pure computation on the given text; runs on any host.
  idempotent:
    support: full
    description: Reads only.
'''

EXAMPLES = r'''
- name: Read the receiver's log
  ansible.builtin.command: kubectl logs -n cpufunc-calcapp deploy/calcapp-rcv
  register: rcv_log
  changed_when: false

- name: The chain send -> plus -> minus -> rcv computed 10 2 4 right
  openkasugai.all_in_one.calc_check:
    log: "{{ rcv_log.stdout }}"
    inputs: [10, 2, 4]
    chain: [send, plus, minus, rcv]

- name: Report only, the full chain
  openkasugai.all_in_one.calc_check:
    log: "{{ rcv_log.stdout }}"
    inputs: ["10", "2", "4"]
    chain: [send, plus, minus, multiply, divide, average_results, rcv]
    fail_on_mismatch: false
  register: calc

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ calc.summary }}"
'''

RETURN = r'''
expected:
  description: The results the chain should append, in order. C(value) is a float (C(NaN) and C(Infinity) included).
  returned: always
  type: list
  elements: dict
  contains:
    operator: {description: 'C(plus), C(minus), C(multiply), C(divide) or C(average).', type: str}
    value: {description: The result., type: float}
  sample: [{operator: plus, value: 16.0}, {operator: minus, value: 4.0}]
received:
  description: The results of the last request in the log whose inputs equal O(inputs), or V(null) when there is none.
  returned: always
  type: list
  elements: dict
  contains:
    operator: {description: The operator name as logged., type: str}
    value: {description: The logged value (V(0) when the log omits it)., type: float}
  sample: [{operator: plus, value: 16.0}, {operator: minus, value: 4.0}]
requests:
  description: How many requests were found in the log (with any inputs).
  returned: always
  type: int
  sample: 3
unreadable:
  description: >-
    How many lines carried a request that could not be read (protobuf text that does not parse, inputs or values that
    are not numbers); they are not counted in RV(requests).
  returned: always
  type: int
  sample: 0
matched:
  description: Whether a request with O(inputs) was found and its results equal RV(expected).
  returned: always
  type: bool
  sample: true
summary:
  description: One line with inputs, received and expected results and the verdict (C(OK), C(MISMATCH) or C(NOT FOUND)).
  returned: always
  type: str
  sample: "10 2 4 -> plus=16 minus=4 (expected plus=16 minus=4): OK"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import calc

RETURNED = ('expected', 'received', 'requests', 'unreadable', 'matched', 'summary')


def main():
    module = AnsibleModule(
        argument_spec={
            'log': {'type': 'str', 'required': True},
            'inputs': {'type': 'list', 'elements': 'raw', 'required': True},
            'chain': {'type': 'list', 'elements': 'str', 'required': True},
            'tolerance': {'type': 'float', 'default': 1e-9},
            'fail_on_mismatch': {'type': 'bool', 'default': True},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        result = calc.check(p['log'], p['inputs'], p['chain'], p['tolerance'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    returned = {key: result[key] for key in RETURNED}
    if result['msg'] and p['fail_on_mismatch']:
        module.fail_json(msg=result['msg'], changed=False, **returned)
    module.exit_json(changed=False, **returned)


if __name__ == '__main__':
    main()
