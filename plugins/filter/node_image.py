# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Filters ``node_image_plan`` and ``node_image_refs``: the node_image stage's plan, worked out in Python."""

from ansible.errors import AnsibleFilterError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import node_image_plan as nip


def node_image_plan(model, base, base_overrides=None):
    """``lab_model | node_image_plan(node_image_base, node_image_base_overrides)`` -> {nodes, specs}."""
    try:
        return nip.plan(model, str(base), dict(base_overrides or {}))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('node_image_plan: the input must be the lab_model fact (%s)' % exc) from exc


def node_image_refs(nodes, built):
    """``plan.nodes | node_image_refs(built)`` -> kind_cluster's node_images."""
    return nip.refs(list(nodes), dict(built or {}))


class FilterModule:
    def filters(self):
        return {'node_image_plan': node_image_plan, 'node_image_refs': node_image_refs}
