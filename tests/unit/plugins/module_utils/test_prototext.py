"""Unit tests of plugins/module_utils/prototext.py and of calc's reading of the real calcapp log.

The log lines are shaped as OpenKasugai v1.1.0's calcapp writes them (zap development console
encoder, the gRPC request's protobuf text in the "req" field); the first is the line quoted in the
project's mirror notes. Nothing is faked.
"""

from __future__ import annotations

import math

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import calc
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.prototext import Number, ProtoTextError, parse

REAL_LINE = ('2026-12-02T10:11:12.345Z\tINFO\tcalcapp/main.go:312\tstart call Do\t'
             '{"req": "inputs:10 inputs:2 inputs:4 results:{operator:\\"plus\\" value:16}"}')


def test_the_real_request_text():
    message = parse('inputs:10 inputs:2 inputs:4 results:{operator:"plus" value:16}')
    assert message == {'inputs': ['10', '2', '4'], 'results': [{'operator': ['plus'], 'value': ['16']}]}
    assert all(isinstance(v, Number) for v in message['inputs'])


@pytest.mark.parametrize('text', [
    'inputs:10 inputs:2 inputs:4 results:{operator:"plus" value:16}',
    'inputs: 10  inputs:2 inputs:  4 results: {operator: "plus"  value: 16}',       # Go's random spaces
    'results:{value:16 operator:"plus"} inputs:10 inputs:2 inputs:4',                # any field order
    'inputs:[10, 2, 4] results {operator:"plus", value:16}',                         # list syntax, no colon
    'inputs:10, inputs:2; inputs:4 results:<operator:\'plus\' value:16>',           # separators, <>, quotes
    '# a comment\ninputs:10\ninputs:2\ninputs:4\nresults:{\n  operator:"pl" "us"\n  value:1.6e1\n}\n',
])
def test_spelling_variants_read_the_same(text):
    message = parse(text)
    assert [float(v) for v in message['inputs']] == [10, 2, 4]
    assert message['results'][0]['operator'] == ['plus']
    assert float(message['results'][0]['value'][0]) == 16


def test_numbers_identifiers_and_escapes():
    message = parse(r'a:-1.5e-3 b:0x1F c:inf d:-Infinity e:NaN f:2.5f g:true h:ENUM_VALUE '
                    r's:"q\"uote\n\t\101\x41\u00e9" [ext.name]:7 empty{}')
    assert message['a'] == ['-1.5e-3'] and message['b'] == ['0x1F'] and message['f'] == ['2.5f']
    assert math.isinf(calc.to_float(message['c'][0])) and calc.to_float(message['d'][0]) == -math.inf
    assert math.isnan(calc.to_float(message['e'][0]))
    assert message['g'] == ['true'] and message['h'] == ['ENUM_VALUE']
    assert not isinstance(message['g'][0], Number)
    assert message['s'] == ['q"uote\n\tAAé']
    assert message['[ext.name]'] == ['7'] and message['empty'] == [{}]


@pytest.mark.parametrize(('text', 'message'), [
    ('inputs 10', 'a scalar field needs a colon'),
    ('results:{operator:"plus"', 'missing }'),
    ('s:"no end', 'closing quote'),
    ('inputs:[1 2]', 'a list continues'),
    ('s:"\\q"', 'unknown escape'),
    (':10', 'a field name was expected'),
])
def test_malformed_text_is_refused_with_where(text, message):
    with pytest.raises(ProtoTextError, match=message):
        parse(text)


def test_calc_reads_the_real_receiver_log():
    log = '\n'.join([
        '2026-12-02T10:11:10.000Z\tINFO\tcalcapp/main.go:223\tstart gRPC server\t{"port": 8080}',
        REAL_LINE,
        '2026-12-02T10:11:12.400Z\tINFO\tcalcapp/main.go:312\tstart call Do\t'
        '{"req": "inputs:10  inputs:2 inputs:4 results:{operator:\\"plus\\" value:16} results:{operator:\\"minus\\" value:4}'
        ' results:{operator:\\"multiply\\" value:80} results:{operator:\\"divide\\" value:1.25}'
        ' results:{operator:\\"average\\"  value:25.3125}"}',
    ])
    requests, unreadable = calc.parse_log(log)
    assert unreadable == 0 and len(requests) == 2
    result = calc.check(log, ['10', '2', '4'], ['send', 'plus', 'minus', 'multiply', 'divide', 'average_results', 'rcv'])
    assert result['matched'], result['msg']
    assert result['summary'].endswith('OK')


def test_calc_omitted_zero_value_and_a_broken_request_line():
    log = ('t\tINFO\tcalcapp/main.go:312\tstart call Do\t{"req": "inputs:2 inputs:2 results:{operator:\\"minus\\"}"}\n'
           't\tINFO\tcalcapp/main.go:312\tstart call Do\t{"req": "inputs:2 results:{operator:"}\n')
    requests, unreadable = calc.parse_log(log)
    assert unreadable == 1
    assert requests == [{'inputs': [2.0, 2.0], 'results': [{'operator': 'minus', 'value': 0.0}]}]
    assert calc.check(log, ['2', '2'], ['send', 'minus', 'rcv'])['matched']
