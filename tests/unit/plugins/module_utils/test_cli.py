# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see LICENSE)
"""plugins/module_utils/cli.py: the one client every CLI call goes through.

Real: the processes (small shell scripts written to tmp_path stand in for the tools, recording their
argv and stdin), the binary lookup over directories on disk, AnsibleModule.run_command in-process
(tests/unit/fakesys.run_module). Fake: the tools' behaviour.
"""

import json

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.cli import (
    Cli,
    CliError,
    last_error_line,
    parse_version,
    tail,
)
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import run_module

# records its argv (one per line) and stdin, prints what FAKE_OUT holds, exits with FAKE_RC
RECORDER = '''#!/bin/sh
for a in "$@"; do printf '%s\\n' "$a"; done > "{log}.argv"
cat > "{log}.stdin"
printf '%s' "$FAKE_OUT"
printf '%s' "$FAKE_ERR" >&2
exit "${{FAKE_RC:-0}}"
'''


def tool(directory, name, body=None):
    path = directory / name
    path.write_text(body if body is not None else RECORDER.format(log=directory / name))
    path.chmod(0o755)
    return path


def recorded(path):
    return open(f'{path}.argv', encoding='utf-8').read().splitlines(), open(f'{path}.stdin', encoding='utf-8').read()


def test_an_explicit_path_wins_over_path(tmp_path, monkeypatch):
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'other').mkdir()
    on_path = tool(tmp_path / 'bin', 'faketool')
    chosen = tool(tmp_path / 'other', 'faketool')
    monkeypatch.setenv('PATH', str(tmp_path / 'bin'))
    assert Cli('faketool').binary == str(on_path)
    assert Cli('faketool', str(chosen)).binary == str(chosen)
    assert Cli('faketool', 'faketool').binary == str(on_path)  # a bare name is looked up


def test_a_missing_binary_names_itself_and_the_option_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(CliError, match=r'okl-no-such-tool \(kind\) was not found on PATH.*set kind_path to its path'):
        Cli('kind', 'okl-no-such-tool', option='kind_path').run(['version'])
    with pytest.raises(CliError, match=f'buildah_path {tmp_path}/nothing is not an executable file'):
        Cli('buildah', str(tmp_path / 'nothing'), option='buildah_path').argv([])
    (tmp_path / 'plain').write_text('not executable')
    with pytest.raises(CliError, match='is not an executable file'):
        Cli('x', str(tmp_path / 'plain')).argv([])


def test_a_missing_binary_is_looked_for_again(tmp_path, monkeypatch):
    """The keeper keeps its Cli objects: a tool installed after it started is found."""
    monkeypatch.setenv('PATH', str(tmp_path))
    cli = Cli('faketool')
    with pytest.raises(CliError):
        cli.argv([])
    tool(tmp_path, 'faketool')
    assert cli.run([]).rc == 0


def test_argv_and_input_are_passed_unchanged(tmp_path):
    fake = tool(tmp_path, 'faketool')
    args = ['a b', '$HOME', '*', "'; rm -rf /", '', '--x=1 2']
    result = Cli('faketool', str(fake)).run(args, input='line 1\nno newline at the end')
    assert recorded(fake) == (args, 'line 1\nno newline at the end')
    assert result.argv == [str(fake)] + args
    rc, out, err = result
    assert (rc, out, err) == (0, '', '')


def test_env_reaches_the_command_and_outputs_come_back(tmp_path):
    fake = tool(tmp_path, 'faketool')
    cli = Cli('faketool', str(fake), env={'FAKE_OUT': 'from the tool'})
    assert cli.run(['x']).stdout == 'from the tool'
    assert cli.run(['x'], env={'FAKE_OUT': 'overridden', 'FAKE_ERR': 'warning'}).stderr == 'warning'


def test_a_failure_carries_argv_rc_and_stderr(tmp_path):
    fake = tool(tmp_path, 'faketool')
    cli = Cli('faketool', str(fake), env={'FAKE_RC': '3', 'FAKE_ERR': 'progress\nError: it broke\nusage: ...'})
    with pytest.raises(CliError) as info:
        cli.run(['network', 'rm', 'lab'])
    exc = info.value
    assert exc.msg == 'faketool network rm failed: Error: it broke'
    assert exc.cmd == [str(fake), 'network', 'rm', 'lab'] and exc.rc == 3 and 'Error: it broke' in exc.stderr
    assert exc.as_dict() == {'msg': exc.msg, 'cmd': exc.cmd, 'rc': 3, 'stdout': '', 'stderr': exc.stderr}
    with pytest.raises(CliError, match='^removing the lab network failed: Error: it broke$'):
        cli.run(['network', 'rm', 'lab'], what='removing the lab network')
    rc, _out, err = cli.run(['x'], check=False)
    assert rc == 3 and 'it broke' in err


def test_run_json_parses_and_a_bad_output_names_the_command(tmp_path):
    fake = tool(tmp_path, 'faketool')
    cli = Cli('faketool', str(fake))
    assert cli.run_json(['inspect'], env={'FAKE_OUT': json.dumps([{'Name': 'x'}])}) == [{'Name': 'x'}]
    assert cli.run_json(['inspect']) is None
    with pytest.raises(CliError, match=f'^{fake} inspect --type x printed output that is not JSON') as info:
        cli.run_json(['inspect', '--type', 'x'], env={'FAKE_OUT': 'Cannot connect to the daemon'})
    assert info.value.stdout == 'Cannot connect to the daemon' and info.value.cmd == [str(fake), 'inspect', '--type', 'x']


def test_a_command_that_cannot_run_or_hangs_is_an_error(tmp_path):
    broken = tool(tmp_path, 'broken', '#!/nonexistent/interpreter\n')
    with pytest.raises(CliError, match='could not run') as info:
        Cli('broken', str(broken)).run([], check=False)
    assert info.value.cmd == [str(broken)]
    slow = tool(tmp_path, 'slow', '#!/bin/sh\nexec sleep 5\n')
    with pytest.raises(CliError, match='did not finish within 0.2s'):
        Cli('slow', str(slow)).run([], timeout=0.2)


class NoRunCommand:
    """An AnsibleModule stand-in whose run_command must not be called: it has no timeout."""

    def run_command(self, *args, **kwargs):
        raise AssertionError('run_command cannot stop a command that takes too long')


def test_a_timeout_holds_for_a_cli_of_a_module_too(tmp_path):
    slow = tool(tmp_path, 'slow', '#!/bin/sh\nexec sleep 5\n')
    cli = Cli('slow', str(slow), module=NoRunCommand())
    with pytest.raises(CliError, match='did not finish within 0.2s'):
        cli.run([], timeout=0.2)
    quick = tool(tmp_path, 'quick', '#!/bin/sh\necho "$QUICK_SAYS"\n')
    assert Cli('quick', str(quick), module=NoRunCommand(), env={'QUICK_SAYS': 'done'}).run([], timeout=5).stdout == 'done\n'


@pytest.mark.parametrize(('text', 'expected'), [
    ('kind v0.27.0 go1.26.8 linux/amd64', (0, 27, 0)),
    ('kind version 0.8.1', (0, 8, 1)),
    ('buildah version 1.28.2 (image-spec 1.1.0-rc2, runtime-spec 1.0.2-dev)', (1, 28, 2)),
    ('skopeo version 1.4', (1, 4, 0)),
    ('Docker version 27.3.1, build ce12230', (27, 3, 1)),
    ('garbage', None),
    ('', None),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_version_is_read_once_and_compared_as_numbers(tmp_path):
    fake = tool(tmp_path, 'faketool', f'#!/bin/sh\necho run >> "{tmp_path}/calls"\necho "faketool version 1.100.0" >&2\n')
    cli = Cli('faketool', str(fake), version_args=['version'])
    assert cli.version() == (1, 100, 0)
    assert cli.require_version('1.23') == (1, 100, 0)
    assert cli.require_version((1, 9, 3)) == (1, 100, 0)
    with pytest.raises(CliError, match=r'is faketool 1\.100\.0; this collection needs faketool 2\.0\.0 or later \(upgrade\)'):
        cli.require_version('2.0', hint=' (upgrade)')
    assert open(tmp_path / 'calls', encoding='ascii').read() == 'run\n'


def test_a_version_that_cannot_be_read_is_an_error(tmp_path):
    fake = tool(tmp_path, 'faketool', '#!/bin/sh\necho "development build"\n')
    with pytest.raises(CliError, match="could not read the version of .* from 'development build'"):
        Cli('faketool', str(fake)).version()


def test_last_error_line_picks_the_tools_error():
    err = ('STEP 1/2: FROM scratch\n'
           'Error: building at STEP "COPY not-there.txt /": checking on sources under "/ctx": '
           'copier: stat: "/not-there.txt": no such file or directory\n')
    assert last_error_line(err).startswith('Error: building at STEP')
    fatal = 'time="x" level=fatal msg="Error parsing image name \\"docker://r/x:1\\": x509: certificate signed by unknown authority"\n'
    assert last_error_line(fatal) == 'Error parsing image name "docker://r/x:1": x509: certificate signed by unknown authority'
    assert last_error_line('a\nERROR: failed to create cluster\nCommand Output: x') == 'ERROR: failed to create cluster'
    assert last_error_line('', 'only stdout\n') == 'only stdout'


def test_outputs_are_cut_to_their_tail():
    assert tail('x' * 5000).startswith('...') and len(tail('x' * 5000)) == 4003
    assert CliError('m', stdout='y' * 5000).as_dict()['stdout'] == tail('y' * 5000)


def _module_main(fake, failing):
    def main():
        module = AnsibleModule(argument_spec={'args': {'type': 'list', 'elements': 'str'}, 'input': {'type': 'str'}})
        data = Cli('faketool', str(fake), module=module, env={'FAKE_OUT': '{"ok": true}'}).run_json(
            module.params['args'], input=module.params['input'])
        cli = Cli('failing', str(failing), module=module, env={'FAKE_RC': '4', 'FAKE_ERR': 'Error: nope'})
        rc, _out, _err = cli.run(['fail'], check=False)
        try:
            cli.run(['fail'])
        except CliError as exc:
            module.fail_json(data=data, unchecked_rc=rc, **exc.as_dict())
    return main


def test_inside_an_ansible_module_it_runs_through_run_command(tmp_path, monkeypatch):
    fake, failing = tool(tmp_path, 'faketool'), tool(tmp_path, 'failing')
    calls = []
    original = AnsibleModule.run_command

    def spy(self, args, **kwargs):
        calls.append(args)
        return original(self, args, **kwargs)
    monkeypatch.setattr(AnsibleModule, 'run_command', spy)
    failed, result = run_module(_module_main(fake, failing), {'args': ['~', '$HOME', 'a b'], 'input': 'no newline'})
    assert failed and result['data'] == {'ok': True} and result['unchecked_rc'] == 4
    assert result['msg'] == 'failing fail failed: Error: nope' and result['rc'] == 4 and result['cmd'] == [str(failing), 'fail']
    assert len(calls) == 3
    assert recorded(fake) == (['~', '$HOME', 'a b'], 'no newline')  # no user or variable expansion, no newline added


def test_a_file_is_streamed_to_stdin_even_inside_a_module(tmp_path, monkeypatch):
    # an image archive of gigabytes: run_command would hold it in memory, so such a command runs through subprocess
    fake = tool(tmp_path, 'faketool')
    archive = tmp_path / 'image.tar'
    archive.write_bytes(b'not a tar\n' * 100000)
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda *args, **kwargs: pytest.fail('run_command was used'))
    module = type('Module', (), {'run_command': AnsibleModule.run_command})()
    result = Cli('faketool', str(fake), module=module).run(['import', '-'], stdin_file=str(archive))
    assert result.rc == 0 and recorded(fake) == (['import', '-'], 'not a tar\n' * 100000)
    with pytest.raises(CliError, match=r'cannot read .*missing\.tar'):
        Cli('faketool', str(fake)).run(['import', '-'], stdin_file=str(tmp_path / 'missing.tar'))


def test_a_runner_is_told_the_file_given_as_stdin():
    seen = []
    cli = Cli('docker', runner=lambda argv, data: seen.append((argv, data)) or (0, '', ''))
    cli.run(['exec', '-i', 'node', 'ctr', 'import', '-'], stdin_file='/tmp/image.tar')
    assert seen == [(['docker', 'exec', '-i', 'node', 'ctr', 'import', '-'], {'stdin_file': '/tmp/image.tar'})]


def test_a_writer_streams_to_stdin_while_the_tool_runs(tmp_path, monkeypatch):
    # bytes made on the fly (an archive put together from others), more than a pipe holds: written as the tool reads
    fake = tool(tmp_path, 'faketool')
    monkeypatch.setattr(AnsibleModule, 'run_command', lambda *args, **kwargs: pytest.fail('run_command was used'))
    module = type('Module', (), {'run_command': AnsibleModule.run_command})()

    def write(stdin):
        stdin.writelines([b'0123456789' * 100] * 1000)

    result = Cli('faketool', str(fake), module=module).run(['import', '-'], stdin_writer=write)
    assert result.rc == 0 and recorded(fake) == (['import', '-'], '0123456789' * 100000)


def test_a_tool_that_stops_reading_is_judged_by_its_exit_status(tmp_path):
    quitter = tool(tmp_path, 'quitter', '#!/bin/sh\nhead -c 10 >/dev/null\necho "unexpected EOF in layer" >&2\nexit 3\n')

    def write(stdin):
        stdin.writelines([b'x' * 1000] * 10000)

    with pytest.raises(CliError, match='importing failed: unexpected EOF in layer') as caught:
        Cli('quitter', str(quitter)).run(['import', '-'], stdin_writer=write, what='importing')
    assert caught.value.rc == 3


def test_a_failing_writer_stops_the_tool_and_is_raised(tmp_path):
    reader = tool(tmp_path, 'reader', '#!/bin/sh\ncat >/dev/null\n')

    def write(stdin):
        stdin.write(b'partial')
        raise ValueError('layer x.tar is not a regular file')

    with pytest.raises(ValueError, match='not a regular file'):
        Cli('reader', str(reader)).run(['import', '-'], stdin_writer=write)


def test_a_runner_is_given_the_writer():
    seen = []

    def write(stdin):
        stdin.write(b'archive')

    Cli('docker', runner=lambda argv, data: seen.append((argv, data)) or (0, '', '')).run(['exec', '-i', 'n', 'ctr'], stdin_writer=write)
    assert seen == [(['docker', 'exec', '-i', 'n', 'ctr'], {'stdin_writer': write})]
