"""What a load test does (sans-IO): rooms x peers, publishers, ramp, churn, faults, thresholds.

A scenario comes from a TOML (or YAML) file, command-line flags, or both (flags win).
Every key is a field of the pydantic model ``Scenario`` (``extra="forbid"``); a validation
error becomes a ScenarioError that names the file (or "flags"), the key and the fix.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from loadtest.pacing import DEFAULT_PACING_MS
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


def _seconds(value: object) -> object:
    """Seconds from ``60``, ``"60s"``, ``"500ms"``, ``"2m"`` or ``"1h"`` (a field validator)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError("must be a duration like 60s, 2m or 500ms")


def parse_duration(value: object, what: str = "duration") -> float:
    """Seconds from ``60``, ``"60s"``, ``"500ms"``, ``"2m"`` or ``"1h"``; never negative."""
    try:
        seconds = _DURATION_ADAPTER.validate_python(value)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, what)) from None
    return float(seconds)


def _thresholds(value: object) -> object:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be a list of strings like 'latency.p99>200ms'")
    out = []
    for x in items:
        if isinstance(x, Threshold):
            out.append(x)
        elif isinstance(x, str):
            try:
                out.append(parse_threshold(x))
            except ThresholdError as exc:
                raise ValueError(str(exc)) from None
        else:
            raise ValueError("must be a list of strings like 'latency.p99>200ms'")
    return tuple(out)


def _matching(pattern: str, hint: str) -> AfterValidator:
    """A string check whose error says what the value should look like, not the regex."""
    regex = re.compile(pattern)

    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(hint)
        return value

    return AfterValidator(check)


def _fault_list(value: object) -> object:
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of tables ([[faults]] in TOML)")
    return value


def _preset(value: object) -> object:
    if value not in PRESETS:
        raise ValueError(f"must be one of {', '.join(sorted(PRESETS))}")
    return value


#: Seconds, written as a number or a string with a unit; never negative.
Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]
_DURATION_ADAPTER: TypeAdapter[float] = TypeAdapter(Duration)
#: Joins (or leaves) per second.
Rate = Annotated[float, Field(strict=True, ge=0)]
_Count = Annotated[int, Field(strict=True)]
_Text = Annotated[str, Field(strict=True, min_length=1)]


class Fault(BaseModel):
    """An induced fault: ``block_video`` drops ``peer``'s outgoing video from ``at`` on,
    for ``duration`` seconds (``for`` in a file; None: until the end)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: Literal["block_video"] = Field(
        description="what goes wrong: block_video drops the peer's outgoing video")
    peer: Annotated[str, _matching(_PEER_NAME.pattern, "must name a peer like 'r0p1'")] = Field(
        strict=True, description="the publisher it happens to, like r0p1 (room 0, peer 1)")
    at: Duration = Field(0.0, description="when, from the start of the run")
    duration: Duration | None = Field(None, alias="for",
                                      description="how long (default: until the end)")


_NodeUrl = Annotated[_Text, _matching(r"^https?://[^/\s]+", "must look like http://host:port")]


class Scenario(BaseModel):
    """Everything one load test run needs to know: every `coshop loadtest` flag and every
    key of a scenario file (keys may use - or _)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    url: Annotated[_Text, _matching(r"^https?://[^/\s]+", "must look like http://host:port")
                   ] | None = Field(
        None, description="the coshop node, like http://127.0.0.1:8080")
    kind: Literal["group", "live"] = Field(
        "group", description="room kind: live rooms have a stage (the publishers, as guests) "
        "and a receive-only audience (the other peers, as viewers)")
    nodes: tuple[Annotated[_Text, _matching(r"^https?://[^/\s]+",
                                             "must look like http://host:port")], ...] = Field(
        (), description="more nodes of the same cluster: viewers enter through url and these "
        "in turn (publishers through url); each node's CPU is reported")
    metrics_urls: tuple[_NodeUrl, ...] = Field(
        (), description="nodes whose /metrics are summed for the server's figures (default: "
                        "url); every worker of `coshop serve --workers N`, so that figures "
                        "and a capacity search are per machine")
    rooms: _Count = Field(1, ge=1, description="rooms (with max_rooms: the first step)")
    peers: _Count = Field(2, ge=1, description="peers per room")
    publishers: _Count | None = Field(
        None, ge=0, description="publishing peers per room; the rest only receive "
                                "(default: every peer publishes)")
    preset: Annotated[str, BeforeValidator(_preset)] = Field(
        "360p", description="video preset: " + ", ".join(sorted(PRESETS)))
    duration: Duration = Field(30.0, gt=0, description="run length; with max_rooms: the "
                                                       "measurement window of each step")
    warmup: Duration = Field(0.0, description="the first part of the run, left out of the "
                                              "figures (join phases excepted)")
    ramp: Annotated[float, Field(strict=True, gt=0)] | None = Field(
        None, description="joins per second (default: all at once)")
    churn: Rate = Field(0.0, description="peers leaving and rejoining per second")
    workers: _Count | None = Field(None, ge=1, description="worker processes (default: one "
                                                            "per core)")
    max_rooms: bool = Field(False, strict=True, description="capacity discovery: add rooms "
                            "until a threshold breaks (a number: also the limit)")
    max_rooms_limit: _Count = Field(50, ge=1, description="where the capacity search stops")
    # A fresh prefix per run: rooms a previous run is still leaving are not reused.
    room_prefix: Annotated[_Text, _matching(r"^[A-Za-z0-9_-]{1,40}$",
                                            "must be 1-40 of A-Z a-z 0-9 _ -")] = Field(
        default_factory=lambda: f"load-{secrets.token_hex(3)}",
                             description="room names are PREFIX-0, PREFIX-1...")
    join_timeout: Duration = Field(20.0, description="how long a join may take")
    repair: bool = Field(True, strict=True, description="receivers repair video like a browser "
                         "(NACK, RTX, PLI) and count frames when a browser would show them; "
                         "false: count packets and frames as they arrive, unrepaired")
    lean_receive: bool = Field(True, strict=True, description="receivers take SRTP straight "
                               "from the socket; false: through aiortc's receive loop")
    compiled_receive: bool = Field(True, strict=True, description="on the lean path, "
                                   "receivers unprotect and account each packet in the C "
                                   "extension (when built); false: in Python")
    batched_receive: bool = Field(True, strict=True, description="on the compiled path, "
                                  "receivers read each ICE socket themselves, in batches "
                                  "(recvmmsg); false: one call per datagram "
                                  "from the event loop")
    compiled_send: bool = Field(True, strict=True, description="on the lean path, "
                                "publishers build, SRTP-protect and send each frame's "
                                "packets in one call of the C extension (when built; "
                                "sendmmsg); false: packet by packet in Python")
    pacing_ms: float = Field(DEFAULT_PACING_MS, ge=0, le=100, description="each worker's "
                             "media clock (ms): frames go out, repair ticks fall and, on "
                             "the batched path, ICE sockets are read on one grid of this "
                             "period, as a browser's pacer sends every 5 ms; 0: each frame "
                             "at its own time, sockets read when readable")
    thresholds: Annotated[tuple[SkipValidation[Threshold], ...],
                          BeforeValidator(_thresholds)] = Field(
        (), validation_alias=AliasChoices("fail_if", "thresholds"),
        description="fail (exit 1) when one holds, like 'latency.p99>200ms'")
    faults: Annotated[tuple[Fault, ...], BeforeValidator(_fault_list)] = Field(
        (), description="induced faults ([[faults]] in TOML)")
    json_file: _Text | None = Field(None, alias="json",
                                    description="write every figure to this JSON file")
    plot: _Text | None = Field(None, description="draw the run into this PNG (matplotlib)")

    @model_validator(mode="before")
    @classmethod
    def _max_rooms_limit(cls, data: Any) -> Any:
        # `max_rooms = true` searches up to the default limit; `max_rooms = 8` up to 8 rooms.
        if isinstance(data, Mapping):
            value = data.get("max_rooms")
            if isinstance(value, int) and not isinstance(value, bool):
                if value < 1:
                    raise ValueError(f"max_rooms must be true/false or a room limit >= 1, "
                                     f"got {value!r}")
                data = {**data, "max_rooms": True, "max_rooms_limit": value}
            elif value is not None and not isinstance(value, bool):
                raise ValueError(f"max_rooms must be true/false or a room limit >= 1, "
                                 f"got {value!r}")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        """The rules that tie fields together."""
        if self.publishers is not None and self.publishers > self.peers:
            raise ValueError(f"publishers ({self.publishers}) cannot exceed peers per room "
                             f"({self.peers})")
        if self.warmup >= self.duration:
            raise ValueError(f"warmup ({self.warmup:g}s) must be shorter than the "
                             f"duration ({self.duration:g}s)")
        rooms = self.max_rooms_limit if self.max_rooms else self.rooms
        for f in self.faults:
            m = _PEER_NAME.match(f.peer)
            assert m is not None  # the field's pattern
            room, index = int(m.group(1)), int(m.group(2))
            if room >= rooms or index >= self.peers:
                raise ValueError(f"fault peer {f.peer!r} is not in this scenario "
                                 f"(rooms r0..r{rooms - 1}, peers p0..p{self.peers - 1})")
            if index >= self.publishers_per_room:
                raise ValueError(f"fault peer {f.peer!r} is a viewer: it sends no video")
        return self

    @property
    def publishers_per_room(self) -> int:
        return self.peers if self.publishers is None else self.publishers

    @property
    def total_peers(self) -> int:
        return self.rooms * self.peers


#: Every key a scenario file (or the flags) may set.
FIELDS = ("fail_if", *(f.alias or n for n, f in Scenario.model_fields.items()
                      if n != "thresholds"))


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _describe(exc: ValidationError, source: str) -> str:
    """One line per problem: the file (or flags), the key, what is wrong and the value."""
    lines = []
    for e in exc.errors():
        # "fail_if" comes back under its first alias; a tagged or union part is noise.
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith(
            ("function-", "constrained-", "lax-", "strict-", "nullable"))))
        key = _where(loc)
        if e["type"] == "extra_forbidden":
            known = FIELDS if len(loc) == 1 else ("kind", "peer", "at", "for")
            lines.append(f"{source}: unknown field {key!r}; fields are {', '.join(sorted(known))}")
            continue
        if e["type"] == "value_error":
            msg = str(e["ctx"]["error"])
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
        if not key:  # a rule over several fields: the message names them
            lines.append(f"{source}: {msg}")
        else:
            lines.append(f"{source}: {key}: {msg}, got {e['input']!r}")
    return "\n".join(lines)


def from_mapping(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """A validated Scenario from a parsed file or flags (keys may use - or _; None: unset)."""
    values = {str(k).replace("-", "_"): v for k, v in data.items() if v is not None}
    try:
        return Scenario.model_validate(values)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, source)) from None


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
    url: str | None = None
    """The node this peer enters through (None: the scenario's url)."""


def plan_room(s: Scenario, room: int) -> list[PeerPlan]:
    """The peers of room number ``room``: publishers first, then viewers."""
    entries = [s.url, *s.nodes] if s.nodes and s.url is not None else [None]
    plans = []
    for i in range(s.peers):
        publish = i < s.publishers_per_room
        # Viewers spread over every node given; publishers enter through the first.
        url = None if publish else entries[(i - s.publishers_per_room) % len(entries)]
        plans.append(PeerPlan(f"{s.room_prefix}-{room}", peer_name(room, i),
                              room * s.peers + i, publish, url))
    return plans


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
