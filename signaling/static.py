"""Static files (the web client, the sample catalog's images) from a list made at start-up.

A request names a file of that list or gets ``not_found``: no client-chosen path ever reaches the
file system, so over-long names (ENAMETOOLONG), NUL bytes, ``..`` and symlink tricks have
nothing to act on.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

#: What the packages ship as served files (pyproject.toml package-data).
SERVED_SUFFIXES = frozenset({".html", ".js", ".css", ".svg"})


class StaticFiles:
    """The regular files directly in one folder with a served suffix, by name."""

    def __init__(self, directory: Path, suffixes: frozenset[str] = SERVED_SUFFIXES) -> None:
        self._files = {
            path.name: path
            for path in sorted(directory.iterdir())
            if path.suffix in suffixes and path.is_file()
        }

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._files)

    async def handle(self, request: web.Request) -> web.FileResponse:
        """``GET .../{name}``: the file, or HTTPNotFound (the JSON ``not_found`` body)."""
        path = self._files.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound(reason="no such file")
        return web.FileResponse(path)
