# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Whether a lab cluster is whole, and if not, what is missing and why: pure functions over what
docker and the API server show (the lab_health module gathers them).

A cluster is whole when every node container runs at its fixed address on the lab network (pinned in
docker's IPAM config), every Node is Ready with a kubelet heartbeat (its Lease) renewed, and every Pod
that is not done is Ready. With ``since`` (a time, e.g. when the docker daemon came back), heartbeats and
Pods' readiness must be newer than it: a Ready written before a restart proves nothing after it.
"""

import datetime

from ansible_collections.openkasugai.all_in_one.plugins.module_utils import openkasugai as ok


def parse_time(text):
    """A Kubernetes timestamp (RFC 3339, with or without fraction) as seconds since the epoch; None when absent."""
    if not text:
        return None
    text = str(text).replace('Z', '+00:00')
    return datetime.datetime.fromisoformat(text).timestamp()


def _condition(obj, kind):
    for cond in ((obj.get('status') or {}).get('conditions')) or []:
        if cond.get('type') == kind:
            return cond
    return None


def node_entries(cluster, containers, nodes, leases, since=None):
    """One entry per node of the model: container, fixed address, Ready, heartbeat; ``problem`` says what is wrong."""
    network = cluster['docker_network']['name']
    by_name = {(n.get('metadata') or {}).get('name'): n for n in nodes}
    renewed = {(ls.get('metadata') or {}).get('name'): parse_time((ls.get('spec') or {}).get('renewTime')) for ls in leases}
    entries = []
    for node in cluster['nodes']:
        name = node['name']
        entry = dict(name=name, running=False, address=None, fixed_address=None, ready=False, heartbeat=renewed.get(name), problem='')
        obj = containers.get(name)
        endpoint = (((obj or {}).get('NetworkSettings') or {}).get('Networks') or {}).get(network) or {}
        entry['address'] = endpoint.get('IPAddress') or None
        entry['fixed_address'] = ((endpoint.get('IPAMConfig') or {}).get('IPv4Address')) or None
        entry['running'] = bool(((obj or {}).get('State') or {}).get('Running'))
        ready = _condition(by_name.get(name) or {}, 'Ready')
        entry['ready'] = bool(ready) and ready.get('status') == 'True'
        if obj is None:
            entry['problem'] = 'its container does not exist'
        elif not entry['running']:
            state = obj.get('State') or {}
            entry['problem'] = 'its container is {} (exit code {}{})'.format(
                state.get('Status') or 'stopped', state.get('ExitCode'), ': ' + state['Error'] if state.get('Error') else '')
        elif not endpoint:
            entry['problem'] = 'its container is not on the lab network {}'.format(network)
        elif entry['fixed_address'] is None:
            entry['problem'] = ('its address {} on {} is not fixed: docker may give it another after a restart '
                                '(run the kind_cluster stage to fix it)'.format(entry['address'], network))
        elif entry['address'] != entry['fixed_address']:
            entry['problem'] = 'it has {} on {}, not its fixed address {}'.format(entry['address'], network, entry['fixed_address'])
        elif name not in by_name:
            entry['problem'] = 'the API server has no Node of that name'
        elif not entry['ready']:
            entry['problem'] = 'it is not Ready: {}'.format(
                ok._one_line((ready or {}).get('message') or (ready or {}).get('reason') or 'no Ready condition yet'))
        elif since is not None and (entry['heartbeat'] is None or entry['heartbeat'] < since):
            entry['problem'] = 'its kubelet has not renewed its heartbeat (Lease) since the restart'
        entries.append(entry)
    return entries


def pods_not_back(pods, since=None):
    """Pods not Ready (and not done), and with ``since`` also Pods whose Ready is older than it, as pod_report lines."""
    waiting = ok.not_ready_pods(pods)
    if since is not None:
        stale = [p for p in pods if ok.pod_is_ready(p)
                 and (parse_time(ok.pod_condition(p, 'Ready').get('lastTransitionTime')) or 0) < since
                 and (p.get('spec') or {}).get('nodeName')]
        waiting += stale
    reports = []
    for pod in sorted(waiting, key=lambda p: ((p.get('metadata') or {}).get('namespace') or '', (p.get('metadata') or {}).get('name') or '')):
        report, lines = ok.pod_report(pod)
        if ok.pod_is_ready(pod):
            lines = [lines[0] + ' (Ready since before the restart: not seen again yet)']
        reports.append(dict(report, lines=lines))
    return reports


def assess(cluster, containers, nodes, leases, pods, since=None):
    """{nodes, pods_not_ready, problems, whole}: the lab's state and, in sentences, what did not come back."""
    entries = node_entries(cluster, containers, nodes, leases, since)
    reports = pods_not_back(pods, since)
    problems = ['node {}: {}'.format(e['name'], e['problem']) for e in entries if e['problem']]
    problems += [line for r in reports for line in r['lines']]
    summary = ['cluster {}: {}'.format(cluster['name'], 'whole' if not problems else 'NOT whole')]
    for e in entries:
        summary.append('  node {}: {}, {}{}, {}'.format(
            e['name'], 'running' if e['running'] else 'not running', e['address'] or 'no address',
            ' (fixed)' if e['address'] and e['address'] == e['fixed_address'] else ' (not fixed)', 'Ready' if e['ready'] else 'not Ready'))
    summary += ['  ' + line for line in problems]
    return dict(nodes=entries, pods_not_ready=reports, problems=problems, whole=not problems, summary=summary)
