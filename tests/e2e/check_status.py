"""Check the status table and picture playbooks/status.yml wrote for the e2e lab, on their content.

    python tests/e2e/check_status.py STATUS_DIR

The picture (status.svg, parsed as XML) must name every node of okl-e2e (each running and Ready), say
whether the cluster is whole as the snapshot does, show the docker network, the veth that stands in for a VF in -worker (net1) in that node's box, every add-on
ready, and calc-basic passed; the table (status.md) must say the same. Prints what it checked.
"""

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NODES = ['okl-e2e-control-plane', 'okl-e2e-worker', 'okl-e2e-worker2']
ADDONS = ['multus', 'sriov_cni', 'sriov_device_plugin', 'nv_ipam', 'metallb', 'openkasugai']


def main(directory):
    directory = Path(directory)
    texts = [t.text for t in ET.parse(directory / 'status.svg').getroot().iter('{http://www.w3.org/2000/svg}text')]
    table = (directory / 'status.md').read_text()
    snapshot = json.loads((directory / 'status.json').read_text())
    problems = []

    def expect(ok, what):
        if not ok:
            problems.append(what)

    cluster = snapshot['clusters'][0]
    # whole or not (a function pod between two states is the cluster's business): the picture says which, as the table does
    state = 'whole' if cluster['whole'] else 'NOT whole'
    expect('cluster okl-e2e - %s' % state in texts and '## Cluster okl-e2e: %s' % state in table,
           'the picture or the table does not say okl-e2e is %s' % state)
    expect(all(node['running'] and node['ready'] for node in cluster['nodes']), 'not every node runs and is Ready: %s' % cluster['nodes'])
    expect('docker network kind-okl-e2e 172.31.250.0/24' in texts, 'the picture does not show the docker network')
    for node in NODES:
        expect(node in texts, 'the picture does not name %s' % node)
    # net1 is drawn inside -worker's box: after its name and before the next node's
    start, end = texts.index('okl-e2e-worker'), texts.index('okl-e2e-worker2')
    expect('net1 (veth)' in texts[start:end], 'net1 is not drawn in okl-e2e-worker: %s' % texts[start:end])
    for addon in ADDONS:
        expect('\u2714 %s' % addon in texts, 'the picture does not show %s ready (table: %s)' % (
            addon, [line for line in table.splitlines() if line.startswith('| %s |' % addon)]))
    expect('calc-basic: passed' in texts, 'the picture does not show calc-basic passed')
    expect('| calc-basic | passed |' in table, 'the table does not show calc-basic passed')
    expect(any(line.startswith('| okl-e2e-worker | worker | yes | yes |') and 'net1 (veth)' in line for line in table.splitlines()),
           'the table does not show net1 in okl-e2e-worker')
    if problems:
        print('\n'.join(problems))
        return 1
    print('status picture and table: okl-e2e %s, %d nodes Ready, net1 in okl-e2e-worker, %d add-ons ready, calc-basic passed'
          % (state, len(NODES), len(ADDONS)))
    for problem in cluster['problems']:
        print('  ' + problem)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
