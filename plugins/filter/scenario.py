# -*- coding: utf-8 -*-
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``request_node_names``: where a multi-worker DataFlow asks each function of its chain to run."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.scenarios import request_node_names as _request_node_names


def request_node_names(chain_spec, workers):
    """``chain.spec | request_node_names(['w1', 'w2'])`` -> ``{send: [w1], ..., rcv: [w2]}``."""
    if not isinstance(chain_spec, dict):
        raise AnsibleFilterError('request_node_names: the input must be a FunctionChain spec (a dict), got {!r}'.format(chain_spec))
    try:
        return _request_node_names(chain_spec, [str(worker) for worker in workers])
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError('request_node_names: {}'.format(exc)) from exc


class FilterModule:
    def filters(self):
        return {'request_node_names': request_node_names}
