# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Which kind node image each node of the lab model runs, and which images the node_image stage builds.

A node whose features (lab_model's ``features``: sriov, gpu, toolkit) are empty runs its cluster's base
image unchanged; a cluster's own ``node_image`` wins over everything; every other node runs an image
built on the base with its features. Nodes with the same base and features share one build, named by
a key (``<kubernetes_version>-<features>-<8 hex of the base's sha1>``).
"""

import hashlib


def base_image(cluster, base, base_overrides):
    """The base image of a cluster: an override by cluster name, else ``base`` with {kubernetes_version}."""
    return (base_overrides or {}).get(cluster['name']) or base.replace('{kubernetes_version}', cluster['kubernetes_version'])


def image_key(kubernetes_version, features, base):
    return '%s-%s-%s' % (kubernetes_version, '-'.join(features), hashlib.sha1(base.encode()).hexdigest()[:8])


def plan(model, base, base_overrides=None):
    """{nodes: [{cluster, node, role, gpu, build, key, ref}], specs: [{key, base, features, kubernetes_version}]}.

    ``ref`` is the image of a node that needs no build ('' for one that does: its ref is the built image);
    ``specs`` lists each image to build once, in the order the nodes first need it.
    """
    nodes, specs = [], []
    for cluster in model['clusters']:
        cluster_base = base_image(cluster, base, base_overrides)
        custom = cluster.get('node_image') or ''
        for node in cluster['nodes']:
            features = list(node['features'])
            build = not custom and bool(features)
            key = image_key(cluster['kubernetes_version'], features, cluster_base) if build else ''
            nodes.append(dict(cluster=cluster['name'], node=node['name'], role=node['role'], gpu=bool(node.get('gpus')),
                              build=build, key=key, ref='' if build else (custom or cluster_base)))
            spec = dict(key=key, base=cluster_base, features=features, kubernetes_version=cluster['kubernetes_version'])
            if build and spec not in specs:
                specs.append(spec)
    return dict(nodes=nodes, specs=specs)


def refs(nodes, built):
    """kind_cluster's node_images: each node's image by node name, and by kind of node (control_plane, worker,
    gpu_worker) where every node of that kind agrees. ``built`` maps a build key to the image built for it."""
    resolved = [dict(node, ref=built.get(node['key'], '') if node['build'] else node['ref']) for node in nodes]
    out = {node['node']: node['ref'] for node in resolved if node['ref']}
    kinds = dict(control_plane=[n for n in resolved if n['role'] == 'control-plane'],
                 worker=[n for n in resolved if n['role'] != 'control-plane' and not n['gpu']],
                 gpu_worker=[n for n in resolved if n['role'] != 'control-plane' and n['gpu']])
    for kind, members in kinds.items():
        images = sorted(set(n['ref'] for n in members))
        if len(images) == 1 and images[0]:
            out[kind] = images[0]
    return out
