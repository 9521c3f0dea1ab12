# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""The one way this collection runs a command-line tool (docker, kind, buildah, skopeo, ip, nsenter, modprobe).

A :class:`Cli` finds its binary once (an explicit path given by the user wins over ``$PATH``; when
it is missing the error names the binary and the option to set), runs argv lists only (never a
shell string), parses JSON output, reads and checks the tool's version, and raises :class:`CliError`
(carrying the argv, rc, stdout and stderr) when a command fails.

It runs through ``AnsibleModule.run_command`` when given a module, and through ``subprocess``
without one: the netns keeper and the boot unit (roles/devices, roles/accelerators) are standalone
programs that install this file with the module_utils they use. Standard library only.
"""

import json
import os
import re
import subprocess
import tempfile

OUTPUT_TAIL = 4000
# searched after $PATH: modprobe and ip live in sbin, which a non-root PATH often lacks
EXTRA_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')


class CliError(Exception):
    """A failed command (or a failure found by the code around one), with what fail_json or a log line shows."""

    def __init__(self, msg, cmd=None, rc=None, stdout=None, stderr=None):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def as_dict(self):
        """The message and whichever of cmd, rc, stdout, stderr are known (outputs cut to their tail), as fail_json keywords."""
        out = {'msg': self.msg}
        for key in ('cmd', 'rc', 'stdout', 'stderr'):
            value = getattr(self, key)
            if value is not None:
                out[key] = tail(value) if key in ('stdout', 'stderr') else value
        return out


def tail(text, limit=OUTPUT_TAIL):
    """The last ``limit`` characters of a (possibly huge) output such as a build log."""
    text = text or ''
    return text if len(text) <= limit else '...' + text[-limit:]


def last_error_line(stderr, stdout=''):
    """The most useful single line of a failed command: its last ``Error``/``fatal`` line, else its last line."""
    lines = [ln.strip() for ln in (stderr or '').splitlines() + (stdout or '').splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(('Error', 'error', 'ERROR:')) or 'level=fatal' in line:  # not logrus' ERRO[0001] noise
            match = re.search(r'msg="(.*)"\s*$', line)
            return match.group(1).replace('\\"', '"') if match else line
    return lines[-1] if lines else ''


def parse_version(text):
    """The first dotted version number in ``text`` as a tuple of three ints, or None.

    ``'kind v0.27.0 go1.26.8 linux/amd64'`` -> ``(0, 27, 0)``; ``'skopeo version 1.4'`` -> ``(1, 4, 0)``.
    """
    match = re.search(r'(?<![\d.])v?(\d+)\.(\d+)(?:\.(\d+))?', text or '')
    return tuple(int(x or 0) for x in match.groups()) if match else None


def version_text(version):
    return '.'.join(str(x) for x in version)


class Result:
    """What a command did: ``rc, stdout, stderr = result`` unpacks it; ``json()`` parses its output."""

    def __init__(self, argv, rc, stdout, stderr):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout or ''
        self.stderr = stderr or ''

    def __iter__(self):
        return iter((self.rc, self.stdout, self.stderr))

    def error(self, msg):
        """A CliError saying ``msg``, with this command's argv, rc and output."""
        return CliError(msg, cmd=self.argv, rc=self.rc, stdout=self.stdout, stderr=self.stderr)

    def json(self):
        """stdout parsed as JSON (None when empty); CliError naming the command when it is not JSON."""
        if not self.stdout.strip():
            return None
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise self.error('{} printed output that is not JSON ({})'.format(' '.join(self.argv), exc)) from exc


class Cli:
    """One command-line tool.

    ``name``: the program (``docker``); ``path``: what the user gave (an executable's path, or
    another name to look up; None: ``name``); ``option``: the option (module parameter, config
    key) that sets ``path``, named in the error when the binary is missing; ``module``: an
    AnsibleModule to run commands through (None: subprocess); ``env``: variables every command
    gets; ``timeout``: the seconds a command may take when :meth:`run` is given none (standalone
    only); ``version_args``: the arguments printing the version; ``runner``: a callable
    ``(argv, input) -> (rc, stdout, stderr)`` run instead of the binary (tests' fakes).
    """

    def __init__(self, name, path=None, option=None, module=None, env=None, timeout=None, version_args=('--version',),
                 runner=None):
        self.name = name
        self.path = path or name
        self.option = option
        self.module = module
        self.env = dict(env or {})
        self.timeout = timeout
        self.version_args = list(version_args)
        self.runner = runner
        self._binary = self.path if runner else None
        self._version = None

    @property
    def binary(self):
        """The executable's path, looked up on first use (a missing one is found again later: it may be installed meanwhile)."""
        if self._binary is None:
            self._binary = self._lookup()
        return self._binary

    def _lookup(self):
        set_it = f'set {self.option} to its path' if self.option else 'give its path'
        if os.sep in self.path:
            if os.path.isfile(self.path) and os.access(self.path, os.X_OK):
                return self.path
            raise CliError(f'{self.option or self.name} {self.path} is not an executable file: install {self.name} there or {set_it}')
        dirs = [d for d in os.environ.get('PATH', '').split(os.pathsep) if d]
        dirs += [d for d in EXTRA_DIRS if d not in dirs]
        for directory in dirs:
            candidate = os.path.join(directory, self.path)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        raise CliError(f'{self.path} ({self.name}) was not found on PATH nor in {", ".join(EXTRA_DIRS)}: install it or {set_it}')

    def argv(self, args):
        return [self.binary] + [str(a) for a in args]

    def run(self, args, check=True, input=None, env=None, timeout=None, what=None, cwd=None,  # pylint: disable=redefined-builtin
            stdin_file=None, stdin_writer=None):
        """Run the tool with ``args`` (a list); return a :class:`Result`.

        ``input``: text for its stdin, passed unchanged; ``stdin_file``: a file's path whose bytes are streamed to its
        stdin instead (an image archive of gigabytes: neither ``input`` nor AnsibleModule.run_command could hold it, so
        such a command always runs through subprocess, and a test's runner gets ``{'stdin_file': path}`` as input);
        ``stdin_writer``: a callable given the tool's stdin (a binary file object) to write to while the tool runs,
        for bytes made on the fly (an archive put together from others); likewise through subprocess, and a test's
        runner gets ``{'stdin_writer': the callable}``. When the tool stops reading early, its exit status and
        stderr say why; an exception of the writer stops the tool and is raised;
        ``env``: extra environment variables; ``cwd``: the directory it runs in;
        ``timeout``: seconds (a command given one runs through subprocess, AnsibleModule.run_command having none;
        without one, the ``timeout`` of the Cli when standalone). With
        ``check`` a non-zero exit raises CliError: ``<what> failed: <the tool's error line>``,
        ``what`` defaulting to the command's first words. A command that cannot start or times
        out raises CliError whatever ``check`` says.
        """
        argv = self.argv(args)
        environ = dict(self.env, **(env or {}))
        if self.runner is not None:
            if stdin_writer is not None:
                input = {'stdin_writer': stdin_writer}
            elif stdin_file:
                input = {'stdin_file': stdin_file}
            rc, out, err = self.runner(argv, input)
        elif stdin_writer is not None:
            rc, out, err = self._subprocess_writing(argv, stdin_writer, environ, timeout or self.timeout, cwd)
        elif stdin_file is not None:
            try:
                with open(stdin_file, 'rb') as stdin:
                    rc, out, err = self._subprocess(argv, None, environ, timeout or self.timeout, cwd, stdin=stdin)
            except OSError as exc:
                raise CliError(f'{" ".join(argv)}: cannot read {stdin_file}: {exc}', cmd=argv) from exc
        elif self.module is not None and not timeout:
            rc, out, err = self.module.run_command(argv, data=input, binary_data=True, environ_update=environ,
                                                   expand_user_and_vars=False, cwd=cwd)
        else:
            rc, out, err = self._subprocess(argv, input, environ, timeout or self.timeout, cwd)
        result = Result(argv, rc, out, err)
        if check and rc != 0:
            what = what or ' '.join([self.name] + [str(a) for a in args[:2]])
            raise result.error('{} failed: {}'.format(what, last_error_line(err, out) or f'exit status {rc}'))
        return result

    def _subprocess(self, argv, data, environ, timeout, cwd=None, stdin=None):
        try:
            proc = subprocess.run(argv, input=data, stdin=stdin, capture_output=True, text=True, encoding='utf-8', errors='replace',
                                  env=dict(os.environ, **environ), timeout=timeout, check=False, cwd=cwd)
        except subprocess.TimeoutExpired as exc:
            raise CliError(f'{" ".join(argv)} did not finish within {timeout}s', cmd=argv) from exc
        except OSError as exc:
            raise CliError(f'{" ".join(argv)} could not run: {exc}', cmd=argv) from exc
        return proc.returncode, proc.stdout, proc.stderr

    def _subprocess_writing(self, argv, writer, environ, timeout, cwd=None):
        """Run ``argv`` with ``writer(stdin)`` writing its input; its outputs go to temporary files meanwhile (a
        pipe it filled while nobody reads could block it, and the writer with it)."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err,  # pylint: disable=consider-using-with
                                        env=dict(os.environ, **environ), cwd=cwd)
            except OSError as exc:
                raise CliError(f'{" ".join(argv)} could not run: {exc}', cmd=argv) from exc
            try:
                writer(proc.stdin)
            except BrokenPipeError:
                pass  # it stopped reading: its exit status and stderr say why
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                raise CliError(f'{" ".join(argv)} did not finish within {timeout}s', cmd=argv) from exc
            out.seek(0)
            err.seek(0)
            return rc, out.read().decode('utf-8', 'replace'), err.read().decode('utf-8', 'replace')

    def run_json(self, args, **kwargs):
        """Run a command that prints JSON (see :meth:`run`) and return the parsed value (None for no output)."""
        return self.run(args, **kwargs).json()

    def version(self):
        """The tool's version as a tuple, read once."""
        if self._version is None:
            _rc, out, err = self.run(self.version_args, what=f'{self.name} {" ".join(self.version_args)}')
            version = parse_version(out) or parse_version(err)
            if version is None:
                raise CliError(f'could not read the version of {self.binary} from {(out or err).strip()!r}',
                               cmd=self.argv(self.version_args), stdout=out, stderr=err)
            self._version = version
        return self._version

    def require_version(self, minimum, hint=''):
        """The version, or CliError when it is older than ``minimum`` (a tuple or a dotted string)."""
        if isinstance(minimum, str):
            minimum = parse_version(minimum)
        version = self.version()
        if version < minimum:
            raise CliError(f'{self.binary} is {self.name} {version_text(version)}; this collection needs '
                           f'{self.name} {version_text(minimum)} or later{hint}', cmd=self.argv(self.version_args))
        return version
