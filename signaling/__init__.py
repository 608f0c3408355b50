"""coshop signaling: the aiohttp app (WebSocket protocol, HTTP API, auth), settings and CLI.

The only package that reads the environment; it glues ``rooms`` (state) to ``sfu`` (media).
"""

from signaling.app import create_app
from signaling.settings import Settings

__all__ = ["Settings", "create_app"]
