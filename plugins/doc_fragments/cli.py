# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The options of the command-line tools our modules run (module_utils.cli), documented once.

The argument specs that go with them are module_utils.docker_cli.DOCKER_PATH_SPEC and
module_utils.kind.KIND_PATH_SPEC.
"""


class ModuleDocFragment:

    DOCKER = r"""
options:
  docker_path:
    description:
      - The docker CLI, a path or a name looked up in C(PATH) (then C(/usr/local/sbin), C(/usr/sbin), C(/sbin) and the bin
        directories).
    type: str
    default: docker
"""

    KIND = r"""
options:
  kind_path:
    description: The kind binary, a path or a name looked up in C(PATH).
    type: str
    default: kind
"""
