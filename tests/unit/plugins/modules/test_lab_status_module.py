"""The lab_status module's files: written when the lab changed, left alone when it did not, never in check mode.

Real: the module's own write path on a temporary directory; the lab itself is looked at in tests/e2e.
"""

from ansible_collections.openkasugai.all_in_one.plugins.modules import lab_status


def test_a_report_is_written_once_then_left_alone_until_it_changes(tmp_path):
    path = tmp_path / 'status.md'
    assert lab_status.write_if_changed(str(path), 'one\n', check_mode=False)
    assert path.read_text() == 'one\n' and oct(path.stat().st_mode & 0o777) == '0o644'
    assert not lab_status.write_if_changed(str(path), 'one\n', check_mode=False)
    assert lab_status.write_if_changed(str(path), 'two\n', check_mode=True)
    assert path.read_text() == 'one\n'
    assert not list(tmp_path.glob('*.tmp'))


def test_the_summary_counts_what_is_ready():
    cluster = dict(name='lab', whole=False, nodes=[dict(ready=True), dict(ready=False)],
                   addons=[dict(ready=True)], scenarios=[dict(result='passed'), dict(result='not run')])
    assert lab_status.summary_line(cluster) == 'cluster lab: NOT whole, 1/2 nodes Ready, add-ons ready 1/1, scenarios passed 1/2'
