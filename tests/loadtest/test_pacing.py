"""The worker's media clock (loadtest.pacing): frames leave on the grid, never before its tick;
sockets read on the grid count each datagram when it arrived (the kernel's time), not when it
was read; the drain reads every registered socket and outlives one that fails; and real peers
of a paced worker against a real ``coshop serve`` receive every stream through the drain.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import random
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest import compiled_receive
from loadtest._compiled_receive import SocketReader
from loadtest.batched_socket import RECEIVE_BUFFER
from loadtest.media import cached_video, encode_audio
from loadtest.pacing import SocketDrain, next_tick
from loadtest.peer import ReplayAudioTrack, SyntheticPeer, _tick_on_clock
from loadtest.presets import PRESETS
from tests.loadtest.conftest import Server, until
from tests.loadtest.test_batched_socket import Protocol
from tests.loadtest.test_compiled_receive import Side, media_packets, srtp_pair


@given(st.floats(0, 1e7, allow_nan=False), st.sampled_from([0.001, 0.005, 0.02, 0.1]))
def test_the_next_tick_is_the_first_point_of_the_grid_at_or_after_now(
    now: float, period: float
) -> None:
    tick = next_tick(now, period)
    assert now <= tick < now + period * (1 + 1e-9) + 1e-9
    assert math.isclose(tick / period, round(tick / period), abs_tol=1e-6)
    assert next_tick(now, 0) == now


def test_a_paced_track_never_sends_a_frame_before_its_tick() -> None:
    period = 0.005

    async def run() -> list[tuple[float, float]]:
        track = ReplayAudioTrack((b"\xfc" * 40,), pacing=period)
        out = []
        for _ in range(25):
            await track.recv()
            # The frame's due time on the track's clock, and when it left.
            assert track._start is not None
            due = track._start + (track._count - 1) * track._period
            out.append((due, time.monotonic()))
        return out

    sent = asyncio.run(run())
    for due, at in sent:
        assert at >= next_tick(due, period) - 1e-6, (due, at)
    # ... and not long after it either (a frame waits for one tick, not for several).
    late = sorted(at - next_tick(due, period) for due, at in sent)
    assert late[len(late) // 2] < 0.02, late  # loose: a busy machine's timers run late


def _reader(rx_sock: socket.socket) -> tuple[SocketReader, Side, Protocol]:
    _, rx = srtp_pair()
    side, proto = Side(), Protocol()
    packet_reader = compiled_receive.reader(rx, side.receiver, side.receiver.on_rtp,
                                            proto.datagram_received)
    reader = SocketReader(fd=rx_sock.detach(), reader=packet_reader,
                          error_received=proto.error_received)
    return reader, side, proto


def test_a_datagram_read_late_counts_when_it_arrived(
    udp_pair: tuple[socket.socket, socket.socket]
) -> None:
    rx_sock, tx_sock = udp_pair
    dest = rx_sock.getsockname()
    reader, side, _ = _reader(rx_sock)
    tx, _ = srtp_pair()
    packets = media_packets(6, keyframe_every=6, seq0=100, ext=False)
    # The first socket asking for timestamps turns them on with deferred kernel work
    # (net_enable_timestamp); a datagram before that is stamped when it is read.
    time.sleep(0.1)
    try:
        sent_at = time.time()
        for p in packets:
            tx_sock.sendto(tx.protect(p), dest)
        sent_by = time.time()
        time.sleep(0.3)  # read well after they arrived, as a drain on a slow tick would
        read_at = time.time()
        assert reader.read_ready() == len(packets)
    finally:
        reader.close()
    route = side.routes[("pub", "video")]
    assert route.first_packet_at is not None and route.last_packet_at is not None
    assert sent_at - 0.01 <= route.first_packet_at <= route.last_packet_at <= sent_by + 0.01
    assert read_at - sent_by >= 0.3
    # The playout model shows the frames as of their arrival too: the first one at its arrival
    # and the playout delay (the others follow at their media times, 33 ms apart).
    assert route.first_frame_at is not None and route.first_frame_at < sent_by + 0.1


def test_the_drain_reads_every_socket_each_tick_and_outlives_a_failing_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    tx_sock, rx_good, rx_bad = socks
    for s in socks:
        s.bind(("127.0.0.1", 0))
    good_dest, bad_dest = rx_good.getsockname(), rx_bad.getsockname()
    good, side, _ = _reader(rx_good)
    bad, _, _ = _reader(rx_bad)
    tx, _ = srtp_pair()
    packets = [tx.protect(p) for p in media_packets(40, keyframe_every=40, seq0=5, ext=True)]
    period = 0.01
    drain = SocketDrain(period)
    drain.add(bad)
    drain.add(good)
    assert len(drain) == 2

    async def run() -> float:
        task = asyncio.get_running_loop().create_task(drain.run())
        started = time.monotonic()
        try:
            for i, p in enumerate(packets):
                tx_sock.sendto(p, good_dest)
                if i % 10 == 0:
                    tx_sock.sendto(b"\x80" + bytes(1700), bad_dest)  # too long: ValueError
                await asyncio.sleep(0.004)
            await asyncio.sleep(3 * period)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return time.monotonic() - started

    try:
        with caplog.at_level(logging.ERROR, logger="loadtest.pacing"):
            elapsed = asyncio.run(run())
        assert good.datagrams == len(packets)
        assert side.routes[("pub", "video")].frames == 40
        assert side.routes[("pub", "audio")].packets == 40
        assert bad.datagrams == len(range(0, len(packets), 10))
        failures = [r for r in caplog.records if "paced ICE socket" in r.getMessage()]
        assert failures and all(r.exc_info and r.exc_info[0] is ValueError for r in failures)
        # One read per tick, not one per datagram (about 0.19 s of ticks of 10 ms).
        assert 0.25 * elapsed / period <= drain.ticks <= elapsed / period + 2
        assert good.batches < len(packets) / 2
        drain.discard(bad)
        drain.discard(bad)  # twice: nothing
        assert len(drain) == 1
    finally:
        good.close()
        bad.close()
        tx_sock.close()


def test_real_peers_of_a_paced_worker_receive_through_the_drain(server: Server) -> None:
    asyncio.run(_paced_peers(server))


_RMEM_MAX = int(Path("/proc/sys/net/core/rmem_max").read_text())


async def _paced_peers(server: Server) -> None:
    room = f"paced-{random.getrandbits(32):08x}"
    drain = SocketDrain(0.005)
    task = asyncio.get_running_loop().create_task(drain.run())
    async with aiohttp.ClientSession() as http:
        peers = [
            SyntheticPeer(url=server.url, room=room, name=f"p{i}", index=i,
                          video=cached_video(PRESETS["180p"]), audio=encode_audio(),
                          session=http, pacing=0.005, drain=drain, paced_sends=True)
            for i in (1, 2, 3)
        ]
        try:
            for peer in peers:
                await peer.start()
                await asyncio.wait_for(peer.joined.wait(), 20)

            def every_route_flows() -> bool:
                return all(
                    sum(1 for (_, kind), r in p.result.routes.items()
                        if kind == "video" and r.frames > 40) == 2
                    for p in peers)

            assert await until(every_route_flows, 25), [p.result.routes for p in peers]
            assert len(drain) >= 3  # every peer's ICE socket is read on the grid
            # ... every publisher's two senders send from the grid's ticks, and every peer's
            # repair model ticks on it (receiver reports, NACK, PLI).
            assert drain.tickers == 6 + 3
            assert await until(lambda: all(p._receiver.reports_sent > 0 for p in peers), 5)
            # ... with a receive buffer for a stall of the loop, not only for a tick.
            rmem_max = _RMEM_MAX
            for reader in list(drain._readers.values()):
                assert isinstance(reader, SocketReader)
                with socket.socket(fileno=os.dup(reader.fd)) as sock:
                    got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                assert got >= min(RECEIVE_BUFFER, rmem_max), got
            before = drain.ticks
            await asyncio.sleep(0.5)
            assert 20 <= drain.ticks - before <= 110
            for p in peers:
                for (source, kind), route in p.result.routes.items():
                    assert source != p.name
                    if kind == "video":
                        assert route.lost_packets == 0 and route.lost_frames == 0
                        # Kernel arrival times: one-way latency on loopback stays small
                        # (the publisher's pacing wait is in it, as from a browser's pacer).
                        p50 = route.latency.percentile(50)
                        assert p50 is not None and p50 < 60, route.latency.summary()
        finally:
            for peer in peers:
                await peer.close()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert len(drain) == 0  # closing the peers took their sockets off the drain
    assert drain.tickers == 0  # ... and their senders' tickers


def test_a_repair_model_ticks_on_the_clock_every_interval() -> None:
    async def run() -> tuple[list[float], int]:
        clock = SocketDrain(0.005)
        task = asyncio.get_running_loop().create_task(clock.run())
        ticks: list[float] = []
        ticking = asyncio.get_running_loop().create_task(
            _tick_on_clock(clock, 0.02, lambda: ticks.append(time.monotonic())))
        await asyncio.sleep(0.5)
        during = clock.tickers
        ticking.cancel()
        task.cancel()
        await asyncio.gather(ticking, task, return_exceptions=True)
        assert clock.tickers == 0
        return ticks, during

    ticks, during = asyncio.run(run())
    assert during == 1
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert 10 <= len(ticks) <= 26, ticks
    assert min(gaps) >= 0.0175, gaps  # never more often than every 20 ms (less half a tick)
