"""What a load test does (sans-IO): rooms x peers, publishers, ramp, churn, faults, thresholds.

A scenario comes from a TOML (or YAML) file, command-line flags, or both (flags win).
Every field is validated here, with an error that names the file, the field and the fix.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtest.presets import PRESETS
from loadtest.thresholds import Threshold, ThresholdError, parse_threshold


class ScenarioError(ValueError):
    """A scenario (file or flags) that cannot be run; the message says what to fix."""


_PEER_NAME = re.compile(r"^r(\d+)p(\d+)$")
_DURATION = re.compile(r"^\s*(\d+\.?\d*|\.\d+)\s*(ms|s|m|min|h)?\s*$")
_DURATION_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, None: 1.0}


def peer_name(room: int, index: int) -> str:
    """The name of peer ``index`` of room ``room`` (``r0p3``); faults refer to peers by it."""
    return f"r{room}p{index}"


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from ``60``, ``"60s"``, ``"500ms"``, ``"2m"`` or ``"1h"``."""
    if isinstance(value, bool):
        raise ScenarioError(f"{what} must be a duration like 60s or 500ms, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        raise ScenarioError(f"{what} must be a duration like 60s or 500ms, got {value!r}")
    if seconds < 0:
        raise ScenarioError(f"{what} must not be negative, got {value!r}")
    return seconds


@dataclass(frozen=True, slots=True)
class Fault:
    """An induced fault: ``block_video`` drops ``peer``'s outgoing video from ``at`` on,
    for ``duration`` seconds (None: until the end)."""

    kind: str
    peer: str
    at: float
    duration: float | None = None


@dataclass(frozen=True)
class Scenario:
    """Everything one load test run needs to know."""

    url: str | None = None
    rooms: int = 1
    peers: int = 2  # per room
    publishers: int | None = None  # per room; None: every peer publishes
    preset: str = "360p"
    duration: float = 30.0  # seconds; with max_rooms: the measurement window of each step
    warmup: float = 0.0  # seconds of the run left out of the figures (join phases excepted)
    ramp: float | None = None  # joins per second; None: all at once
    churn: float = 0.0  # peers leaving and rejoining per second
    workers: int | None = None  # None: one per core
    max_rooms: bool = False  # capacity discovery: add rooms until a threshold breaks
    max_rooms_limit: int = 50  # stop the search there
    # A fresh prefix per run: rooms a previous run is still leaving are not reused.
    room_prefix: str = field(default_factory=lambda: f"load-{secrets.token_hex(3)}")
    join_timeout: float = 20.0
    thresholds: tuple[Threshold, ...] = ()
    faults: tuple[Fault, ...] = ()
    json: str | None = None
    plot: str | None = None

    @property
    def publishers_per_room(self) -> int:
        return self.peers if self.publishers is None else self.publishers

    @property
    def total_peers(self) -> int:
        return self.rooms * self.peers


_INT_FIELDS = {"rooms": 1, "peers": 1, "publishers": 0, "workers": 1, "max_rooms_limit": 1}
_DURATION_FIELDS = ("duration", "warmup", "join_timeout")
_RATE_FIELDS = ("ramp", "churn")
_STR_FIELDS = ("url", "room_prefix", "json", "plot")
FIELDS = (*(f.name for f in dataclasses.fields(Scenario)), "fail_if")


def from_mapping(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """A validated Scenario from a parsed file or flags (keys may use - or _)."""
    values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = str(raw_key).replace("-", "_")
        where = f"{source}: {key}"
        if value is None:
            continue
        if key in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_FIELDS[key]:
                raise ScenarioError(
                    f"{where} must be an integer >= {_INT_FIELDS[key]}, got {value!r}")
            values[key] = value
        elif key in _DURATION_FIELDS:
            values[key] = parse_duration(value, where)
        elif key in _RATE_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ScenarioError(f"{where} must be a rate >= 0 (per second), got {value!r}")
            values[key] = float(value)
        elif key in _STR_FIELDS:
            if not isinstance(value, str) or not value:
                raise ScenarioError(f"{where} must be a non-empty string, got {value!r}")
            values[key] = value
        elif key == "preset":
            if value not in PRESETS:
                raise ScenarioError(
                    f"{where} must be one of {', '.join(sorted(PRESETS))}, got {value!r}")
            values[key] = value
        elif key == "max_rooms":
            values.update(_max_rooms(value, where))
        elif key in ("fail_if", "thresholds"):
            values["thresholds"] = _thresholds(value, where)
        elif key == "faults":
            values["faults"] = _faults(value, where)
        else:
            raise ScenarioError(
                f"{source}: unknown field {key!r}; fields are {', '.join(sorted(FIELDS))}")
    return validate(Scenario(**values), source)


def _max_rooms(value: object, where: str) -> dict[str, Any]:
    # `max_rooms = true` searches up to the default limit; `max_rooms = 8` up to 8 rooms.
    if isinstance(value, bool):
        return {"max_rooms": value}
    if isinstance(value, int) and value >= 1:
        return {"max_rooms": True, "max_rooms_limit": value}
    raise ScenarioError(f"{where} must be true/false or a room limit >= 1, got {value!r}")


def _thresholds(value: object, where: str) -> tuple[Threshold, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise ScenarioError(f"{where} must be a list of strings like 'latency.p99>200ms'")
    try:
        return tuple(parse_threshold(x) for x in items)
    except ThresholdError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _faults(value: object, where: str) -> tuple[Fault, ...]:
    if not isinstance(value, list):
        raise ScenarioError(f"{where} must be a list of tables ([[faults]] in TOML)")
    out = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise ScenarioError(f"{at} must be a table with kind, peer, at (and for)")
        unknown = set(item) - {"kind", "peer", "at", "for"}
        if unknown:
            raise ScenarioError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        if item.get("kind") != "block_video":
            raise ScenarioError(f"{at}.kind must be 'block_video', got {item.get('kind')!r}")
        peer = item.get("peer")
        if not isinstance(peer, str) or not _PEER_NAME.match(peer):
            raise ScenarioError(f"{at}.peer must name a peer like 'r0p1', got {peer!r}")
        for_ = item.get("for")
        out.append(Fault("block_video", peer, parse_duration(item.get("at", 0), f"{at}.at"),
                         None if for_ is None else parse_duration(for_, f"{at}.for")))
    return tuple(out)


def validate(s: Scenario, source: str = "scenario") -> Scenario:
    """Check the rules that tie fields together; return ``s``."""
    if s.publishers is not None and s.publishers > s.peers:
        raise ScenarioError(
            f"{source}: publishers ({s.publishers}) cannot exceed peers per room ({s.peers})")
    if s.duration <= 0:
        raise ScenarioError(f"{source}: duration must be more than 0")
    if s.warmup >= s.duration:
        raise ScenarioError(f"{source}: warmup ({s.warmup:g}s) must be shorter than the "
                            f"duration ({s.duration:g}s)")
    if s.ramp == 0:
        raise ScenarioError(f"{source}: ramp must be more than 0 joins/s (omit it: all at once)")
    if s.url is not None and not re.match(r"^https?://[^/\s]+", s.url):
        raise ScenarioError(f"{source}: url must look like http://host:port, got {s.url!r}")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", s.room_prefix):
        raise ScenarioError(f"{source}: room_prefix must be 1-40 of A-Z a-z 0-9 _ -")
    for f in s.faults:
        m = _PEER_NAME.match(f.peer)
        assert m is not None  # checked when parsed
        room, index = int(m.group(1)), int(m.group(2))
        rooms = s.max_rooms_limit if s.max_rooms else s.rooms
        if room >= rooms or index >= s.peers:
            raise ScenarioError(f"{source}: fault peer {f.peer!r} is not in this scenario "
                                f"(rooms r0..r{rooms - 1}, peers p0..p{s.peers - 1})")
        if index >= s.publishers_per_room:
            raise ScenarioError(f"{source}: fault peer {f.peer!r} is a viewer: it sends no video")
    return s


def load_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a TOML (.toml) or YAML (.yaml/.yml) scenario file."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {p}: {exc.strerror or exc}") from None
    if p.suffix in (".yaml", ".yml"):
        try:
            import yaml  # optional: only YAML scenarios need PyYAML
        except ImportError:
            raise ScenarioError(
                f"{p}: YAML scenarios need PyYAML (pip install 'coshop[loadtest]'); "
                "or write the scenario in TOML") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{p}: invalid YAML: {exc}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{p}: invalid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{p}: a scenario is a table of fields, got {type(data).__name__}")
    return data


def build(file: str | Path | None, overrides: Mapping[str, Any]) -> Scenario:
    """The scenario of ``file`` (if any) with ``overrides`` (flags, None = not given) on top."""
    data: dict[str, Any] = {}
    source = "flags"
    if file is not None:
        data = load_file(file)
        source = str(file)
    merged = {k.replace("-", "_"): v for k, v in data.items()}
    extra_thresholds = overrides.get("fail_if") or []
    for key, value in overrides.items():
        if value is not None and key != "fail_if":
            merged[key] = value
    if extra_thresholds:
        # Flags add to the file's thresholds rather than replacing them.
        existing = merged.pop("fail_if", merged.pop("thresholds", []))
        existing = [existing] if isinstance(existing, str) else list(existing)
        merged["fail_if"] = [*existing, *extra_thresholds]
    return from_mapping(merged, source)


@dataclass(frozen=True, slots=True)
class PeerPlan:
    """One synthetic peer to run: its room, name, stamp index and role."""

    room: str
    name: str
    index: int
    publish: bool


def plan_room(s: Scenario, room: int) -> list[PeerPlan]:
    """The peers of room number ``room``: publishers first, then viewers."""
    return [
        PeerPlan(f"{s.room_prefix}-{room}", peer_name(room, i), room * s.peers + i,
                 i < s.publishers_per_room)
        for i in range(s.peers)
    ]


@dataclass
class JoinSchedule:
    """When each join is due at ``rate`` joins/s (sans-IO): ``due(now)`` pops what is due."""

    plans: list[PeerPlan]
    rate: float | None
    start: float
    _next: int = field(default=0)

    def due(self, now: float) -> list[PeerPlan]:
        if self.rate is None:
            end = len(self.plans)
        else:
            end = min(len(self.plans), int((now - self.start) * self.rate) + 1)
        out = self.plans[self._next:end]
        self._next = max(self._next, end)
        return out

    @property
    def done(self) -> bool:
        return self._next >= len(self.plans)

    def next_at(self) -> float:
        """When the next join is due."""
        if self.rate is None:
            return self.start
        return self.start + self._next / self.rate
