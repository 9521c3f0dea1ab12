#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: buildah_image
short_description: Build a container image with buildah only when its inputs changed, push it over TLS, export it
description:
  - Builds an image from a build context and a Containerfile with C(buildah bud), and labels it with
    a digest of its inputs (label C(io.openkasugai.input-digest)).
  - "The input digest covers every file of the context (path, permission bits, content; the
    C(.containerignore) or C(.dockerignore) file respected), the Containerfile, the build args, the
    target stage, and for each base image that was itself built by this module, that base's input
    digest (so rebuilding a base rebuilds the images built on it). Timestamps are not inputs."
  - When an image carrying the same input digest already exists, nothing is built. It may exist
    locally (under I(name) or any other name, in which case it is only tagged), or in the registry
    when I(push=true) (read with C(skopeo inspect), with the same TLS settings and auth file; it is
    then pulled into local storage, not rebuilt).
  - With I(push=true) the image is pushed to the registry named in I(name), verifying TLS by default.
    With I(archive) it is also exported to a C(docker-archive) or C(oci-archive) file, for example to
    load it into kind nodes when the lab has no registry; an archive already holding the same input
    digest is not rewritten.
  - Credentials are never put on a command line; registry logins come from I(authfile).
version_added: 0.1.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - buildah >= 1.23 on the target host (Debian bookworm ships 1.28)
  - skopeo >= 1.4 on the target host, when I(push=true) or I(archive) is used
options:
  name:
    description:
      - Image reference to build, including the tag, for example C(harbor.example.com/openkasugai/cpufunc_sidecar:latest).
      - A short name such as C(cpufunc_sidecar:latest) is stored as C(localhost/cpufunc_sidecar:latest), the way buildah does.
      - With I(push=true) the image is pushed to the registry this reference names.
      - Exactly one of I(name) and I(images) is required.
    type: str
  images:
    description:
      - Several images in one task with the same shared settings (I(push), I(cert_dir), I(authfile),
        I(tls_verify), I(registries_conf), I(pull), I(layers), I(force), I(state)), in list order, I(parallel)
        at a time. A no-op check of many images costs one module run instead of one per image.
      - Each entry takes the per-image options, with the same meaning as at the top level.
      - The first image that fails stops the task (no other image starts after it; those already running
        finish); the message starts with its name.
    type: list
    elements: dict
    suboptions:
      name:
        description: Image reference, including the tag.
        type: str
        required: true
      extra_tags:
        description: More local names for the image.
        type: list
        elements: str
        default: []
      context:
        description: Build context directory.
        type: path
      containerfile:
        description: Containerfile, relative to I(context) unless absolute.
        type: path
      containerfile_content:
        description: The Containerfile's text, written to I(containerfile) when it differs.
        type: str
      build_args:
        description: Build arguments.
        type: dict
        default: {}
      target:
        description: Build stage to stop at.
        type: str
      runtime:
        description: OCI runtime for C(RUN) steps.
        type: str
      inputs:
        description: Paths inside I(context) that the input digest covers (default the whole context).
        type: list
        elements: str
      cache_group:
        description:
          - Images of the same group compile the same dependencies into the caches of I(volumes) (for example
            controllers of one Go module set). With I(parallel) above 1, an image of a group starts only once the
            first image of its group (in list order) has ended, and then finds that work in the caches instead
            of doing it a second time beside it. Images without a group start as soon as a slot is free.
        type: str
      archive:
        description: Also export the image to an archive file.
        type: dict
        suboptions:
          path:
            description: Archive file to write.
            type: path
            required: true
          format:
            description: Archive format.
            type: str
            choices: [docker-archive, oci-archive]
            default: docker-archive
  extra_tags:
    description:
      - More names given to the same image in local storage (not pushed), for example
        C(localhost/rcv_video_tool:1.0.0) so that other Containerfiles can use it in C(FROM).
    type: list
    elements: str
    default: []
  context:
    description:
      - Build context directory. Required with I(state=present).
    type: path
  containerfile:
    description:
      - Containerfile to build, relative to I(context) unless absolute. It may lie outside the context.
      - Default is C(Containerfile), else C(Dockerfile), in I(context).
    type: path
  containerfile_content:
    description:
      - The Containerfile's text, for Containerfiles generated from templates. It is written to I(containerfile)
        (required with it) when the file is missing or differs, so the file stays there to read; in check mode
        nothing is written and the digest is computed from the text.
    type: str
  build_args:
    description:
      - Build arguments (C(--build-arg KEY=VALUE)). They are part of the input digest.
      - Do not pass secrets as build args; they appear in the build's process list and image history.
    type: dict
    default: {}
  target:
    description:
      - Build stage to stop at (C(--target)).
    type: str
  inputs:
    description:
      - Paths inside I(context) (files or directories) that the input digest covers, instead of the
        whole context. Use it when several images share one large context and each copies only a
        part of it (OpenKasugai's controllers all build from C(src/)), so that a change in one
        part rebuilds only the images that copy it.
      - List every path the Containerfile's C(COPY)/C(ADD) instructions read from the context;
        a path left out is not watched.
    type: list
    elements: str
  volumes:
    description:
      - Host directories mounted into every C(RUN) step (C(--volume HOST:CONTAINER[:OPTIONS])),
        for example a Go module and build cache shared by all builds. They are not inputs of the
        digest, so use them only for caches that do not change what a build produces.
      - A host directory that does not exist is created (mode 0755).
    type: list
    elements: str
    default: []
  base_images:
    description:
      - Base images taken from this host instead of a registry, by the reference a C(FROM) names
        (C(golang:1.23) and C(docker.io/library/golang:1.23) are the same key).
      - "Each value is C(docker-archive:PATH), C(oci-archive:PATH) or C(containers-storage:REF).
        Before a build whose Containerfile names such a base, the image is imported (or tagged) into
        local storage under that reference, unless local storage already holds the same image ID
        under it. The image ID is the base's identity in the input digest, so a changed local base
        rebuilds the images on it."
      - Use it for air-gapped hosts, or where the upstream base image cannot be pulled at all.
    type: dict
    default: {}
  layers:
    description:
      - Cache intermediate layers (C(--layers)), which makes a rebuild after a small change fast.
    type: bool
    default: true
  pull:
    description:
      - "When base images are pulled: C(missing) only when not in local storage (offline friendly),
        C(newer) when the registry has a newer one, C(always), or C(never)."
    type: str
    choices: [missing, newer, always, never]
    default: missing
  runtime:
    description:
      - OCI runtime for C(RUN) steps (C(--runtime)), for example C(/usr/bin/nvidia-container-runtime)
        for builds whose steps need a GPU.
    type: str
  registries_conf:
    description:
      - A C(registries.conf) used for this build instead of C(/etc/containers/registries.conf)
        (through C(CONTAINERS_REGISTRIES_CONF)); use it to redirect base image pulls to a mirror.
    type: path
  push:
    description:
      - Push the image to the registry named in I(name), unless the registry already holds an image with the same input digest.
    type: bool
    default: false
  authfile:
    description:
      - Auth file (C(containers-auth.json) format) with the registry login, passed as C(--authfile)
        to every buildah and skopeo call.
    type: path
  tls_verify:
    description:
      - Verify the registry's TLS certificate (pulls, pushes and inspections).
    type: bool
    default: true
  cert_dir:
    description:
      - Directory of C(*.crt) CA certificates (and client C(*.cert)/C(*.key)) used for the registry
        connections, in addition to the system trust store.
    type: path
  archive:
    description:
      - Also export the image to an archive file.
    type: dict
    suboptions:
      path:
        description:
          - Archive file to write. Its directory must exist.
        type: path
        required: true
      format:
        description:
          - Archive format; C(docker-archive) is what C(kind load image-archive) reads.
        type: str
        choices: [docker-archive, oci-archive]
        default: docker-archive
  parallel:
    description:
      - With I(images), how many of them are handled at the same time (each a C(buildah) process of its own);
        the next image in list order starts as soon as one ends (see I(images[].cache_group)).
    type: int
    default: 1
  build_timeout:
    description:
      - Seconds one C(buildah bud) may run; a build that takes longer is stopped and fails the image. Default no limit.
    type: int
  force:
    description:
      - Build even when an image with the same input digest exists (and push it when I(push=true)).
    type: bool
    default: false
  state:
    description:
      - C(present) builds, pushes and exports as needed.
      - C(absent) removes I(name) and I(extra_tags) from local storage and deletes the I(archive) file.
        Images in the registry are left alone.
    type: str
    choices: [present, absent]
    default: present
  buildah_path:
    description:
      - Path of the buildah binary. Default is C(buildah) from C(PATH).
    type: path
  skopeo_path:
    description:
      - Path of the skopeo binary. Default is C(skopeo) from C(PATH).
    type: path
attributes:
  check_mode:
    description: >-
      Computes the input digest, reads local storage, the registry and the archive, and reports what would be built,
      pushed or exported. A base image from I(base_images) that is not yet in local storage is reported
      (C(base_imported)) and then counts as unknown in the digest.
    support: full
  diff_mode:
    description: Shows the input digest of the current image and of the one that would be built.
    support: full
  idempotent:
    description: An image whose inputs did not change is neither rebuilt, pushed nor exported again.
    support: full
notes:
  - Builds run as the user Ansible runs as; root uses C(/var/lib/containers/storage).
  - The label is computed from the files, not from the build's result, so two hosts with the same
    sources and base images share images in a registry without rebuilding.
seealso:
  - name: buildah bud
    description: The build command this module runs.
    link: https://github.com/containers/buildah/blob/main/docs/buildah-build.1.md
'''

EXAMPLES = r'''
- name: Build the sidecar and push it to the lab registry
  openkasugai.all_in_one.buildah_image:
    name: harbor.example.com/openkasugai/cpufunc_sidecar:latest
    context: /var/lib/openkasugai-lab/src/controller/sample-functions/functions/for_all_in_one/cpugpu-func/cpufunc_sidecar
    push: true
    cert_dir: /etc/openkasugai/certs
    authfile: /root/.config/containers/auth.json

- name: A base image other builds use in FROM keeps its local name too
  openkasugai.all_in_one.buildah_image:
    name: harbor.example.com/openkasugai/rcv_video_tool:1.0.0
    extra_tags: [localhost/rcv_video_tool:1.0.0]
    context: /src/controller/sample-functions/utils/rcv_video_tool
    push: true

- name: No registry - build and export an archive for kind
  openkasugai.all_in_one.buildah_image:
    name: localhost/cpufunc_calcapp:latest
    context: /src/controller/sample-functions/functions/for_all_in_one/calc-func/cpufunc_calcapp
    archive:
      path: /var/lib/openkasugai-lab/images/cpufunc_calcapp.tar
      format: docker-archive

- name: Check several images at once (one module run), then build only those that changed
  openkasugai.all_in_one.buildah_image:
    images:
      - name: localhost/cpufunc_sidecar:latest
        context: /src/controller/sample-functions/functions/for_all_in_one/cpugpu-func/cpufunc_sidecar
      - name: localhost/cpufunc_calcapp:latest
        context: /src/controller/sample-functions/functions/for_all_in_one/calc-func/cpufunc_calcapp
  check_mode: true
  register: plan

- name: Build three images two at a time; the second controller waits for the first one's Go compile
  openkasugai.all_in_one.buildah_image:
    images:
      - name: localhost/wbfunction:1.1.0
        context: /src/controller/src
        containerfile: /var/lib/openkasugai-lab/containerfiles/WBFunction.Containerfile
        cache_group: controllers
      - name: localhost/wbconnection:1.1.0
        context: /src/controller/src
        containerfile: /var/lib/openkasugai-lab/containerfiles/WBConnection.Containerfile
        cache_group: controllers
      - name: localhost/kube-rbac-proxy:v0.14.1
        context: /var/lib/openkasugai-lab/kube-rbac-proxy
    volumes: [/var/cache/go/build:/root/.cache/go-build]
    parallel: 2
    build_timeout: 3600

- name: Remove the local image and its archive
  openkasugai.all_in_one.buildah_image:
    name: localhost/cpufunc_calcapp:latest
    archive:
      path: /var/lib/openkasugai-lab/images/cpufunc_calcapp.tar
    state: absent
'''

RETURN = r'''
images:
  description: With I(images), one result per image, each with the keys below (name, action, actions, input_digest ...).
  returned: when I(images) is given
  type: list
  elements: dict
  sample: [{name: localhost/cpufunc_sidecar:latest, action: skipped, actions: [], changed: false}]
name:
  description: The normalised image reference.
  returned: when I(name) is given
  type: str
  sample: harbor.example.com/openkasugai/cpufunc_sidecar:latest
input_digest:
  description: Digest of the build inputs, also the value of the image label C(io.openkasugai.input-digest).
  returned: when I(name) is given and state is present
  type: str
  sample: sha256:3f0c1e5c1d1f7b3c0b1f2a6c6e0b4b8b9b8d8e0f5e1c2d3a4b5c6d7e8f9a0b1c
image_id:
  description: Local image ID (empty in check mode when the image would be built).
  returned: when state is present
  type: str
  sample: 1e551134de626d0fcbb38da7d223955bfaf5159a7a485859946c42338017f7da
digest:
  description: Manifest digest in the registry when I(push=true), else the local manifest digest.
  returned: when state is present
  type: str
  sample: sha256:14ff1dedf74b47196145c1806e389f7882c737e8cf0e615a98b7c7f929d871e5
action:
  description:
    - The main thing done (or, in check mode, that would be done).
    - One of C(built), C(pulled), C(tagged), C(pushed), C(exported), C(base_imported), C(skipped), C(removed), C(absent).
  returned: when I(name) is given
  type: str
  sample: built
build_seconds:
  description: How long the build took, in seconds (the builds' timings, for the images stage's summary).
  returned: when the image was built
  type: float
  sample: 93.4
actions:
  description: Every step done, in order, for example C([built, pushed, exported]); empty when nothing changed.
  returned: when I(name) is given
  type: list
  elements: str
  sample: [built, pushed]
archive:
  description: The archive written or found up to date.
  returned: when I(archive) is set
  type: dict
  contains:
    path:
      description: Archive file.
      type: str
      sample: /var/lib/openkasugai-lab/images/cpufunc_calcapp.tar
    format:
      description: Archive format.
      type: str
      sample: docker-archive
cmd:
  description: The build command run (argv), when a build ran.
  returned: when a build ran
  type: list
  elements: str
  sample: [buildah, bud, --layers, -t, localhost/cpufunc_calcapp:latest, /src/cpufunc_calcapp]
'''

import json
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.buildah import (
    INPUT_DIGEST_LABEL,
    base_images,
    docker_reference,
    find_containerfile,
    input_digest,
    labels_of_inspect,
    normalize_reference,
    registry_of,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import (
    Cli,
    CliError,
    last_error_line,
    tail,
)
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.registry import (
    skopeo_inspect,
    tls_args,
    tls_hint,
)

MIN_BUILDAH = '1.23'
# buildah's error when its layer-cache lookup meets an image whose layers were removed while it looked
CACHE_RACE = 'checking if cached image exists from a previous build'
MIN_SKOPEO = '1.4'
PULL_POLICY = {'missing': 'false', 'newer': 'true', 'always': 'always', 'never': 'never'}

# Fields that belong to one image (top level, or in each entry of `images`).
IMAGE_FIELDS = ('name', 'extra_tags', 'context', 'containerfile', 'containerfile_content', 'build_args', 'target', 'runtime',
                'inputs', 'archive')

# Most significant first: the step reported in `action`.
ACTION_ORDER = ('built', 'pulled', 'tagged', 'pushed', 'exported', 'base_imported', 'removed')


class InputError(CliError):
    """Bad input found before anything ran."""


class Tools:
    """The CLIs, found and version-checked once per module run (shared by every image)."""

    def __init__(self, module, params):
        self.module = module
        self.params = params
        env = {}
        if params['registries_conf']:
            env['CONTAINERS_REGISTRIES_CONF'] = params['registries_conf']
        self.buildah = Cli('buildah', params['buildah_path'], option='buildah_path', module=module, env=env)
        self.buildah.require_version(MIN_BUILDAH)
        self._skopeo = None
        self.base_images = {docker_reference(ref): source for ref, source in (params['base_images'] or {}).items()}
        self.bases_done = {}  # reference -> image ID, once per module run
        self.bases_lock = threading.Lock()  # images built side by side may need the same base

    def image_id(self, ref):
        """Local image ID of ``ref``, or '' when local storage does not have it."""
        rc, out, _err = self.buildah.run(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', ref], check=False)
        return out.strip() if rc == 0 else ''

    def source_id(self, source):
        """Image ID of a local base source: the config digest of an archive's image, or the
        local image's ID."""
        if source.startswith('containers-storage:'):
            found = self.image_id(source[len('containers-storage:'):])
            if not found:
                raise CliError(f'base_images: {source} is not in local storage')
            return found
        path = source.split(':', 1)[1]
        if not os.path.isfile(path):
            raise CliError(f'base_images: {source}: no such file')
        _rc, out, _err = self.skopeo.run(['inspect', '--raw', source], what=f'reading base image {source}')
        try:
            digest = (json.loads(out).get('config') or {}).get('digest', '')
        except (ValueError, AttributeError):
            digest = ''
        if not digest:
            raise CliError(f'base_images: {source} holds no image manifest with a config digest')
        return digest.split(':', 1)[-1]

    def ensure_base(self, ref, check):
        """Make local storage hold the local base for ``ref`` (a docker reference); returns
        ``(image ID or '', changed)``."""
        with self.bases_lock:
            return self._ensure_base(ref, check)

    def _ensure_base(self, ref, check):
        if ref in self.bases_done:
            return self.bases_done[ref], False
        source = self.base_images[ref]
        try:
            wanted = self.source_id(source)
        except CliError:
            if check:  # made by an earlier step of the same run (a base built from source, an archive written)
                return '', True
            raise
        if self.image_id(ref) == wanted:
            self.bases_done[ref] = wanted
            return wanted, False
        if check:
            return '', True
        if not source.startswith('containers-storage:'):
            self.buildah.run(['pull', source], what=f'importing base image {ref} from {source}')
        self.buildah.run(['tag', wanted, ref], what=f'tagging base image {wanted[:12]} as {ref}')
        self.bases_done[ref] = wanted
        return wanted, True

    @property
    def skopeo(self):
        if self._skopeo is None:
            self._skopeo = Cli('skopeo', self.params['skopeo_path'], option='skopeo_path', module=self.module)
            self._skopeo.require_version(MIN_SKOPEO)
        return self._skopeo


class BuildahImage:
    """One image: ``params`` holds its own fields and the shared settings."""

    def __init__(self, module, params, tools):
        self.module = module
        self.params = params
        self.check = module.check_mode
        self.actions = []
        self.result = {}
        self.cleanup = []
        self.tools = tools
        self.buildah = tools.buildah
        self.name = normalize_reference(params['name'])
        self.extra_tags = [normalize_reference(t) for t in params['extra_tags'] or []]

    @property
    def skopeo(self):
        return self.tools.skopeo

    # -- reading local state ---------------------------------------------------------------
    def local_inspect(self, ref):
        result = self.buildah.run(['inspect', '--type', 'image', ref], check=False)
        if result.rc != 0:
            err = result.stderr
            if 'image not known' in err or 'not found' in err.lower() or 'unknown' in err.lower():
                return None
            raise result.error(f'buildah inspect {ref} failed')
        return result.json()

    def images_with_digest(self, digest):
        """Local images labelled with this input digest: list of {id, names, digest}."""
        data = self.buildah.run_json(['images', '--json', '--no-trunc', '--filter', f'label={INPUT_DIGEST_LABEL}={digest}'])
        return data or []

    def base_identities(self, containerfile):
        """{base reference: identity} for the digest: our own bases count by their input digest,
        local bases (``base_images``) by their image ID. Local bases are imported here."""
        with open(containerfile, encoding='utf-8', errors='replace') as handle:
            text = handle.read()
        bases = {}
        for ref in base_images(text, self.params['build_args']):
            if docker_reference(ref) in self.tools.base_images:
                image_id, changed = self.tools.ensure_base(docker_reference(ref), self.check)
                if changed:
                    self.record('base_imported')
                bases[ref] = 'image:' + image_id if image_id else ''
                continue
            data = self.local_inspect(ref)
            bases[ref] = labels_of_inspect(data).get(INPUT_DIGEST_LABEL, '') if data else ''
        return bases

    # -- acting ------------------------------------------------------------------------------
    def record(self, action):
        self.actions.append(action)

    def registry_args(self):
        return tls_args(self.params['tls_verify'], self.params['cert_dir'], self.params['authfile'])

    def build(self, context, containerfile, digest):
        p = self.params
        cmd = ['bud', '--force-rm', '--pull={}'.format(PULL_POLICY[p['pull']]), '--label', f'{INPUT_DIGEST_LABEL}={digest}']
        cmd.append('--layers' if p['layers'] else '--layers=false')
        cmd += self.registry_args()
        cmd += ['-f', containerfile]
        for key in sorted(p['build_args']):
            cmd += ['--build-arg', '{}={}'.format(key, p['build_args'][key])]
        if p['target']:
            cmd += ['--target', p['target']]
        if p['runtime']:
            cmd += ['--runtime', p['runtime']]
        for volume in p['volumes']:
            os.makedirs(volume.split(':', 1)[0], mode=0o755, exist_ok=True)
            cmd += ['--volume', volume]
        for ref in [self.name] + self.extra_tags:
            cmd += ['-t', ref]
        fd, iidfile = tempfile.mkstemp(prefix='buildah-iid-')
        os.close(fd)
        cmd += ['--iidfile', iidfile, context]
        self.result['cmd'] = self.buildah.argv(cmd)
        started = time.monotonic()
        try:
            result = self.buildah.run(cmd, check=False, timeout=p['build_timeout'])
            rc, out, err = result
            if rc != 0 and CACHE_RACE in err:
                # buildah's layer-cache lookup walks every image in storage; an image another build removed
                # meanwhile (a parallel build dropping the image it replaced) fails it before any step ran.
                # The storage is consistent again once that removal finished: the same build, once more.
                result = self.buildah.run(cmd, check=False, timeout=p['build_timeout'])
                rc, out, err = result
            if rc != 0:
                # a RUN step's own failure (its downloads, its compiler) is not about the registry
                hint = '' if 'while running runtime' in err else tls_hint(err, p['cert_dir'])
                raise result.error('building {} failed: {}{}'.format(self.name, _build_error(err, out), hint))
            with open(iidfile) as handle:
                image_id = handle.read().strip()
        finally:
            os.unlink(iidfile)
        self.result['build_log'] = tail(out, 2000)
        self.result['build_seconds'] = round(time.monotonic() - started, 1)
        return image_id.split(':', 1)[-1]

    def push(self):
        fd, digestfile = tempfile.mkstemp(prefix='buildah-digest-')
        os.close(fd)
        try:
            cmd = ['push'] + self.registry_args() + ['--digestfile', digestfile, self.name, 'docker://' + self.name]
            result = self.buildah.run(cmd, check=False)
            rc, out, err = result
            if rc != 0:
                raise result.error('pushing {} failed: {}{}'.format(self.name, _build_error(err, out), tls_hint(err, self.params['cert_dir'])))
            with open(digestfile) as handle:
                return handle.read().strip()
        finally:
            os.unlink(digestfile)

    def pull(self):
        cmd = ['pull'] + self.registry_args() + ['docker://' + self.name]
        result = self.buildah.run(cmd, check=False)
        rc, out, err = result
        if rc != 0:
            raise result.error('pulling {} failed: {}{}'.format(self.name, _build_error(err, out), tls_hint(err, self.params['cert_dir'])))
        return out.strip().splitlines()[-1] if out.strip() else ''

    def export(self, fmt, path):
        directory = os.path.dirname(os.path.abspath(path)) or '.'
        if not os.path.isdir(directory):
            raise CliError(f'archive.path {path}: directory {directory} does not exist')
        tmp = os.path.join(directory, f'.{os.path.basename(path)}.partial')
        if os.path.exists(tmp):
            os.unlink(tmp)
        dest = f'{fmt}:{tmp}'
        if fmt == 'docker-archive':
            dest += ':' + self.name
        cmd = ['push', self.name, dest]
        try:
            self.buildah.run(cmd, what=f'exporting {self.name} to {path}')
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- states ------------------------------------------------------------------------------
    def present(self):
        p = self.params
        context = p['context']
        if not context:
            raise InputError('context is required with state=present: the build context directory')
        context = os.path.abspath(context)
        if not os.path.isdir(context):
            raise InputError(f'context {context} is not a directory')
        containerfile = find_containerfile(context, p['containerfile'])
        generated = p['containerfile_content'] is not None
        if generated and not p['containerfile']:
            raise InputError('containerfile_content needs containerfile: the path to write it to')
        if not generated and not os.path.isfile(containerfile):
            raise InputError(f'Containerfile {containerfile} does not exist (set containerfile, relative to context {context})')
        for key in ('authfile',):
            if p[key] and not os.path.isfile(p[key]):
                raise InputError(f'{key} {p[key]} does not exist')
        if p['cert_dir'] and not os.path.isdir(p['cert_dir']):
            raise InputError('cert_dir {} is not a directory (it must hold the registry CA as *.crt)'.format(p['cert_dir']))
        if p['push'] and registry_of(self.name) in (None, 'localhost'):
            example = self.name.split('/', 1)[-1]
            raise InputError(f'push=true needs a registry in name, for example registry.example.com:5000/project/{example}')

        for item in p['inputs'] or []:
            if not os.path.exists(os.path.join(context, item)):
                raise InputError(f'inputs: {item} does not exist in context {context}')
        for volume in p['volumes']:
            if ':' not in volume or not os.path.isabs(volume.split(':', 1)[0]):
                raise InputError(f'volumes: {volume!r} is not HOST_DIR:CONTAINER_DIR[:OPTIONS] with an absolute host directory')
        if generated:  # written only once every input was found good
            containerfile = self.write_containerfile(containerfile, p['containerfile_content'])
        digest = input_digest(context, containerfile, p['build_args'], p['target'], self.base_identities(containerfile),
                              p['inputs'])
        self.result['input_digest'] = digest

        current = self.local_inspect(self.name)
        current_digest = labels_of_inspect(current).get(INPUT_DIGEST_LABEL, '') if current else ''
        self.result['diff'] = {'before': {'name': self.name, 'input_digest': current_digest or None},
                               'after': {'name': self.name, 'input_digest': digest}}
        local = None
        if current is not None and current_digest == digest and not p['force']:
            # the usual re-run: the name already holds this digest; no search of the whole storage
            current_id = current.get('FromImageID', '')
            local = {'id': current_id, 'digest': current.get('FromImageDigest', ''),
                     'names': [self.name] + [t for t in self.extra_tags if self.tools.image_id(t) == current_id]}
        else:
            # Only named images count: buildah gives the label to every stage of a multi-stage build, and
            # the nameless intermediate stages (kept by --layers) must never stand in for the final image.
            candidates = [] if p['force'] else [image for image in self.images_with_digest(digest) if image.get('names')]
            for image in candidates:
                if self.name in (image.get('names') or []):
                    local = image
                    break
            if local is None and candidates:
                local = candidates[0]

        remote = None
        if p['push'] and not p['force']:
            remote = skopeo_inspect(self.skopeo, 'docker://' + self.name, p['tls_verify'], p['cert_dir'], p['authfile'],
                                    what='registry image')
        remote_ok = bool(remote) and labels_of_inspect(remote).get(INPUT_DIGEST_LABEL) == digest

        image_id = ''
        if local is not None:
            image_id = local['id'].split(':', 1)[-1]
            names = local.get('names') or []
            missing = [ref for ref in [self.name] + self.extra_tags if ref not in names]
            if missing:
                self.record('tagged')
                if not self.check:
                    self.buildah.run(['tag', image_id] + missing, what=f'tagging {image_id}')
        elif remote_ok:
            self.record('pulled')
            if not self.check:
                image_id = self.pull()
                missing = self.extra_tags
                if missing:
                    self.buildah.run(['tag', self.name] + missing, what=f'tagging {self.name}')
        else:
            self.record('built')
            if not self.check:
                image_id = self.build(context, containerfile, digest)
                self._drop_replaced(current, image_id)

        self.result['digest'] = ''
        if p['push']:
            if remote_ok and 'built' not in self.actions:
                self.result['digest'] = remote.get('Digest', '')
            else:
                self.record('pushed')
                if not self.check:
                    self.result['digest'] = self.push()
        elif local is not None and local.get('digest'):
            self.result['digest'] = local['digest']
        elif not self.check:
            info = self.images_with_digest(digest)
            for image in info:
                if image['id'].split(':', 1)[-1] == image_id:
                    self.result['digest'] = image.get('digest', '')

        if p['archive']:
            self.ensure_archive(digest)
        self.result['image_id'] = image_id

    def write_containerfile(self, path, content):
        """Write a generated Containerfile where it belongs (not in check mode: then a temporary
        copy serves the digest). Returns the path to build from."""
        current = None
        if os.path.isfile(path):
            with open(path, encoding='utf-8', errors='replace') as handle:
                current = handle.read()
        if current == content:
            return path
        if self.check:
            fd, tmp = tempfile.mkstemp(prefix='okl-containerfile-')
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                handle.write(content)
            self.cleanup.append(tmp)
            return tmp
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise InputError(f'containerfile {path}: directory {directory} does not exist')
        fd, tmp = tempfile.mkstemp(prefix='.containerfile-', dir=directory)
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return path

    def ensure_archive(self, digest):
        fmt, path = self.params['archive']['format'], self.params['archive']['path']
        self.result['archive'] = {'path': path, 'format': fmt}
        up_to_date = False
        if os.path.isfile(path) and 'built' not in self.actions:
            data = skopeo_inspect(self.skopeo, f'{fmt}:{path}', what='archive')
            up_to_date = bool(data) and labels_of_inspect(data).get(INPUT_DIGEST_LABEL) == digest
        if not up_to_date:
            self.record('exported')
            if not self.check:
                self.export(fmt, path)

    def _drop_replaced(self, previous, new_id):
        """Remove the image the build replaced when nothing names it any more."""
        if not previous:
            return
        old_id = previous.get('FromImageID', '')
        if not old_id or old_id == new_id:
            return
        rc, out, err = self.buildah.run(['images', '--json', '--no-trunc'], check=False)
        try:
            data = json.loads(out) if rc == 0 and out.strip() else []
        except ValueError:
            data = []
        old = [image for image in data if image.get('id', '').split(':', 1)[-1] == old_id]
        if old and not (old[0].get('names') or []):
            rc, out, err = self.buildah.run(['rmi', old_id], check=False)
            if rc != 0:
                self.module.warn(f'the replaced image {old_id[:12]} was kept: {(err or out).strip()}')

    def absent(self):
        for ref in [self.name] + self.extra_tags:
            if self.local_inspect(ref) is not None:
                if 'removed' not in self.actions:
                    self.record('removed')
                if not self.check:
                    self.buildah.run(['rmi', ref], what=f'removing {ref}')
        archive = self.params['archive']
        if archive:
            self.result['archive'] = {'path': archive['path'], 'format': archive['format']}
            if os.path.exists(archive['path']):
                if 'removed' not in self.actions:
                    self.record('removed')
                if not self.check:
                    os.unlink(archive['path'])

    def run(self):
        """Bring this image to its state; returns the result dict."""
        try:
            if self.params['state'] == 'present':
                self.present()
            else:
                self.absent()
        finally:
            for path in self.cleanup:
                os.unlink(path)
        actions = self.actions
        action = next((a for a in ACTION_ORDER if a in actions), None)
        if action is None:
            action = 'skipped' if self.params['state'] == 'present' else 'absent'
        result = dict(changed=bool(actions), name=self.name, action=action, actions=actions, **self.result)
        diff = result.pop('diff', None)
        if self.module._diff and diff is not None:
            result['diff'] = diff
        return result


def _build_error(stderr, stdout):
    """buildah's own error line, or the build's last output lines."""
    line = last_error_line(stderr, stdout)
    return line or 'see stdout/stderr'


def main():
    module = AnsibleModule(
        argument_spec={
            'name': {'type': 'str'},
            'images': {'type': 'list', 'elements': 'dict', 'options': {
                'name': {'type': 'str', 'required': True},
                'extra_tags': {'type': 'list', 'elements': 'str', 'default': []},
                'context': {'type': 'path'},
                'containerfile': {'type': 'path'},
                'containerfile_content': {'type': 'str'},
                'build_args': {'type': 'dict', 'default': {}},
                'target': {'type': 'str'},
                'runtime': {'type': 'str'},
                'inputs': {'type': 'list', 'elements': 'str'},
                'cache_group': {'type': 'str'},
                'archive': {'type': 'dict', 'options': {
                    'path': {'type': 'path', 'required': True},
                    'format': {'type': 'str', 'default': 'docker-archive', 'choices': ['docker-archive', 'oci-archive']},
                }},
            }},
            'extra_tags': {'type': 'list', 'elements': 'str', 'default': []},
            'context': {'type': 'path'},
            'containerfile': {'type': 'path'},
            'containerfile_content': {'type': 'str'},
            'build_args': {'type': 'dict', 'default': {}},
            'target': {'type': 'str'},
            'inputs': {'type': 'list', 'elements': 'str'},
            'volumes': {'type': 'list', 'elements': 'str', 'default': []},
            'base_images': {'type': 'dict', 'default': {}},
            'layers': {'type': 'bool', 'default': True},
            'pull': {'type': 'str', 'default': 'missing', 'choices': ['missing', 'newer', 'always', 'never']},
            'runtime': {'type': 'str'},
            'registries_conf': {'type': 'path'},
            'push': {'type': 'bool', 'default': False},
            'authfile': {'type': 'path', 'no_log': False},
            'tls_verify': {'type': 'bool', 'default': True},
            'cert_dir': {'type': 'path'},
            'archive': {'type': 'dict', 'options': {
                'path': {'type': 'path', 'required': True},
                'format': {'type': 'str', 'default': 'docker-archive', 'choices': ['docker-archive', 'oci-archive']},
            }},
            'parallel': {'type': 'int', 'default': 1},
            'build_timeout': {'type': 'int'},
            'force': {'type': 'bool', 'default': False},
            'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
            'buildah_path': {'type': 'path'},
            'skopeo_path': {'type': 'path'},
        },
        supports_check_mode=True,
        required_one_of=[['name', 'images']],
        mutually_exclusive=[['name', 'images']],
    )
    for option in ('parallel', 'build_timeout'):
        if module.params[option] is not None and module.params[option] < 1:
            module.fail_json(msg=f'{option} must be 1 or more, not {module.params[option]}')
    shared = {k: v for k, v in module.params.items() if k not in IMAGE_FIELDS and k != 'images'}
    try:
        tools = Tools(module, shared)
        if module.params['images'] is None:
            params = dict(shared, **{k: module.params[k] for k in IMAGE_FIELDS})
            module.exit_json(**BuildahImage(module, clean(params), tools).run())
        images = module.params['images']
        results, failed = run_images(len(images), lambda i: BuildahImage(module, clean(dict(shared, **images[i])), tools).run(),
                                     [image.get('cache_group') for image in images], module.params['parallel'])
        done = [r for r in results if r is not None]
        if failed is not None:
            index, exc = failed
            kwargs = exc.as_dict() if isinstance(exc, CliError) else {'msg': str(exc)}
            kwargs['msg'] = '{}: {}'.format(images[index]['name'], kwargs['msg'])
            module.fail_json(images=done, **kwargs)
        module.exit_json(changed=any(r['changed'] for r in done), images=done)
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    except ValueError as exc:
        module.fail_json(msg=str(exc))


def run_images(count, handle, groups, parallel):
    """Call ``handle(index)`` for each of ``count`` images, ``parallel`` at a time in index order; an image whose
    ``groups[index]`` is set starts only once the first image of that group has ended. Returns ``(results, failed)``:
    the results by index (None for an image not handled), and ``(index, exception)`` of the first image whose
    handle raised CliError or ValueError (no image starts after it; those running finish), else None."""
    first = {}
    for index, group in enumerate(groups):
        if group:
            first.setdefault(group, index)
    results = [None] * count
    failed = None
    ended = set()
    pending = list(range(count))
    running = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            if failed is None:
                for index in list(pending):
                    if len(running) >= max(1, parallel):
                        break
                    if groups[index] and first[groups[index]] != index and first[groups[index]] not in ended:
                        continue
                    pending.remove(index)
                    running[pool.submit(handle, index)] = index
            if not running:
                break
            finished, _running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                index = running.pop(future)
                ended.add(index)
                try:
                    results[index] = future.result()
                except (CliError, ValueError) as exc:
                    if failed is None:
                        failed = (index, exc)
    return results, failed


def clean(params):
    """Build args as strings (YAML may give numbers)."""
    params['build_args'] = {str(k): '' if v is None else str(v) for k, v in (params.get('build_args') or {}).items()}
    params['extra_tags'] = params.get('extra_tags') or []
    return params


if __name__ == '__main__':
    main()
