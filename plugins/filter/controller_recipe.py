# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Filter ``controller_recipe``: how an OpenKasugai controller image is built, read from its upstream Dockerfile."""

from ansible.errors import AnsibleFilterError
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.controller_build import RecipeError, controller_recipe as _recipe


def controller_recipe(text, name=''):
    try:
        return _recipe(text, name)
    except (RecipeError, ValueError) as exc:
        raise AnsibleFilterError(f'controller_recipe: {exc}') from exc


class FilterModule:
    def filters(self):
        return {'controller_recipe': controller_recipe}
