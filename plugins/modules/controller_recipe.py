#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: controller_recipe
short_description: Read how OpenKasugai's controller images are built from their upstream Dockerfiles
description:
  - Reads C(src/<controller>/Dockerfile) of an OpenKasugai controller source on the kind-host for each of
    O(controllers) and returns, per controller, what the collection's offline build recipe needs to produce the
    same binary (the images stage renders it into a Containerfile).
  - OpenKasugai's controller Dockerfiles are kubebuilder Dockerfiles built from the context C(src/). A C(golang)
    builder stage copies the controller's module and the API files it shares with sibling controllers and runs
    C(go build); a C(distroless) stage runs the binary as UID 65532. EthernetConnection, FPGAFunction and
    PCIeConnection are cgo programs that also build DPDK 23.11 and libfpga (openkasugai/hardware-drivers, a git
    submodule) inside the builder, downloading from dpdk.org and GitHub, and run in the builder image itself.
  - "Dropped from the builder steps, because they do not change the binary or are built once elsewhere:
    C(go fmt), C(go vet), the C(-a) of C(go build) (it only forces a rebuild), and the hardware-drivers build
    (apt, pip, the DPDK download and build, C(make), the fpgalib install), which the collection builds as one
    libfpga image against the distribution's DPDK."
version_added: 0.2.0
author: OpenKasugai all-in-one maintainers (@openkasugai)
options:
  source:
    description: Root of the controller source (the directory holding C(src/)).
    type: path
    required: true
  controllers:
    description: Controller directories under C(src/), for example C(CPUFunction).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: The module only reads.
  idempotent:
    support: full
    description: Read-only.
'''

EXAMPLES = r'''
- name: Read the recipes of the CPU path's controllers
  openkasugai.all_in_one.controller_recipe:
    source: /var/lib/openkasugai-lab/function_images/src-0123456789ab
    controllers: [whitebox-k8s-flowctrl, WBFunction, WBConnection, CPUFunction, EthernetConnection, DeviceInfo]
  register: recipes

- name: Which controllers need libfpga
  ansible.builtin.debug:
    msg: "{{ recipes.recipes | dict2items | selectattr('value.hardware_drivers') | map(attribute='key') | list }}"
'''

RETURN = r'''
recipes:
  description: One recipe per controller, by name.
  returned: always
  type: dict
  contains:
    builder_base:
      description: The builder stage's C(FROM).
      type: str
      sample: golang:1.23
    workdir:
      description: The builder's working directory.
      type: str
      sample: /workspace
    steps:
      description: The builder's steps in order, each C({arg}), C({run}) or C({src, dest, dir}) (a C(COPY) from the context).
      type: list
      elements: dict
      sample: [{arg: TARGETOS}, {src: [CPUFunction/go.mod], dest: go.mod, dir: false}, {run: go mod download}]
    inputs:
      description: The context paths the image copies (its input digest covers only those).
      type: list
      elements: str
      sample: [CPUFunction/api, CPUFunction/cmd/main.go, CPUFunction/go.mod]
    cgo:
      description: Whether C(go build) runs with cgo.
      type: bool
      sample: false
    hardware_drivers:
      description: Whether the controller links libfpga (openkasugai/hardware-drivers).
      type: bool
      sample: false
    output:
      description: The binary in the builder.
      type: str
      sample: /workspace/manager
    runtime_base:
      description: The final stage's C(FROM), or null when upstream runs the builder image itself.
      type: str
      sample: gcr.io/distroless/static:nonroot
    binary:
      description: Where the binary lands in the runtime image.
      type: str
      sample: /manager
    user:
      description: The runtime C(USER).
      type: str
      sample: "65532:65532"
    entrypoint:
      description: The runtime C(ENTRYPOINT), exec form.
      type: list
      elements: str
      sample: [/manager]
    env:
      description: Environment kept for the build and runtime (upstream's own DPDK library path and Xilinx XRT's are dropped).
      type: dict
      sample: {CGO_CFLAGS_ALLOW: -mrtm}
    go_sum:
      description:
        - The sha256 of the C(go.sum) the image copies (empty when it copies none). Controllers with the same
          C(go.sum) and builder compile the same dependencies (the images stage builds the first of them before
          the others, which then find its work in the shared Go build cache).
      type: str
      sample: 5d41402abc4b2a76b9719d911017c592ae3fc1d5e0c0c2d0f8c5e8b8c9e1f0a2
'''

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.controller_build import RecipeError, controller_recipe


def go_sum_digest(source, inputs):
    """The sha256 of the go.sum among a recipe's inputs (paths under src/), '' when there is none."""
    for path in inputs:
        full = os.path.join(source, 'src', path)
        if os.path.basename(path) == 'go.sum' and os.path.isfile(full):
            with open(full, 'rb') as handle:
                return hashlib.sha256(handle.read()).hexdigest()
    return ''


def main():
    module = AnsibleModule(
        argument_spec={
            'source': {'type': 'path', 'required': True},
            'controllers': {'type': 'list', 'elements': 'str', 'required': True},
        },
        supports_check_mode=True,
    )
    source = module.params['source']
    if not os.path.isdir(os.path.join(source, 'src')):
        module.fail_json(msg=f'source {source} has no src/ directory: it is not an OpenKasugai controller source')
    recipes = {}
    for name in module.params['controllers']:
        path = os.path.join(source, 'src', name, 'Dockerfile')
        try:
            with open(path, encoding='utf-8') as handle:
                text = handle.read()
        except OSError as exc:
            module.fail_json(msg=f'controllers: {name}: cannot read {path}: {exc.strerror}')
        try:
            recipes[name] = controller_recipe(text, name)
        except RecipeError as exc:
            module.fail_json(msg=f'controllers: {exc}')
        recipes[name]['go_sum'] = go_sum_digest(source, recipes[name]['inputs'])
    module.exit_json(changed=False, recipes=recipes)


if __name__ == '__main__':
    main()
