"""The outside of tests.impair.nat: two aiortc peers that know only the node's public URL.

Run inside the outside namespace. Ann and Bob (protocol-only ``Stranger`` clients, real aiortc
peers that encode and decode VP8 colours) join one room and wait, at most ``--seconds``,
until each decodes the other's colour; then one JSON line: frames decoded per route (right
and wrong colour), each peer connection's ICE state, the remote address of the candidate pair
ICE nominated, and the host candidates the node offered.

    python -m tests.impair.nat_call URL --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiohttp

from tests.helpers import wait_for
from tests.interop.stranger import Stranger

FRAMES = 10
"""Right-colour frames each peer must decode from the other."""


async def _wait_healthy(url: str, within: float) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.2)


def _nominated(p: Stranger) -> list[str]:
    """The remote address:port of each nominated ICE pair (aioice keeps them per component)."""
    pairs: list[str] = []
    for t in p.pc.getTransceivers():
        connection = t.receiver.transport.transport._connection
        for pair in connection._nominated.values():
            address = f"{pair.remote_candidate.host}:{pair.remote_candidate.port}"
            if address not in pairs:
                pairs.append(address)
    return pairs


def _offered_hosts(p: Stranger) -> list[str]:
    hosts: list[str] = []
    for m in p.messages:
        if m.get("type") != "offer":
            continue
        for line in m["sdp"].split("\r\n"):
            if line.startswith("a=candidate:") and " typ host" in line:
                host = line.split()[4]
                if host not in hosts:
                    hosts.append(host)
    return hosts


async def run(url: str, seconds: float) -> dict[str, Any]:
    await _wait_healthy(url, 20)
    ann, bob = Stranger(url, "ann", 0), Stranger(url, "bob", 1)
    people = [ann, bob]
    try:
        for p in people:
            await p.join("behind-nat")
        colours = {ann.me: 0, bob.me: 1}
        for p in people:
            p.colour_of = colours.get  # type: ignore[assignment]

        def done() -> bool:
            if all(p.pc.iceConnectionState == "failed" for p in people):
                return True
            return all(p.right_frames(q.me or "") >= FRAMES
                       for p in people for q in people if q is not p)

        # Not reached in time: the result says how far it got.
        with contextlib.suppress(AssertionError):
            await wait_for(done, seconds, interval=0.1, message="media or ICE failure")
        return {
            "routes": {
                f"{p.name}<-{q.name}": {
                    "right": p.right_frames(q.me or ""),
                    "wrong": (p.received[q.me or ""].wrong_colour
                              if q.me in p.received else 0),
                }
                for p in people for q in people if q is not p
            },
            "ice": {p.name: p.pc.iceConnectionState for p in people},
            "nominated": {p.name: _nominated(p) for p in people},
            "offered_hosts": {p.name: _offered_hosts(p) for p in people},
            "errors": {p.name: p.errors for p in people},
        }
    finally:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(p.close() for p in people))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.impair.nat_call")
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.url, args.seconds))
    print("result " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
