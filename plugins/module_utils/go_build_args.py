# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The argument spec of the doc fragment openkasugai.all_in_one.go_build, and the builder it describes."""

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import Cli
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.go_source import GoBuilder

GO_BUILD_SPEC = dict(
    go_path=dict(type='path', required=True),
    go_environment=dict(type='dict', default={}),
    cache_dir=dict(type='path', required=True),
)


def go_builder(module):
    """A GoBuilder from the module's go_path, go_environment and cache_dir (check mode builds nothing)."""
    p = module.params
    env = {str(k): str(v) for k, v in p['go_environment'].items()}
    go = Cli('go', p['go_path'], option='go_path', module=module, version_args=('version',))
    return GoBuilder(go, p['cache_dir'], env=env, check_mode=module.check_mode)
