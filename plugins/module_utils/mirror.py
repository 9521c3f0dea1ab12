# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The site mirror (``lab_mirror``) and whether the lab's downloads can be had at all.

A site mirror holds every file the lab downloads, under one layout, so that a lab that reaches no
GitHub (an air-gapped or proxy-restricted site) takes each pinned file from the mirror instead, with
the same checksum. The layout, relative to the mirror's base (a directory on the kind-host, a
``file://`` or an ``https://`` URL):

* ``bin/<file>-<version>``: binaries (kind, kubectl), named as upstream serves them plus the version;
* ``manifests/<stem>-<version><ext>``: the add-on manifests (``lab_downloads.*_manifest``);
* ``src/<file>``: source archives (``git archive`` tarballs, their names carry the version), the
  controller source archive among them;
* ``git/<name>.git``: a bare clone of a controller source of type git.

A file whose upstream name already carries the version keeps its name. Files the Go module proxy serves (the
Go toolchain zips, ``https://proxy.golang.org/golang.org/toolchain/@v/...``) are not in the mirror: they come
from the lab's Go module proxy (``lab_go_proxy``, a site's own proxy offline), as the modules of every Go
build do. ``mirror_files(model)`` lists
what a mirror of the lab holds (``playbooks/mirror.yml`` fills one from it), ``apply(model)`` points
the model's downloads at the mirror, and ``unreachable(model, probe)`` lists what the lab needs and
cannot reach, for preflight to refuse before any change.
"""

import os
import posixpath
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit

from ansible.module_utils.urls import open_url

# The public Go module proxy: downloads under it follow lab_go_proxy (see proxy_url), never the file mirror.
PUBLIC_GO_PROXY = 'https://proxy.golang.org'
_ARCHIVE_EXTS = ('.tar.gz', '.tgz', '.tar.xz', '.tar.bz2', '.zip')
_EXTS = _ARCHIVE_EXTS + ('.yaml', '.yml', '.json')


def base_url(mirror):
    """The mirror as a URL without a trailing slash: a directory becomes file://; '' stays ''."""
    mirror = str(mirror or '').strip()
    if not mirror:
        return ''
    if mirror.startswith('/'):
        mirror = 'file://' + os.path.normpath(mirror)
    return mirror.rstrip('/')


def check(mirror):
    """Problems of lab_mirror itself, as (message, fix) pairs."""
    mirror = str(mirror or '').strip()
    if not mirror:
        return []
    fix = 'give an absolute directory on the kind-host, or a file:// or https:// URL of the mirror\'s top.'
    scheme = urlsplit(mirror).scheme
    if mirror.startswith('/') or (scheme == 'file' and urlsplit(mirror).path.startswith('/')):
        return []
    if scheme == 'https' and urlsplit(mirror).netloc:
        return []
    if scheme == 'http':
        return [('%r is plain HTTP: downloads are refused without TLS.' % mirror, fix)]
    if not scheme:
        return [('%r is relative: the stages run from different working directories.' % mirror, fix)]
    return [('%r is neither a directory nor a file:// or https:// URL.' % mirror, fix)]


def _versioned(name, version):
    """A file name that carries the version: as it is when it does, else <stem>-<version><ext>."""
    if not version or version in name:
        return name
    for ext in _EXTS:
        if name.endswith(ext) and len(name) > len(ext):
            return '%s-%s%s' % (name[:-len(ext)], version, ext)
    return '%s-%s' % (name, version)


def proxy_url(url, go_proxy):
    """A URL of the public Go module proxy on the lab's proxy instead; '' for any other URL."""
    url = str(url or '')
    if not url.startswith(PUBLIC_GO_PROXY + '/') or not go_proxy.startswith(('https://', 'file:///')):
        return ''  # not a proxy file, or a lab_go_proxy that preflight refuses on its own
    return go_proxy.rstrip('/') + url[len(PUBLIC_GO_PROXY):]


def download_path(name, item):
    """Where a lab_downloads entry lives in the mirror ('' when it is a local path or a file of the Go module proxy)."""
    if not isinstance(item, dict) or item.get('path') or not item.get('url') or proxy_url(item['url'], PUBLIC_GO_PROXY):
        return ''
    filename = posixpath.basename(unquote(urlsplit(str(item['url'])).path)) or name
    if name.endswith('_manifest'):
        folder = 'manifests'
    elif filename.endswith(_ARCHIVE_EXTS):
        folder = 'src'
    else:
        folder = 'bin'
    return '%s/%s' % (folder, _versioned(filename, str(item.get('version') or '')))


def controller_path(source):
    """Where the controller source lives in the mirror ('' for a directory on the kind-host)."""
    if source['type'] == 'archive' and source['archive_url']:
        return 'src/%s' % posixpath.basename(unquote(urlsplit(source['archive_url']).path))
    if source['type'] == 'git' and source['git_url']:
        repo = posixpath.basename(urlsplit(source['git_url']).path.rstrip('/')) or 'controller'
        return 'git/%s' % (repo if repo.endswith('.git') else repo + '.git')
    return ''


def mirror_files(downloads, source):
    """What a mirror of the lab holds: [{name, type (file|git), upstream, path, version, checksum}].

    ``upstream`` is where the file comes from as the inventory pins it, ``path`` its place in the mirror.
    """
    files = []
    for name, item in sorted(downloads.items()):
        path = download_path(name, item)
        if path:
            files.append(dict(name=name, type='file', upstream=str(item['url']), path=path,
                              version=str(item.get('version') or ''), checksum=str(item.get('checksum') or '')))
    path = controller_path(source)
    if path:
        git = source['type'] == 'git'
        files.append(dict(name='controller_source', type='git' if git else 'file', path=path,
                          upstream=source['git_url'] if git else source['archive_url'],
                          version=source['version'] if git else '', checksum='' if git else source['checksum']))
    return files


def apply(model, mirror):
    """Point the model's downloads and controller source at the mirror (in place); files of the Go module proxy
    at the lab's Go module proxy (``model['go_proxy']``)."""
    base = base_url(mirror)
    model['mirror'] = base
    model['mirror_files'] = mirror_files(model['downloads'], model['controller_source'])
    for name, item in model['downloads'].items():
        url = proxy_url(item.get('url') if isinstance(item, dict) and not item.get('path') else '', model['go_proxy'])
        if url:
            model['downloads'][name] = dict(item, url=url)
    if not base or check(mirror):
        return model
    for item in model['mirror_files']:
        url = '%s/%s' % (base, item['path'])
        if item['name'] == 'controller_source':
            model['controller_source']['git_url' if item['type'] == 'git' else 'archive_url'] = url
        else:
            model['downloads'][item['name']] = dict(model['downloads'][item['name']], url=url)
    return model


def needed(model, required, libfpga):
    """(what, url, git) of each URL a run of site.yml fetches with this model.

    ``required``: the downloads every lab fetches (kind, kubectl, and the Go toolchain of from-source builds; what
    is built from source is fetched from the Go module proxy instead, see :func:`go_modules`); ``libfpga``: those of a lab running
    OpenKasugai. Local paths are left out: check_host() checks that they exist.
    """
    names = set(required)
    for cluster in model['clusters']:
        names.update(item['download'] for item in cluster['addon_manifests'])
        if cluster['addons']['openkasugai']['enabled']:
            names.update(libfpga)
    names.update(image['source'] for image in model['addon_images'] if image['source'])
    result = []
    built = model['build_from_source']
    for name in sorted(names - set(built)):
        item = model['downloads'].get(name)
        if isinstance(item, dict) and item.get('url') and not item.get('path'):
            result.append(('lab_downloads.%s' % name, str(item['url']), False))
    # from-source builds read their modules and dependencies from the Go module proxy
    for what, module, version in go_modules(model):
        result.append(('lab_go_proxy (%s %s%s)' % (module, version, '' if what == 'kind' else ', for ' + what),
                       '%s/%s/@v/%s.info' % (model['go_proxy'], module, version), False))
    source = model['controller_source']
    if source['type'] == 'archive' and source['archive_url']:
        result.append(('lab_controller_source', source['archive_url'], False))
    elif source['type'] == 'git' and source['git_url']:
        result.append(('lab_controller_source', source['git_url'], True))
    return result


def go_modules(model):
    """(what, module, version) of each module a from-source build of this model fetches from the Go module proxy."""
    built = model['build_from_source']
    downloads = model['downloads']
    out = []
    kind = downloads.get('kind')
    if 'kind' in built and isinstance(kind, dict) and kind.get('version'):
        out.append(('kind', 'sigs.k8s.io/kind', str(kind['version'])))  # go install sigs.k8s.io/kind@<version>
    versions = {}
    kubectl = downloads.get('kubectl')
    if 'kubectl' in built and isinstance(kubectl, dict) and kubectl.get('version'):
        versions.setdefault(str(kubectl['version']), []).append('kubectl')
    for cluster in model['clusters']:
        if cluster['base_from_source']:
            versions.setdefault(cluster['kubernetes_version'], []).append('the node image')
    for version, whats in sorted(versions.items()):
        out.append((' and '.join(sorted(set(whats))), 'k8s.io/kubernetes', version))
    return out


def probe(url, git=False, timeout=10):
    """'' when the URL can be fetched from here, else why not (one line)."""
    parts = urlsplit(url)
    if parts.scheme == 'file':
        path = unquote(parts.path)
        if git:
            return '' if os.path.isdir(path) else 'no such repository'
        return '' if os.path.isfile(path) else 'no such file'
    if parts.scheme not in ('https', 'http'):
        return 'not a file:// or https:// URL'  # git@host:repo and the like: preflight cannot tell
    target = url.rstrip('/') + '/info/refs?service=git-upload-pack' if git else url
    try:
        response = open_url(target, method='HEAD', timeout=timeout, follow_redirects='all', http_agent='openkasugai-all-in-one')
        response.close()
        return ''
    except HTTPError as exc:
        if exc.code in (403, 405) and not git:  # some servers refuse HEAD on files they serve
            try:
                response = open_url(target, method='GET', headers={'Range': 'bytes=0-0'}, timeout=timeout,
                                    follow_redirects='all', http_agent='openkasugai-all-in-one')
                response.close()
                return ''
            except (HTTPError, URLError, OSError, socket.timeout) as retry:
                return _reason(retry)
        return _reason(exc)
    except (URLError, OSError, socket.timeout) as exc:
        return _reason(exc)


def _reason(exc):
    if isinstance(exc, HTTPError):
        return 'HTTP %s %s' % (exc.code, exc.reason)
    reason = getattr(exc, 'reason', None) or exc
    return str(getattr(reason, 'strerror', None) or reason)


def unreachable(items, fetch=probe):
    """[(what, url, why)] of the (what, url, git) items that cannot be fetched, probed concurrently."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(items))) as pool:
        reasons = list(pool.map(lambda item: fetch(item[1], item[2]), items))
    return [(what, url, why) for (what, url, _git), why in zip(items, reasons, strict=True) if why]
