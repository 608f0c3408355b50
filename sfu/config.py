"""Explicit configuration of the media plane (the entry point fills it in)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SFUConfig:
    """Tunables of the SFU; defaults suit a ten-person room on loopback or a LAN."""

    #: Minimum gap between two keyframe requests (PLI) sent to one publisher track.
    #: Requests inside the window are deferred to its end, never dropped (a keyframe that
    #: arrives meanwhile answers them, and then no PLI is needed).
    keyframe_request_interval: float = 0.3
    #: Minimum gap between keyframe requests to different publishers of one room; each
    #: also waits for the previous keyframe's forwarding (sfu.keyframe.KeyframePacer), so
    #: the keyframes a join asks for do not all arrive (and get forwarded) at once.
    keyframe_spacing: float = 0.002
    #: Video packets kept per forwarded stream to answer a subscriber's NACK with RTX
    #: (256 is about 3 s at 360p and 1 s at 720p: well beyond a NACK's round trip).
    retransmission_history: int = 256
    #: Retransmissions to one subscriber stay within this share of its video bytes (over
    #: about a second, plus a few packets); a packet is re-sent at most once per 50 ms.
    retransmission_share: float = 0.25
    #: Write forwarded packets straight to the ICE socket (False: through aiortc's
    #: coroutine chain; only useful to measure the difference, see bench/).
    direct_send: bool = True
    #: With direct_send, write, SRTP-protect and send each forwarded copy in one call to
    #: the C extension sfu._compiled_egress (same bytes, less CPU per packet); ignored,
    #: with the Python path used, where the extension was not built.
    compiled_egress: bool = True
    #: With compiled_egress, each incoming packet's steady-state copies (subscriber
    #: negotiated and shown, no temporal layers to select) are rewritten, sent and
    #: accounted for in one call to sfu._compiled_egress.fan_out; the rest go through
    #: TrackForwarder.forward as before.
    compiled_fanout: bool = True
    #: Handle publishers' RTP as it is read from the ICE socket, once connected (False:
    #: through aioice's queue and aiortc's reader coroutine; see sfu/ingress.py).
    direct_receive: bool = True
    #: With direct_receive, SRTP-unprotect each publisher packet in one call to the C
    #: extension sfu._compiled_ingress (pylibsrtp's method where it was not built).
    compiled_ingress: bool = True
    #: Offer H264 besides VP8 to publishers (forwarded as-is to subscribers).
    allow_h264: bool = True
    #: The IPv4 address clients reach this node's media at, when it differs from the
    #: addresses it binds (1:1 NAT): announced next to each host candidate (sfu.announce).
    announced_address: str | None = None
