"""Self-check of the aiortc and aioice internals the RTP forwarder depends on.

aiortc has no public API for forwarding RTP without decoding; the SFU hooks a few private names
of aiortc and of aioice underneath it (listed below; tests/sfu/test_compat.py scans sfu/ for
``obj._name`` accesses and fails if one is not listed here). They are checked when the SFU is
built and again on the first real transceiver, so an upgrade fails loudly and clearly instead
of silently sending no media.
"""

from __future__ import annotations

from importlib.metadata import version

from aioice.ice import Connection, StunProtocol
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver

from sfu.errors import IncompatibleAiortc

#: The exact releases whose internals are hooked (pinned the same in pyproject.toml).
SUPPORTED: dict[str, str] = {"aiortc": "1.16.0", "aioice": "0.13.0"}
SUPPORTED_AIORTC = SUPPORTED["aiortc"]

# Methods (class attributes) the SFU wraps or calls.
_METHODS: tuple[tuple[type, str], ...] = (
    (RTCRtpSender, "_send_keyframe"),
    (RTCRtpSender, "_retransmit"),
    (RTCRtpSender, "_handle_rtcp_packet"),
    (RTCRtpSender, "_run_rtcp"),  # replaced per sender by sfu/sender_reports.py
    (RTCRtpReceiver, "_handle_rtp_packet"),
    (RTCRtpReceiver, "_send_rtcp_pli"),
    (RTCRtpReceiver, "_send_rtcp_nack"),
    (RTCRtpReceiver, "_send_rtcp"),
    (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
    (RTCDtlsTransport, "_send_rtp"),
)
# Public names of aioice's internal classes that sfu/ingress.py stands in for.
_PUBLIC_METHODS: tuple[tuple[type, str], ...] = (
    (StunProtocol, "datagram_received"),
    (Connection, "data_received"),
)
# Instance attributes, only visible on a live transceiver and the transports under it.
_SENDER_FIELDS = (
    "_ssrc",
    "_rtx_ssrc",
    "_stream_id",
    "_enabled",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
    # sfu/sender_reports.py: what aiortc's report loop reads, notes and signals.
    "_RTCRtpSender__cname",
    "_RTCRtpSender__lsr",
    "_RTCRtpSender__lsr_time",
    "_RTCRtpSender__rtcp_started",
    "_RTCRtpSender__rtcp_exited",
)
_RECEIVER_FIELDS = (
    "_enabled",
    "_RTCRtpReceiver__jitter_buffer",
    "_RTCRtpReceiver__nack_generator",
    "_RTCRtpReceiver__remote_bitrate_estimator",  # fed by TrackSource._feedback
    "_RTCRtpReceiver__remote_streams",
    "_RTCRtpReceiver__rtcp_ssrc",
)
_TRANSCEIVER_FIELDS = ("_codecs",)  # renumbered with the offer's payload types (peer.py)
# RTCDtlsTransport (sfu/egress.py, sfu/ingress.py, sfu/relay.py)
_DTLS_FIELDS = ("_state", "_tx_srtp", "_rx_srtp", "_rtp_router", "_rtp_header_extensions_map")
# Its HeaderExtensionsMap: the negotiated ids the compiled parse reads (sfu/compiled_ingress.py).
_EXTENSIONS_MAP_FIELDS = ("_HeaderExtensionsMap__ids",)
# RTCIceTransport: -> aioice Connection, and the coroutine aiortc's DTLS reader awaits.
_ICE_TRANSPORT_FIELDS = ("_connection", "_recv")
# aioice Connection: {component: CandidatePair}, and the queue of received datagrams.
_ICE_CONNECTION_FIELDS = ("_nominated", "_queue")

# pylibsrtp Session: its srtp_t, which sfu/compiled_egress.py hands to the C extension
# (checked there on import: without it the Python egress is used, nothing fails).
_PYLIBSRTP_SESSION_FIELDS = ("_srtp",)

#: Every private name the SFU touches on aiortc/aioice (and pylibsrtp) objects.
HOOKED_NAMES = frozenset(
    [name for _, name in _METHODS]
    + [
        *_PYLIBSRTP_SESSION_FIELDS,
        *_SENDER_FIELDS,
        *_RECEIVER_FIELDS,
        *_TRANSCEIVER_FIELDS,
        *_DTLS_FIELDS,
        *_EXTENSIONS_MAP_FIELDS,
        *_ICE_TRANSPORT_FIELDS,
        *_ICE_CONNECTION_FIELDS,
    ]
)


def check_aiortc() -> None:
    """Raise IncompatibleAiortc unless the pinned aiortc and aioice with every hooked method
    are here."""
    for package, pinned in SUPPORTED.items():
        installed = version(package)
        if installed != pinned:
            raise IncompatibleAiortc(
                f"coshop's SFU hooks {package} {pinned} internals but {package} {installed} "
                f"is installed; run `pip install {package}=={pinned}`"
            )
    missing = [f"{cls.__name__}.{n}" for cls, n in _METHODS if not hasattr(cls, n)]
    # Defined by aioice itself, not only inherited (asyncio.DatagramProtocol has one too).
    missing += [f"{cls.__name__}.{n}" for cls, n in _PUBLIC_METHODS if n not in vars(cls)]
    _raise_if_missing(missing)


def check_transceiver(transceiver: RTCRtpTransceiver) -> None:
    """Raise IncompatibleAiortc unless a live transceiver, its DTLS and ICE transports and the
    aioice connection have every hooked field."""
    sender, receiver = transceiver.sender, transceiver.receiver
    missing = _missing(sender, "RTCRtpSender", _SENDER_FIELDS)
    missing += _missing(receiver, "RTCRtpReceiver", _RECEIVER_FIELDS)
    missing += _missing(transceiver, "RTCRtpTransceiver", _TRANSCEIVER_FIELDS)
    dtls = sender.transport
    missing += _missing(dtls, "RTCDtlsTransport", _DTLS_FIELDS)
    extensions_map = getattr(dtls, "_rtp_header_extensions_map", None)
    if extensions_map is not None:
        missing += _missing(extensions_map, "HeaderExtensionsMap", _EXTENSIONS_MAP_FIELDS)
    ice = dtls.transport
    missing += _missing(ice, "RTCIceTransport", _ICE_TRANSPORT_FIELDS)
    connection = getattr(ice, "_connection", None)
    if isinstance(connection, Connection):
        missing += _missing(connection, "aioice.Connection", _ICE_CONNECTION_FIELDS)
    elif "RTCIceTransport._connection" not in missing:
        missing.append("RTCIceTransport._connection (an aioice Connection)")
    _raise_if_missing(missing)


def _missing(owner: object, label: str, fields: tuple[str, ...]) -> list[str]:
    return [f"{label}.{name}" for name in fields if not hasattr(owner, name)]


def _raise_if_missing(missing: list[str]) -> None:
    if missing:
        pins = ", ".join(f"{p} {v}" for p, v in SUPPORTED.items())
        raise IncompatibleAiortc(
            f"aiortc/aioice internals hooked by the SFU are missing (are {pins} installed?): "
            + ", ".join(missing)
        )
