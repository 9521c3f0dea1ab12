# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The kind CLI: check its version, list clusters and nodes, create and delete clusters.

kind has no JSON output for these commands; its text output is one name per line, and
"No kind clusters found." / "No kind nodes found for cluster ..." go to stderr.
"""

import json

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli

# The module option of the kind binary, documented by the doc fragment openkasugai.all_in_one.cli.kind.
KIND_PATH_SPEC = dict(kind_path=dict(type='str', default='kind'))
MIN_VERSION = (0, 20, 0)  # node labels in v1alpha4 and `kind get kubeconfig` as we use them
FINGERPRINT_PATH = '/kind/openkasugai-lab.json'


def parse_names(text):
    """One name per line; blank lines and kind's "No kind ..." notices are not names."""
    names = []
    for line in (text or '').splitlines():
        line = line.strip()
        if line and not line.startswith('No kind') and not line.startswith('enabling experimental'):
            names.append(line)
    return names


def nodes_not_ready(node_list, names):
    """Which of ``names`` are not Ready in ``node_list`` (the JSON of ``kubectl get nodes -o json``, text or parsed):
    {name: why}, empty when all are. A node the API does not list yet is "not registered"."""
    items = (json.loads(node_list) if isinstance(node_list, str) else node_list).get('items') or []
    ready = {}
    for item in items:
        conditions = (item.get('status') or {}).get('conditions') or []
        ready[(item.get('metadata') or {}).get('name')] = next((c for c in conditions if c.get('type') == 'Ready'), None)
    waiting = {}
    for name in names:
        if name not in ready:
            waiting[name] = 'not registered'
        elif ready[name] is None:
            waiting[name] = 'no Ready condition yet'
        elif ready[name].get('status') != 'True':
            condition = ready[name]
            waiting[name] = 'Ready={} ({}: {})'.format(condition.get('status'), condition.get('reason') or '-', condition.get('message') or '-')
    return waiting


class Kind:
    """kind at ``path`` (an executable, or a name looked up on PATH), run through ``module`` (None: subprocess)."""

    def __init__(self, path='kind', module=None, option='kind_path'):
        self.cli = Cli('kind', path, option=option, module=module, version_args=['version'])

    def version(self, minimum=MIN_VERSION):
        return self.cli.require_version(minimum, hint=' (set lab_downloads.kind)')

    def clusters(self):
        return parse_names(self.cli.run(['get', 'clusters']).stdout)

    def nodes(self, name):
        return parse_names(self.cli.run(['get', 'nodes', '--name', name], what=f'kind get nodes --name {name}').stdout)

    def kubeconfig(self, name):
        return self.cli.run(['get', 'kubeconfig', '--name', name], what=f'kind get kubeconfig --name {name}').stdout

    def create(self, name, config_path, kubeconfig_path, wait=None, network=None):
        args = ['create', 'cluster', '--name', name, '--config', config_path, '--kubeconfig', kubeconfig_path]
        if wait:
            args += ['--wait', wait]
        env = {'KIND_EXPERIMENTAL_DOCKER_NETWORK': network} if network else None
        return self.cli.run(args, env=env, what=f'kind create cluster --name {name}')

    def delete(self, name, kubeconfig_path):
        return self.cli.run(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig_path], what=f'kind delete cluster --name {name}')
