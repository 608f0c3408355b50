"""Racing joins against RedisStore: never more than capacity, from one process or several."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from rooms import Participant, RedisStore, RoomFull
from rooms.redis_keys import RoomKeys

pytestmark = pytest.mark.redis

REPO = Path(__file__).resolve().parents[2]

# One "node": warms its pool, says ready, waits for "go", fires its joins at once, reports.
WORKER = r"""
import asyncio, json, sys
from rooms import Participant, RedisStore, RoomFull

async def main(url, namespace, room, prefix, count):
    store = RedisStore(url, namespace=namespace)
    try:
        # One pooled connection per join, opened before the start signal.
        await asyncio.gather(*(store.get_room(room) for _ in range(count)))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        results = await asyncio.gather(
            *(store.join(room, Participant(id=f"{prefix}{i}", name="w")) for i in range(count)),
            return_exceptions=True,
        )
    finally:
        await store.close()
    report = {"admitted": [], "full": 0, "other": []}
    for pid, result in zip((f"{prefix}{i}" for i in range(count)), results):
        if isinstance(result, RoomFull):
            report["full"] += 1
        elif isinstance(result, BaseException):
            report["other"].append(repr(result))
        else:
            report["admitted"].append(pid)
    print(json.dumps(report), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
"""


async def room_keys_state(redis_url: str, keys: RoomKeys) -> tuple[int, int]:
    """(participants hash size, seq) read straight from Redis."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return await client.hlen(keys.participants), int(await client.get(keys.seq) or 0)
    finally:
        await client.aclose()


async def test_joins_from_two_processes_admit_exactly_capacity(
    redis_url: str, redis_namespace: str
) -> None:
    capacity, per_process = 5, 6
    store = RedisStore(redis_url, namespace=redis_namespace)
    try:
        await store.create_room("race", capacity=capacity)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER, redis_url, redis_namespace, "race", f"n{n}-",
                str(per_process),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=REPO,
                env=env,
            )
            for n in range(2)
        ]
        try:
            async with asyncio.timeout(60):
                for process in processes:
                    assert process.stdout is not None
                    ready = await process.stdout.readline()
                    assert ready == b"ready\n", ready
                for process in processes:  # both start together
                    assert process.stdin is not None
                    process.stdin.write(b"go\n")
                    process.stdin.close()
                outputs = await asyncio.gather(*(p.communicate() for p in processes))
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

        reports = []
        for process, (out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err.decode()
            reports.append(json.loads(out.decode().strip().splitlines()[-1]))
        admitted = [pid for report in reports for pid in report["admitted"]]
        assert [report["other"] for report in reports] == [[], []]
        assert len(admitted) == capacity
        assert sum(report["full"] for report in reports) == 2 * per_process - capacity

        snapshot = await store.snapshot("race")
        assert sorted(p.id for p in snapshot.participants) == sorted(admitted)
        assert snapshot.seq == capacity
        keys = RoomKeys.of(redis_namespace, "race")
        assert await room_keys_state(redis_url, keys) == (capacity, capacity)
    finally:
        await store.close()


async def test_fifty_concurrent_joins_in_one_process(
    redis_store: RedisStore, redis_url: str
) -> None:
    capacity, contenders = 10, 50
    await redis_store.create_room("crowd", capacity=capacity)
    results = await asyncio.gather(
        *(redis_store.join("crowd", Participant(id=f"p{i}", name="p")) for i in range(contenders)),
        return_exceptions=True,
    )

    refused = [r for r in results if isinstance(r, BaseException)]
    admitted = [r for r in results if not isinstance(r, BaseException)]
    assert all(isinstance(r, RoomFull) for r in refused), refused
    assert len(admitted) == capacity
    assert len(refused) == contenders - capacity
    # Each admitted join saw the room just after itself: the k-th join, k participants, seq k.
    assert sorted(event.seq for _, event in admitted) == list(range(1, capacity + 1))
    for snapshot, event in admitted:
        assert snapshot.seq == event.seq == len(snapshot.participants)

    keys = RoomKeys.of(redis_store.namespace, "crowd")
    assert await room_keys_state(redis_url, keys) == (capacity, capacity)
