"""A non-editable install carries the package data: sample catalog, Lua scripts, web client."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _source_files(folder: str, pattern: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob(pattern)}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], str]:
    """The names in a freshly built wheel, and the build's output (for warnings)."""
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the sources: pip builds in the tree it is given and leaves build/ behind.
    source = out / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "artifacts", "*.egg-info", "__pycache__", ".*_cache",
    ))
    # --no-build-isolation: the build runs with the setuptools of this venv, offline and fast.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), "-v", str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    (built,) = out.glob("coshop-*.whl")
    with zipfile.ZipFile(built) as archive:
        return set(archive.namelist()), result.stdout + result.stderr


def test_wheel_carries_package_data(wheel: tuple[set[str], str]) -> None:
    names, _ = wheel
    expected = (
        _source_files("rooms/lua", "*.lua")
        | _source_files("rooms/catalog/sample", "*.json")
        | _source_files("rooms/catalog/sample/images", "*")
        | _source_files("web_client", "*.html")
        | _source_files("web_client", "*.js")
        | _source_files("web_client", "*.css")
        | _source_files("web_client", "*.svg")
    )
    assert len(expected) > 30  # the globs found the files
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]


def test_wheel_builds_without_setuptools_warnings(wheel: tuple[set[str], str]) -> None:
    _, output = wheel
    # Python warnings (setuptools' _Warning, SetuptoolsDeprecationWarning, ...), not distutils'
    # "warning: byte-compiling is disabled" notes, which follow PYTHONDONTWRITEBYTECODE.
    warnings = [line for line in output.splitlines() if re.search(r"\w*Warning: ", line)]
    assert not warnings, "\n".join(warnings)
