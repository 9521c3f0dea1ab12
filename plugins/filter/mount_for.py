# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""Filter ``mount_for``: the entry of ``ansible_facts.mounts`` whose filesystem holds a path."""

import posixpath


def mount_for(mounts, path):
    """Longest mount point that is ``path`` or one of its ancestors; {} when none matches."""
    path = posixpath.normpath(path)
    best = {}
    for mount in mounts:
        point = posixpath.normpath(mount.get('mount', ''))
        inside = path == point or path.startswith(point.rstrip('/') + '/')
        if inside and len(point) > len(best.get('mount', '')):
            best = mount
    return best


class FilterModule:
    def filters(self):
        return {'mount_for': mount_for}
