# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""How an OpenKasugai controller image is built, read from its upstream Dockerfile.

OpenKasugai's controllers (``src/<Controller>/Dockerfile``) are kubebuilder Dockerfiles built
from the context ``src/``: a ``golang`` builder stage copies the controller's module and the API
files it shares with sibling controllers, then ``go build``; a ``distroless`` stage runs the
binary as UID 65532. EthernetConnection, FPGAFunction and PCIeConnection are cgo programs that
also build DPDK 23.11 and libfpga (openkasugai/hardware-drivers, a git submodule) inside the
builder, with downloads from dpdk.org and GitHub, and run in the builder image itself.

``controller_recipe`` reads such a Dockerfile and returns what the collection's own build recipe
needs to produce the same binary offline, with shared Go caches:

* ``steps``: the builder stage's ``ARG``, ``COPY`` and ``RUN`` steps in order, minus what does not change
  the binary (``go fmt``, ``go vet``, ``go build -a``'s ``-a``, which only forces a rebuild) and
  minus the hardware-drivers build (apt, pip, the DPDK download and build, ``make``, the fpgalib
  install), which the collection builds once as its own libfpga image against the distribution's
  DPDK;
* ``inputs``: the context paths the image copies (its input digest covers only those);
* ``cgo``, ``hardware_drivers``: whether the build needs a C toolchain and libfpga;
* the runtime: ``runtime_base`` (the final stage's ``FROM``, or ``None`` when upstream runs the
  builder image itself), ``binary`` (where the binary lands), ``user``, ``entrypoint``, ``env``.

Pure Python (no Ansible import): unit-tested against the real v1.1.0 Dockerfiles.
"""

from __future__ import annotations

import json
import re
import shlex

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.buildah import containerfile_instructions

HARDWARE_DRIVERS_DIR = 'openkasugai-hardware-drivers'
# RUN steps of the upstream hardware-drivers build, replaced by the libfpga image.
_HARDWARE_RUN = re.compile(r'apt-get|pip3? |wget |build_dpdk|^make\b|fpgalib|dpdk', re.IGNORECASE)
# RUN steps that check the code and do not change the binary.
_CHECK_RUN = re.compile(r'^go (fmt|vet)\b')
# Environment of upstream's cgo runtime that points at the DPDK it built itself or at Xilinx XRT.
_DROPPED_ENV = ('LD_LIBRARY_PATH', 'XILINX_XRT', 'PATH', 'PYTHONPATH')


class RecipeError(ValueError):
    """The Dockerfile does not have the shape of an OpenKasugai controller Dockerfile."""


def _split_stages(instructions):
    stages = []
    for keyword, rest in instructions:
        if keyword == 'FROM':
            words = [w for w in rest.split() if not w.startswith('--')]
            alias = words[2] if len(words) >= 3 and words[1].lower() == 'as' else None
            stages.append({'from': words[0] if words else '', 'as': alias, 'steps': []})
        elif stages:
            stages[-1]['steps'].append((keyword, rest))
        elif keyword != 'ARG':
            raise RecipeError(f'{keyword} before the first FROM')
    if not stages:
        raise RecipeError('no FROM instruction')
    return stages


def _copy_args(rest):
    words = shlex.split(rest) if not rest.lstrip().startswith('[') else json.loads(rest)
    flags = [w for w in words if w.startswith('--')]
    args = [w for w in words if not w.startswith('--')]
    if len(args) < 2:
        raise RecipeError(f'COPY {rest}: needs a source and a destination')
    return flags, args[:-1], args[-1]


def _env_pairs(rest):
    """``ENV A=1 B=2`` or the legacy ``ENV A value with spaces``."""
    if '=' in rest.split(None, 1)[0]:
        return [tuple(item.split('=', 1)) for item in shlex.split(rest)]
    name, _sep, value = rest.partition(' ')
    return [(name, value.strip().strip('"'))]


def _exec_form(rest):
    text = rest.strip()
    if text.startswith('['):
        return json.loads(text)
    return ['/bin/sh', '-c', text]


def controller_recipe(text, name=''):
    """Read an upstream controller Dockerfile (``text``); ``name`` only labels errors."""
    label = f'{name}/Dockerfile: ' if name else ''
    try:
        stages = _split_stages(containerfile_instructions(text))
    except RecipeError as exc:
        raise RecipeError(label + str(exc)) from exc
    builder = stages[0]
    steps, inputs, env = [], [], {}
    hardware, cgo, built = False, False, False
    user, entrypoint, workdir = None, None, '/'
    for keyword, rest in builder['steps']:
        if keyword == 'COPY':
            flags, sources, dest = _copy_args(rest)
            if any(f.startswith('--from') for f in flags):
                raise RecipeError(f'{label}COPY --from in the builder stage is not supported: {rest}')
            kept = []
            for source in sources:
                if source.rstrip('/').endswith(HARDWARE_DRIVERS_DIR):
                    hardware = True
                    continue
                kept.append(source)
                if source.rstrip('/') not in inputs:
                    inputs.append(source.rstrip('/'))
            if kept:
                steps.append({'src': kept, 'dest': dest, 'dir': all(s.endswith('/') for s in kept)})
        elif keyword == 'RUN':
            command = rest.strip()
            if _CHECK_RUN.match(command):
                continue
            if re.search(r'\bgo build\b', command):
                built = True
                cgo = bool(re.search(r'\bCGO_ENABLED=1\b', command)) or 'CGO_ENABLED=0' not in command
                command = re.sub(r'\s-a(?=\s)', '', command)
                steps.append({'run': command})
            elif hardware and _HARDWARE_RUN.search(command):
                continue
            else:
                steps.append({'run': command})
        elif keyword == 'ARG':
            steps.append({'arg': rest.strip()})
        elif keyword == 'ENV':
            for key, value in _env_pairs(rest):
                if key not in _DROPPED_ENV:
                    env[key] = value
        elif keyword == 'WORKDIR':
            if not [s for s in steps if 'arg' not in s]:
                workdir = rest.strip()
        elif keyword == 'USER':
            user = rest.strip()
        elif keyword == 'ENTRYPOINT':
            entrypoint = _exec_form(rest)
    if not built:
        raise RecipeError(f'{label}the builder stage runs no go build')
    match = re.search(r'go build(?:\s+\S+)*?\s-o\s+(\S+)', next(s['run'] for s in steps if 'run' in s and 'go build' in s['run']))
    output = match.group(1) if match else 'manager'
    output_path = output if output.startswith('/') else workdir.rstrip('/') + '/' + output

    runtime_base, binary = None, output_path
    if len(stages) > 1:
        final = stages[-1]
        runtime_base = final['from']
        final_dir = '/'
        user, entrypoint = None, None
        for keyword, rest in final['steps']:
            if keyword == 'WORKDIR':
                final_dir = rest.strip()
            elif keyword == 'COPY':
                flags, sources, dest = _copy_args(rest)
                if any(f.startswith('--from') for f in flags) and output_path in sources:
                    binary = dest if not dest.endswith(('/', '.')) else final_dir.rstrip('/') + '/' + output.rsplit('/', 1)[-1]
                    if dest.startswith('/') and dest.endswith('/'):
                        binary = dest + output.rsplit('/', 1)[-1]
            elif keyword == 'USER':
                user = rest.strip()
            elif keyword == 'ENTRYPOINT':
                entrypoint = _exec_form(rest)
            elif keyword == 'ENV':
                for key, value in _env_pairs(rest):
                    if key not in _DROPPED_ENV:
                        env[key] = value
    return {
        'builder_base': builder['from'],
        'workdir': workdir,
        'steps': steps,
        'inputs': sorted(inputs),
        'cgo': cgo,
        'hardware_drivers': hardware,
        'output': output_path,
        'runtime_base': runtime_base,
        'binary': binary,
        'user': user or '',
        'entrypoint': entrypoint or [binary],
        'env': env,
    }
