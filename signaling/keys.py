"""Typed keys of the objects stored on the aiohttp Application."""

from __future__ import annotations

from aiohttp import web

from signaling.node import Node
from signaling.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
NODE = web.AppKey("node", Node)
