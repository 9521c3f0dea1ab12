# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Linux inotify through ctypes (no dependency): watch directories, read batches of events.

Real sysfs emits few inotify events (attribute changes mostly do not), so the plugin also polls;
on the files kubelet and tests write (the device-plugins directory, a fake sysfs tree) events
arrive within milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import select
import struct

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF)
_HEADER = struct.Struct('iIII')


class Inotify:
    """One inotify instance. ``available`` is False where the kernel or libc refuses it."""

    def __init__(self):
        self.fd = -1
        self.watches = {}   # path -> wd
        self.paths = {}     # wd -> path
        try:
            self._libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
            self.fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            self.fd = -1
        self.available = self.fd >= 0

    def watch(self, path, mask=CHANGES):
        """Watch a directory; False when it cannot be watched (gone, not a directory, limit reached)."""
        if not self.available or path in self.watches:
            return self.available and path in self.watches
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), mask | IN_ONLYDIR)
        if wd < 0:
            if ctypes.get_errno() == errno.ENOSPC:
                self.limit_reached = True
            return False
        self.watches[path] = wd
        self.paths[wd] = path
        return True

    limit_reached = False

    def wait(self, timeout):
        """Events that arrive within ``timeout`` seconds: a list of (directory, name, mask)."""
        if not self.available:
            return []
        ready, _w, _x = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return []
        events = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                name = data[offset + _HEADER.size:offset + _HEADER.size + length].split(b'\0', 1)[0]
                offset += _HEADER.size + length
                path = self.paths.get(wd, '')
                if mask & IN_IGNORED:
                    self.paths.pop(wd, None)
                    if self.watches.get(path) == wd:
                        del self.watches[path]
                    continue
                events.append((path, os.fsdecode(name), mask))
            if len(data) < 65536:
                break
        return events

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
