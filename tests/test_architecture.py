"""The dependency rule (DESIGN.md): signaling -> rooms, sfu; rooms and sfu never import
each other nor signaling; loadtest talks to the server over the network only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "rooms": {"sfu", "signaling", "loadtest"},
    "sfu": {"rooms", "signaling", "loadtest"},
    "loadtest": {"rooms", "sfu", "signaling"},
    # signaling/cli.py hosts the `coshop loadtest` subcommand, so signaling may import it.
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_dependency_rule(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no modules"
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & FORBIDDEN[package]) for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_rule_detects_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from signaling.app import create_app\nimport sfu.peer\n")
    assert _imports(bad) & FORBIDDEN["rooms"] == {"signaling", "sfu"}
