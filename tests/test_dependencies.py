"""What the package imports at module level is installed by `pip install -e .` alone.

The README's first command installs no extra, and `coshop loadtest` and the benchmarks
must run after it: a module the test extra happens to bring (numpy did) must not be what
makes them work in CI and fail for a user.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
#: Shipped packages and the benchmark scripts (run after the same install).
CHECKED = ("signaling", "rooms", "sfu", "loadtest", "bench")
LOCAL = {*CHECKED, "web_client", "tests"}


def _module_level_imports() -> dict[str, set[str]]:
    """Top-level module name -> files importing it unconditionally (at module level)."""
    found: dict[str, set[str]] = {}
    for package in CHECKED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue  # imports inside functions or try blocks may be optional
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _installed_by_plain_install() -> set[str]:
    """Distributions `pip install -e .` brings: the declared ones and what they require."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    todo = [Requirement(spec) for spec in declared]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            specs = requires(req.name) or []
        except PackageNotFoundError:
            continue
        for spec in specs:
            sub = Requirement(spec)
            wanted = ["", *sorted(req.extras)]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(sub)
    return seen


def test_every_module_level_import_comes_with_the_plain_install() -> None:
    providers = packages_distributions()
    installed = _installed_by_plain_install()
    missing = {}
    for module, files in sorted(_module_level_imports().items()):
        if module in LOCAL or module in sys.stdlib_module_names:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)}) is not installed at all"
        if not dists & installed:
            missing[module] = sorted(files)
    assert not missing, f"imported at module level but not a dependency of coshop: {missing}"


def test_the_check_sees_the_package_imports() -> None:
    imports = _module_level_imports()
    assert {"aiortc", "aiohttp", "redis", "pydantic"} <= set(imports)
    assert "numpy" in imports  # loadtest/media.py: the synthetic publishers' frames
