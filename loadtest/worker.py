"""A worker process: one event loop hosting many synthetic peers, driven over JSON lines.

The tester starts one worker per core (``python -m loadtest.worker URL PRESET``) and
sends commands on stdin; each command gets exactly one JSON line back on stdout:

    {"cmd": "join", "plans": [[room, name, index, publish], ...]}   start joins (no wait)
    {"cmd": "churn", "name": N}        that peer leaves and joins again as a new session
    {"cmd": "block", "name": N, "seconds": S|null}   drop its outgoing video (fault)
    {"cmd": "pause"} | {"cmd": "resume"}    stop/restart every publisher (window edges)
    {"cmd": "reset"}      start a measurement window      {"cmd": "progress"}  live counts
    {"cmd": "counts"}     peers joined/failed (no side effect)
    {"cmd": "stats"}      every session's figures         {"cmd": "quit"}
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import IO, Any

import aiohttp

from loadtest import compiled_receive
from loadtest.histogram import Histogram
from loadtest.lean_sender import send_path
from loadtest.media import PRESETS, EncodedLoop, cached_video, encode_audio
from loadtest.metrics import LiveTally
from loadtest.pacing import DEFAULT_PACING_MS, SocketDrain
from loadtest.peer import SyntheticPeer
from loadtest.scenario import PeerPlan

log = logging.getLogger(__name__)

LAG_PERIOD_S = 0.05
STALL_MS = 100.0  # a worker stall this long delays its publishers' frames into freeze range
MAX_STALLS = 2_000


class LoopLag:
    """How late this event loop wakes up: a stall here inflates every figure the worker takes."""

    def __init__(self) -> None:
        self.window = Histogram()  # ms, since the window started
        self.interval_max = 0.0  # ms, since the last progress poll
        #: This worker's own stalls of STALL_MS or more: (epoch seconds it ended, seconds).
        #: Its publishers sent nothing and its receivers timed nothing meanwhile.
        self.stalls: list[tuple[float, float]] = []

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_PERIOD_S
            await asyncio.sleep(LAG_PERIOD_S)
            lag = max(0.0, (loop.time() - due) * 1000)
            self.window.add(lag)
            self.interval_max = max(self.interval_max, lag)
            if lag >= STALL_MS and len(self.stalls) < MAX_STALLS:
                self.stalls.append((time.time(), (lag + LAG_PERIOD_S * 1000) / 1000))

    def take_interval_max(self) -> float:
        value, self.interval_max = self.interval_max, 0.0
        return value


@dataclass
class PeerSession:
    """One join of one named peer; churn makes a new session under the same name."""

    plan: PeerPlan
    peer: SyntheticPeer
    generation: int
    ended_at: float | None = None
    join_error: bool = False

    @property
    def state(self) -> str:
        if self.ended_at is not None:
            return "left"
        if self.peer.failed.is_set() or self.join_error:
            return "failed"
        if self.peer.ended.is_set():
            return "disconnected"
        return "joined" if self.peer.joined.is_set() else "joining"


class PeerHost:
    """Synthetic peers of one event loop: joins, churn, faults, windows and their figures."""

    def __init__(
        self,
        url: str,
        video: EncodedLoop,
        audio: tuple[bytes, ...],
        *,
        keep_samples: bool = False,
        join_timeout: float = 20.0,
        repair: bool = True,
        lean: bool = True,
        compiled: bool = True,
        batched: bool = True,
        compiled_send: bool = True,
        pacing_ms: float = DEFAULT_PACING_MS,
    ) -> None:
        self.url = url
        self.repair = repair
        self.lean = lean
        self.compiled = compiled
        self.batched = batched
        self.pacing_ms = pacing_ms
        # The taken-over ICE sockets are read on the pacing grid (loadtest.pacing).
        self.drain = (SocketDrain(pacing_ms / 1000)
                      if pacing_ms > 0 and lean and compiled and batched else None)
        self.compiled_send = compiled_send
        self.video = video
        self.audio = audio
        self.keep_samples = keep_samples
        self.join_timeout = join_timeout
        self.tally = LiveTally()
        self.lag = LoopLag()
        self.sessions: list[PeerSession] = []
        self.current: dict[str, PeerSession] = {}
        self.window_start = time.time()
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False

    async def __aenter__(self) -> PeerHost:
        # No connection limit: every peer holds one WebSocket for the whole run.
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._own(self.lag.run(), "loop-lag")
        if self.drain is not None:
            self._own(self.drain.run(), "socket-drain")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _own(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _new_session(self, plan: PeerPlan, generation: int) -> PeerSession:
        assert self._http is not None, "use PeerHost as an async context manager"
        peer = SyntheticPeer(
            url=plan.url or self.url, room=plan.room, name=plan.name, index=plan.index,
            video=self.video if plan.publish else None,
            audio=self.audio if plan.publish else None,
            session=self._http, tally=self.tally, keep_samples=self.keep_samples,
            repair=self.repair, lean=self.lean, compiled=self.compiled,
            batched=self.batched, compiled_send=self.compiled_send,
            pacing=self.pacing_ms / 1000, drain=self.drain,
        )
        session = PeerSession(plan, peer, generation)
        self.sessions.append(session)
        self.current[plan.name] = session
        return session

    def join(self, plans: list[PeerPlan]) -> None:
        """Start joining ``plans`` in the background."""
        for plan in plans:
            session = self._new_session(plan, 0)
            self._own(self._join(session), f"join:{plan.name}")

    async def join_and_wait(self, plans: list[PeerPlan]) -> list[PeerSession]:
        """Join ``plans`` and wait until each has joined or failed."""
        sessions = [self._new_session(plan, 0) for plan in plans]
        await asyncio.gather(*(self._join(s) for s in sessions))
        return sessions

    async def _join(self, session: PeerSession) -> None:
        peer = session.peer
        await peer.start()
        if self._paused:
            peer.pause()
        joined = asyncio.ensure_future(peer.joined.wait())
        failed = asyncio.ensure_future(peer.failed.wait())
        try:
            await asyncio.wait([joined, failed], timeout=self.join_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            joined.cancel()
            failed.cancel()
        if not peer.joined.is_set() and not peer.failed.is_set():
            peer.result.errors.append(f"join: no 'joined' within {self.join_timeout:g} s")
            session.join_error = True

    def churn(self, name: str) -> bool:
        """``name`` leaves and joins again (a new session); False if it is not joined now."""
        old = self.current.get(name)
        if old is None or old.state != "joined":
            return False
        self._own(self._rejoin(old), f"churn:{name}")
        return True

    async def _rejoin(self, old: PeerSession) -> None:
        await old.peer.leave()
        await old.peer.close()
        old.ended_at = time.time()
        await self._join(self._new_session(old.plan, old.generation + 1))

    def block(self, name: str, seconds: float | None) -> bool:
        """Fault injection: drop ``name``'s outgoing video for ``seconds`` (None: for good)."""
        session = self.current.get(name)
        if session is None or not session.plan.publish:
            return False
        session.peer.block_video(seconds)
        return True

    def pause(self) -> None:
        self._paused = True
        for s in self.current.values():
            s.peer.pause()

    def resume(self) -> None:
        self._paused = False
        for s in self.current.values():
            s.peer.resume()

    def reset(self) -> None:
        """Start a measurement window: every route restarts at its next packet."""
        self.window_start = time.time()
        self.tally.lost_frames = 0
        self.tally.take_latency()
        self.lag.window = Histogram()
        self.lag.stalls = []
        for s in self.current.values():
            s.peer.reset_routes()

    def errors(self) -> int:
        return sum(len(s.peer.result.errors) for s in self.sessions)

    def counts(self) -> dict[str, int]:
        """Peers wanted, joined now, sessions that failed to join and that ever joined;
        bytes received so far."""
        return {
            "rx_bytes": self.tally.bytes,
            "target": len(self.current),
            "joined": sum(1 for s in self.current.values() if s.state == "joined"),
            "failed": sum(1 for s in self.sessions if s.state == "failed"),
            "ever_joined": sum(1 for s in self.sessions if s.peer.joined.is_set()),
        }

    def progress(self) -> dict[str, Any]:
        """Live counts; the latency histogram covers the time since the last call."""
        return {
            "t": time.time(),
            "cpu": time.process_time(),
            **self.counts(),
            "lost_frames": self.tally.lost_frames,
            "latency": self.tally.take_latency().to_dict(),
            "loop_lag_ms": self.lag.take_interval_max(),
            "errors": self.errors(),
        }

    def stats(self) -> dict[str, Any]:
        """Every session's phases, routes and errors (see ``aggregate``)."""
        now = time.time()
        return {
            "t": now,
            "cpu": time.process_time(),
            "window_start": self.window_start,
            "loop_lag_ms": self.lag.window.summary(),
            "stalls": [[round(t, 3), round(d, 3)] for t, d in self.lag.stalls],
            "sessions": [self._session_stats(s, now) for s in self.sessions],
        }

    def _session_stats(self, s: PeerSession, now: float) -> dict[str, Any]:
        r = s.peer.result
        routes = []
        for (source, _kind), route in r.routes.items():
            figures = route.summary(now - self.window_start)
            figures.pop("latency_ms")
            routes.append({"source": source, **figures, "latency": route.latency.to_dict()})
        return {
            "name": s.plan.name,
            "room": s.plan.room,
            "publish": s.plan.publish,
            "generation": s.generation,
            "participant_id": s.peer.participant_id,
            "state": s.state,
            "active": self.current.get(s.plan.name) is s and s.state == "joined",
            "started_at": r.phases.started_at,
            "ended_at": s.ended_at,
            "phases": r.phases.as_dict(),
            "errors": list(r.errors),
            "redirects": r.redirects,
            "moves": [m.as_dict() for m in r.moves],
            "last_frame_sent": s.peer.last_frame_sent,
            "first_frames": dict(r.first_frames),
            "routes": routes,
        }

    async def close(self) -> None:
        """Stop every background task and close every peer (idempotent)."""
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        for s in self.sessions:
            await s.peer.close()
        if self._http is not None:
            await self._http.close()
            self._http = None


def _plans(raw: list[list[Any]]) -> list[PeerPlan]:
    # [room, name, index, publish] or with a fifth item: the node's URL (None: the worker's).
    return [PeerPlan(str(p[0]), str(p[1]), int(p[2]), bool(p[3]),
                     None if len(p) < 5 or p[4] is None else str(p[4]))
            for p in raw]


def receive_path(lean: bool, compiled: bool, batched: bool = True,
                 pacing_ms: float = 0.0) -> str:
    """Which way received SRTP is taken, for the start-up log and the run's report."""
    if not lean:
        return "aiortc (aiortc's receive loop)"
    if not compiled:
        return "lean (Python)"
    if compiled_receive.AVAILABLE:
        if batched and pacing_ms > 0:
            return (f"compiled, batched, read every {pacing_ms:g} ms "
                    "(loadtest._compiled_receive, recvmmsg)")
        if batched:
            return "compiled, batched (loadtest._compiled_receive, recvmmsg)"
        return "compiled (loadtest._compiled_receive)"
    return f"lean (Python): the compiled path is unavailable: {compiled_receive.UNAVAILABLE_REASON}"


async def serve(host: PeerHost, reader: asyncio.StreamReader, out: IO[str]) -> None:
    """Answer commands from ``reader`` until ``quit`` or end of input."""

    def emit(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    emit({"ready": True, "t": time.time(), "cpu": time.process_time(), "pid": os.getpid(),
          "receive_path": receive_path(host.lean, host.compiled, host.batched,
                                       host.pacing_ms),
          "send_path": send_path(host.lean, host.compiled_send)})
    while line := await reader.readline():
        cmd = json.loads(line)
        op = cmd.get("cmd")
        if op == "join":
            host.join(_plans(cmd["plans"]))
            emit({"ok": True})
        elif op == "churn":
            emit({"ok": host.churn(cmd["name"])})
        elif op == "block":
            emit({"ok": host.block(cmd["name"], cmd.get("seconds"))})
        elif op == "pause":
            host.pause()
            emit({"ok": True, "t": time.time(), "cpu": time.process_time()})
        elif op == "resume":
            host.resume()
            emit({"ok": True})
        elif op == "reset":
            host.reset()
            emit({"ok": True, "t": host.window_start, "cpu": time.process_time()})
        elif op == "progress":
            emit(host.progress())
        elif op == "counts":
            emit(host.counts())
        elif op == "stats":
            emit(host.stats())
        elif op == "quit":
            break
        else:
            emit({"error": f"unknown command {op!r}"})
    await host.close()
    emit({"bye": True})


async def _main(url: str, preset: str, keep_samples: bool, join_timeout: float,
                repair: bool, lean: bool, compiled: bool, batched: bool,
                compiled_send: bool, pacing_ms: float) -> None:
    # The protocol owns the real stdout; anything else printed (by us or a library) goes to
    # stderr so that it cannot corrupt a reply.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    video = cached_video(PRESETS[preset])
    audio = encode_audio()
    async with PeerHost(url, video, audio, keep_samples=keep_samples,
                        join_timeout=join_timeout, repair=repair, lean=lean,
                        compiled=compiled, batched=batched, compiled_send=compiled_send,
                        pacing_ms=pacing_ms) as host:
        await serve(host, reader, out)


def main(argv: list[str] | None = None) -> None:
    """``python -m loadtest.worker URL PRESET [JOIN_TIMEOUT [repair|count [lean|aiortc
    [compiled|python [batched|single [csend|pysend [PACING_MS]]]]]]]``."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    url, preset = args[0], args[1]
    join_timeout = float(args[2]) if len(args) > 2 else 20.0
    repair = (args[3] if len(args) > 3 else "repair") == "repair"
    lean = (args[4] if len(args) > 4 else "lean") == "lean"
    compiled = (args[5] if len(args) > 5 else "compiled") == "compiled"
    batched = (args[6] if len(args) > 6 else "batched") == "batched"
    csend = (args[7] if len(args) > 7 else "csend") == "csend"
    pacing_ms = float(args[8]) if len(args) > 8 else DEFAULT_PACING_MS
    logging.getLogger(__name__).warning("receive path: %s; send path: %s",
                                        receive_path(lean, compiled, batched, pacing_ms),
                                        send_path(lean, csend))
    try:
        # libuv drains a socket per wake-up (asyncio reads one datagram per socket per loop
        # turn): a worker receiving many streams keeps up, and measures the server, not itself.
        import uvloop
    except ImportError:
        asyncio.run(_main(url, preset, False, join_timeout, repair, lean, compiled, batched,
                          csend, pacing_ms))
    else:
        uvloop.run(_main(url, preset, False, join_timeout, repair, lean, compiled, batched,
                         csend, pacing_ms))


if __name__ == "__main__":
    main()
