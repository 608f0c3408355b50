"""aiortc's receive-side bandwidth estimator (REMB), with its per-packet part made cheap.

Every video packet a publisher sends feeds the estimate the SFU returns to it in REMB
(draft-alvestrand-rmcat-remb-03): aiortc's ``RemoteBitrateEstimator`` counts the incoming
rate, groups packets by abs-send-time into 5 ms bursts (``InterArrival``) and, once per
group, runs the over-use estimator, detector and AIMD rate control. Per packet that is a
rate-counter window slide twice (a Python loop over each millisecond since the last packet),
four method calls on two group objects, and once per group a Python loop over the last 60
frame periods; measured as ~5 % of a full room's server CPU.

This does the per-packet part inline: the incoming rate is read and bumped with one window
slide (by slices, ``sfu/rate_counter.py``), and the two timestamp groups live in plain
attributes. Once per group it calls the same aiortc classes (``OveruseEstimator``, with the
frame-period minimum taken in one call, ``OveruseDetector``, ``AimdRateControl``) with the
same arguments, so the estimates are the same, packet for packet
(``tests/sfu/test_remb_estimator.py`` checks that against aiortc's own estimator).

``CompiledRembEstimator`` goes further where the optional C extension ``sfu._compiled_remb``
is built: the rate counter, the groups, the over-use estimator and detector run in one C call
per packet (``RembCore``, the same arithmetic in the same order on doubles, so the same
estimates bit for bit, held to aiortc's by the same test); aiortc's AIMD rate control, due
about twice a second, stays Python. ``estimator()`` gives the compiled one where it is built.
Sans-IO: arrival times are given.
"""

from __future__ import annotations

from aiortc.rate import (
    INTER_ARRIVAL_SHIFT,
    MIN_FRAME_PERIOD_HISTORY_LENGTH,
    TIMESTAMP_GROUP_LENGTH_MS,
    TIMESTAMP_TO_MS,
    AimdRateControl,
    BandwidthUsage,
    OveruseDetector,
    OveruseEstimator,
)

from sfu.rate_counter import CompactRateCounter

try:
    from sfu._compiled_remb import RembCore
except ImportError as exc:  # not built: no C compiler where it was installed
    RembCore = None  # type: ignore[assignment,misc]
    UNAVAILABLE_REASON: str | None = str(exc)
else:
    UNAVAILABLE_REASON = None

#: True when the C extension was built and imports.
AVAILABLE = RembCore is not None

_BURST_DELTA_THRESHOLD_MS = 5  # aiortc.rate.BURST_DELTA_THRESHOLD_MS
_GROUP_LENGTH = (TIMESTAMP_GROUP_LENGTH_MS << INTER_ARRIVAL_SHIFT) // 1000
_U32 = 0xFFFFFFFF
_HALF_U32 = 0x80000000
_OVERUSING = BandwidthUsage.OVERUSING


class _OveruseEstimator(OveruseEstimator):
    """aiortc's, with the minimum of its last 60 frame periods taken by ``min`` (one C call)
    instead of a Python loop of 60 ``min`` calls per packet group."""

    def update_min_frame_period(self, ts_delta: float) -> float:
        history = self.ts_delta_hist
        if len(history) >= MIN_FRAME_PERIOD_HISTORY_LENGTH:
            del history[0]
        smallest = min(history, default=ts_delta)
        history.append(ts_delta)
        return ts_delta if ts_delta < smallest else smallest


class RembEstimator:
    """Same interface and results as ``aiortc.rate.RemoteBitrateEstimator``."""

    __slots__ = (
        "_cur_arrival",
        "_cur_first",
        "_cur_last",
        "_cur_size",
        "_prev_arrival",
        "_prev_last",
        "_prev_size",
        "detector",
        "estimator",
        "incoming_bitrate",
        "incoming_bitrate_initialized",
        "last_update_ms",
        "rate_control",
        "ssrcs",
    )

    def __init__(self) -> None:
        self.incoming_bitrate = CompactRateCounter(1000, 8000)
        self.incoming_bitrate_initialized = True
        self.estimator = _OveruseEstimator()
        self.detector = OveruseDetector()
        self.rate_control = AimdRateControl()
        self.last_update_ms: int | None = None
        self.ssrcs: dict[int, int] = {}
        # InterArrival's current and previous timestamp groups (None: no group yet).
        self._cur_first: int | None = None
        self._cur_last = 0
        self._cur_size = 0
        self._cur_arrival = 0
        self._prev_last: int | None = None
        self._prev_size = 0
        self._prev_arrival = 0

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        """Count one packet; (bitrate, SSRCs) when a REMB is due, else None."""
        timestamp = abs_send_time << 8
        self.ssrcs[ssrc] = arrival_time_ms

        counter = self.incoming_bitrate
        if counter.rate(arrival_time_ms) is not None:
            self.incoming_bitrate_initialized = True
        elif self.incoming_bitrate_initialized:
            counter.reset()
            self.incoming_bitrate_initialized = False
        counter.add_now(payload_size, arrival_time_ms)

        first = self._cur_first
        if first is None:
            self._cur_first = self._cur_last = timestamp
        elif (timestamp - first) & _U32 >= _HALF_U32:
            pass  # out of order: InterArrival ignores it, the rate above still counts it
        elif self._new_group(timestamp, arrival_time_ms):
            if self._prev_last is not None:
                self._group_delta(arrival_time_ms)
            self._prev_last = self._cur_last
            self._prev_size = self._cur_size
            self._prev_arrival = self._cur_arrival
            self._cur_first = self._cur_last = timestamp
            self._cur_size = 0
        elif 0 < (timestamp - self._cur_last) & _U32 < _HALF_U32:
            self._cur_last = timestamp
        if first is None or (timestamp - first) & _U32 < _HALF_U32:
            self._cur_size += payload_size
            self._cur_arrival = arrival_time_ms

        last_update = self.last_update_ms
        if (
            last_update is None
            or arrival_time_ms - last_update > self.rate_control.feedback_interval()
            or self.detector.state() == _OVERUSING
        ):
            target = self.rate_control.update(
                self.detector.state(), counter.rate(arrival_time_ms), arrival_time_ms
            )
            if target is not None:
                self.last_update_ms = arrival_time_ms
                return target, list(self.ssrcs)
        return None

    def _new_group(self, timestamp: int, arrival_time_ms: int) -> bool:
        """InterArrival.new_timestamp_group: not part of the current burst, and past the
        group's length since its first packet."""
        delta_ms = round(TIMESTAMP_TO_MS * ((timestamp - self._cur_last) & _U32))
        arrival_delta = arrival_time_ms - self._cur_arrival
        if delta_ms == 0 or (
            arrival_delta - delta_ms < 0 and arrival_delta <= _BURST_DELTA_THRESHOLD_MS
        ):
            return False
        assert self._cur_first is not None
        return (timestamp - self._cur_first) & _U32 > _GROUP_LENGTH

    def _group_delta(self, arrival_time_ms: int) -> None:
        """The over-use estimator and detector, once per completed group."""
        assert self._prev_last is not None
        timestamp_delta_ms = ((self._cur_last - self._prev_last) & _U32) * TIMESTAMP_TO_MS
        estimator = self.estimator
        detector = self.detector
        estimator.update(
            self._cur_arrival - self._prev_arrival,
            timestamp_delta_ms,
            self._cur_size - self._prev_size,
            detector.state(),
            arrival_time_ms,
        )
        detector.detect(
            estimator.offset(), timestamp_delta_ms, estimator.num_of_deltas(), arrival_time_ms
        )


class CompiledRembEstimator:
    """Same interface and results as ``RembEstimator``, its per-packet part in C. For tests
    and stats, ``detector.state()``, ``detector.threshold``, ``estimator.offset()`` and
    ``incoming_bitrate.rate(now)`` read the C state."""

    __slots__ = (
        "_add",
        "_core",
        "detector",
        "estimator",
        "incoming_bitrate",
        "rate_control",
        "ssrcs",
    )

    def __init__(self) -> None:
        assert RembCore is not None, UNAVAILABLE_REASON
        core = self._core = RembCore()
        self._add = core.add
        self.detector = self.estimator = self.incoming_bitrate = _CoreView(core)
        self.rate_control = AimdRateControl()
        self.ssrcs: dict[int, int] = {}

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        """Count one packet; (bitrate, SSRCs) when a REMB is due, else None."""
        self.ssrcs[ssrc] = arrival_time_ms
        due = self._add(arrival_time_ms, abs_send_time, payload_size)
        if due is None:
            return None
        usage, rate = due
        target = self.rate_control.update(_USAGES[usage], rate, arrival_time_ms)
        if target is None:
            return None
        self._core.updated(arrival_time_ms)
        return target, list(self.ssrcs)


_USAGES = {usage.value: usage for usage in BandwidthUsage}


class _CoreView:
    """aiortc's detector, estimator and rate-counter readers over one RembCore."""

    __slots__ = ("_core",)

    def __init__(self, core: RembCore) -> None:
        self._core = core

    def state(self) -> BandwidthUsage:
        return _USAGES[self._core.state()]

    def offset(self) -> float:
        return self._core.offset()

    @property
    def threshold(self) -> float:
        return self._core.threshold()

    def rate(self, now_ms: int) -> int | None:
        return self._core.rate(now_ms)


def estimator() -> RembEstimator | CompiledRembEstimator:
    """The compiled estimator where its extension is built, else the Python one."""
    return CompiledRembEstimator() if AVAILABLE else RembEstimator()
