"""The README is the front door: it documents every setting and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

from rooms.models import Role
from signaling.auth import TokenAuthority
from signaling.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    table = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`COSHOP_([A-Z0-9_]+)`", table))
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README's table"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_ci_runs_the_readme_test_command() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, flags=re.S)
    assert blocks[:2] and "coshop serve" in blocks[0]
    test_command = blocks[1].strip()
    assert test_command == "bash tests/run.sh"
    assert test_command.split()[-1] in (ROOT / ".ci" / "run").read_text()


def test_the_jwt_example_mints_a_token_the_node_accepts() -> None:
    (example,) = re.findall(r"```python\n(.*?)\n```", README, flags=re.S)
    secret = "a-brand-secret-of-at-least-32-bytes"
    scope: dict[str, object] = {"COSHOP_SECRET": secret}
    exec(example, scope)
    grant = TokenAuthority(secret).verify(str(scope["token"]), room="spring-drop")
    assert (grant.identity, grant.name, grant.role) == ("shopper-42", "Ann", Role.GUEST)
