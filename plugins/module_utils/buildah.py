# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure functions for the buildah_image module (no CLI is run here: cli.Cli runs buildah and skopeo).

The content digest of a build's inputs, ``.containerignore``/``.dockerignore`` matching,
Containerfile ``FROM`` parsing and image reference normalisation.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

INPUT_DIGEST_LABEL = 'io.openkasugai.input-digest'
DIGEST_SCHEME = 'okl-input-v1'


# --------------------------------------------------------------------------------------------
# image references
# --------------------------------------------------------------------------------------------
def split_reference(ref):
    """``'reg:5000/p/img:tag'`` -> ``('reg:5000', 'p/img', 'tag', None)``.

    Returns ``(registry, repository, tag, digest)``; registry is ``None`` for short names.
    """
    digest = None
    if '@' in ref:
        ref, digest = ref.split('@', 1)
    first, sep, rest = ref.partition('/')
    if sep and ('.' in first or ':' in first or first == 'localhost'):
        registry, remainder = first, rest
    else:
        registry, remainder = None, ref
    tag = None
    last = remainder.rsplit('/', 1)[-1]
    if ':' in last:
        remainder, tag = remainder.rsplit(':', 1)
    return registry, remainder, tag, digest


def normalize_reference(ref):
    """The name buildah stores for ``ref``: short names live under ``localhost/``, tag defaults
    to ``latest``. ``'foo'`` -> ``'localhost/foo:latest'``."""
    registry, repo, tag, digest = split_reference(ref.strip())
    if not repo or re.search(r'[A-Z\s]', repo):
        raise ValueError(f'{ref!r} is not a valid image reference (lower-case repository, optional registry and tag)')
    name = '{}/{}'.format(registry or 'localhost', repo)
    if digest:
        return name + '@' + digest
    return '{}:{}'.format(name, tag or 'latest')


def docker_reference(ref):
    """The fully qualified name Docker gives a reference: ``'golang:1.23'`` ->
    ``'docker.io/library/golang:1.23'``, ``'gcr.io/distroless/static:nonroot'`` unchanged."""
    registry, repo, tag, digest = split_reference(ref.strip())
    if registry is None:
        registry = 'docker.io'
    if registry == 'docker.io' and '/' not in repo:
        repo = 'library/' + repo
    name = f'{registry}/{repo}'
    return name + '@' + digest if digest else '{}:{}'.format(name, tag or 'latest')


def registry_of(ref):
    """The registry host[:port] of a normalised reference."""
    return split_reference(ref)[0]


# --------------------------------------------------------------------------------------------
# .containerignore / .dockerignore
# --------------------------------------------------------------------------------------------
def _translate(pattern):
    """Translate one ignore pattern (Go filepath.Match plus ``**``) to a regular expression."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == '*':
            if pattern[i:i + 2] == '**':
                i += 2
                if pattern[i:i + 1] == '/':
                    i += 1
                    out.append('(?:.*/)?')
                else:
                    out.append('.*')
                continue
            out.append('[^/]*')
        elif c == '?':
            out.append('[^/]')
        elif c == '[':
            j = pattern.find(']', i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith(('^', '!')):
                    body = '^' + body[1:]
                out.append('[' + body.replace('\\', '\\\\') + ']')
                i = j
        elif c == '\\' and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile('^' + ''.join(out) + '$')


def parse_ignore(text):
    """Parse an ignore file: returns a list of ``(regex, negated)`` in file order."""
    rules = []
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        negated = line.startswith('!')
        if negated:
            line = line[1:].strip()
        line = os.path.normpath(line).lstrip('/')
        if line in ('', '.'):
            continue
        rules.append((_translate(line), negated))
    return rules


def is_ignored(rel_path, rules):
    """Docker semantics: a path is excluded when the last rule matching it (or one of its parent
    directories) is not a negation."""
    if not rules:
        return False
    parts = rel_path.split('/')
    prefixes = ['/'.join(parts[:k]) for k in range(1, len(parts) + 1)]
    ignored = False
    for regex, negated in rules:
        if any(regex.match(p) for p in prefixes):
            ignored = not negated
    return ignored


def read_ignore_rules(context):
    """Rules of ``.containerignore`` (preferred, as buildah does) or ``.dockerignore``."""
    for name in ('.containerignore', '.dockerignore'):
        path = os.path.join(context, name)
        if os.path.isfile(path):
            with open(path, encoding='utf-8', errors='replace') as handle:
                return name, parse_ignore(handle.read())
    return None, []


# --------------------------------------------------------------------------------------------
# Containerfile
# --------------------------------------------------------------------------------------------
_VAR_RE = re.compile(r'\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))')


def _expand(text, variables):
    def repl(match):
        name = match.group(1) or match.group(4)
        value = variables.get(name)
        op, word = match.group(2), match.group(3)
        if op == '-':
            return value if value else (word or '')
        if op == '+':
            return (word or '') if value else ''
        return value or ''
    return _VAR_RE.sub(repl, text)


def containerfile_instructions(text):
    """Logical instructions ``[(KEYWORD, rest)]`` with continuations joined and comments dropped."""
    instructions, current = [], ''
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith('#')):
            continue
        if current and stripped.startswith('#'):
            continue
        if stripped.endswith('\\'):
            current += stripped[:-1] + ' '
            continue
        current += stripped
        keyword, _sep, rest = current.strip().partition(' ')
        instructions.append((keyword.upper(), rest.strip()))
        current = ''
    if current.strip():
        keyword, _sep, rest = current.strip().partition(' ')
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def base_images(text, build_args=None):
    """External images a Containerfile builds on: every ``FROM`` that is not ``scratch`` or an
    earlier stage, and every ``COPY --from=<image>``/``RUN --mount=...from=<image>`` that names an
    image. Global ``ARG`` defaults and ``build_args`` are substituted."""
    build_args = dict(build_args or {})
    variables, stages, images = {}, set(), []
    seen_from = False

    def add(ref):
        ref = ref.strip()
        if ref and ref.lower() != 'scratch' and ref not in stages and not ref.isdigit() and ref not in images:
            images.append(ref)

    for keyword, rest in containerfile_instructions(text):
        if keyword == 'ARG' and not seen_from:
            for item in rest.split():
                name, eq, default = item.partition('=')
                variables[name] = build_args.get(name, default.strip('"\'') if eq else '')
        elif keyword == 'FROM':
            seen_from = True
            words = [w for w in rest.split() if not w.startswith('--')]
            if not words:
                continue
            add(_expand(words[0], variables))
            if len(words) >= 3 and words[1].lower() == 'as':
                stages.add(words[2])
        elif keyword in ('COPY', 'ADD', 'RUN'):
            for word in rest.split():
                if word.startswith('--from='):
                    add(_expand(word[len('--from='):], variables))
                elif word.startswith('--mount='):
                    for opt in word[len('--mount='):].split(','):
                        if opt.startswith('from='):
                            add(_expand(opt[len('from='):], variables))
    return images


def find_containerfile(context, containerfile=None):
    """Absolute path of the Containerfile: ``containerfile`` (relative to ``context`` unless
    absolute) or ``Containerfile``/``Dockerfile`` in the context."""
    if containerfile:
        path = containerfile if os.path.isabs(containerfile) else os.path.join(context, containerfile)
        return os.path.abspath(path)
    for name in ('Containerfile', 'Dockerfile'):
        path = os.path.join(context, name)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return os.path.abspath(os.path.join(context, 'Containerfile'))


# --------------------------------------------------------------------------------------------
# input digest
# --------------------------------------------------------------------------------------------
def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b''):
            digest.update(block)
    return digest.hexdigest()


def _under(rel, inputs):
    """True when ``rel`` is one of ``inputs``, lies below one, or is a parent directory of one."""
    for item in inputs:
        if rel == item or rel.startswith(item + '/') or item.startswith(rel + '/'):
            return True
    return False


def normalize_inputs(inputs):
    """Context-relative input paths, cleaned: ``['./a/b/', 'c']`` -> ``['a/b', 'c']``.

    Raises ``ValueError`` for a path that leaves the context (absolute, or through ``..``)."""
    cleaned = []
    for item in inputs:
        norm = os.path.normpath(str(item))
        if os.path.isabs(norm) or norm == '..' or norm.startswith('../'):
            raise ValueError(f'inputs: {item!r} is not a path inside the build context')
        if norm == '.':
            return []
        if norm not in cleaned:
            cleaned.append(norm)
    return sorted(cleaned)


def context_entries(context, inputs=None):
    """Sorted ``(relative path, kind, mode, content)`` of everything a build can see in
    ``context``: regular files (content = sha256), symlinks (content = target) and directories,
    minus what the ignore file excludes. Modes keep only the permission bits.

    With ``inputs`` (context-relative paths, see ``normalize_inputs``), only those files and
    directories (and the directories leading to them) are entries: the parts of a shared context
    that one Containerfile copies."""
    _ignore_name, rules = read_ignore_rules(context)
    can_prune = not any(negated for _regex, negated in rules)
    inputs = normalize_inputs(inputs or [])
    entries = []
    for root, dirs, files in os.walk(context, followlinks=False):
        rel_root = os.path.relpath(root, context)
        rel_root = '' if rel_root == '.' else rel_root
        kept = []
        for name in sorted(dirs):
            rel = rel_root + '/' + name if rel_root else name
            full = os.path.join(root, name)
            if inputs and not _under(rel, inputs):
                continue
            if os.path.islink(full):
                files.append(name)  # a symlink to a directory: record the link, do not follow
                continue
            if is_ignored(rel, rules):
                if can_prune:
                    continue
            else:
                entries.append((rel, 'dir', stat.S_IMODE(os.lstat(full).st_mode), ''))
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            rel = rel_root + '/' + name if rel_root else name
            if is_ignored(rel, rules) or (inputs and not _under(rel, inputs)):
                continue
            full = os.path.join(root, name)
            info = os.lstat(full)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                entries.append((rel, 'link', mode, os.readlink(full)))
            elif stat.S_ISREG(info.st_mode):
                entries.append((rel, 'file', mode, _file_sha256(full)))
    entries.sort()
    return entries


def input_digest(context, containerfile, build_args=None, target=None, bases=None, inputs=None):
    """The ``sha256:`` digest of everything that decides a build's result.

    Inputs: every file of ``context`` (path, permission bits, content; symlinks by target;
    directories; the ignore file respected), the Containerfile text (even when it lies outside
    the context), the build args (sorted), the target stage and ``bases``: a mapping of base
    image reference -> identity (the input digest label of a base we built ourselves, the image
    ID of a base taken from a local source, or ``''`` for an upstream image known only by its
    reference). With ``inputs``, only those context paths count (``context_entries``), and the
    list itself is an input. Timestamps are not inputs.
    """
    digest = hashlib.sha256()

    def feed(*fields):
        for field in fields:
            data = field if isinstance(field, bytes) else str(field).encode('utf-8', 'surrogateescape')
            digest.update(str(len(data)).encode() + b':' + data)

    feed(DIGEST_SCHEME)
    with open(containerfile, 'rb') as handle:
        feed('containerfile', handle.read())
    for key in sorted(build_args or {}):
        feed('arg', key, (build_args or {})[key])
    feed('target', target or '')
    for ref in sorted(bases or {}):
        feed('base', ref, (bases or {})[ref])
    for item in normalize_inputs(inputs or []):
        feed('input', item)
    for rel, kind, mode, content in context_entries(context, inputs):
        feed('entry', rel, kind, f'{mode:o}', content)
    return 'sha256:' + digest.hexdigest()


def labels_of_inspect(data):
    """Labels from ``buildah inspect --type image`` or ``skopeo inspect`` output."""
    if not isinstance(data, dict):
        return {}
    if 'Labels' in data:  # skopeo inspect
        return data.get('Labels') or {}
    config = (data.get('OCIv1') or {}).get('config') or {}
    labels = config.get('Labels')
    if labels is None:
        labels = ((data.get('Docker') or {}).get('config') or {}).get('Labels')
    return labels or {}
