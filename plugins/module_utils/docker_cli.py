# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The few ``docker`` CLI calls our modules and the netns keeper need, with JSON output.

``docker`` is a :class:`cli.Cli` for the docker binary (:func:`docker` makes one). Standard library
only: the netns keeper uses this file too.
"""

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli

# The module option of the docker binary, documented by the doc fragment openkasugai.all_in_one.cli.docker.
DOCKER_PATH_SPEC = dict(docker_path=dict(type='str', default='docker'))


def docker(path='docker', module=None, option='docker_path', timeout=None):
    """The docker CLI, run through ``module`` (None: subprocess, each command given ``timeout`` seconds)."""
    return Cli('docker', path, option=option, module=module, timeout=timeout)


def inspect(cli, names, kind='container'):
    """``docker inspect --type <kind> NAME...`` → {name: object}; names that do not exist are absent."""
    names = list(names)
    if not names:
        return {}
    result = cli.run(['inspect', '--type', kind] + names, check=False)
    data = result.json() or []
    err = result.stderr
    missing = 'No such' in err or 'not found' in err  # containers and images say the one, networks the other
    if result.rc != 0 and not missing and not data:
        raise result.error('docker inspect failed: {}'.format(err.strip()))
    found = {}
    for obj in data:
        name = (obj.get('Name') or '').lstrip('/')
        for wanted in names:
            if wanted in (name, obj.get('Id'), (obj.get('Id') or '')[:len(wanted)]) or wanted in (obj.get('RepoTags') or []):
                found[wanted] = obj
    return found


def container_summary(obj):
    """The parts of a container's inspect object that our modules return."""
    state = obj.get('State') or {}
    networks = ((obj.get('NetworkSettings') or {}).get('Networks')) or {}
    addresses = []
    for net_name, net in sorted(networks.items()):
        for key in ('IPAddress', 'GlobalIPv6Address'):
            if net.get(key):
                addresses.append({'network': net_name, 'address': net[key]})
    labels = ((obj.get('Config') or {}).get('Labels')) or {}
    return {
        'name': (obj.get('Name') or '').lstrip('/'),
        'id': obj.get('Id'),
        'running': bool(state.get('Running')),
        'pid': state.get('Pid') or None,
        'image': (obj.get('Config') or {}).get('Image'),
        'role': labels.get('io.x-k8s.kind.role'),
        'cluster': labels.get('io.x-k8s.kind.cluster'),
        'addresses': addresses,
    }


def container_pid(cli, name):
    """PID of a running container, or None when it does not exist or is not running."""
    obj = inspect(cli, [name]).get(name)
    if not obj:
        return None
    summary = container_summary(obj)
    return summary['pid'] if summary['running'] else None


def exec_args(container, argv, interactive=False):
    """The arguments of ``docker exec [-i] CONTAINER argv...`` (no shell)."""
    return ['exec'] + (['-i'] if interactive else []) + [container] + list(argv)
