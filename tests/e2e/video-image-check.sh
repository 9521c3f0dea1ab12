#!/usr/bin/env bash
# video-image-check.sh IMAGE COMMAND: run COMMAND with sh in a fresh buildah container of IMAGE, then remove it.
set -euo pipefail
container=$(buildah from --quiet "$1")
trap 'buildah rm "$container" >/dev/null' EXIT
buildah run "$container" -- sh -c "$2"
