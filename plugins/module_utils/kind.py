# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The kind CLI: find it, check its version, list clusters and nodes, build create/delete argv.

A *runner* is a callable ``run(argv, data=None, environ_update=None) -> (rc, stdout, stderr)``.
kind has no JSON output for these commands; its text output is one name per line, and
"No kind clusters found." / "No kind nodes found for cluster ..." go to stderr.
"""

import re

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli_error import CliError

MIN_VERSION = (0, 20, 0)  # node labels in v1alpha4 and `kind get kubeconfig` as we use them
CONTROL_PLANE_SUFFIX = '-control-plane'
FINGERPRINT_PATH = '/kind/openkasugai-lab.json'


class KindError(CliError):
    """kind failed, or is missing or too old."""


def parse_version(text):
    """``kind v0.27.0 go1.26.8 linux/amd64`` -> (0, 27, 0); None when there is no version in it."""
    m = re.search(r'\bv?(\d+)\.(\d+)\.(\d+)', text or '')
    return tuple(int(x) for x in m.groups()) if m else None


def parse_names(text):
    """One name per line; blank lines and kind's "No kind ..." notices are not names."""
    names = []
    for line in (text or '').splitlines():
        line = line.strip()
        if line and not line.startswith('No kind') and not line.startswith('enabling experimental'):
            names.append(line)
    return names


class Kind:
    def __init__(self, run, binary):
        self.run = run
        self.binary = binary

    def _call(self, args, what, env=None, data=None):
        argv = [self.binary] + list(args)
        rc, out, err = self.run(argv, data=data, environ_update=env)
        if rc != 0:
            raise KindError('{} failed: {}'.format(what, (err or out or '').strip()[-2000:]), cmd=argv, rc=rc, stdout=out, stderr=err)
        return out, err

    def version(self, minimum=MIN_VERSION):
        out, err = self._call(['version'], 'kind version')
        version = parse_version(out or err)
        if version is None:
            raise KindError(f'could not read the version of {self.binary} from {(out or err).strip()!r}')
        if version < minimum:
            have, need = '.'.join(map(str, version)), '.'.join(map(str, minimum))
            raise KindError(f'{self.binary} is kind {have}; this collection needs kind {need} or later (set lab_downloads.kind)')
        return version

    def clusters(self):
        out, _err = self._call(['get', 'clusters'], 'kind get clusters')
        return parse_names(out)

    def nodes(self, name):
        out, _err = self._call(['get', 'nodes', '--name', name], f'kind get nodes --name {name}')
        return parse_names(out)

    def kubeconfig(self, name, internal=False):
        out, _err = self._call(['get', 'kubeconfig', '--name', name] + (['--internal'] if internal else []),
                               f'kind get kubeconfig --name {name}')
        return out

    def create(self, name, config_path, kubeconfig_path, wait=None, network=None):
        args = ['create', 'cluster', '--name', name, '--config', config_path, '--kubeconfig', kubeconfig_path]
        if wait:
            args += ['--wait', wait]
        env = {'KIND_EXPERIMENTAL_DOCKER_NETWORK': network} if network else None
        return self._call(args, f'kind create cluster --name {name}', env=env)

    def delete(self, name, kubeconfig_path):
        return self._call(['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfig_path], f'kind delete cluster --name {name}')
