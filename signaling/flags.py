"""Command-line flags generated from the Settings model: one flag per field, its description as
the help, so a setting is declared (and documented) once."""

from __future__ import annotations

import argparse
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from signaling.settings import ENV_PREFIX, Settings

#: Extra spellings kept from before the flags were generated.
ALIASES: dict[str, tuple[str, ...]] = {"room_capacity": ("--capacity",)}


def flag_name(field: str) -> str:
    """``room_capacity`` -> ``--room-capacity``."""
    return "--" + field.replace("_", "-")


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every Settings field; each defaults to None (= not given, so the
    environment or the field's default applies)."""
    for name, field in Settings.model_fields.items():
        parser.add_argument(
            flag_name(name),
            *ALIASES.get(name, ()),
            dest=name,
            default=None,
            help=_help(name, field).replace("%", "%%"),
            **_kind(field.annotation),
        )


def _help(name: str, field: FieldInfo) -> str:
    if field.default_factory is not None:
        default = "generated"
    elif field.default is PydanticUndefined or field.default is None:
        default = "unset"
    else:
        default = str(field.default).lower() if isinstance(field.default, bool) else field.default
    return f"{field.description} ({ENV_PREFIX}{name.upper()}; default: {default})"


def _kind(annotation: Any) -> dict[str, Any]:
    """How argparse reads a value of ``annotation``: pydantic validates it afterwards, argparse
    only refuses what can never be one (``--port eighty``)."""
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = (a for a in get_args(annotation) if a is not type(None))
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(annotation) is Literal:
        choices = [str(c) for c in get_args(annotation)]
        upper = all(c.isupper() for c in choices)  # log levels: --log-level debug is fine
        return {"type": str.upper if upper else str, "choices": choices}
    if annotation in (int, float):
        return {"type": annotation}
    if annotation is Path:
        return {"type": Path, "metavar": "FILE"}
    return {"type": str}
