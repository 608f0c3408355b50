"""Self-check of the aiortc internals the RTP forwarder depends on.

aiortc has no public API for forwarding RTP without decoding; the SFU hooks a few
private names (listed below). They are checked when the SFU is built and again on the
first real transceiver, so an aiortc upgrade fails loudly and clearly instead of
silently sending no media.
"""

from __future__ import annotations

from importlib.metadata import version

from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver

from sfu.errors import IncompatibleAiortc

#: The exact aiortc release whose internals are hooked (pinned in pyproject.toml).
SUPPORTED_AIORTC = "1.16.0"

# Methods (class attributes) the SFU wraps or calls.
_METHODS: tuple[tuple[type, str], ...] = (
    (RTCRtpSender, "_send_keyframe"),
    (RTCRtpSender, "_retransmit"),
    (RTCRtpReceiver, "_handle_rtp_packet"),
    (RTCRtpReceiver, "_send_rtcp_pli"),
    (RTCRtpReceiver, "_send_rtcp_nack"),
    (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
    (RTCDtlsTransport, "_send_rtp"),
)
# Instance attributes, only visible on a live transceiver.
_SENDER_FIELDS = (
    "_ssrc",
    "_rtx_ssrc",
    "_stream_id",
    "_enabled",
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)
_RECEIVER_FIELDS = (
    "_enabled",
    "_RTCRtpReceiver__jitter_buffer",
    "_RTCRtpReceiver__nack_generator",
)
_TRANSPORT_FIELDS = ("_tx_srtp", "_state")
_ICE_FIELDS = ("_connection",)
_TRANSCEIVER_FIELDS = ("_codecs",)


def check_aiortc() -> None:
    """Raise IncompatibleAiortc unless the pinned aiortc with every hooked method is here."""
    installed = version("aiortc")
    if installed != SUPPORTED_AIORTC:
        raise IncompatibleAiortc(
            f"coshop's SFU hooks aiortc {SUPPORTED_AIORTC} internals but aiortc {installed} "
            f"is installed; run `pip install aiortc=={SUPPORTED_AIORTC}`"
        )
    _raise_if_missing([f"{cls.__name__}.{n}" for cls, n in _METHODS if not hasattr(cls, n)])


def check_transceiver(transceiver: RTCRtpTransceiver) -> None:
    """Raise IncompatibleAiortc unless a live transceiver has every hooked field."""
    missing = [f"RTCRtpSender.{n}" for n in _SENDER_FIELDS if not hasattr(transceiver.sender, n)]
    missing += [
        f"RTCRtpReceiver.{n}" for n in _RECEIVER_FIELDS if not hasattr(transceiver.receiver, n)
    ]
    missing += [
        f"RTCRtpTransceiver.{n}" for n in _TRANSCEIVER_FIELDS if not hasattr(transceiver, n)
    ]
    _raise_if_missing(missing)


def _raise_if_missing(missing: list[str]) -> None:
    if missing:
        raise IncompatibleAiortc(
            f"aiortc internals hooked by the SFU are missing (is aiortc {SUPPORTED_AIORTC} "
            "installed?): " + ", ".join(missing)
        )
