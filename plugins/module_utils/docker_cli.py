# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The few ``docker`` CLI calls our modules and the netns keeper need, as argv lists with JSON output.

Standard library only (the keeper installs this file beside itself). A *runner* is a callable
``run(argv, data=None) -> (rc, stdout, stderr)``.
"""

import json

try:
    from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli_error import CliError
except ImportError:  # the keeper daemon, with cli_error.py installed beside it
    from cli_error import CliError  # pylint: disable=import-error


class DockerError(CliError):
    """The docker CLI failed or answered something that is not JSON."""


def inspect(run, names, kind='container', docker='docker'):
    """``docker inspect --type <kind> NAME...`` → {name: object}; names that do not exist are absent."""
    names = list(names)
    if not names:
        return {}
    argv = [docker, 'inspect', '--type', kind] + names
    rc, out, err = run(argv)
    try:
        data = json.loads(out or '[]')
    except ValueError as exc:
        raise DockerError(f'docker inspect did not return JSON: {(err or out).strip()}', cmd=argv, rc=rc, stdout=out, stderr=err) from exc
    missing = 'No such' in (err or '') or 'not found' in (err or '')  # containers and images say the one, networks the other
    if rc != 0 and not missing and not data:
        raise DockerError('docker inspect failed: {}'.format((err or '').strip()), cmd=argv, rc=rc, stdout=out, stderr=err)
    result = {}
    for obj in data:
        name = (obj.get('Name') or '').lstrip('/')
        for wanted in names:
            if wanted in (name, obj.get('Id'), (obj.get('Id') or '')[:len(wanted)]) or wanted in (obj.get('RepoTags') or []):
                result[wanted] = obj
    return result


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


def container_pid(run, name, docker='docker'):
    """PID of a running container, or None when it does not exist or is not running."""
    obj = inspect(run, [name], docker=docker).get(name)
    if not obj:
        return None
    summary = container_summary(obj)
    return summary['pid'] if summary['running'] else None


def exec_argv(container, argv, docker='docker', interactive=False):
    """``docker exec [-i] CONTAINER argv...`` (no shell)."""
    return [docker, 'exec'] + (['-i'] if interactive else []) + [container] + list(argv)
