# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The lab as it is now, as a table (Markdown) and a picture (SVG): pure functions over a snapshot.

The lab_status module gathers the snapshot from the live lab (docker, each node's network devices,
the API server, the scenario results on disk) with ``cluster_snapshot()``; ``markdown()`` and
``svg()`` render it. Both show the same facts: per cluster its docker network, each node with its
state and the devices it holds now, the add-ons and their readiness, OpenKasugai's resources and the
scenarios' results, and the lab's registry.
"""

import html
import re

# Add-on -> how its workloads are recognized (a token of namespace/name). OpenKasugai's controllers run
# in namespaces <controller>-system.
ADDON_TOKENS = (
    ('metallb', 'metallb'), ('multus', 'multus'), ('sriov_device_plugin', 'sriov-device-plugin'), ('sriov_cni', 'sriov-cni'),
    ('nv_ipam', 'nv-ipam'), ('device_plugin', 'accelerator-device-plugin'),
)
_NOT_OPENKASUGAI = ('kube-system', 'metallb-system', 'local-path-storage', 'kube-node-lease', 'kube-public')
# Network devices every kind node has, and the pods' veths kindnet makes: not lab devices.
_PLAIN_NETDEV = re.compile(r'^(lo|eth0|veth[0-9a-f]{8}|tunl0|ip6tnl0|sit0|gre0|gretap0|erspan0|ip_vti0|ip6_vti0|ip6gre0)(@.*)?$')


def node_devices(links):
    """The lab devices among a node's links (``ip -d -j link`` output): name, kind, PCI address."""
    devices = []
    for link in links or []:
        name = link.get('ifname') or ''
        if not name or _PLAIN_NETDEV.match(name):
            continue
        info = link.get('linkinfo') or {}
        if info.get('info_kind') == 'bridge':
            continue  # the node's own pod network bridge; the lab moves NICs, VFs and their stand-ins, never a bridge
        devices.append(dict(name=name, kind=info.get('info_kind') or ('pci' if link.get('parentbus') == 'pci' else 'netdev'),
                            pci=link.get('parentdev') if link.get('parentbus') == 'pci' else '',
                            state=link.get('operstate') or ''))
    return devices


def workload_entries(deployments, daemonsets):
    """[{namespace, kind, name, ready, desired}] of Deployments and DaemonSets (JSON dicts of the API)."""
    entries = []
    for kind, items, desired_key, ready_key in (('Deployment', deployments, 'replicas', 'readyReplicas'),
                                                ('DaemonSet', daemonsets, 'desiredNumberScheduled', 'numberReady')):
        for obj in items or []:
            meta, spec, status = obj.get('metadata') or {}, obj.get('spec') or {}, obj.get('status') or {}
            desired = status.get(desired_key) if kind == 'DaemonSet' else spec.get('replicas', 1)
            entries.append(dict(namespace=meta.get('namespace') or '', kind=kind, name=meta.get('name') or '',
                                ready=int(status.get(ready_key) or 0), desired=int(desired or 0)))
    return sorted(entries, key=lambda e: (e['namespace'], e['kind'], e['name']))


def addon_entries(cluster, workloads):
    """The cluster's enabled add-ons with their workloads' readiness: [{name, ready, workloads, detail}]."""
    addons = cluster['addons']
    enabled = [item['addon'] for item in cluster.get('addon_manifests') or []]
    if addons.get('device_plugin', {}).get('enabled'):
        enabled.append('device_plugin')
    if addons.get('openkasugai', {}).get('enabled'):
        enabled.append('openkasugai')
    tokens = dict(ADDON_TOKENS)
    entries = []
    for name in enabled:
        if name == 'openkasugai':
            mine = [w for w in workloads if w['namespace'].endswith('-system') and w['namespace'] not in _NOT_OPENKASUGAI]
        else:
            token = tokens.get(name, name.replace('_', '-'))
            mine = [w for w in workloads if token in w['namespace'] or token in w['name']]
        ready = bool(mine) and all(w['ready'] >= w['desired'] for w in mine)
        detail = ', '.join('%s %d/%d' % (w['name'], w['ready'], w['desired']) for w in mine) or 'no workload found'
        entries.append(dict(name=name, ready=ready, workloads=len(mine), detail=detail))
    return entries


def scenario_entries(cluster, results):
    """The cluster's scenarios with their last result (``results``: scenario id -> result.json content or None)."""
    entries = []
    for item in cluster.get('scenarios') or []:
        sid = item.get('id') or item['name']
        result = results.get(sid)
        if result is None:
            entries.append(dict(name=sid, result='not run', detail=''))
            continue
        matched = result.get('matched')
        detail = 'chain %s, %s s from DataFlow applied' % (' -> '.join(result.get('chain') or []), result.get('seconds_from_dataflow_applied', '?'))
        entries.append(dict(name=sid, result='passed' if matched else 'failed', detail=detail))
    return entries


def cluster_snapshot(cluster, health, links, workloads, resources, results, api_error=''):
    """One cluster's part of the snapshot.

    ``health``: lab_health.assess() output; ``links``: node name -> ``ip -d -j link`` of its netns (None when it
    could not be read); ``workloads``: workload_entries(); ``resources``: OpenKasugai resource entries
    (module_utils.openkasugai.resource_entries); ``results``: scenario id -> result.json content.
    """
    by_name = {n['name']: n for n in health['nodes']}
    nodes = []
    for node in cluster['nodes']:
        state = by_name.get(node['name'], {})
        nodes.append(dict(name=node['name'], role=node['role'], running=bool(state.get('running')),
                          ready=bool(state.get('ready')), address=state.get('address') or '',
                          problem=state.get('problem') or '',
                          devices=node_devices(links.get(node['name'])) if links.get(node['name']) is not None else None,
                          gpus=[g['pci_address'] for g in node.get('gpus') or []]))
    network = cluster['docker_network']
    return dict(name=cluster['name'], kubeconfig=cluster['kubeconfig'], api_error=api_error,
                network=dict(name=network['name'], subnet=network['subnet'], gateway=network.get('gateway') or ''),
                whole=bool(health['whole']), problems=list(health['problems']), nodes=nodes,
                workloads=workloads, addons=addon_entries(cluster, workloads),
                openkasugai=[dict(kind=r.get('kind'), namespace=r.get('namespace') or '', name=r.get('name'), status=r.get('status') or '')
                             for r in resources],
                scenarios=scenario_entries(cluster, results))


def _registry_text(registry):
    return 'none (images loaded into the nodes)' if registry['type'] == 'none' else '%s %s' % (registry['type'], registry['url'])


def _yes(flag):
    return 'yes' if flag else 'NO'


def markdown(snapshot):
    """The snapshot as Markdown tables, one section per cluster."""
    taken = ' Taken %s.' % snapshot['taken'] if snapshot['taken'] else ''
    lines = ['# Lab status', '', 'On %s.%s Registry: %s.' % (snapshot['host'], taken, _registry_text(snapshot['registry'])), '']
    for cluster in snapshot['clusters']:
        net = cluster['network']
        lines += ['## Cluster %s: %s' % (cluster['name'], 'whole' if cluster['whole'] else 'NOT whole'), '',
                  'Docker network %s (%s, gateway %s); kubeconfig %s.' % (net['name'], net['subnet'], net['gateway'] or '?', cluster['kubeconfig']), '']
        if cluster['api_error']:
            lines += ['The API server does not answer: %s' % cluster['api_error'], '']
        lines += ['| node | role | running | Ready | address | devices now in the node | GPUs |', '|---|---|---|---|---|---|---|']
        for node in cluster['nodes']:
            devices = ('(could not be read)' if node['devices'] is None else
                       ', '.join('%s (%s%s)' % (d['name'], d['kind'], ' ' + d['pci'] if d['pci'] else '') for d in node['devices']) or '-')
            cells = (node['name'], node['role'], _yes(node['running']), _yes(node['ready']), node['address'] or '-', devices,
                     ', '.join(node['gpus']) or '-')
            lines.append('| %s | %s | %s | %s | %s | %s | %s |' % cells)
        lines += ['', '| add-on | ready | workloads |', '|---|---|---|']
        lines += ['| %s | %s | %s |' % (a['name'], _yes(a['ready']), a['detail']) for a in cluster['addons']] or ['| (none) | | |']
        if cluster['openkasugai']:
            lines += ['', '| OpenKasugai resource | namespace | status |', '|---|---|---|']
            lines += ['| %s/%s | %s | %s |' % (r['kind'], r['name'], r['namespace'] or '-', r['status'] or '-') for r in cluster['openkasugai']]
        if cluster['scenarios']:
            lines += ['', '| scenario | result | detail |', '|---|---|---|']
            lines += ['| %s | %s | %s |' % (s['name'], s['result'], s['detail'] or '-') for s in cluster['scenarios']]
        if cluster['problems']:
            lines += ['', 'Not whole:', ''] + ['- %s' % p for p in cluster['problems']]
        lines.append('')
    return '\n'.join(lines)


_GREEN, _RED, _GREY = '#2e7d32', '#c62828', '#757575'


class _Svg:
    def __init__(self):
        self.parts = []

    def rect(self, x, y, w, h, stroke, fill='#ffffff', rx=6, dash=False):
        self.parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s" stroke-width="2"%s/>'
                          % (x, y, w, h, rx, fill, stroke, ' stroke-dasharray="6 4"' if dash else ''))

    def text(self, x, y, value, size=13, color='#212121', bold=False):
        self.parts.append('<text x="%d" y="%d" font-family="sans-serif" font-size="%d" fill="%s"%s>%s</text>'
                          % (x, y, size, color, ' font-weight="bold"' if bold else '', html.escape(str(value))))

    def line(self, x1, y1, x2, y2, color):
        self.parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>' % (x1, y1, x2, y2, color))


def svg(snapshot):
    """The snapshot as a picture: the host holding each cluster, its network as a bus, nodes with their devices."""
    node_w, node_h, gap = 230, 0, 20
    drawing = _Svg()
    y = 70
    width = 40 + max([len(c['nodes']) for c in snapshot['clusters']] or [1]) * (node_w + gap) + 260
    for cluster in snapshot['clusters']:
        rows = max([len(n['devices'] or []) + len(n['gpus']) for n in cluster['nodes']] or [0])
        node_h = 92 + 16 * rows
        side = 40 + 18 * max(len(cluster['addons']) + len(cluster['scenarios']) + len(cluster['openkasugai']) + 3, 0)
        height = max(node_h + 120, side + 20)
        color = _GREEN if cluster['whole'] else _RED
        drawing.rect(30, y, width - 60, height, color, fill='#fafafa')
        drawing.text(45, y + 24, 'cluster %s - %s' % (cluster['name'], 'whole' if cluster['whole'] else 'NOT whole'), 16, color, bold=True)
        net = cluster['network']
        bus_y = y + 52
        drawing.line(45, bus_y, 45 + len(cluster['nodes']) * (node_w + gap) - gap, bus_y, '#1565c0')
        drawing.text(45, bus_y - 8, 'docker network %s %s' % (net['name'], net['subnet']), 12, '#1565c0')
        for i, node in enumerate(cluster['nodes']):
            x = 45 + i * (node_w + gap)
            ny = bus_y + 22
            ok = node['running'] and node['ready']
            drawing.line(x + node_w // 2, bus_y, x + node_w // 2, ny, '#1565c0')
            drawing.rect(x, ny, node_w, node_h, _GREEN if ok else _RED)
            drawing.text(x + 10, ny + 20, node['name'], 13, bold=True)
            drawing.text(x + 10, ny + 38, '%s, %s' % (node['role'], node['address'] or 'no address'), 11, _GREY)
            drawing.text(x + 10, ny + 56, ('Ready' if node['ready'] else 'not Ready') + ('' if node['running'] else ', container stopped'),
                         11, _GREEN if ok else _RED)
            dy = ny + 76
            for gpu in node['gpus']:
                drawing.text(x + 10, dy, 'GPU %s' % gpu, 11, '#6a1b9a')
                dy += 16
            if node['devices'] is None:
                drawing.text(x + 10, dy, 'devices: could not be read', 11, _RED)
            for device in node['devices'] or []:
                drawing.text(x + 10, dy, '%s (%s%s)' % (device['name'], device['kind'], ' ' + device['pci'] if device['pci'] else ''), 11, '#ef6c00')
                dy += 16
        sx, sy = width - 240, y + 44
        drawing.text(sx, sy, 'add-ons', 12, bold=True)
        for addon in cluster['addons']:
            sy += 18
            drawing.text(sx, sy, '%s %s' % ('\u2714' if addon['ready'] else '\u2718', addon['name']), 12, _GREEN if addon['ready'] else _RED)
        if cluster['openkasugai']:
            sy += 24
            drawing.text(sx, sy, 'OpenKasugai', 12, bold=True)
            for res in cluster['openkasugai']:
                sy += 18
                drawing.text(sx, sy, '%s/%s: %s' % (res['kind'], res['name'], res['status'] or '-'), 11)
        if cluster['scenarios']:
            sy += 24
            drawing.text(sx, sy, 'scenarios', 12, bold=True)
            for item in cluster['scenarios']:
                sy += 18
                colour = _GREEN if item['result'] == 'passed' else (_GREY if item['result'] == 'not run' else _RED)
                drawing.text(sx, sy, '%s: %s' % (item['name'], item['result']), 12, colour)
        y += height + 20
    head = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">' % (width, y + 10, width, y + 10),
            '<rect width="100%" height="100%" fill="#ffffff"/>']
    title = _Svg()
    title.text(30, 30, 'Lab on %s' % snapshot['host'], 18, bold=True)
    title.text(30, 52, '%sregistry: %s' % ('taken %s - ' % snapshot['taken'] if snapshot['taken'] else '', _registry_text(snapshot['registry'])),
               12, _GREY)
    return '\n'.join(head + title.parts + drawing.parts + ['</svg>', ''])
