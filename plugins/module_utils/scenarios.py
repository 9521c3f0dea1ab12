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


def chain_order(chain_spec):
    """The function keys of a FunctionChain ``spec`` in the order its connections run.

    Follows ``connections`` from ``wb-start-of-chain``; keys the connections do not reach (a chain
    with branches) follow in ``functions`` order. Raises ValueError for a spec without functions.
    """
    functions = list((chain_spec or {}).get('functions') or {})
    if not functions:
        raise ValueError('the FunctionChain has no functions')
    following = {}
    for connection in chain_spec.get('connections') or []:
        following.setdefault(connection['from']['functionKey'], []).append(connection['to']['functionKey'])
    order, queue = [], list(following.get('wb-start-of-chain', []))
    while queue:
        key = queue.pop(0)
        if key in functions and key not in order:
            order.append(key)
            queue.extend(following.get(key, []))
    return order + [key for key in functions if key not in order]


def request_node_names(chain_spec, workers):
    """The ``requestNodeNames`` of a multi-worker userRequirement: the chain cut into as many
    consecutive parts as there are workers, the first parts one function longer when it does not
    divide evenly (7 functions on 2 workers: 4 and 3, as the seed's sample spreads calc).

    ``{key: [node]}`` in chain order. Raises ValueError without workers.
    """
    workers = list(workers or [])
    if not workers:
        raise ValueError('a multi-worker userRequirement needs at least one worker')
    order = chain_order(chain_spec)
    size, extra = divmod(len(order), len(workers))
    placement, start = {}, 0
    for index, worker in enumerate(workers):
        end = start + size + (1 if index < extra else 0)
        for key in order[start:end]:
            placement[key] = [worker]
        start = end
    return placement
