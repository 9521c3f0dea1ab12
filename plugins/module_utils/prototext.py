# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A reader of the protobuf text format, without a schema.

OpenKasugai's calcapp logs each gRPC request as protobuf text (what a Go proto message's
``String()`` gives, put into a zap field), for example::

    inputs:10 inputs:2 inputs:4 results:{operator:"plus" value:16}

The Go library makes that spacing deliberately unstable (it adds a random space now and then, so
that nobody matches it as a string): it has to be parsed. ``parse`` reads the whole text format as
the protobuf language guide describes it, without knowing the message's schema:

* fields ``name: value`` in any order, separated by blanks, ``,`` or ``;``; the ``:`` is optional
  before a message; ``[ext.name]`` extension names; ``#`` comments;
* scalars: integers (decimal, ``0x`` hex, ``0`` octal), floats (exponent, ``f`` suffix, ``inf``,
  ``infinity``, ``nan`` in any case, signs), identifiers (enums, ``true``/``false``), strings in
  single or double quotes with C escapes (``\\n``, ``\\"``, octal, ``\\x``, ``\\u``, ``\\U``), adjacent
  strings joined;
* messages in ``{...}`` or ``<...>``; lists ``[a, b]`` of either.

Without a schema every field may repeat, so a message becomes ``{name: [value, ...]}`` (each
occurrence appended, a list's items each appended). Numbers stay text: the caller knows whether a
field is a double or an integer. Pure Python, no Ansible import.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r'-?\s*(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?|(?i:infinity|inf|nan)\b)')
_IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_SPACE = re.compile(r'(?:\s+|#[^\n]*)*')
_SIMPLE_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v',
                   '\\': '\\', "'": "'", '"': '"', '?': '?'}
_CLOSE = {'{': '}', '<': '>'}


class ProtoTextError(ValueError):
    """The text is not in the protobuf text format; the message says where."""


class Number(str):
    """A numeric scalar, kept as its text (``'16'``, ``'-1.5e3'``, ``'inf'``, ``'0x10'``)."""


class _Reader:
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def fail(self, what):
        near = self.text[self.pos:self.pos + 20]
        raise ProtoTextError('{} at offset {} (near {!r})'.format(what, self.pos, near))

    def skip(self):
        self.pos = _SPACE.match(self.text, self.pos).end()

    def peek(self):
        self.skip()
        return self.text[self.pos:self.pos + 1]

    def take(self, char):
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def name(self):
        self.skip()
        if self.take('['):
            end = self.text.find(']', self.pos)
            if end < 0:
                self.fail('an extension name without ]')
            name = '[' + self.text[self.pos:end].strip() + ']'
            self.pos = end + 1
            return name
        match = _IDENT.match(self.text, self.pos)
        if not match:
            self.fail('a field name was expected')
        self.pos = match.end()
        return match.group(0)

    def fields(self, close=''):
        """Fields up to ``close`` (or the end of the text when ``close`` is empty)."""
        message = {}
        while True:
            char = self.peek()
            if char == '' and not close:
                return message
            if char == close and close:
                self.pos += 1
                return message
            if char == '':
                self.fail('the text ended inside a message (missing {})'.format(close))
            name = self.name()
            has_colon = self.take(':')
            values = message.setdefault(name, [])
            if self.peek() == '[':
                self.pos += 1
                if not self.take(']'):
                    while True:
                        values.append(self.value(has_colon))
                        if self.take(']'):
                            break
                        if not self.take(','):
                            self.fail('a list continues with , or ends with ]')
            else:
                values.append(self.value(has_colon))
            if not self.take(','):
                self.take(';')

    def value(self, has_colon):
        char = self.peek()
        if char in _CLOSE:
            self.pos += 1
            return self.fields(_CLOSE[char])
        if not has_colon:
            self.fail('a scalar field needs a colon')
        if char in ('"', "'"):
            parts = []
            while self.peek() in ('"', "'"):
                parts.append(self.string())
            return ''.join(parts)
        match = _NUMBER.match(self.text, self.pos)
        if match and not _IDENT.match(self.text, match.end()):
            self.pos = match.end()
            return Number(re.sub(r'\s+', '', match.group(0)))
        match = _IDENT.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            return match.group(0)
        self.fail('a value was expected')
        return None  # not reached

    def string(self):
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text) or self.text[self.pos] == '\n':
                self.fail('a string without its closing quote')
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return ''.join(out)
            if char != '\\':
                out.append(char)
                continue
            esc = self.text[self.pos:self.pos + 1]
            self.pos += 1
            if esc in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[esc])
            elif esc in '01234567' and esc:
                digits = re.match(r'[0-7]{1,3}', self.text[self.pos - 1:]).group(0)
                self.pos += len(digits) - 1
                out.append(chr(int(digits, 8)))
            elif esc in ('x', 'X'):
                digits = re.match(r'[0-9a-fA-F]{1,2}', self.text[self.pos:])
                if not digits:
                    self.fail('\\x without hex digits')
                self.pos += len(digits.group(0))
                out.append(chr(int(digits.group(0), 16)))
            elif esc in ('u', 'U'):
                width = 4 if esc == 'u' else 8
                digits = self.text[self.pos:self.pos + width]
                if not re.fullmatch(r'[0-9a-fA-F]{%d}' % width, digits):
                    self.fail('\\{} needs {} hex digits'.format(esc, width))
                self.pos += width
                out.append(chr(int(digits, 16)))
            else:
                self.fail('an unknown escape \\{}'.format(esc))


def parse(text):
    """The message in ``text`` as ``{field: [values]}`` (nested messages alike); ProtoTextError if malformed."""
    if not isinstance(text, str):
        raise ProtoTextError('protobuf text must be a string, got {!r}'.format(type(text).__name__))
    return _Reader(text).fields()
