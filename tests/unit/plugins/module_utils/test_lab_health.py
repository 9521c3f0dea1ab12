# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""lab_health on the JSON shapes docker 20.10 and Kubernetes 1.34 return (written here, not recorded).

The real daemon restart and the real cluster are the e2e's restart phase (tests/e2e/restart.yml).
"""

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import lab_health

CLUSTER = dict(name='lab', kubeconfig='/k', docker_network=dict(name='kind-lab'),
               nodes=[dict(name='lab-control-plane'), dict(name='lab-worker')])
RESTART = lab_health.parse_time('2026-12-03T12:00:00Z')


def container(name, address='172.30.0.2', fixed=True, running=True, network='kind-lab'):
    endpoint = dict(IPAddress=address, IPAMConfig={'IPv4Address': address} if fixed else None)
    return dict(Name='/' + name, State=dict(Running=running, Status='running' if running else 'exited', ExitCode=0 if running else 137),
                NetworkSettings=dict(Networks={network: endpoint}))


def node(name, ready='True', message=''):
    return dict(metadata=dict(name=name), status=dict(conditions=[dict(type='Ready', status=ready, message=message)]))


def lease(name, renewed='2026-12-03T12:00:09.123456Z'):
    return dict(metadata=dict(name=name), spec=dict(renewTime=renewed))


def pod(name, ready=True, since='2026-12-03T12:00:20Z', waiting=None, phase='Running'):
    cstat = dict(name='c', ready=ready, restartCount=0, state={'running': {}} if waiting is None else {'waiting': {'reason': waiting}})
    return dict(metadata=dict(namespace='kube-system', name=name), spec=dict(nodeName='lab-worker', containers=[dict(name='c')]),
                status=dict(phase=phase, conditions=[dict(type='Ready', status='True' if ready else 'False', lastTransitionTime=since)],
                            containerStatuses=[cstat]))


def whole_lab():
    containers = {'lab-control-plane': container('lab-control-plane', '172.30.0.3'), 'lab-worker': container('lab-worker')}
    return containers, [node('lab-control-plane'), node('lab-worker')], [lease('lab-control-plane'), lease('lab-worker')], [pod('coredns')]


def test_a_whole_lab_has_no_problem():
    result = lab_health.assess(CLUSTER, *whole_lab(), since=RESTART)
    assert result['whole'] and result['problems'] == []
    assert [(n['name'], n['address'], n['fixed_address']) for n in result['nodes']] == [
        ('lab-control-plane', '172.30.0.3', '172.30.0.3'), ('lab-worker', '172.30.0.2', '172.30.0.2')]
    assert result['summary'] == ['cluster lab: whole', '  node lab-control-plane: running, 172.30.0.3 (fixed), Ready',
                                 '  node lab-worker: running, 172.30.0.2 (fixed), Ready']
    assert result['nodes'][1]['heartbeat'] == RESTART + 9.123456


def test_each_way_a_node_is_missing_is_said():
    containers, nodes, leases, pods = whole_lab()
    cases = [
        (dict(containers, **{'lab-worker': container('lab-worker', running=False)}), nodes, leases, 'its container is exited (exit code 137)'),
        ({'lab-control-plane': containers['lab-control-plane']}, nodes, leases, 'its container does not exist'),
        (dict(containers, **{'lab-worker': container('lab-worker', fixed=False)}), nodes, leases,
         'its address 172.30.0.2 on kind-lab is not fixed'),
        (dict(containers, **{'lab-worker': container('lab-worker', network='bridge')}), nodes, leases, 'not on the lab network kind-lab'),
        (containers, [nodes[0], node('lab-worker', 'False', 'container runtime network not ready')], leases,
         'it is not Ready: container runtime network not ready'),
        (containers, nodes, [leases[0], lease('lab-worker', '2026-12-03T11:59:50Z')], 'has not renewed its heartbeat (Lease) since the restart'),
        (containers, [nodes[0]], leases, 'the API server has no Node of that name'),
    ]
    for containers_, nodes_, leases_, words in cases:
        result = lab_health.assess(CLUSTER, containers_, nodes_, leases_, pods, since=RESTART)
        assert not result['whole']
        assert [p for p in result['problems'] if p.startswith('node lab-worker: ') and words in p], (words, result['problems'])


def test_pods_not_back_are_said_with_their_reason_and_stale_ready_does_not_count():
    containers, nodes, leases, _pods = whole_lab()
    pods = [pod('coredns', ready=False, waiting='CrashLoopBackOff'), pod('kube-proxy', since='2026-12-03T11:58:00Z'),
            pod('job', ready=False, phase='Succeeded'), pod('fine')]
    result = lab_health.assess(CLUSTER, containers, nodes, leases, pods, since=RESTART)
    assert [r['name'] for r in result['pods_not_ready']] == ['coredns', 'kube-proxy']
    assert result['problems'][0].startswith('Pod kube-system/coredns: CrashLoopBackOff, 0/1 ready')
    assert 'Ready since before the restart' in result['problems'][-1]
    # without a restart time, a Ready Pod is Ready
    assert [r['name'] for r in lab_health.assess(CLUSTER, containers, nodes, leases, pods)['pods_not_ready']] == ['coredns']
