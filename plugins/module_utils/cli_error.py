# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The error every CLI helper raises: what failed, and the command, rc and output behind it.

Standard library only: the netns keeper installs this file beside itself with netns.py and
docker_cli.py.
"""


class CliError(Exception):
    """A failed CLI call, carrying what fail_json (or a log line) shows."""

    def __init__(self, msg, cmd=None, rc=None, stdout=None, stderr=None):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def as_dict(self):
        """The message and whichever of cmd, rc, stdout, stderr are known, as fail_json keywords."""
        out = {'msg': self.msg}
        for key in ('cmd', 'rc', 'stdout', 'stderr'):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out
