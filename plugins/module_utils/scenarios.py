# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The demo scenarios of the OpenKasugai all-in-one lab and what each needs from the lab.

One catalog read by the lab model's checks (preflight) and by the scenario stage,
so a scenario's requirements are written down once.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    name: str
    family: str        # 'calc' (arithmetic chain) or 'video' (video inference)
    sample_dir: str    # under test/sample-data/sample-data-for-all-in-one/ of the controller source
    network: str       # 'internal' (cluster networking), 'external' (LoadBalancer), 'sriov'
    needs_gpu: bool
    summary: str

    @property
    def needs_sriov(self):
        return self.network == 'sriov'


_SCENARIOS = (
    Scenario('calc-basic', 'calc', 'calc-func/basic', 'internal', False,
             'arithmetic chain over cluster networking'),
    Scenario('calc-sriov', 'calc', 'calc-func/sriov', 'sriov', False,
             'arithmetic chain over SR-IOV VFs'),
    Scenario('video-p1c1', 'video', 'cpugpu-func/p1c1', 'internal', False,
             'video inference on CPU, functions connected over cluster networking'),
    Scenario('video-p1c2', 'video', 'cpugpu-func/p1c2', 'external', False,
             'video inference on CPU, functions connected over the external network'),
    Scenario('video-p3c1', 'video', 'cpugpu-func/p3c1', 'sriov', False,
             'video inference on CPU, functions connected over SR-IOV'),
    Scenario('video-p2c1', 'video', 'cpugpu-func/p2c1', 'internal', True,
             'CPU and GPU functions over cluster networking'),
    Scenario('video-p2c2', 'video', 'cpugpu-func/p2c2', 'external', True,
             'CPU and GPU functions over the external network'),
    Scenario('video-p2c3', 'video', 'cpugpu-func/p2c3', 'sriov', True,
             'CPU and GPU functions over SR-IOV'),
    Scenario('video-p2c4', 'video', 'cpugpu-func/p2c4', 'internal', True,
             'CPU and GPU functions, several of each in one chain, over cluster networking'),
)

SCENARIOS = {s.name: s for s in _SCENARIOS}

# The arithmetic functions of seed 002 and the default chain (send -> plus -> minus -> rcv is the
# seed's customization example; the full chain uses every operation).
CALC_FUNCTIONS = ('send', 'plus', 'minus', 'multiply', 'divide', 'average_results', 'rcv')
CALC_DEFAULT_CHAIN = ('send', 'plus', 'minus', 'multiply', 'divide', 'average_results', 'rcv')
