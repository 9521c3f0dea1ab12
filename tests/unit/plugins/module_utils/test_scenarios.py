# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""module_utils/scenarios.py: a FunctionChain's order and the multi-worker requestNodeNames."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.openkasugai.all_in_one.plugins.filter.scenario import request_node_names as request_filter
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.calc import function_chain_spec
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.scenarios import CALC_DEFAULT_CHAIN, chain_order, request_node_names

FULL = function_chain_spec(CALC_DEFAULT_CHAIN, 'cpufunc-calcapp')


def _chain(keys, edges):
    return {'functions': {key: {'functionName': key, 'version': '1.0.0'} for key in keys},
            'connections': [{'from': {'functionKey': a, 'port': 0}, 'to': {'functionKey': b, 'port': 0}} for a, b in edges]}


def test_order_follows_connections_not_function_order():
    spec = _chain(['rcv', 'b', 'send', 'a'], [('wb-start-of-chain', 'send'), ('send', 'a'), ('a', 'b'), ('b', 'rcv'), ('rcv', 'wb-end-of-chain')])
    assert chain_order(spec) == ['send', 'a', 'b', 'rcv']


def test_order_keeps_unreached_functions():
    spec = _chain(['send', 'x', 'rcv'], [('wb-start-of-chain', 'send'), ('send', 'rcv')])
    assert chain_order(spec) == ['send', 'rcv', 'x']


def test_order_of_a_branching_chain_is_breadth_first():
    spec = _chain(['dec', 'hi', 'lo', 'rcv'], [('wb-start-of-chain', 'dec'), ('dec', 'hi'), ('dec', 'lo'), ('hi', 'rcv'), ('lo', 'rcv')])
    assert chain_order(spec) == ['dec', 'hi', 'lo', 'rcv']


def test_seven_calc_functions_on_two_workers_are_four_and_three():
    """As the all-in-one seed's sample spreads calc: send..multiply on the first worker, the rest on the second."""
    assert request_node_names(FULL, ['w1', 'w2']) == {
        'send': ['w1'], 'plus': ['w1'], 'minus': ['w1'], 'multiply': ['w1'],
        'divide': ['w2'], 'average': ['w2'], 'rcv': ['w2']}


def test_more_workers_than_functions():
    spec = _chain(['send', 'rcv'], [('wb-start-of-chain', 'send'), ('send', 'rcv')])
    assert request_node_names(spec, ['w1', 'w2', 'w3']) == {'send': ['w1'], 'rcv': ['w2']}


def test_three_workers():
    placed = request_node_names(FULL, ['a', 'b', 'c'])
    assert [placed[key][0] for key in chain_order(FULL)] == ['a', 'a', 'a', 'b', 'b', 'c', 'c']


@pytest.mark.parametrize('spec,workers,error', [
    (FULL, [], 'at least one worker'),
    ({'functions': {}}, ['w1'], 'no functions'),
])
def test_refuses(spec, workers, error):
    with pytest.raises(ValueError, match=error):
        request_node_names(spec, workers)


def test_filter():
    assert request_filter(FULL, ('w1', 'w2'))['rcv'] == ['w2']
    with pytest.raises(AnsibleFilterError, match='request_node_names: .*at least one worker'):
        request_filter(FULL, [])
    with pytest.raises(AnsibleFilterError, match='must be a FunctionChain spec'):
        request_filter(['send'], ['w1'])
