"""The README is the front door: it documents every setting and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from rooms.models import Role
from signaling.auth import TokenAuthority
from signaling.flags import ALIASES, flag_name
from signaling.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _settings_table() -> dict[str, list[str]]:
    """The README's settings table: field name -> its cells after the variable."""
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if match := re.fullmatch(r"`COSHOP_([A-Z0-9_]+)`", cells[0]):
            rows[match.group(1).lower()] = cells[1:]
    return rows


def test_every_setting_is_documented() -> None:
    documented = set(_settings_table())
    expected = set(Settings.model_fields)
    assert expected - documented == set(), "settings missing from the README's table"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_the_table_matches_the_model_and_the_generated_flags() -> None:
    for name, (flags, default, meaning) in _settings_table().items():
        assert flags.split() == [f"`{f}`" for f in (flag_name(name), *ALIASES.get(name, ()))]
        field = Settings.model_fields[name]
        value = field.default
        if field.default_factory is None and value is not None:
            if isinstance(value, bool):
                shown = str(value).lower()
            else:
                shown = f"{value:g}" if isinstance(value, float) else str(value)
            assert default == f"`{shown}`", name
        assert meaning, name


def test_every_image_the_readme_shows_exists() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images, "the README shows the client's layouts"
    assert [i for i in images if not (ROOT / i).is_file()] == []


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[:2] and "coshop serve" in blocks[0]
    test_command = blocks[1].strip()
    assert test_command == "bash tests/run.sh"
    assert test_command.split()[-1] in (ROOT / ".ci" / "run").read_text()


def test_the_jwt_example_mints_a_token_the_node_accepts() -> None:
    (example,) = [b for b in re.findall(r"```python\n(.*?)\n```", README, flags=re.S)
                  if "COSHOP_SECRET" in b]
    secret = "a-brand-secret-of-at-least-32-bytes"
    scope: dict[str, object] = {"COSHOP_SECRET": secret}
    exec(example, scope)
    grant = TokenAuthority(secret).verify(str(scope["token"]), room="spring-drop")
    assert (grant.identity, grant.name, grant.role) == ("shopper-42", "Ann", Role.GUEST)
