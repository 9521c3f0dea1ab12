"""Every role documents its inputs once, in meta/argument_specs.yml, and the spec agrees with defaults/main.yml.

Real: the roles' own files. A role whose defaults drift from its spec (a default changed in one place
only, a variable added to defaults but never documented) fails here.
"""

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).resolve().parents[3] / 'roles').iterdir() if p.is_dir())


def spec_defaults(options):
    """The defaults a spec documents, nested options turned into the dict they describe."""
    result = {}
    for name, option in (options or {}).items():
        if 'default' in option:
            result[name] = option['default']
        elif option.get('type') == 'dict' and option.get('options') and any('default' in o for o in option['options'].values()):
            result[name] = spec_defaults(option['options'])
    return result


@pytest.mark.parametrize('role', ROLES, ids=[r.name for r in ROLES])
def test_role_has_an_argument_spec_matching_its_defaults(role):
    spec_file = role / 'meta' / 'argument_specs.yml'
    assert spec_file.is_file(), '%s has no meta/argument_specs.yml' % role.name
    entry_points = yaml.safe_load(spec_file.read_text())['argument_specs']
    options = entry_points['main'].get('options') or {}
    for name, option in options.items():
        assert option.get('description'), '%s: %s has no description' % (role.name, name)
    defaults_file = role / 'defaults' / 'main.yml'
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.is_file() else {}
    defaults = defaults or {}
    undocumented = sorted(set(defaults) - set(options))
    assert not undocumented, '%s: defaults/main.yml sets %s, which meta/argument_specs.yml does not document' % (role.name, undocumented)
    documented = spec_defaults(options)
    for name, value in documented.items():
        assert name in defaults, '%s: the spec gives %s a default (%r) but defaults/main.yml does not set it' % (role.name, name, value)
        assert defaults[name] == value, '%s: %s is %r in defaults/main.yml but %r in the spec' % (role.name, name, defaults[name], value)
