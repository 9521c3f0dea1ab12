# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The upstream add-ons' images, and how the lab builds them from their pinned sources.

Each add-on manifest names its images in an upstream registry (quay.io, ghcr.io). A lab that can
pull them needs nothing from here. A lab that cannot (``lab_build_from_source`` lists
``addon_images``) has the images stage build them from the sources the manifests were released
from: MetalLB from its Go module (the Go module proxy serves it), the others from their source
archives (``lab_downloads.<addon>_source``, a ``git archive`` of the tag, pinned by checksum). The
add-ons stage then points each manifest at the lab's builds with a kustomize image override.

``builds(model)`` lists the images to build (for the images stage), ``overrides(cluster, model)``
the image overrides of one cluster (the user's first: an override the user wrote always wins).
"""

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class AddonImage:
    """One image of an upstream add-on manifest and our build of it."""
    addon: str        # the add-on (lab_clusters[].addons key, as addon_manifests() names it)
    name: str         # our image name (<lab image prefix>/<name>:<version>)
    upstream: str     # the image as the upstream manifest names it (without tag)
    recipe: str       # the Containerfile template of the images stage (templates/addons/<recipe>.Containerfile.j2)
    source: str       # lab_downloads key of the source archive; '' = the Go module below
    go_module: str = ''
    # the version comes from this download (the manifest the image must match)
    version_from: str = ''


ADDON_IMAGES = (
    AddonImage('metallb', 'metallb-controller', 'quay.io/metallb/controller', 'metallb-controller', '',
               go_module='go.universe.tf/metallb', version_from='metallb_manifest'),
    AddonImage('metallb', 'metallb-speaker', 'quay.io/metallb/speaker', 'metallb-speaker', '',
               go_module='go.universe.tf/metallb', version_from='metallb_manifest'),
    AddonImage('multus', 'multus-cni', 'ghcr.io/k8snetworkplumbingwg/multus-cni', 'multus', 'multus_source'),
    AddonImage('sriov_cni', 'sriov-cni', 'ghcr.io/k8snetworkplumbingwg/sriov-cni', 'sriov-cni', 'sriov_cni_source'),
    AddonImage('sriov_device_plugin', 'sriov-network-device-plugin',
               'ghcr.io/k8snetworkplumbingwg/sriov-network-device-plugin', 'sriov-device-plugin', 'sriov_device_plugin_source'),
    AddonImage('nv_ipam', 'nvidia-k8s-ipam', 'ghcr.io/mellanox/nvidia-k8s-ipam', 'nv-ipam', 'nv_ipam_source'),
)

# nvidia-k8s-ipam publishes no single manifest: its deploy/ is a kustomize tree, rendered from the
# source archive (this overlay: the CRDs, the controller and the node DaemonSet, no webhook, which
# would need cert-manager).
NV_IPAM_OVERLAY = 'deploy/overlays/no-webhook'


def image_prefix(registry):
    """Where the lab's own images live: <registry>/<project>, or the nodes' own images (localhost)."""
    if registry['type'] == 'none':
        return 'localhost'
    return '%s/%s' % (registry['url'], registry['project'])


def _version(image, downloads):
    download = downloads.get(image.version_from or image.source)
    return str(download.get('version') or '') if isinstance(download, dict) else ''


def builds(model):
    """The add-on images the images stage builds: those of an add-on enabled in any cluster, once each."""
    if 'addon_images' not in model['build_from_source']:
        return []
    enabled = {item['addon'] for cluster in model['clusters'] for item in cluster['addon_manifests']}
    result = []
    for image in ADDON_IMAGES:
        if image.addon in enabled:
            result.append(dict(addon=image.addon, name=image.name, tag=_version(image, model['downloads']),
                               upstream=image.upstream, recipe=image.recipe, source=image.source,
                               source_id=source_id(image.source, model['downloads']), go_module=image.go_module))
    return result


def source_id(key, downloads):
    """A name for a source archive's unpacked tree that changes with its pin: <key>-<digest of the download entry>."""
    if not key:
        return ''
    pin = json.dumps(downloads.get(key), sort_keys=True, default=str)
    return '%s-%s' % (key, hashlib.sha256(pin.encode()).hexdigest()[:12])


def overrides(cluster, model):
    """The kustomize image overrides of one cluster: the user's, then ours for each image we build."""
    result = [dict(item) for item in cluster['addons']['image_overrides']]
    taken = {item['name'] for item in result}
    prefix = image_prefix(model['registry'])
    enabled = {item['addon'] for item in cluster['addon_manifests']}
    for image in model['addon_images']:
        if image['addon'] in enabled and image['upstream'] not in taken:
            result.append(dict(name=image['upstream'], new_name='%s/%s' % (prefix, image['name']), new_tag=image['tag'], digest=''))
    return result


def missing_sources(model):
    """(download key, add-on) of each source archive a build needs that lab_downloads does not describe."""
    return sorted({(image['source'], image['addon']) for image in model['addon_images']
                   if image['source'] and image['source'] not in model['downloads']})
