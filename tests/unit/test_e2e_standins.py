# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The e2e stand-ins of tests/e2e/controller/ pass their self-test (tests/e2e/controller/selftest.py).

Each check of the self-test is one test here, so CI shows which one broke. What is real and what is
a stand-in is said in selftest.py's docstring: the calcapp servers, client and sidecar run as real
local processes talking TCP and exchanging SIGHUP, the controller's reconcile runs on the sample
data files; the Kubernetes API is a stand-in (a one-ConfigMap HTTP server for the sidecar, an
in-memory store for the controller). A check whose tool is missing (kubectl, PyYAML) is skipped.
"""

import importlib.util
from pathlib import Path

import pytest

SELFTEST = Path(__file__).resolve().parents[1] / 'e2e' / 'controller' / 'selftest.py'


def _load():
    spec = importlib.util.spec_from_file_location('okl_e2e_standins_selftest', SELFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


selftest = _load()


@pytest.mark.parametrize('name,check', selftest.CHECKS, ids=[name for name, _check in selftest.CHECKS])
def test_standin_check(name, check):
    try:
        check()
    except selftest.Skip as err:
        pytest.skip(str(err))


def test_main_runs_every_check_and_reports_failure(monkeypatch, capsys):
    """main() returns 0 when the checks pass and 1 as soon as one fails (and still runs the rest)."""
    calls = []
    monkeypatch.setattr(selftest, 'CHECKS', [('a', lambda: calls.append('a')), ('b', lambda: 1 / 0), ('c', lambda: calls.append('c'))])
    assert selftest.main(['a', 'c']) == 0
    assert selftest.main([]) == 1
    assert calls == ['a', 'c', 'a', 'c']
    out = capsys.readouterr().out
    assert 'FAIL b: ZeroDivisionError' in out and 'PASS c' in out
