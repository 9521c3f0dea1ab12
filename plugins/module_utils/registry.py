# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Reading images in registries and archives through skopeo (no pull, no daemon)."""

from __future__ import annotations

import re

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import last_error_line

# skopeo's words for "there is no such image/tag" (distribution, Harbor, archives)
_NOT_FOUND = re.compile(r'manifest unknown|name unknown|not found|no such file|repository name not known|does not exist', re.IGNORECASE)


def tls_args(tls_verify=True, cert_dir=None, authfile=None):
    """skopeo/buildah options for one registry connection; credentials only via --authfile."""
    args = ['--tls-verify=%s' % ('true' if tls_verify else 'false')]
    if cert_dir:
        args += ['--cert-dir', cert_dir]
    if authfile:
        args += ['--authfile', authfile]
    return args


def skopeo_inspect(skopeo, transport_ref, tls_verify=True, cert_dir=None, authfile=None, what='image'):
    """``skopeo inspect`` of ``docker://...``, ``docker-archive:...`` or ``oci-archive:...``.

    Returns the parsed JSON, or ``None`` when the image does not exist. Any other failure
    (TLS, authentication, network) raises ``CliError`` with skopeo's own message. ``skopeo``: a cli.Cli.
    """
    args = ['inspect', '--no-tags'] if transport_ref.startswith('docker://') else ['inspect']
    if transport_ref.startswith('docker://'):
        args += tls_args(tls_verify, cert_dir, authfile)
    args.append(transport_ref)
    result = skopeo.run(args, check=False)
    if result.rc != 0:
        if _NOT_FOUND.search(result.stderr):
            return None
        raise result.error(f'cannot read {what} {transport_ref}: {last_error_line(result.stderr, result.stdout)}'
                           f'{tls_hint(result.stderr, cert_dir)}')
    return result.json()


def tls_hint(stderr, cert_dir=None):
    """A sentence telling the user what to do about a certificate or login error, or ''."""
    text = stderr or ''
    if 'x509' in text or 'certificate' in text:
        where = f'cert_dir {cert_dir}' if cert_dir else 'cert_dir (or /etc/containers/certs.d/<registry>/ca.crt)'
        return f' -- the registry certificate is not trusted: put the CA that signed it in {where}'
    if 'unauthorized' in text.lower() or 'authentication required' in text.lower():
        return ' -- the registry refused the credentials: check the authfile'
    return ''
