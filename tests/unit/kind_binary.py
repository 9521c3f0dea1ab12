"""Where the tests find the real kind binary: $OKL_KIND, PATH, or the test bed's Go cache
(tests/bed/setup.sh installs the version pinned in inventory/localhost-cpu downloads.yml there)."""

import os
import shutil


def find_kind():
    for candidate in (os.environ.get('OKL_KIND'), shutil.which('kind'),
                      os.path.join(os.environ.get('OKL_CACHE', '/var/cache/openkasugai-tests'), 'go', 'bin', 'kind')):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


SKIP_REASON = 'no kind binary: tests/bed/setup.sh installs it with go install sigs.k8s.io/kind'
