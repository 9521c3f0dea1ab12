"""Stand-in for pip's get-pip.py bootstrap script, for ansible-test's per-test venvs.

ansible-test downloads get-pip.py from ci-files.testing.ansible.com, which our CI machines
cannot reach. This script does the same job from what is here: bootstrap pip with the
interpreter's own ensurepip, then let that pip install, from PyPI, the packages ansible-test
asked for (argv holds pip options and requirements, as get-pip.py receives them).

ansible-test runs pip with PIP_CONFIG_FILE=/dev/null, so a machine's pip.conf (and the CA it
names) is ignored: the bootstrap pip trusts the interpreter's default CA store instead, which is
what the pip ansible-test wants (>= 24.2, truststore by default) does on its own afterwards.
"""
import ensurepip
import os
import ssl
import subprocess
import sys

IGNORED = {'--no-setuptools', '--no-wheel'}  # get-pip.py flags that `pip install` does not know

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in IGNORED]
paths = ssl.get_default_verify_paths()
cafile = paths.cafile or paths.openssl_cafile
if cafile and os.path.exists(cafile):
    args = ['--cert', cafile] + args
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
