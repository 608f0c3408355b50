"""The tester process: starts worker processes, spreads peers over them, drives the run
(ramp, churn, faults, windows), scrapes the server's /metrics, shows live progress and
builds the report. All decisions it takes are in sans-IO modules; this is the I/O."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from rich.live import Live as LiveDisplay
from rich.text import Text

import loadtest
from loadtest import server_metrics, summary
from loadtest.aggregate import aggregate, flatten
from loadtest.capacity import CapacitySearch, Step
from loadtest.histogram import Histogram
from loadtest.machine import MachineLoad, MachineWindow, bottleneck, judge
from loadtest.pacing import DEFAULT_PACING_MS
from loadtest.scenario import JoinSchedule, PeerPlan, Scenario, plan_room
from loadtest.thresholds import Threshold, Verdict, evaluate, parse_threshold, with_defaults

_ROOT = str(Path(loadtest.__file__).resolve().parent.parent)  # so workers import this copy
# After pausing publishers, frames in flight land before figures are taken: wait until no
# byte arrives for DRAIN_QUIET_S (a loaded machine can hold seconds of media in buffers).
DRAIN_QUIET_S = 0.3
DRAIN_MAX_S = 5.0
SETTLE_S = 5.0  # capacity steps: a room joining makes a latency spike of a few seconds; let it pass
#: What a capacity search holds each step to when the scenario names no threshold.
CAPACITY_THRESHOLDS = ("frames.lost>0", "latency.p99>100ms")
# A capacity step broken while the tester lagged or the machine was full is inconclusive
# (loadtest.machine.bottleneck says which).


class ConnectError(RuntimeError):
    """The server cannot be reached (before the run, or it went away during it)."""


class WorkerError(RuntimeError):
    """A worker process died or stopped answering."""


class WorkerProcess:
    """One ``python -m loadtest.worker`` subprocess; one command in flight at a time."""

    def __init__(self, proc: asyncio.subprocess.Process, index: int) -> None:
        self.proc = proc
        self.index = index
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=40)
        self.cpu_mark: tuple[float, float] = (time.time(), 0.0)  # window start (t, cpu)
        self.window_end: tuple[float, float] | None = None  # publishers paused (t, cpu)
        self.tick_mark: tuple[float, float] | None = None  # last progress poll (t, cpu)
        self._lock = asyncio.Lock()
        self._stderr_task: asyncio.Task[None] | None = None
        self.receive_path: str | None = None  # as the worker said at start-up
        self.send_path: str | None = None

    @classmethod
    async def start(cls, index: int, url: str, preset: str, join_timeout: float,
                    repair: bool = True, lean: bool = True,
                    compiled: bool = True, batched: bool = True,
                    compiled_send: bool = True,
                    pacing_ms: float = DEFAULT_PACING_MS) -> WorkerProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "loadtest.worker", url, preset, str(join_timeout),
            "repair" if repair else "count", "lean" if lean else "aiortc",
            "compiled" if compiled else "python", "batched" if batched else "single",
            "csend" if compiled_send else "pysend",
            str(pacing_ms),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env,
            limit=2**28,  # a stats reply of a big run is megabytes on one line
        )
        worker = cls(proc, index)
        worker._stderr_task = asyncio.get_running_loop().create_task(worker._drain_stderr())
        try:
            ready = await worker._read(seconds=120)  # the first run may encode the media loop
        except WorkerError:
            if proc.returncode is None:
                proc.kill()
            await worker.close()
            raise
        worker.cpu_mark = (ready["t"], ready["cpu"])
        worker.receive_path = ready.get("receive_path")
        worker.send_path = ready.get("send_path")
        return worker

    async def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.stderr_tail.append(line.decode(errors="replace").rstrip())

    async def _read(self, seconds: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), seconds)
        except TimeoutError:
            raise WorkerError(f"worker {self.index} did not answer within {seconds:g} s") from None
        if not line:
            await asyncio.sleep(0.1)  # let the stderr reader catch the traceback
            tail = "\n".join(list(self.stderr_tail)[-10:])
            raise WorkerError(f"worker {self.index} exited ({self.proc.returncode}):\n{tail}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def call(self, cmd: dict[str, Any], seconds: float = 60) -> dict[str, Any]:
        """Send one command and return its reply."""
        async with self._lock:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError) as exc:
                raise WorkerError(f"worker {self.index} is gone: {exc}") from None
            return await self._read(seconds)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def close(self) -> None:
        """Ask the worker to close its peers and exit; kill it if it does not (idempotent)."""
        if self.proc.returncode is None:
            with contextlib.suppress(WorkerError):
                await self.call({"cmd": "quit"}, seconds=30)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._stderr_task is not None:
            await self._stderr_task


@dataclass
class Live:
    """What the progress line and the timeline know, updated once a second."""

    started: float
    joined: int = 0
    target: int = 0
    failed: int = 0
    errors: int = 0
    rx_bytes: int = 0
    rx_bps: float = 0.0
    lost_frames: int = 0
    latency: Histogram = field(default_factory=Histogram)  # since the window started
    server_cpu: float | None = None
    server_pps: float | None = None
    ever_joined: bool = False


class Runner:
    """One load test: a normal run (``run``) or a capacity search (``run_capacity``)."""

    def __init__(self, scenario: Scenario, *, progress: TextIO | None = None) -> None:
        if scenario.url is None:
            raise ValueError("the scenario has no url")
        self.s = scenario
        self.url = scenario.url.rstrip("/")
        # Progress goes to stderr (the summary to stdout): a live line on a terminal, a plain
        # line every 5 s otherwise (CI logs: no control characters).
        self.console = summary.console(progress if progress is not None else sys.stderr)
        self._live: LiveDisplay | None = None
        self.workers: list[WorkerProcess] = []
        self.series = server_metrics.ServerSeries()
        #: The other nodes of the cluster (--node), each scraped like the first.
        self.node_series = {u.rstrip("/"): server_metrics.ServerSeries() for u in scenario.nodes}
        self._rooms_made: set[str] = set()
        self.timeline: list[dict[str, Any]] = []
        self.errors: list[str] = []  # the tester's own (scrapes, workers)
        self.machine = MachineWindow()  # the whole machine over the current window
        self.machine_load: MachineLoad | None = None
        self.aborted: str | None = None
        self.live = Live(started=time.time())
        self._http: aiohttp.ClientSession | None = None
        self._scrape_lock = asyncio.Lock()
        self._plans: list[PeerPlan] = []
        self._faults = sorted(scenario.faults, key=lambda f: f.at)  # pending, popped when due
        self._assigned = 0
        self._owner: dict[str, WorkerProcess] = {}
        self._last_print = 0.0
        self._rng = random.Random(5)
        wanted = scenario.workers or os.cpu_count() or 1
        # A plain run never needs more workers than peers; a capacity search keeps adding.
        self.n_workers = wanted if scenario.max_rooms else min(wanted, scenario.total_peers)

    # -- lifecycle ---------------------------------------------------------------------

    async def _open(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        try:
            async with self._http.get(self.url + "/healthz") as resp:
                if resp.status != 200:
                    raise ConnectError(f"{self.url}/healthz answered HTTP {resp.status}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ConnectError(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        self._say(f"starting {self.n_workers} worker process(es) for {self.url} ...")
        started = await asyncio.gather(*(
            WorkerProcess.start(i, self.url, self.s.preset, self.s.join_timeout,
                                self.s.repair, self.s.lean_receive,
                                self.s.compiled_receive, self.s.batched_receive,
                                self.s.compiled_send, self.s.pacing_ms)
            for i in range(self.n_workers)), return_exceptions=True)
        # Keep the ones that started, so that closing stops them even if another failed.
        self.workers = [w for w in started if isinstance(w, WorkerProcess)]
        for w in started:
            if isinstance(w, BaseException):
                raise w
        for path in sorted({str(w.receive_path) for w in self.workers}):
            self._say(f"workers' receive path: {path}")
        for path in sorted({str(w.send_path) for w in self.workers}):
            self._say(f"workers' send path: {path}")

    async def _close(self) -> None:
        await asyncio.gather(*(w.close() for w in self.workers), return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def _with_progress(self, body: Callable[[], Awaitable[dict[str, Any]]]
                             ) -> dict[str, Any]:
        try:
            await self._open()
            ticker = asyncio.get_running_loop().create_task(self._tick_forever())
            if self.console.is_terminal:
                self._live = LiveDisplay(console=self.console, auto_refresh=False,
                                  redirect_stdout=False, redirect_stderr=False)
                self._live.start()
            try:
                return await body()
            finally:
                ticker.cancel()
                await asyncio.wait([ticker])
                if not ticker.cancelled() and (exc := ticker.exception()) is not None:
                    self.errors.append(f"progress: {exc!r}")
                if self._live is not None:
                    self._live.stop()  # the last progress line stays on the screen
                    self._live = None
        finally:
            await self._close()

    # -- live progress -------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._tick()
            except WorkerError as exc:
                self.aborted = str(exc)
                self.errors.append(str(exc))
                return

    async def _tick(self) -> None:
        """Poll the workers and the server; append to the timeline; show the progress line."""
        replies = await asyncio.gather(*(w.call({"cmd": "progress"}) for w in self.workers))
        iv = await self._scrape()
        live = self.live
        now = time.time()
        rx = sum(r["rx_bytes"] for r in replies)
        elapsed = now - (self.timeline[-1]["t_abs"] if self.timeline else live.started)
        live.rx_bps = 8 * (rx - live.rx_bytes) / max(elapsed, 1e-3)
        live.rx_bytes = rx
        live.joined = sum(r["joined"] for r in replies)
        live.target = sum(r["target"] for r in replies)
        live.failed = sum(r["failed"] for r in replies)
        live.errors = sum(r["errors"] for r in replies) + len(self.errors)
        live.lost_frames = sum(r["lost_frames"] for r in replies)
        live.ever_joined = live.ever_joined or any(r["ever_joined"] for r in replies)
        interval = Histogram()
        for r in replies:
            interval.merge(Histogram.from_dict(r["latency"]))
        live.latency.merge(interval)
        if iv is not None:
            live.server_cpu, live.server_pps = iv.cpu, iv.packets_out
        tester: list[float | None] = []
        for w, r in zip(self.workers, replies, strict=True):
            prev = w.tick_mark
            tester.append(None if prev is None
                          else (r["cpu"] - prev[1]) / max(r["t"] - prev[0], 1e-3))
            w.tick_mark = (r["t"], r["cpu"])
        lag = self.series.samples[-1].loop_lag_ms if self.series.samples else None
        self.timeline.append({
            "t": now - live.started, "t_abs": now, "peers": live.joined, "target": live.target,
            "rx_bps": live.rx_bps, "lost_frames": live.lost_frames, "errors": live.errors,
            "latency_ms": {"n": interval.n, "p50": interval.percentile(50),
                           "p95": interval.percentile(95), "p99": interval.percentile(99)},
            "server_cpu": live.server_cpu, "server_packets_out": live.server_pps,
            "server_loop_lag_ms": lag, "tester_cpu": tester,
            "tester_loop_lag_ms": max(r["loop_lag_ms"] for r in replies),
        })
        # Both signs at once: a busy server may miss a scrape, but not also drop every socket.
        if (self.series.failures >= 3 and live.ever_joined and live.joined == 0
                and self.aborted is None):
            self.aborted = "the server went away (metrics and every peer's socket lost)"
        self._show(now)

    def progress_line(self, now: float) -> Text:
        """The live figures: run time, peers, rooms, traffic, loss, latency, errors, server."""
        live = self.live
        p95 = live.latency.percentile(95)
        rooms = len({p.room for p in self._plans})
        line = Text(f"[{now - live.started:6.1f}s]", style="dim")
        parts: list[tuple[str, str, str]] = [
            ("peers", f"{live.joined}/{live.target}",
             "green" if live.target and live.joined == live.target else "yellow"),
            ("rooms", str(rooms), ""),
            ("rx", f"{live.rx_bps / 1e6:6.1f} Mbit/s", ""),
            ("lost", str(live.lost_frames), "red" if live.lost_frames else ""),
            ("p95", "-" if p95 is None else f"{p95:.1f} ms", ""),
            ("errors", str(live.errors), "red" if live.errors else ""),
        ]
        if live.server_cpu is not None:
            parts.append(("server", f"{live.server_cpu:.2f} cores", ""))
        for label, value, style in parts:
            line.append(f"  {label} ")
            line.append(value, style=style or "bold")
        if live.server_pps:
            line.append(f"  {live.server_pps:,.0f} pkt/s", style="bold")
        return line

    def _show(self, now: float) -> None:
        line = self.progress_line(now)
        if self._live is not None:
            self._live.update(line, refresh=True)
        elif now - self._last_print >= 5:
            self._last_print = now
            self.console.print(line)

    def _say(self, text: str) -> None:
        # Above the live line on a terminal; a line of its own otherwise.
        self.console.print(Text(text))

    async def _page(self, url: str) -> str:
        assert self._http is not None
        async with self._http.get(url.rstrip("/") + "/metrics") as resp:
            return await resp.text()

    async def _scrape(self) -> server_metrics.Interval | None:
        assert self._http is not None
        if self.node_series:
            await asyncio.gather(*(self._scrape_node(u, ser)
                                   for u, ser in self.node_series.items()))
        async with self._scrape_lock:
            try:
                texts = [await self._page(url) for url in self.s.metrics_urls or (self.url,)]
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.series.failures += 1
                if self.series.failures == 1:  # one error per outage, not one per second
                    self.errors.append(f"server metrics: {exc or type(exc).__name__}")
                return None
            self.series.failures = 0
            try:
                metrics = server_metrics.combine([server_metrics.parse(t) for t in texts])
            except ValueError as exc:  # the server answered, but not in the text format
                if f"server metrics: unreadable page: {exc}" not in self.errors:
                    self.errors.append(f"server metrics: unreadable page: {exc}")
                return None
            return self.series.add(server_metrics.sample(metrics, time.time()))

    async def _scrape_node(self, url: str, series: server_metrics.ServerSeries) -> None:
        """One more node's /metrics into its own series (a failure counts, nothing else)."""
        assert self._http is not None
        try:
            async with self._http.get(url + "/metrics") as resp:
                text = await resp.text()
            series.add(server_metrics.sample(server_metrics.parse(text), time.time()))
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            series.failures += 1

    async def _make_rooms(self, plans: list[PeerPlan]) -> None:
        """A live scenario's rooms are created live before anyone joins (a join would make
        a group room)."""
        assert self._http is not None
        for room in dict.fromkeys(p.room for p in plans):
            if room in self._rooms_made:
                continue
            self._rooms_made.add(room)
            body = {"id": room, "kind": "live", "audience_capacity": max(1000, self.s.peers)}
            try:
                async with self._http.post(self.url + "/api/rooms", json=body) as resp:
                    if resp.status not in (200, 201):
                        self.errors.append(f"creating live room {room}: HTTP {resp.status} "
                                           f"{(await resp.text())[:200]}")
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.errors.append(f"creating live room {room}: {exc or type(exc).__name__}")

    # -- driving peers -------------------------------------------------------------------

    async def _send_joins(self, plans: list[PeerPlan]) -> None:
        """Hand each plan to a worker (round robin over every peer ever planned)."""
        if self.s.kind == "live":
            await self._make_rooms(plans)
        batches: dict[int, list[PeerPlan]] = {}
        for plan in plans:
            w = self.workers[self._assigned % len(self.workers)]
            self._assigned += 1
            self._owner[plan.name] = w
            batches.setdefault(w.index, []).append(plan)
        self._plans += plans
        await asyncio.gather(*(
            self.workers[i].call({"cmd": "join", "plans": [
                [p.room, p.name, p.index, p.publish, p.url] for p in batch]})
            for i, batch in batches.items()))

    async def _all(self, cmd: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.call(cmd) for w in self.workers)))

    async def _reset(self) -> float:
        """Open a measurement window on every worker; its start (epoch seconds)."""
        replies = await self._all({"cmd": "reset"})
        for w, r in zip(self.workers, replies, strict=True):
            w.cpu_mark = (r["t"], r["cpu"])
        self.live.latency = Histogram()
        self.machine.start()
        await self._scrape()
        return float(min(r["t"] for r in replies))

    async def _close_window(self) -> tuple[list[dict[str, Any]], float]:
        """Pause every publisher, let frames in flight land, take every worker's figures."""
        await self._scrape()
        self.machine_load = self.machine.stop()
        paused = await self._all({"cmd": "pause"})
        for w, r in zip(self.workers, paused, strict=True):
            w.window_end = (r["t"], r["cpu"])
        await self._drain()
        stats = await self._all({"cmd": "stats"})
        return stats, max(r["t"] for r in paused)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_MAX_S
        last, quiet_since = -1, loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            rx = sum(r["rx_bytes"] for r in await self._all({"cmd": "counts"}))
            if rx != last:
                last, quiet_since = rx, loop.time()
            elif loop.time() - quiet_since >= DRAIN_QUIET_S:
                return

    async def _drive(self, until: float, schedule: JoinSchedule | None = None,
                     *, until_joined: bool = False) -> None:
        """Run joins due, churn and faults until ``until`` (or an abort); with
        ``until_joined``, until every join of ``schedule`` has been sent instead.

        Faults are timed from the start of the run (``live.started``), once each.
        """
        churn_every = 1 / self.s.churn if self.s.churn else None
        next_churn: float | None = None
        faults = self._faults
        while self.aborted is None:
            now = time.time()
            if until_joined:
                if schedule is None or schedule.done:
                    break
            elif now >= until:
                break
            if schedule is not None and not schedule.done:
                due = schedule.due(now)
                if due:
                    await self._send_joins(due)
            elif churn_every is not None:
                next_churn = next_churn or now + churn_every
                if now >= next_churn:
                    next_churn += churn_every
                    await self._churn_one()
            while faults and self.live.started + faults[0].at <= now:
                f = faults.pop(0)
                w = self._owner.get(f.peer)
                if w is not None:
                    await w.call({"cmd": "block", "name": f.peer, "seconds": f.duration})
            await asyncio.sleep(0.05)

    async def _churn_one(self) -> None:
        names = list(self._owner)
        for _ in range(5):  # a peer still joining cannot leave yet: try another one
            name = self._rng.choice(names)
            if (await self._owner[name].call({"cmd": "churn", "name": name}))["ok"]:
                return

    def _finish(self, stats: list[dict[str, Any]], window: tuple[float, float],
                thresholds: list[Threshold]) -> tuple[dict[str, Any], list[Verdict]]:
        """Aggregate, add server and tester figures, evaluate the thresholds."""
        report = aggregate(stats, window=window, extra_errors=self.errors)
        report["server"] = self.series.window(*window)
        if self.node_series:
            # Per node of the cluster: the first is --url (its figures are "server" too).
            report["nodes"] = {self.url: report["server"], **{
                u: ser.window(*window) for u, ser in self.node_series.items()}}
        cores = []
        for w, st in zip(self.workers, stats, strict=True):
            t0, c0 = w.cpu_mark
            # The window's own CPU: up to the pause, not the drain and the figures after it.
            t1, c1 = w.window_end or (st["t"], st["cpu"])
            cores.append((c1 - c0) / max(t1 - t0, 1e-3))
        lags = [st["loop_lag_ms"] for st in stats]
        report["tester"] = {
            "workers": len(self.workers), "worker_cores": cores,
            "max_worker_cores": max(cores) if cores else None, "total_cores": sum(cores),
            "receive_paths": sorted({str(w.receive_path) for w in self.workers}),
            "send_paths": sorted({str(w.send_path) for w in self.workers}),
            # The workers' own event-loop lag: when high, the tester (not the server) is slow.
            "loop_lag_ms": {"p99": max((x["p99"] or 0 for x in lags), default=None),
                            "max": max((x["max"] or 0 for x in lags), default=None)},
        }
        machine = self.machine_load
        report["machine"] = None if machine is None else machine.as_dict()
        report["reliability"] = judge(
            machine, report["tester"]["loop_lag_ms"]["p99"],
            {f"worker {i}": c for i, c in enumerate(cores)}).as_dict()
        verdicts = evaluate(thresholds, flatten(report))
        return report, verdicts

    def _meta(self) -> dict[str, Any]:
        s = self.s
        return {
            "url": self.url, "kind": s.kind, "nodes": list(s.nodes), "rooms": s.rooms,
            "peers": s.peers,
            "publishers": s.publishers_per_room, "preset": s.preset, "duration_s": s.duration,
            "warmup_s": s.warmup, "ramp": s.ramp, "churn": s.churn, "workers": self.n_workers,
            "faults": [{"peer": f.peer, "at": f.at, "for": f.duration} for f in s.faults],
            "metrics_urls": list(s.metrics_urls or (self.url,)),
            "load_average_at_start": list(os.getloadavg()),
            "cpu_count": os.cpu_count(),
        }

    # -- the two kinds of run ------------------------------------------------------------

    async def run(self) -> tuple[dict[str, Any], list[Verdict]]:
        """Run the scenario once; the report and its threshold verdicts."""
        thresholds = with_defaults(self.s.thresholds)

        async def body() -> dict[str, Any]:
            plans = [p for r in range(self.s.rooms) for p in plan_room(self.s, r)]
            start = time.time()
            self.live.started = start
            schedule = JoinSchedule(plans, self.s.ramp, start)
            window_start = start
            if self.s.warmup:
                await self._drive(start + self.s.warmup, schedule)
                window_start = await self._reset()
            await self._drive(start + self.s.duration, schedule)
            stats, paused_at = await self._close_window()
            report, verdicts = self._finish(stats, (window_start, paused_at), thresholds)
            report["verdicts"] = verdicts
            return report

        report = await self._with_progress(body)
        verdicts: list[Verdict] = report.pop("verdicts")
        report.update(self._common(verdicts))
        return report, verdicts

    def _common(self, verdicts: list[Verdict]) -> dict[str, Any]:
        return {
            "scenario": self._meta(),
            "load_average_at_end": list(os.getloadavg()),
            "aborted": self.aborted,
            "thresholds": [{"threshold": v.threshold.text, "actual": v.actual,
                            "broken": v.broken} for v in verdicts],
            "passed": not any(v.broken for v in verdicts) and self.aborted is None,
            "timeline": [{k: v for k, v in e.items() if k != "t_abs"} for e in self.timeline],
        }

    async def run_capacity(self) -> tuple[dict[str, Any], list[Verdict]]:
        """Add rooms one at a time until a window breaks a threshold; the last good count."""
        given = self.s.thresholds or tuple(map(parse_threshold, CAPACITY_THRESHOLDS))
        thresholds = with_defaults(given)
        search = CapacitySearch(start=min(self.s.rooms, self.s.max_rooms_limit),
                                limit=self.s.max_rooms_limit)
        best: dict[str, Any] = {}

        async def body() -> dict[str, Any]:
            nonlocal best
            self.live.started = time.time()
            rooms_up = 0
            last: dict[str, Any] = {}
            while not search.done and self.aborted is None:
                target = search.rooms
                await self._all({"cmd": "resume"})
                if target > rooms_up:
                    plans = [p for r in range(rooms_up, target) for p in plan_room(self.s, r)]
                    now = time.time()
                    await self._drive(now, JoinSchedule(plans, self.s.ramp, now),
                                      until_joined=True)
                    rooms_up = target
                    await self._wait_joined(target * self.s.peers)
                    await asyncio.sleep(SETTLE_S)
                self._say(f"measuring {target} room(s) x {self.s.peers} peers for "
                          f"{self.s.duration:g} s ...")
                window_start = await self._reset()
                await self._drive(time.time() + self.s.duration)
                stats, paused_at = await self._close_window()
                report, verdicts = self._finish(stats, (window_start, paused_at), thresholds)
                broken = tuple(f"{v.threshold.text}: {v.reason}" for v in verdicts if v.broken)
                figures = flatten(report)
                ran_out = bottleneck(self.machine_load, figures["tester.loop_lag.p99"],
                                     report["tester"]["max_worker_cores"])
                search.record(Step(target, not broken and self.aborted is None, broken, {
                    k: figures[k] for k in ("latency.p50", "latency.p99", "frames.lost",
                                            "freezes", "routes.missing", "server.cpu",
                                            "server.us_per_packet", "server.packets_out",
                                            "tester.cpu", "tester.loop_lag.p99")},
                    inconclusive=bool(broken) and ran_out != "server",
                    bottleneck=ran_out if broken else None))
                verdict = "ok" if not broken else "BROKEN: " + "; ".join(broken)
                if broken:
                    verdict += f" (bottleneck: {ran_out})"
                if broken and ran_out != "server":
                    reasons = "; ".join(report["reliability"]["reasons"])
                    verdict += f" (inconclusive: {reasons})"
                self._say(f"  {target} room(s): {verdict}")
                report["verdicts"] = verdicts
                report["rooms_measured"] = target
                last = report
                if not broken:
                    best = report
            chosen = best or last
            chosen["capacity"] = search.result()
            return chosen

        report = await self._with_progress(body)
        verdicts: list[Verdict] = report.pop("verdicts", [])
        report.update(self._common(verdicts))
        report["passed"] = search.last_good > 0 and self.aborted is None
        return report, verdicts

    async def _wait_joined(self, count: int) -> None:
        deadline = time.time() + self.s.join_timeout + 5
        while time.time() < deadline and self.aborted is None:
            replies = await self._all({"cmd": "counts"})
            if sum(r["joined"] + r["failed"] for r in replies) >= count:
                return
            await asyncio.sleep(0.2)
