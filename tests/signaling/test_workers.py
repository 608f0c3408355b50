"""``coshop serve --workers 2`` for real: a supervisor and two node processes on a private
redis-server. Rooms land on both workers through the shared port; a worker killed with SIGKILL
is restarted and its room placed again; SIGTERM drains them all; no worker outlives the
supervisor; a worker that cannot start stops the machine."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from rooms.redis_placement import RedisPlacement
from signaling import protocol as wire
from tests.helpers import wait_for
from tests.redis_server import RedisServer
from tests.signaling.wsclient import WsClient

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-c", "import sys; from signaling.cli import main; sys.exit(main())",
         "serve"]
START_TIMEOUT = 40.0
READY = re.compile(r"coshop serving on (http://\S+) \(store: redis, workers: 2: (\S+), (\S+)\)")
WORKER_UP = re.compile(r"worker (\d) \(pid (\d+)\) serving on (\S+)")


class Machine:
    """The supervisor process and what its output says about its workers."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log
        self.url = ""
        self.worker_urls: list[str] = []

    async def ready(self) -> None:
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT)).decode()
        match = READY.match(line)
        assert match, f"{line!r}\n{self.log.read_text()[-3000:]}"
        self.url, *self.worker_urls = match.groups()

    def workers(self) -> dict[int, tuple[int, str]]:
        """Worker index -> (pid, URL) of its latest start, from the supervisor's log."""
        latest: dict[int, tuple[int, str]] = {}
        for index, pid, url in WORKER_UP.findall(self.log.read_text()):
            latest[int(index)] = (int(pid), url)
        return latest


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child the supervisor has not reaped yet is a zombie: dead for our purpose.
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path, aof=False)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def start_machine(tmp_path: Path, redis_url: str | None, *flags: str) -> Machine:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
    env.update(PYTHONPATH=str(ROOT), COSHOP_NODE_ID="m", COSHOP_LOG_LEVEL="INFO",
               # The test clients never answer the SDP offer nor need WebSocket pings checked.
               COSHOP_ANSWER_TIMEOUT="300", COSHOP_WS_HEARTBEAT="30", COSHOP_WS_TIMEOUT="60",
               # Placed by rooms and participants only: a worker still busy starting up (CPU)
               # must not take every room of a test this short.
               COSHOP_PLACEMENT_CPU_WEIGHT="0")
    if redis_url is not None:
        env["COSHOP_REDIS_URL"] = redis_url
    log = tmp_path / f"machine-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *SERVE, "--host", "127.0.0.1", *flags, cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=err,
        )
    return Machine(process, log)


@pytest.fixture
async def machine(tmp_path: Path, redis: RedisServer) -> AsyncIterator[Machine]:
    m = await start_machine(tmp_path, redis.url, "--workers", "2", "--port", "0")
    try:
        await m.ready()
        yield m
    finally:
        if m.process.returncode is None:
            m.process.kill()  # the workers follow it (PR_SET_PDEATHSIG)
            await m.process.wait()
        for pid, _ in m.workers().values():
            await wait_for(lambda pid=pid: not alive(pid), 15, interval=0.1,  # type: ignore[misc]
                           message=f"worker {pid} to exit")


async def join_anywhere(http: aiohttp.ClientSession, url: str, room: str,
                        name: str) -> tuple[WsClient, str]:
    """Join ``room`` through ``url`` (the shared port), following redirects; the client and the
    WebSocket URL of the worker that took it."""
    ws_url = url.replace("http", "ws", 1) + "/ws"
    for _ in range(4):
        client = WsClient(await http.ws_connect(ws_url))
        reply = await client.join(room, name)
        if isinstance(reply, wire.Joined):
            return client, ws_url
        await client.close()
        assert isinstance(reply, wire.Redirect), reply
        ws_url = reply.url
    raise AssertionError(f"{name} was redirected too often joining {room}")


async def worker_of(room: str, placement: RedisPlacement) -> int:
    """The index of the worker (node id ``m-wN``) the room is pinned to, from the registry."""
    owner = (await placement.pinned_to([room]))[room]
    (entry,) = [e for e in await placement.nodes() if e.owner == owner]
    return int(entry.node_id.removeprefix("m-w"))


async def test_rooms_land_on_both_workers_and_a_killed_one_is_restarted_and_replaced(
    machine: Machine, redis: RedisServer
) -> None:
    placement = RedisPlacement(redis.url, owner="test", node_id="test")
    rooms = [f"w-{uuid.uuid4().hex[:6]}-{i}" for i in range(4)]
    clients: dict[str, WsClient] = {}
    serving: dict[str, int] = {}
    try:
        async with aiohttp.ClientSession() as http:
            for n, room in enumerate(rooms):
                async with http.post(f"{machine.url}/api/rooms", json={"id": room}) as created:
                    assert created.status == 201
                clients[room], _ = await join_anywhere(http, machine.url, room, "ann")
                serving[room] = await worker_of(room, placement)

                # Placement reads the load each worker reported: wait for this room to count.
                async def counted(n: int = n) -> bool:
                    return sum(e.rooms for e in await placement.nodes()) == n + 1

                await wait_for(counted, 10, interval=0.05, message="the workers' load")
            assert set(serving.values()) == {1, 2}, serving

            doomed_room = rooms[0]
            doomed = serving[doomed_room]
            doomed_pid, _ = machine.workers()[doomed]
            old_owner = (await placement.pinned_to([doomed_room]))[doomed_room]
            os.kill(doomed_pid, signal.SIGKILL)
            dropped = clients.pop(doomed_room).ws
            closing = await asyncio.wait_for(dropped.receive(), 10)
            while closing.type is aiohttp.WSMsgType.TEXT:  # an offer sent before the kill
                closing = await asyncio.wait_for(dropped.receive(), 10)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                    aiohttp.WSMsgType.ERROR)

            def restarted() -> bool:
                pid, _ = machine.workers().get(doomed, (doomed_pid, ""))
                return pid != doomed_pid and alive(pid)

            await wait_for(restarted, 30, interval=0.1, message="the killed worker to restart")
            # The survivor's rooms carried on.
            for room, client in clients.items():
                if serving[room] != doomed:
                    await client.ping()

            # Once the dead incarnation's heartbeat is older than the node timeout, the next
            # join places the room on a live worker (the restarted one is a new incarnation).
            async def rejoined() -> WsClient | None:
                try:
                    client, _ = await join_anywhere(http, machine.url, doomed_room, "bob")
                except (AssertionError, aiohttp.ClientError):
                    return None
                return client

            clients[doomed_room] = await wait_for(rejoined, 30, interval=0.5,
                                                  message="a join of the killed worker's room")
            owners = await placement.pinned_to([doomed_room])
            live = {e.owner for e in await placement.nodes()}
            assert owners[doomed_room] not in (None, old_owner) and owners[doomed_room] in live
            for client in clients.values():
                await client.close()
    finally:
        await placement.close()


async def test_sigterm_drains_every_worker_and_the_machine_exits(machine: Machine,
                                                                  redis: RedisServer) -> None:
    placement = RedisPlacement(redis.url, owner="test", node_id="test")
    try:
        async with aiohttp.ClientSession() as http:
            clients = [(await join_anywhere(http, machine.url, f"d-{i}", f"p{i}"))[0]
                       for i in range(2)]
            pids = [pid for pid, _ in machine.workers().values()]
            assert len(pids) == 2
            loop = asyncio.get_running_loop()
            started = loop.time()
            machine.process.send_signal(signal.SIGTERM)
            for client in clients:
                # With no other machine the rooms have nowhere to go: each worker stops at
                # once (not after the 30 s drain timeout) and closes its sockets, going away.
                frame = await asyncio.wait_for(client.ws.receive(), 20)
                while frame.type is aiohttp.WSMsgType.TEXT:
                    frame = await asyncio.wait_for(client.ws.receive(), 20)
                assert frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 1001, frame
            assert await asyncio.wait_for(machine.process.wait(), 20) == 0
            assert loop.time() - started < 20
        assert not any(alive(pid) for pid in pids)
        assert await placement.nodes() == []  # each worker left the registry
        text = machine.log.read_text()
        assert "Traceback" not in text and text.count("exited (0)") == 2, text[-3000:]
    finally:
        await placement.close()


async def test_workers_do_not_outlive_a_killed_supervisor(machine: Machine) -> None:
    pids = [pid for pid, _ in machine.workers().values()]
    machine.process.kill()
    await machine.process.wait()
    for pid in pids:
        await wait_for(lambda pid=pid: not alive(pid), 15, interval=0.1,  # type: ignore[misc]
                       message=f"worker {pid} to exit after the supervisor")


async def exit_code(m: Machine) -> int:
    """The machine's exit code; killed (workers and all) if it does not exit in time."""
    try:
        return await asyncio.wait_for(m.process.wait(), START_TIMEOUT)
    finally:
        if m.process.returncode is None:
            m.process.kill()  # the workers follow it (PR_SET_PDEATHSIG)
            await m.process.wait()


async def test_a_worker_that_cannot_start_stops_the_machine(
    tmp_path: Path, redis: RedisServer
) -> None:
    # Worker 2's own port (PORT + 2) is taken.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] - 2
        m = await start_machine(tmp_path, redis.url, "--workers", "2", "--port", str(port))
        assert await exit_code(m) == 1, m.log.read_text()[-3000:]
    assert re.search(r"worker \d exited with 1 before serving", m.log.read_text())


async def test_several_workers_need_redis(tmp_path: Path) -> None:
    m = await start_machine(tmp_path, None, "--workers", "2", "--port", "0")
    assert await exit_code(m) == 2
    assert "COSHOP_WORKERS: 2 workers need COSHOP_REDIS_URL" in m.log.read_text()
