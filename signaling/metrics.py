"""Prometheus text exposition (format 0.0.4) of a node's gauges and counters."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Counters:
    """Monotonic counters the signaling layer keeps itself."""

    ws_opened: int = 0
    messages_received: int = 0
    messages_sent: int = 0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class Sample:
    """One metric family with one or more labelled values."""

    name: str
    help: str
    kind: Literal["gauge", "counter"]
    values: Mapping[tuple[tuple[str, str], ...], float]

    @classmethod
    def single(
        cls, name: str, help: str, kind: Literal["gauge", "counter"], value: float
    ) -> Sample:
        """A family with exactly one unlabelled value."""
        return cls(name, help, kind, {(): value})


_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


def metric_name(raw: str) -> str:
    """Make ``raw`` a valid Prometheus metric name."""
    name = _INVALID.sub("_", raw)
    return f"_{name}" if name[:1].isdigit() else name


def render(samples: Iterable[Sample]) -> str:
    """The exposition text for ``samples``."""
    lines: list[str] = []
    for sample in samples:
        lines.append(f"# HELP {sample.name} {_escape_help(sample.help)}")
        lines.append(f"# TYPE {sample.name} {sample.kind}")
        for labels, value in sample.values.items():
            label_text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
            suffix = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{sample.name}{suffix} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
