# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``calc_function_chain``: the FunctionChain ``spec`` of an arithmetic (calcapp) chain."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.calc import function_chain_spec


def calc_function_chain(chain, namespace, network='internal'):
    """``[send, plus, minus, rcv] | calc_function_chain('cpufunc-calcapp')`` -> the FunctionChain spec."""
    if isinstance(chain, (str, bytes)) or not hasattr(chain, '__iter__'):
        raise AnsibleFilterError('calc_function_chain: the chain must be a list of function names, got {!r}'.format(chain))
    try:
        return function_chain_spec([str(name) for name in chain], namespace, str(network))
    except ValueError as exc:
        raise AnsibleFilterError('calc_function_chain: {}'.format(exc)) from exc


class FilterModule:
    def filters(self):
        return {'calc_function_chain': calc_function_chain}
