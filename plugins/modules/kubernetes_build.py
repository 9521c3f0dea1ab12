#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: kubernetes_build
short_description: Build Kubernetes commands (kubectl, kubeadm ...) of a release from the Go module proxy
description:
  - Builds commands of C(k8s.io/kubernetes) at a release tag with the pinned Go toolchain, from the Go module
    proxy only (no GitHub) - a generated module requires C(k8s.io/kubernetes) and pins its staging modules
    (C(k8s.io/api) ...) to the matching C(v0.<minor>.<patch>), which upstream's C(./staging) replaces stand for.
  - The binaries carry the release's version (C(kubectl version --client) says it), as Kubernetes' own build stamps it.
  - The output directory is named by the version, the commands and the recipe; a directory already built is
    reused and nothing runs (C(changed=false)).
version_added: 0.2.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - the Go toolchain Kubernetes' go.mod asks for (1.24 for v1.34), and the Go module proxy (or a site mirror of it)
extends_documentation_fragment:
  - openkasugai.all_in_one.go_build
options:
  version:
    description: The Kubernetes release, for example C(v1.34.1).
    type: str
    required: true
  commands:
    description: The commands under C(cmd/) to build.
    type: list
    elements: str
    default: [kubectl]
attributes:
  check_mode:
    support: full
    description: Reports whether a build would run; builds nothing.
  diff_mode:
    support: none
    description: Nothing to diff; RV(dir) names the output.
  idempotent:
    support: full
    description: A built output directory is reused.
"""

EXAMPLES = r"""
- name: Build kubectl v1.34.1 from source
  openkasugai.all_in_one.kubernetes_build:
    version: v1.34.1
    commands: [kubectl]
    go_path: /var/lib/openkasugai-lab/go/go1.24.4/bin/go
    go_environment:
      GOPROXY: https://proxy.golang.org
      GOMODCACHE: /var/lib/openkasugai-lab/go/modcache
      GOCACHE: /var/lib/openkasugai-lab/go/buildcache
    cache_dir: /var/lib/openkasugai-lab/go/builds
  register: k8s
"""

RETURN = r"""
dir:
  description: The directory holding the commands.
  returned: always
  type: str
  sample: /var/lib/openkasugai-lab/go/builds/bin/kubernetes-v1.34.1-3f2a9c1d0e4b-r1
paths:
  description: Each command's path.
  returned: always
  type: dict
  sample: {kubectl: /var/lib/openkasugai-lab/go/builds/bin/kubernetes-v1.34.1-3f2a9c1d0e4b-r1/kubectl}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.go_build_args import GO_BUILD_SPEC, go_builder


def main():
    module = AnsibleModule(
        argument_spec=dict(
            version=dict(type='str', required=True),
            commands=dict(type='list', elements='str', default=['kubectl']),
            **GO_BUILD_SPEC,
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p['commands']:
        module.fail_json(msg='commands is empty: name at least one command of k8s.io/kubernetes/cmd')
    builder = go_builder(module)
    try:
        out = builder.kubernetes(p['version'], p['commands'])
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    except (OSError, ValueError, KeyError) as exc:
        module.fail_json(msg='building Kubernetes %s: %s' % (p['version'], exc))
    module.exit_json(changed=bool(builder.built), dir=out, paths={c: os.path.join(out, c) for c in sorted(set(p['commands']))})


if __name__ == '__main__':
    main()
