#!/usr/bin/python
# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
module: kind_base_image
short_description: Build a kind node image from Kubernetes, etcd, CoreDNS and crictl sources and Debian packages
description:
  - Makes what kind's published node images hold without a container registry or GitHub
    (C(lab_build_from_source) with C(node_image)) - Kubernetes, etcd, CoreDNS, crictl and pause compiled from the
    Go module proxy with the pinned toolchain; containerd, runc and the CNI plugins from the OS image's packages;
    the control-plane images kubeadm lists (C(kubeadm config images list)) imported into the node's containerd.
  - The image is named C(<repository>:<kubernetes version>-<12 hex>), the hex a digest of every input (the
    versions, every file of I(recipe), the OS image's ID). When that image is in docker nothing runs; when its
    archive is in I(cache_dir) it is loaded; otherwise it is built and its archive written there (archives of
    older inputs of the same Kubernetes version are removed).
  - Compiling Kubernetes takes tens of minutes on two cores the first time; the Go caches make later builds
    (another recipe, another component version) minutes.
version_added: 0.2.0
author:
  - OpenKasugai all-in-one maintainers (@openkasugai)
requirements:
  - docker on the kind-host; the Go toolchain Kubernetes' go.mod asks for; the Go module proxy
extends_documentation_fragment:
  - openkasugai.all_in_one.go_build
  - openkasugai.all_in_one.cli.docker
options:
  kubernetes_version:
    description: The Kubernetes release of the node, for example C(v1.34.1).
    type: str
    required: true
  recipe:
    description:
      - The recipe directory (the node_image role's C(files/from_source)) - C(Dockerfile) of the node rootfs and
        C(images/Dockerfile.tools), both C(FROM) the build argument C(OS_IMAGE); C(rootfs/); the main packages
        C(pause/), C(coredns/), C(crictl/); C(netd/okl-netd) and C(netd/default-cni.manifest), the node's default pod network.
    type: path
    required: true
  os_image:
    description: The Debian image with systemd the node is built on (the node_image role makes it with debootstrap).
    type: str
    required: true
  repository:
    description: The local name of the image.
    type: str
    default: localhost/okl-node
  components:
    description:
      - Versions of what kubeadm asks for, for a Kubernetes minor the recipe does not know (it knows v1.34) -
        C(etcd) (module version), C(etcd_tag), C(coredns), C(pause_tag), C(cri_api) (the k8s.io/cri-api crictl is
        built against). Given keys win over the known ones.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Reports whether the image would be loaded or built and its name; changes nothing.
  diff_mode:
    support: none
    description: Nothing to diff; RV(action) says what was done.
  idempotent:
    support: full
    description: An image with the same inputs is neither rebuilt nor reloaded.
"""

EXAMPLES = r"""
- name: Build the kind node image of Kubernetes v1.34.1 from source
  openkasugai.all_in_one.kind_base_image:
    kubernetes_version: v1.34.1
    recipe: "{{ role_path }}/files/from_source"
    os_image: localhost/openkasugai/debian:bookworm-systemd
    go_path: /var/lib/openkasugai-lab/go/go1.24.4/bin/go
    go_environment: {GOPROXY: https://proxy.golang.org}
    cache_dir: /var/lib/openkasugai-lab/node_image/from_source
  register: base
"""

RETURN = r"""
image:
  description: The image's reference ('' in check mode when the OS image does not exist yet, which the name depends on).
  returned: always
  type: str
  sample: localhost/okl-node:v1.34.1-00c5481ba33c
action:
  description: C(present) (in docker already), C(loaded) (from its archive), C(built), or in check mode C(would load) / C(would build).
  returned: always
  type: str
  sample: built
archive:
  description: The image's docker-archive in I(cache_dir).
  returned: always
  type: str
  sample: /var/lib/openkasugai-lab/node_image/from_source/images/v1.34.1-00c5481ba33c.tar
kubernetes_dir:
  description: Where the Kubernetes binaries were built (C(kubectl) among them), when this run built the image.
  returned: when built
  type: str
pruned:
  description: Archives of older inputs removed.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import docker_cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import CliError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.go_build_args import GO_BUILD_SPEC, go_builder
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.kind_base_image import BuildError, NodeImageBuilder, components


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubernetes_version=dict(type='str', required=True),
            recipe=dict(type='path', required=True),
            os_image=dict(type='str', required=True),
            repository=dict(type='str', default='localhost/okl-node'),
            components=dict(type='dict', default={}),
            **GO_BUILD_SPEC,
            **docker_cli.DOCKER_PATH_SPEC,
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        builder = NodeImageBuilder(docker_cli.docker(p['docker_path'], module), go_builder(module), p['recipe'], p['cache_dir'],
                                   p['repository'], p['os_image'], p['kubernetes_version'],
                                   components(p['kubernetes_version'], p['components']))
        if module.check_mode and builder.os_image_id() is None:  # the role would make it first: the name is not known yet
            module.exit_json(changed=True, action='would build', image='', archive='', pruned=[])
        result = dict(image=builder.plan(), archive=builder.archive, pruned=[])
        if builder.present():
            module.exit_json(changed=False, action='present', **result)
        loadable = os.path.isfile(builder.archive)
        if module.check_mode:
            module.exit_json(changed=True, action='would load' if loadable else 'would build', **result)
        if loadable:
            builder.load()
            result['action'] = 'loaded'
        else:
            bins = builder.build()
            result.update(action='built', kubernetes_dir=bins['kubernetes'])
        result['pruned'] = builder.prune()
    except BuildError as exc:
        module.fail_json(msg=str(exc))
    except CliError as exc:
        module.fail_json(**exc.as_dict())
    except (OSError, ValueError, KeyError) as exc:
        module.fail_json(msg='building the node image of Kubernetes %s: %s' % (p['kubernetes_version'], exc))
    module.exit_json(changed=True, **result)


if __name__ == '__main__':
    main()
