# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""calc_check, module_utils/calc.py and the calc_function_chain filter.

Real: the arithmetic (Python floats are IEEE float64 like Go's), the log parser, the module run
in-process through AnsibleModule (tests/unit/fakesys.run_module), the filter run by a real
``ansible`` process that loads it from this collection.
Stand-ins: the receiver logs are hand-written in the shape the calcapp receiver writes with zap's
development console encoder (tab separated, ``{"req": ...}`` after the message, omitempty fields)
- no calcapp pod runs here. The expected FunctionChain is transcribed from the seed's
``functionchain.yaml`` (send -> plus -> minus -> rcv).
"""

import json
import math
import os
import subprocess
import sys

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.filter import calc as calc_filter
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import calc
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.scenarios import CALC_DEFAULT_CHAIN, CALC_FUNCTIONS
from ansible_collections.openkasugai.all_in_one.plugins.modules import calc_check
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
FULL = list(CALC_DEFAULT_CHAIN)
SEED_CHAIN = ['send', 'plus', 'minus', 'rcv']


def line(req, msg='start call Do', level='INFO', caller='calcapp/main.go:301', ts='2026-11-22T10:00:00.123Z'):
    """One receiver log line as zap's development console encoder writes it."""
    return '\t'.join([ts, level, caller, msg, json.dumps({'req': req})])


def is_nan(value):
    return isinstance(value, float) and math.isnan(value)


# --- arithmetic ----------------------------------------------------------------------------

@pytest.mark.parametrize('op,expected', [('plus', 16.0), ('minus', 4.0), ('multiply', 80.0), ('divide', 1.25)])
def test_fold_left_to_right(op, expected):
    assert calc.fold(op, [10, 2, 4]) == expected


def test_fold_order_matters():
    assert calc.fold('minus', [2, 10, 4]) == -12.0
    assert calc.fold('divide', [2, 10, 4]) == 0.05
    assert calc.fold('divide', [100, 10, 2]) == 5.0  # (100/10)/2, not 100/(10/2)


@pytest.mark.parametrize('op', ['plus', 'minus', 'multiply', 'divide'])
@pytest.mark.parametrize('inputs', [[7], [-3.5], []])
def test_fewer_than_two_inputs_give_zero(op, inputs):
    result = calc.fold(op, inputs)
    assert result == 0.0 and isinstance(result, float)


@pytest.mark.parametrize('inputs,expected', [
    ([10, 0], math.inf),
    ([-10, 0], -math.inf),
    ([10, -0.0], -math.inf),
    ([10, 0, 5], math.inf),        # Inf / 5 stays Inf
    ([10, 0, 0], math.inf),        # Inf / 0 is Inf
    ([0, 5], 0.0),
])
def test_division_by_zero_is_ieee(inputs, expected):
    assert calc.fold('divide', inputs) == expected


@pytest.mark.parametrize('inputs', [[0, 0], [10, 0, math.inf], ['NaN', 0]])
def test_division_giving_nan(inputs):
    assert is_nan(calc.fold('divide', inputs))


def test_infinities_propagate_like_floats():
    assert is_nan(calc.fold('multiply', [10, 0, 'inf']))  # 0 * Inf
    assert is_nan(calc.fold('minus', ['+Inf', '+Inf']))
    assert calc.fold('plus', [1e308, 1e308]) == math.inf


def test_average_of_results_so_far():
    assert calc.expected_results([10, 2, 4], ['send', 'plus', 'minus', 'average_results', 'rcv']) == [
        {'operator': 'plus', 'value': 16.0},
        {'operator': 'minus', 'value': 4.0},
        {'operator': 'average', 'value': 10.0},
    ]


def test_average_with_no_results_is_nan():
    results = calc.expected_results([10, 2, 4], ['send', 'average_results', 'rcv'])
    assert [r['operator'] for r in results] == ['average'] and is_nan(results[0]['value'])
    assert is_nan(calc.average([]))


def test_average_includes_earlier_averages_and_repeats():
    results = calc.expected_results([6, 2], ['send', 'plus', 'average_results', 'minus', 'average_results', 'plus', 'rcv'])
    assert [(r['operator'], r['value']) for r in results] == [
        ('plus', 8.0), ('average', 8.0), ('minus', 4.0), ('average', (8 + 8 + 4) / 3), ('plus', 8.0)]


def test_full_default_chain():
    results = calc.expected_results([10, 2, 4], FULL)
    assert results == [
        {'operator': 'plus', 'value': 16.0},
        {'operator': 'minus', 'value': 4.0},
        {'operator': 'multiply', 'value': 80.0},
        {'operator': 'divide', 'value': 1.25},
        {'operator': 'average', 'value': (16 + 4 + 80 + 1.25) / 4},
    ]


def test_send_rcv_only_has_no_results():
    assert calc.expected_results([1, 2], ['send', 'rcv']) == []


@pytest.mark.parametrize('raw,expected', [
    (10, 10.0), (2.5, 2.5), ('10', 10.0), (' 4 ', 4.0), ('-2.5e1', -25.0),
    ('+Inf', math.inf), ('-Inf', -math.inf), ('Infinity', math.inf), ('inf', math.inf),
])
def test_to_float(raw, expected):
    assert calc.to_float(raw) == expected


@pytest.mark.parametrize('raw', [True, None, 'ten', '', [1], {'a': 1}])
def test_to_float_refuses(raw):
    with pytest.raises(ValueError, match='not a number'):
        calc.to_float(raw)


# --- chains and FunctionChain spec ---------------------------------------------------------

def test_names_come_from_scenarios():
    assert set(calc.CALC_KEYS) == set(CALC_FUNCTIONS)
    assert calc.OPERATIONS == ('plus', 'minus', 'multiply', 'divide', 'average_results')


@pytest.mark.parametrize('chain,error', [
    ([], 'starts with send and ends with rcv'),
    (['send'], 'starts with send and ends with rcv'),
    (['plus', 'minus', 'rcv'], 'starts with send'),
    (['send', 'plus', 'minus'], 'ends with rcv'),
    (['send', 'pluss', 'rcv'], "unknown calcapp function.*'pluss'"),
    (['send', 'average', 'rcv'], "unknown calcapp function.*'average'"),  # the operator name, not a function
    (['send', 'rcv', 'plus', 'rcv'], 'only be the ends'),
    (['send', 'send', 'plus', 'rcv'], 'only be the ends'),
])
def test_chain_validation(chain, error):
    with pytest.raises(ValueError, match=error):
        calc.validate_chain(chain)


def test_validate_chain_returns_operations():
    assert calc.validate_chain(['send', 'divide', 'plus', 'divide', 'rcv']) == ['divide', 'plus', 'divide']


@pytest.mark.parametrize('name,key,function_name', [
    ('send', 'send', 'calcapp-send'),
    ('plus', 'plus', 'calcapp-plus'),
    ('minus', 'minus', 'calcapp-minus'),
    ('multiply', 'multiply', 'calcapp-multiply'),
    ('divide', 'divide', 'calcapp-divide'),
    ('average_results', 'average', 'calcapp-average-results'),
    ('rcv', 'rcv', 'calcapp-rcv'),
])
def test_function_key(name, key, function_name):
    assert calc.CALC_KEYS[name] == (key, function_name)
    got = calc.function_key(name)
    assert got == (key, function_name) and got.key == key and got.function_name == function_name


@pytest.mark.parametrize('name', ['average', 'receiver', '', None])
def test_function_key_unknown(name):
    with pytest.raises(ValueError, match='unknown calcapp function'):
        calc.function_key(name)


def _conn(src, dst):
    return {'from': {'functionKey': src, 'port': 0}, 'to': {'functionKey': dst, 'port': 0}, 'connectionTypeName': 'auto'}


# The seed's functionchain.yaml after its customization (send -> plus -> minus -> rcv), by hand.
SEED_SPEC = {
    'functionTypeNamespace': 'cpufunc-calcapp',
    'connectionTypeNamespace': 'cpufunc-calcapp',
    'functions': {
        'send': {'functionName': 'calcapp-send', 'version': '1.0.0'},
        'plus': {'functionName': 'calcapp-plus', 'version': '1.0.0'},
        'minus': {'functionName': 'calcapp-minus', 'version': '1.0.0'},
        'rcv': {'functionName': 'calcapp-rcv', 'version': '1.0.0'},
    },
    'connections': [
        _conn('wb-start-of-chain', 'send'),
        _conn('send', 'plus'),
        _conn('plus', 'minus'),
        _conn('minus', 'rcv'),
        _conn('rcv', 'wb-end-of-chain'),
    ],
}


def test_function_chain_spec_of_the_seed_example():
    assert calc.function_chain_spec(SEED_CHAIN, 'cpufunc-calcapp') == SEED_SPEC


def test_function_chain_spec_full_chain():
    spec = calc.function_chain_spec(FULL, 'calc-ns')
    assert spec['functionTypeNamespace'] == spec['connectionTypeNamespace'] == 'calc-ns'
    assert list(spec['functions']) == ['send', 'plus', 'minus', 'multiply', 'divide', 'average', 'rcv']
    assert spec['functions']['average'] == {'functionName': 'calcapp-average-results', 'version': '1.0.0'}
    pairs = [(c['from']['functionKey'], c['to']['functionKey']) for c in spec['connections']]
    assert pairs == [('wb-start-of-chain', 'send'), ('send', 'plus'), ('plus', 'minus'), ('minus', 'multiply'),
                     ('multiply', 'divide'), ('divide', 'average'), ('average', 'rcv'), ('rcv', 'wb-end-of-chain')]


def _real_sample(scenario_dir):
    """The FunctionChain of v1.1.0's sample data (site mirror), or skip when there is no mirror."""
    import tarfile

    import yaml
    mirror = os.environ.get('OKL_MIRROR') or os.path.join(REPO, '..', 'shared', 'mirror')
    archive = os.path.join(mirror, 'src', 'openkasugai-controller-v1.1.0.tar.gz')
    if not os.path.isfile(archive):
        pytest.skip('no site mirror with the v1.1.0 controller source at %s' % archive)
    with tarfile.open(archive) as tar:
        member = tar.extractfile('controller-1.1.0/test/sample-data/sample-data-for-all-in-one/calc-func/%s/functionchain.yaml' % scenario_dir)
        return yaml.safe_load(member.read())['spec']


@pytest.mark.parametrize('network,scenario_dir', [('internal', 'basic'), ('sriov', 'sriov')])
def test_function_chain_spec_is_upstreams_sample(network, scenario_dir):
    """The default chain gives exactly v1.1.0's sample FunctionChain, on cluster networking and over SR-IOV."""
    assert calc.function_chain_spec(FULL, 'cpufunc-calcapp', network) == _real_sample(scenario_dir)


def test_function_chain_spec_sriov_function_types():
    spec = calc.function_chain_spec(SEED_CHAIN, 'ns', 'sriov')
    assert [f['functionName'] for f in spec['functions'].values()] == [
        'calcapp-sriov-send', 'calcapp-sriov-plus', 'calcapp-sriov-minus', 'calcapp-sriov-rcv']
    assert calc.function_type_name('average_results', 'sriov') == 'calcapp-sriov-average-results'
    assert calc.function_type_name('average_results', 'external') == 'calcapp-average-results'


@pytest.mark.parametrize('chain,namespace,error', [
    (['send', 'plus', 'plus', 'rcv'], 'ns', 'repeated: plus'),
    (['send', 'plus'], 'ns', 'ends with rcv'),
    (SEED_CHAIN, '', 'namespace'),
    (SEED_CHAIN, None, 'namespace'),
])
def test_function_chain_spec_refuses(chain, namespace, error):
    with pytest.raises(ValueError, match=error):
        calc.function_chain_spec(chain, namespace)


def test_filter_function():
    from ansible.errors import AnsibleFilterError

    flt = calc_filter.FilterModule().filters()['calc_function_chain']
    assert flt(SEED_CHAIN, 'cpufunc-calcapp') == SEED_SPEC
    assert flt(tuple(SEED_CHAIN), 'cpufunc-calcapp') == SEED_SPEC
    with pytest.raises(AnsibleFilterError, match='calc_function_chain: .*ends with rcv'):
        flt(['send', 'plus'], 'ns')
    with pytest.raises(AnsibleFilterError, match='must be a list'):
        flt('send,plus,rcv', 'ns')


def test_filter_rendered_by_ansible():
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    if not os.path.exists(ansible):
        pytest.skip('needs the ansible CLI beside this python')
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_NOCOLOR='1')
    expr = "{{ ['send', 'plus', 'minus', 'rcv'] | openkasugai.all_in_one.calc_function_chain('cpufunc-calcapp') }}"
    proc = subprocess.run([ansible, 'localhost', '-m', 'ansible.builtin.debug', '-a', json.dumps({'msg': expr})],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out['plays'][0]['tasks'][0]['hosts']['localhost']['msg'] == SEED_SPEC


# --- the receiver's log --------------------------------------------------------------------

NOISY_LOG = '\n'.join([
    'I1122 10:00:00.000000       1 main.go:88] calcapp starting',   # klog-style plain text
    '2026-11-22T09:59:59.900Z\tINFO\tcalcapp/main.go:120\tserver listening\t{"port": 8080}',
    '2026-11-22T09:59:59.950Z\tINFO\tcalcapp/main.go:150\twaiting for signal {sidecar}',
    line({'inputs': [10, 2, 4], 'results': [{'operator': 'plus', 'value': 16}, {'operator': 'minus', 'value': 4}]}),
    '2026-11-22T10:00:01.000Z\tWARN\tcalcapp/main.go:310\tslow forward\t{"elapsed": "1.2s"}',
    'main.main.func1',
    '\t/go/src/calcapp/main.go:310',
    'runtime.goexit',
    '\t/usr/local/go/src/runtime/asm_amd64.s:1700',
    # value 0 omitted (10 - 10), results omitted entirely, NaN as a string
    line({'inputs': [10, 10], 'results': [{'operator': 'plus', 'value': 20}, {'operator': 'minus'}]}),
    line({'inputs': [1]}),
    line({'inputs': [0, 0], 'results': [{'operator': 'divide', 'value': 'NaN'}, {'operator': 'average', 'value': 'NaN'}]}),
    line({'results': [{'operator': 'plus'}]}),                          # inputs omitted
    'not json at all {',
    '2026-11-22T10:00:02.000Z\tINFO\tcalcapp/main.go:301\tstart call Do\t'
    '{"req": {"inputs": [10, 2, 4], "results": [{"operator": "plus", "value": 16}, {"operator": "minus", "value": 5}]}}',
    '',
])


def test_parse_log_skips_noise_and_reads_omitted_fields():
    requests, unreadable = calc.parse_log(NOISY_LOG)
    assert unreadable == 0
    assert len(requests) == 6
    assert requests[1] == {'inputs': [10.0, 10.0], 'results': [{'operator': 'plus', 'value': 20.0}, {'operator': 'minus', 'value': 0.0}]}
    assert requests[2] == {'inputs': [1.0], 'results': []}
    assert [r['operator'] for r in requests[3]['results']] == ['divide', 'average']
    assert all(is_nan(r['value']) for r in requests[3]['results'])
    assert requests[4] == {'inputs': [], 'results': [{'operator': 'plus', 'value': 0.0}]}


def test_parse_log_other_spellings():
    text = '\n'.join([
        line({'inputs': [10, 0], 'results': [{'operator': 'divide', 'value': '+Inf'}]}),
        line({'inputs': [-10, 0], 'results': [{'operator': 'divide', 'value': '-Inf'}]}),
        # bare JSON NaN/Infinity (not standard JSON, but Python's decoder reads it)
        '2026-11-22T10:00:00Z\tINFO\tcalcapp/main.go:301\tstart call Do\t{"req": {"inputs": [0, 0], "results": [{"operator": "divide", "value": NaN}]}}',
        # kubectl logs --prefix and spaces instead of tabs
        '[pod/calcapp-rcv-0/calcapp] 2026-11-22T10:00:00Z INFO calcapp/main.go:301 start call Do '
        '{"req": {"inputs": [3, 4], "results": [{"operator": "multiply", "value": 12}]}}',
        # a request field that is not a number: counted, not returned
        line({'inputs': [1, 2], 'results': [{'operator': 'plus', 'value': 'three'}]}),
        line({'inputs': 'one two'}),
        # a JSON object without req (skipped), and a req string that is not valid protobuf text (counted)
        '2026-11-22T10:00:00Z\tINFO\tcalcapp/main.go:301\tstart call Do\t{"reqError": "json: unsupported value: NaN"}',
        '2026-11-22T10:00:00Z\tINFO\tcalcapp/main.go:301\tstart call Do\t{"req": "inputs:[1 2]"}',
    ])
    requests, unreadable = calc.parse_log(text)
    assert unreadable == 3
    assert [r['inputs'] for r in requests] == [[10.0, 0.0], [-10.0, 0.0], [0.0, 0.0], [3.0, 4.0]]
    assert requests[0]['results'][0]['value'] == math.inf
    assert requests[1]['results'][0]['value'] == -math.inf
    assert is_nan(requests[2]['results'][0]['value'])
    assert requests[3]['results'] == [{'operator': 'multiply', 'value': 12.0}]


def test_parse_log_empty():
    assert calc.parse_log('') == ([], 0)
    assert calc.parse_log(None) == ([], 0)


def test_last_matching_request_wins():
    result = calc.check(NOISY_LOG, [10, 2, 4], SEED_CHAIN)
    # the first request with 10 2 4 was right, the last one (minus=5) is the one judged
    assert result['received'] == [{'operator': 'plus', 'value': 16.0}, {'operator': 'minus', 'value': 5.0}]
    assert result['matched'] is False
    assert result['requests'] == 6
    assert result['summary'] == '10 2 4 -> plus=16 minus=5 (expected plus=16 minus=4): MISMATCH'
    assert result['msg'] == 'calcapp results for inputs 10 2 4 differ: expected plus=16 minus=4, received plus=16 minus=5'


def test_check_ok_with_omitted_zero_and_nan():
    ok = calc.check(NOISY_LOG, ['10', '10'], SEED_CHAIN)
    assert ok['matched'] is True and ok['msg'] is None
    assert ok['summary'] == '10 10 -> plus=20 minus=0 (expected plus=20 minus=0): OK'
    nan = calc.check(NOISY_LOG, [0, 0], ['send', 'divide', 'average_results', 'rcv'])
    assert nan['matched'] is True
    assert nan['summary'] == '0 0 -> divide=NaN average=NaN (expected divide=NaN average=NaN): OK'


def test_check_single_input_request_without_results_is_a_mismatch():
    # inputs [1] logged without results: a chain with plus expects plus=0 (value omitted, but the result present)
    result = calc.check(NOISY_LOG, [1], SEED_CHAIN)
    assert result['received'] == [] and result['matched'] is False
    assert 'expected plus=0 minus=0, received (no results)' in result['msg']


def test_check_not_found():
    result = calc.check(NOISY_LOG, [7, 7], SEED_CHAIN)
    assert result['received'] is None and result['matched'] is False
    assert result['summary'] == '7 7 -> (no request) (expected plus=14 minus=0): NOT FOUND'
    assert result['msg'].startswith('no request with inputs 7 7 in the receiver log (6 request(s) found, last inputs: ')
    assert result['msg'].endswith('); expected plus=14 minus=0')


def test_check_operator_and_length_must_match():
    log = line({'inputs': [10, 2, 4], 'results': [{'operator': 'plus', 'value': 16}, {'operator': 'multiply', 'value': 4}]})
    assert calc.check(log, [10, 2, 4], SEED_CHAIN)['matched'] is False
    log = line({'inputs': [10, 2, 4], 'results': [{'operator': 'plus', 'value': 16}]})
    assert calc.check(log, [10, 2, 4], SEED_CHAIN)['matched'] is False
    log = line({'inputs': [10, 2, 4], 'results': [{'operator': 'plus', 'value': 16}, {'operator': 'minus', 'value': 4},
                                                  {'operator': 'minus', 'value': 4}]})
    assert calc.check(log, [10, 2, 4], SEED_CHAIN)['matched'] is False


def test_tolerance():
    log = line({'inputs': [1, 3], 'results': [{'operator': 'divide', 'value': 0.333333}]})
    assert calc.check(log, [1, 3], ['send', 'divide', 'rcv'])['matched'] is False
    assert calc.check(log, [1, 3], ['send', 'divide', 'rcv'], tolerance=1e-5)['matched'] is True
    # Inf is only equal to the same Inf, NaN only to NaN, whatever the tolerance
    assert not calc.close(math.inf, -math.inf, 1e300)
    assert not calc.close(math.nan, 0.0, 1e300)
    assert calc.close(math.nan, math.nan, 0)
    with pytest.raises(ValueError, match='tolerance'):
        calc.check(log, [1, 3], ['send', 'rcv'], tolerance=-1)


def test_format_number():
    assert [calc.format_number(v) for v in (16.0, -4.0, 2.5, 1 / 3, math.nan, math.inf, -math.inf, 1e20)] == [
        '16', '-4', '2.5', '0.3333333333333333', 'NaN', '+Inf', '-Inf', '1e+20']


# --- the module ----------------------------------------------------------------------------

def _run(check_mode=False, **args):
    return run_module(calc_check.main, args, check_mode=check_mode)


def test_module_ok():
    failed, result = _run(log=NOISY_LOG, inputs=[10, 10], chain=SEED_CHAIN)
    assert not failed, result
    assert result['changed'] is False and result['matched'] is True
    assert result['expected'] == result['received'] == [{'operator': 'plus', 'value': 20.0}, {'operator': 'minus', 'value': 0.0}]
    assert result['requests'] == 6
    assert result['summary'] == '10 10 -> plus=20 minus=0 (expected plus=20 minus=0): OK'


def test_module_mismatch_fails_and_shows_both():
    failed, result = _run(log=NOISY_LOG, inputs=['10', '2', '4'], chain=SEED_CHAIN)
    assert failed
    assert 'expected plus=16 minus=4' in result['msg'] and 'received plus=16 minus=5' in result['msg']
    assert result['matched'] is False and result['changed'] is False
    assert result['received'][1] == {'operator': 'minus', 'value': 5.0}


def test_module_mismatch_reported_without_failing():
    failed, result = _run(log=NOISY_LOG, inputs=[10, 2, 4], chain=SEED_CHAIN, fail_on_mismatch=False)
    assert not failed
    assert result['matched'] is False and result['summary'].endswith('MISMATCH')
    failed, result = _run(log='', inputs=[10, 2, 4], chain=SEED_CHAIN, fail_on_mismatch=False)
    assert not failed and result['received'] is None and result['requests'] == 0


def test_module_not_found_fails():
    failed, result = _run(log=NOISY_LOG, inputs=[7, 7], chain=FULL)
    assert failed and result['msg'].startswith('no request with inputs 7 7')
    assert result['received'] is None


def test_module_check_mode_and_nan():
    log = line({'inputs': [10, 0], 'results': [{'operator': 'divide', 'value': '+Inf'}, {'operator': 'average', 'value': '+Inf'}]})
    failed, result = _run(check_mode=True, log=log, inputs=[10, 0], chain=['send', 'divide', 'average_results', 'rcv'])
    assert not failed, result
    assert result['matched'] is True and result['expected'][0]['value'] == math.inf


@pytest.mark.parametrize('args,error', [
    ({'chain': ['plus', 'rcv']}, 'starts with send'),
    ({'chain': ['send', 'sum', 'rcv']}, 'unknown calcapp function'),
    ({'inputs': [10, 'two']}, 'not a number'),
    ({'inputs': [10, True]}, 'not a number'),
    ({'tolerance': -0.5}, 'tolerance'),
])
def test_module_bad_options(args, error):
    base = {'log': NOISY_LOG, 'inputs': [10, 2, 4], 'chain': SEED_CHAIN}
    base.update(args)
    failed, result = _run(**base)
    assert failed and error in result['msg'], result


def test_module_required_options():
    failed, result = _run(log='', inputs=[1])
    assert failed and 'chain' in result['msg']
