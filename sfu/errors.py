"""The few named errors of the media plane (signaling maps each to one wire code)."""


class SFUError(Exception):
    """Base class for every error the sfu package raises on purpose."""


class IncompatibleAiortc(SFUError):
    """The installed aiortc lacks the internals the RTP forwarder hooks."""


class NegotiationError(SFUError):
    """An answer arrived without a pending offer, or the peer is closed."""


class InvalidSdp(NegotiationError):
    """The answer SDP could not be parsed or applied."""


class RecordingConflict(SFUError):
    """A recording was asked to start while one runs, or to stop while none does."""
