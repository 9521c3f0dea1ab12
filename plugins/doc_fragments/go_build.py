# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The options of the modules that build Go programs from the Go module proxy (module_utils.go_source)."""


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  go_path:
    description:
      - The C(go) binary of the pinned toolchain (the go_toolchain role unpacks C(lab_downloads.go) and gives its path).
    type: path
    required: true
  go_environment:
    description:
      - Environment of every C(go) command, for example C(GOPROXY) (the lab's Go module proxy), C(GOMODCACHE) and
        C(GOCACHE). C(GOTOOLCHAIN=local) and C(CGO_ENABLED=0) are set unless given.
    type: dict
    default: {}
  cache_dir:
    description:
      - Where the builds keep their output, C(bin/<program>-<version>-<inputs>/), reused by a later run with the same
        inputs, and their work directories while they run.
    type: path
    required: true
"""
