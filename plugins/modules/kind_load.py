#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: kind_load
short_description: Load container images into the nodes of a kind cluster, skipping nodes that hold them
description:
  - Loads images from the docker daemon (by name) or from image archives (C(docker save) format) into all or some
    nodes of a kind cluster, with C(ctr --namespace k8s.io images import) inside each node, the archive streamed to
    its standard input (as C(kind load) does; nothing is copied into the node first), several nodes at once.
  - A node is skipped when its containerd already has an image with the same image ID (config digest) under the
    same name, read with C(crictl images -o json) through C(docker exec). C(kind load) itself always copies.
  - The archives a node lacks that share a file (a layer, most often their base) and whose files are named by their
    digests (as buildah and skopeo write C(docker-archive)) go to it as one archive put together on the fly, each
    layer and config once (its bytes copied by the kernel), with one C(manifest.json) naming every image -
    containerd reads and hashes every layer it is given, present or not, and images built on one base would each
    bring that base again (the lab's 16 archives into a fresh node - 70 s one by one, 34 s as one). Other archives
    (sharing nothing, or from C(docker save) of Docker 20.10, which names its layers otherwise) go one by one.
version_added: 0.1.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - kind 0.20.0 or later and the docker CLI
extends_documentation_fragment:
  - openkasugai.all_in_one.cli.docker
  - openkasugai.all_in_one.cli.kind
options:
  cluster:
    description: Name of the kind cluster.
    type: str
    required: true
  images:
    description: Images in the local docker daemon (C(name:tag)).
    type: list
    elements: str
    default: []
  archives:
    description:
      - Image archives in C(docker save) format on the host (their C(manifest.json) gives names and IDs).
      - Each is a path, or a dict with C(path) and C(roles), the kind node roles (C(control-plane), C(worker)) whose
        nodes get it (all nodes when empty). A node's role is read from its name, as kind names them
        (C(<cluster>-control-plane), C(<cluster>-worker2)). This keeps images that only some pods run (a tool pinned to
        the control plane, functions on the workers) off the other nodes.
    type: list
    elements: raw
    default: []
  nodes:
    description: Node container names to load into; all nodes of the cluster when empty.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reads every node and reports which loads it would do.
  diff_mode:
    support: none
    description: Reports per-node actions in RV(loads) instead.
  idempotent:
    support: full
    description: Nodes that hold the same image ID under the same name are skipped.
"""

EXAMPLES = r"""
- name: Load the sample function images into every node
  openkasugai.all_in_one.kind_load:
    cluster: kasugai
    images:
      - localhost/cpufunc_calcapp:1.0.0
      - localhost/cpufunc_sidecar:1.0.0

- name: Load an archive into the GPU worker only
  openkasugai.all_in_one.kind_load:
    cluster: kasugai
    archives: [/var/lib/openkasugai-lab/images/gst.tar]
    nodes: [kasugai-worker]

- name: Load the video send tool into the control plane only, the video function into the workers
  openkasugai.all_in_one.kind_load:
    cluster: kasugai
    archives:
      - {path: /var/lib/openkasugai-lab/images/send_video_tool_1.1.0.tar, roles: [control-plane]}
      - {path: /var/lib/openkasugai-lab/images/cpufunc_gst_latest.tar, roles: [worker]}
"""

RETURN = r"""
loads:
  description: One entry per image and node.
  returned: always
  type: list
  elements: dict
  contains:
    node: {description: Node container., type: str}
    image: {description: Image name (or archive path)., type: str}
    id: {description: Image ID (sha256 of its config)., type: str}
    action: {description: 'C(loaded), C(would load) (check mode) or C(present).', type: str}
  sample:
    - {node: kasugai-worker, image: "localhost/cpufunc_calcapp:1.0.0", id: "sha256:1f2e...", action: loaded}
"""

import concurrent.futures
import errno
import io
import json
import os
import re
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.kind import KIND_PATH_SPEC, Kind

# the archive on stdin, as `kind load` imports it
IMPORT_ARGV = ['ctr', '--namespace', 'k8s.io', 'images', 'import', '--all-platforms', '--digests', '-']
# imports run side by side on this many nodes (each one a docker exec streaming an archive: disk and unpacking)
IMPORT_NODES_AT_ONCE = 4


def normalize_ref(ref):
    """containerd's spelling of a reference: docker.io/library/ for short names, :latest when untagged."""
    name, tag = ref, None
    if '@' not in ref:
        last = ref.rsplit('/', 1)[-1]
        if ':' in last:
            name, tag = ref.rsplit(':', 1)
    first = name.split('/', 1)[0]
    if '/' not in name:
        name = 'docker.io/library/' + name
    elif not ('.' in first or ':' in first or first == 'localhost'):
        name = 'docker.io/' + name
    return '{}:{}'.format(name, tag or 'latest') if '@' not in ref else name


# names of content-addressed files in a docker-archive: <digest>.tar and <digest>.json (containers/image's writer,
# buildah push and skopeo copy), blobs/sha256/<digest> (the OCI layout docker save writes since Docker 25)
CONTENT_ADDRESSED = re.compile(r'^(?:[0-9a-f]{64}\.(?:tar|json)|blobs/sha256/[0-9a-f]{64})$')
# the chunk of a copy that cannot go through sendfile (a test's in-memory file)
COPY_CHUNK = 1 << 20


def archive_manifest(tar):
    """The ``manifest.json`` entries of an open docker-archive."""
    try:
        member = tar.extractfile('manifest.json')
    except KeyError:
        member = None
    if member is None:
        raise ValueError(f'{tar.name} has no manifest.json: not a docker-save archive')
    return json.load(member)


def archive_files(path):
    """The files the manifest of the archive ``path`` names (configs and layers), or None when one of them is not
    named by its digest: only then can the same name in two archives be taken for the same content."""
    with tarfile.open(path) as tar:
        names = [name for entry in archive_manifest(tar) for name in [entry.get('Config')] + list(entry.get('Layers') or [])]
    return set(names) if all(CONTENT_ADDRESSED.match(name or '') for name in names) else None


def _copy_range(src, offset, size, out):
    """Copy ``size`` bytes of the open file ``src`` from ``offset`` to ``out``: by the kernel (sendfile) when ``out``
    is a file descriptor's (the pipe into docker exec), else through a buffer."""
    out.flush()
    try:
        out_fd = out.fileno()
    except (AttributeError, io.UnsupportedOperation):
        out_fd = None
    while out_fd is not None and size > 0:
        try:
            sent = os.sendfile(out_fd, src.fileno(), offset, min(size, 1 << 30))
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS):
                raise  # a broken pipe included: the reader stopped
            break  # a file descriptor sendfile does not write to: through the buffer below
        if sent == 0:
            raise ValueError(f'{src.name} ended early')
        offset, size = offset + sent, size - sent
    src.seek(offset)
    while size > 0:
        chunk = src.read(min(size, COPY_CHUNK))
        if not chunk:
            raise ValueError(f'{src.name} ended early')
        out.write(chunk)
        size -= len(chunk)


def write_merged(paths, out):
    """Write to ``out`` (a binary file object, read as it is written) one docker-archive holding the images of the
    docker-archives ``paths`` (each with ``archive_files``): each config and layer once, its bytes copied by the
    kernel, then a ``manifest.json`` with every image's entry. The legacy files (``repositories``, ``<v1 id>/``)
    are left out: containerd reads the manifest."""
    seen = set()
    manifest = []
    for path in paths:
        with tarfile.open(path) as tar, open(path, 'rb') as src:
            for entry in archive_manifest(tar):
                for name in [entry['Config']] + list(entry['Layers']):
                    if name in seen:
                        continue
                    seen.add(name)
                    member = tar.getmember(name)
                    if not member.isfile():
                        raise ValueError(f'{path}: {name} is not a regular file')
                    out.write(member.tobuf(tarfile.USTAR_FORMAT, 'utf-8', 'surrogateescape'))
                    _copy_range(src, member.offset_data, member.size, out)
                    out.write(b'\0' * (-member.size % tarfile.BLOCKSIZE))
                manifest.append(entry)
    data = json.dumps(manifest).encode()
    info = tarfile.TarInfo('manifest.json')
    info.size = len(data)
    info.mode = 0o444
    out.write(info.tobuf(tarfile.USTAR_FORMAT, 'utf-8', 'surrogateescape') + data + b'\0' * (-len(data) % tarfile.BLOCKSIZE))
    out.write(b'\0' * (2 * tarfile.BLOCKSIZE))  # the end of the archive
    out.flush()


def node_images(crictl_json):
    """``crictl images -o json`` -> {normalized ref: image id}."""
    data = json.loads(crictl_json or '{}')
    out = {}
    for image in data.get('images') or []:
        for ref in image.get('repoTags') or []:
            out[normalize_ref(ref)] = image.get('id')
    return out


def archive_images(path):
    """[(ref, id)] from the manifest.json of a docker-save archive."""
    with tarfile.open(path) as tar:
        manifest = archive_manifest(tar)
    out = []
    for entry in manifest:
        config = entry.get('Config', '')
        digest = 'sha256:' + os.path.basename(config).replace('.json', '')
        for ref in entry.get('RepoTags') or []:
            out.append((ref, digest))
    return out


ROLES = ('control-plane', 'worker')
ROLE_PATTERN = re.compile(r'-(control-plane|worker)\d*$')


def node_role(node):
    """The kind role of a node container, from the name kind gives it ('' when it does not follow kind's naming)."""
    match = ROLE_PATTERN.search(node)
    return match.group(1) if match else ''


def archive_specs(archives):
    """The archives option as [(path, roles)], or a ValueError naming the entry that is neither a path nor {path, roles}."""
    specs = []
    for index, entry in enumerate(archives):
        if isinstance(entry, str):
            entry = {'path': entry}
        if not isinstance(entry, dict) or not isinstance(entry.get('path'), str) or not entry['path'] or set(entry) - {'path', 'roles'}:
            raise ValueError(f'archives[{index}]: give a path or a dict with path and roles, not {entry!r}')
        roles = entry.get('roles') or []
        if isinstance(roles, str) or not all(role in ROLES for role in roles):
            raise ValueError(f'archives[{index}].roles: a list of {", ".join(ROLES)}, not {roles!r}')
        specs.append((entry['path'], list(roles)))
    return specs


def main():
    module = AnsibleModule(
        argument_spec={
            'cluster': {'type': 'str', 'required': True},
            'images': {'type': 'list', 'elements': 'str', 'default': []},
            'archives': {'type': 'list', 'elements': 'raw', 'default': []},
            'nodes': {'type': 'list', 'elements': 'str', 'default': []},
            **KIND_PATH_SPEC,
            **docker_cli.DOCKER_PATH_SPEC,
        },
        required_one_of=[('images', 'archives')],
        supports_check_mode=True,
    )
    p = module.params
    docker = docker_cli.docker(p['docker_path'], module)
    try:
        load(module, docker, Kind(p['kind_path'], module).nodes(p['cluster']))
    except CliError as exc:
        module.fail_json(**exc.as_dict())


def load(module, docker, all_nodes):
    p = module.params
    if not all_nodes:
        module.fail_json(msg='cluster {} has no nodes: create it first'.format(p['cluster']))
    unknown = sorted(set(p['nodes']) - set(all_nodes))
    if unknown:
        module.fail_json(msg='not nodes of cluster {}: {} (its nodes: {})'.format(p['cluster'], ', '.join(unknown), ', '.join(all_nodes)))
    nodes = p['nodes'] or all_nodes

    try:
        archives = archive_specs(p['archives'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    # (source, ref, id, roles): source is the docker image name or the archive path; roles [] = every node
    wanted = []
    local = docker_cli.inspect(docker, p['images'], kind='image')
    for ref in p['images']:
        if ref not in local:
            module.fail_json(msg=f'image {ref} is not in the docker daemon: build or pull it first')
        wanted.append((ref, ref, local[ref]['Id'], []))
    for path, roles in archives:
        try:
            wanted += [(path, ref, digest, roles) for ref, digest in archive_images(path)]
        except (OSError, ValueError, tarfile.TarError) as exc:
            module.fail_json(msg=f'cannot read image archive {path}: {exc}')
    archive_paths = [path for path, _roles in archives]

    loads = []
    missing = {}  # node -> the sources it lacks, in order
    for node in nodes:
        here = [(source, ref, digest) for source, ref, digest, roles in wanted if not roles or node_role(node) in roles]
        if not here:
            continue
        have = node_images(docker.run(docker_cli.exec_args(node, ['crictl', 'images', '-o', 'json']),
                                      what=f'listing the images of {node}').stdout)
        for source, ref, digest in here:
            present = have.get(normalize_ref(ref)) == digest
            loads.append({'node': node, 'image': ref, 'id': digest,
                          'action': 'present' if present else ('would load' if module.check_mode else 'loaded')})
            if not present and source not in missing.setdefault(node, []):
                missing[node].append(source)
    if not module.check_mode:
        import_missing(module, docker, {node: sources for node, sources in missing.items() if sources}, archive_paths)
    module.exit_json(changed=any(item['action'] != 'present' for item in loads), loads=loads)


def import_missing(module, docker, missing, archive_paths):
    """Import each node's missing sources, streamed from their archives into ``ctr images import -`` (as ``kind load``
    does: no copy of a gigabytes archive inside the node first), the nodes side by side; a node's content-addressed
    archives as one (``write_merged``), the others one by one.

    A docker daemon image is saved to an archive once, whichever nodes lack it.
    """
    archives = {}
    for source in dict.fromkeys(source for sources in missing.values() for source in sources):
        if source in archive_paths:
            archives[source] = source
        else:
            archives[source] = os.path.join(module.tmpdir, f'image-{len(archives)}.tar')
            docker.run(['save', '-o', archives[source], source], what=f'docker save {source}')

    try:
        files = {path: archive_files(path) for path in archives.values()}
    except (OSError, ValueError, tarfile.TarError) as exc:
        module.fail_json(msg=f'cannot read an image archive: {exc}')

    def import_into(node):
        paths = [archives[source] for source in missing[node]]
        # put together only archives that share a file with another of the node's (a layer, most often the base)
        together = [path for path in paths if files[path] is not None
                    and any(other != path and files[other] and files[path] & files[other] for other in paths)]
        alone = [path for path in paths if path not in together]
        if together:
            what = 'importing {} archives as one ({}) in {}'.format(len(together), ', '.join(map(os.path.basename, together)), node)
            try:
                docker.run(docker_cli.exec_args(node, IMPORT_ARGV, interactive=True),
                           stdin_writer=lambda stdin: write_merged(together, stdin), what=what)
            except (OSError, ValueError, tarfile.TarError) as exc:
                raise CliError(f'{what}: {exc}') from exc
        for path in alone:
            docker.run(docker_cli.exec_args(node, IMPORT_ARGV, interactive=True), stdin_file=path,
                       what=f'importing {path} in {node}')

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(len(missing), IMPORT_NODES_AT_ONCE))) as pool:
        for future in [pool.submit(import_into, node) for node in missing]:
            future.result()  # the first failure (a CliError naming the node) is raised here


if __name__ == '__main__':
    main()
