"""Settings of one coshop node, read from ``COSHOP_*`` environment variables and CLI flags.

One pydantic-settings model is the source of truth: its fields are the variables, and
signaling/cli.py generates the ``coshop serve`` flags from them. This module is the only place in
the project that reads the environment: ``rooms`` and ``sfu`` receive explicit config objects.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from signaling.auth import PublicKey, load_public_key
from signaling.event_loop import EventLoopKind
from signaling.ice import IceServer, parse_ice_servers
from signaling.webhook_endpoints import WebhookEndpoint, parse_endpoints

ENV_PREFIX = "COSHOP_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _random_node_id() -> str:
    return f"node-{secrets.token_hex(4)}"


class SettingsError(ValueError):
    """A setting from the environment or the command line is invalid."""


class Settings(BaseSettings):
    """Everything a node needs to start. Each field ``x`` is read from ``COSHOP_X`` (an empty
    value counts as unset); keyword arguments win."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid"
    )

    host: str = Field("127.0.0.1", description="Interface the HTTP/WebSocket server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port to listen on (0 = any free).")
    public_url: str | None = Field(
        None,
        description="Base URL clients use to reach this node (printed at start-up and returned "
        "with join tokens); defaults to http://HOST:PORT.",
    )
    public_ip: str | None = Field(
        None,
        description="IPv4 address browsers reach this node's media (UDP) at, when it is not one "
        "the node binds: a cloud VM behind 1:1 NAT announces its public address. Each ICE host "
        "candidate is also announced at this address, same port. Unset = its own addresses.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Node processes `coshop serve` runs on this machine, one per core: a "
        "supervisor starts them (each on its own port, PORT+1 ... PORT+N, sharing PORT), "
        "restarts one that dies and drains them all on SIGTERM; rooms are placed across them "
        "through Redis. Unset = the machine's cores with a Redis URL, else 1; more than 1 "
        "needs a Redis URL.",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://host:port/db) for shared room state across nodes; "
        "unset = embedded in-memory store (single node).",
    )
    room_capacity: int = Field(
        10, ge=1, le=100, description="Participants per room unless a room is created with its own."
    )
    audience_capacity: int = Field(
        1000,
        ge=1,
        le=1_000_000,
        description="Viewers a live room admits besides its stage (host and guests), counted "
        "across every node, unless the room was created with its own figure.",
    )
    reaction_interval: float = Field(
        0.25,
        gt=0,
        le=10,
        description="Live rooms: seconds between two reaction_counts messages to a viewer at "
        "most; the audience gets reactions and others' votes folded into these counts instead "
        "of one event per click.",
    )
    secret: str | None = Field(
        None,
        repr=False,
        description="HS256 key of the join tokens (JWT) and the HTTP API bearer key; at least 32 "
        "bytes. Unset = demo mode: tokens are optional and the HTTP API is open. Set it in "
        "production.",
    )
    relay_secret: str | None = Field(
        None,
        repr=False,
        description="Live rooms across nodes: HS256 key of the node credentials an edge node "
        "presents to a room's origin to relay its stage (at least 32 bytes, the same on every "
        "node). Unset = the secret (demo mode: the public demo key).",
    )
    jwt_public_key: Path | None = Field(
        None,
        description="PEM file of a brand's public key (RSA or EC P-256): join tokens signed "
        "RS256/ES256 with its private key are accepted besides the node's HS256 ones.",
    )
    token_ttl: float = Field(
        6 * 3600.0, gt=0, description="Lifetime of minted join tokens, in seconds."
    )
    log_level: LogLevel = Field("INFO", description="Python logging level.")
    node_id: str = Field(
        default_factory=_random_node_id,
        min_length=1,
        description="Name of this node in logs, /healthz and /metrics (random if unset).",
    )
    pli_interval: float = Field(
        0.3,
        gt=0,
        description="Minimum seconds between two keyframe requests (PLI) to one published track.",
    )
    pli_spacing: float = Field(
        0.002,
        ge=0,
        description="Minimum seconds between keyframe requests to different publishers of one "
        "room. Each request also waits for the keyframe before it to be forwarded (its "
        "packets times its subscribers times the measured cost of one copy), so a join's "
        "keyframes arrive one after another, not as one burst that delays everyone's video.",
    )
    rtx_share: float = Field(
        0.25,
        ge=0,
        description="Retransmissions (RTX) to one subscriber stay within this share of the "
        "video bytes it is sent (over about a second, plus a few packets), and one packet is "
        "re-sent at most once per 50 ms: a failing link gets no retransmission storm on top "
        "(what is refused, the subscriber recovers with a keyframe request).",
    )
    allow_h264: bool = Field(
        True, description="Offer H264 besides VP8 to publishers (forwarded, never transcoded)."
    )
    event_loop: EventLoopKind = Field(
        "uvloop",
        description="Event loop of `coshop serve`: uvloop (libuv: drains a media socket up to "
        "32 datagrams per wake-up) or Python's asyncio loop (one datagram per socket per loop "
        "turn; under load, media queues up in the socket buffers and arrives late).",
    )
    direct_send: bool = Field(
        True,
        description="Write forwarded RTP straight to the ICE socket instead of through aiortc's "
        "coroutine chain (false only to measure the difference).",
    )
    compiled_egress: bool = Field(
        True,
        description="With direct_send, write, SRTP-protect and send each forwarded packet in "
        "one call to the C extension sfu._compiled_egress (the Python path is used where it "
        "was not built; false only to measure the difference).",
    )
    compiled_fanout: bool = Field(
        True,
        description="With compiled_egress, rewrite, send and account for each incoming "
        "packet's steady-state copies in one call to the C extension "
        "(sfu._compiled_egress.fan_out) instead of one Python call per subscriber (false "
        "only to measure the difference).",
    )
    compiled_ingress: bool = Field(
        True,
        description="SRTP-unprotect each received media packet in one call to the C extension "
        "sfu._compiled_ingress instead of through pylibsrtp's cffi wrapper (the wrapper is used "
        "where it was not built; false only to measure the difference).",
    )
    ws_heartbeat: float = Field(
        1.0,
        gt=0,
        description="Seconds of silence from a client after which its WebSocket is pinged "
        "(and again as often while it stays silent).",
    )
    ws_timeout: float = Field(
        4.5,
        gt=0,
        description="Seconds without anything from a client (message, ping or pong) after "
        "which its WebSocket is dropped: a silent drop is noticed this fast, and a network "
        "outage shorter than this (minus TCP's retransmission delay) keeps the session.",
    )
    answer_timeout: float = Field(
        15.0,
        gt=0,
        description="Seconds a participant has to answer an SDP offer before it is taken out "
        "of the room (left, reason media_failed), so a broken client cannot hold a seat.",
    )
    resume_ttl: float = Field(
        3600.0,
        gt=0,
        description="Lifetime, in seconds, of the resume credential sent in joined: within it "
        "a reload or a dropped connection comes back as the same participant.",
    )
    max_message_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest accepted WebSocket message (SDP included)."
    )
    max_pending: int = Field(
        1000,
        ge=10,
        description="Messages queued for one socket before it is dropped as a slow consumer.",
    )
    demo_catalog: bool = Field(
        True,
        description="Rooms created without a catalog show the bundled sample catalog (the demo); "
        "false = they start with an empty one until a catalog is loaded through the HTTP API.",
    )
    rate_limits: bool = Field(
        True,
        description="Per-participant flood control of votes, reactions and chat messages "
        "(false only for benchmarks).",
    )
    shutdown_timeout: float = Field(
        5.0, ge=0, description="Seconds to let connections close on SIGINT/SIGTERM."
    )
    presence_heartbeat: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Redis only: seconds between renewals of this node's presence lease. It is "
        "also how often an unreachable Redis is retried (the retry_after of `unavailable`): "
        "sockets get a fresh snapshot within about this plus a second of Redis returning.",
    )
    presence_lease: float = Field(
        8.0,
        gt=0,
        le=300,
        description="Redis only: seconds a node's participants stay in their rooms after its "
        "last renewal; a node silent for longer (killed, cut off) is presumed dead and its "
        "participants are removed (participant_left, reason node_lost). At least 3 heartbeats.",
    )
    reap_interval: float = Field(
        2.0,
        gt=0,
        le=60,
        description="Redis only: seconds between this node's checks for other nodes' lapsed "
        "leases, so a dead node's participants are gone within lease + this.",
    )

    node_timeout: float = Field(
        3.0,
        gt=0,
        le=300,
        description="Redis only: seconds without a heartbeat (every presence_heartbeat) after "
        "which other nodes presume this node dead for placement: its rooms are pinned to a "
        "live node at their next join. At least 2 heartbeats.",
    )
    placement_cpu_weight: float = Field(
        10.0,
        ge=0,
        description="Redis only: weight of one core of CPU in a node's placement score "
        "(pinned rooms + participants + this x cores used); a new room goes to the live node "
        "with the lowest score.",
    )
    drain_timeout: float = Field(
        30.0,
        ge=0,
        description="Redis only: on SIGTERM (or POST /api/node/drain) the node drains: it takes "
        "no new rooms, sends its rooms' clients to other nodes (redirect) and exits once they "
        "are gone, or after this many seconds.",
    )

    ice_servers: str | None = Field(
        None,
        description="ICE servers handed to clients in `joined` (a JSON list of RTCIceServer "
        'objects, e.g. [{"urls": "stun:stun.example.com:3478"}, {"urls": '
        '["turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport='
        'tcp"]}]); TURN entries without username/credential get time-limited credentials '
        "from turn_secret. Unset = none (host candidates only).",
    )
    turn_secret: str | None = Field(
        None,
        repr=False,
        description="coturn's static-auth-secret (use-auth-secret): the node mints each "
        "participant TURN credentials valid turn_ttl seconds (username <expiry>:<participant "
        "id>, password base64 HMAC-SHA1).",
    )
    turn_ttl: float = Field(
        86400.0, gt=0, description="Lifetime, in seconds, of minted TURN credentials."
    )

    webhooks: str | None = Field(
        None,
        repr=False,
        description="Webhook endpoints: a JSON list of {\"url\": ..., \"secret\": ... (16+ "
        "characters), \"events\": [...] (optional; default all)}. Each room event is POSTed, "
        "signed (Coshop-Signature), to every endpoint that wants it. Unset = none.",
    )
    webhook_attempts: int = Field(
        8, ge=1, le=100, description="Attempts per webhook delivery before it counts as failed."
    )
    webhook_retry_base: float = Field(
        1.0, gt=0, description="Seconds before a webhook's first retry; each next wait doubles "
        "(at most 60 s).",
    )
    recording_dir: Path = Field(
        Path("recordings"),
        description="Where room recordings go (POST /api/rooms/{id}/recording): one directory "
        "per room and recording, holding a WebM file (VP8 + Opus) per publisher and "
        "manifest.json. Relative paths are from the working directory.",
    )
    webhook_queue: int = Field(
        1000, ge=1, description="Webhook deliveries waiting per endpoint at most; a full queue "
        "drops new ones (logged, counted in /metrics).",
    )

    @field_validator("public_ip")
    @classmethod
    def _ipv4(cls, address: str | None) -> str | None:
        if address is not None:
            ipaddress.IPv4Address(address)
        return address

    @field_validator("ice_servers")
    @classmethod
    def _ice_servers_parse(cls, text: str | None) -> str | None:
        if text is not None:
            parse_ice_servers(text)
        return text

    def ice_server_list(self) -> list[IceServer]:
        """``ice_servers`` parsed (empty when unset)."""
        return [] if self.ice_servers is None else parse_ice_servers(self.ice_servers)

    @field_validator("webhooks")
    @classmethod
    def _webhooks_parse(cls, text: str | None) -> str | None:
        if text is not None:
            parse_endpoints(text)
        return text

    def webhook_endpoints(self) -> list[WebhookEndpoint]:
        """``webhooks`` parsed (empty when unset)."""
        return [] if self.webhooks is None else parse_endpoints(self.webhooks)

    @field_validator("jwt_public_key")
    @classmethod
    def _readable_key(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                load_public_key(path)
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        return path

    def jwt_key(self) -> PublicKey | None:
        """The brand's token-signing public key, loaded from ``jwt_public_key``."""
        return None if self.jwt_public_key is None else load_public_key(self.jwt_public_key)

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> Settings:
        if self.node_timeout < 2 * self.presence_heartbeat:
            raise ValueError(
                "node_timeout must be at least 2 x presence_heartbeat, or a live node whose "
                "heartbeat is a little late would lose its rooms"
            )
        if self.presence_lease < 3 * self.presence_heartbeat:
            raise ValueError(
                "presence_lease must be at least 3 x presence_heartbeat, or a live node "
                "whose renewal is a little late would be reaped"
            )
        return self

    @model_validator(mode="after")
    def _timeout_outlasts_pings(self) -> Settings:
        if self.ws_timeout <= self.ws_heartbeat:
            raise ValueError(
                "ws_timeout must be longer than ws_heartbeat, or a client would be dropped "
                "before it was ever pinged"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Arguments, then the environment: from_env's mapping, else os.environ. No .env files.
        environ = _ENVIRON.get()
        env = env_settings if environ is None else _MappingEnvSource(settings_cls, environ)
        return init_settings, env

    @classmethod
    def from_env(cls, environ: Mapping[str, str], /, **overrides: Any) -> Settings:
        """Read ``COSHOP_*`` variables from ``environ``; ``overrides`` that are not None win
        (CLI flags). Raises SettingsError naming the variable."""
        token = _ENVIRON.set(environ)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise SettingsError(_describe(exc)) from exc
        finally:
            _ENVIRON.reset(token)

    @property
    def demo_mode(self) -> bool:
        """True when no secret is set: tokens optional, HTTP API open."""
        return self.secret is None

    @property
    def store_kind(self) -> str:
        """``memory`` (no redis_url) or ``redis``."""
        return "memory" if self.redis_url is None else "redis"

    @property
    def base_url(self) -> str:
        """The URL to print and hand to clients."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


#: The mapping from_env reads instead of os.environ, for the duration of one construction.
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("coshop_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"])
        # A rule across settings (a model validator) has no location: its message names them.
        parts.append(f"{ENV_PREFIX}{name.upper()}: {err['msg']}" if name else err["msg"])
    return "; ".join(parts)
