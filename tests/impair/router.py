"""A user-space router: bridges two interfaces frame by frame through impaired Links.

This kernel has no netem, so the impairment happens here: the router reads every
Ethernet frame from one interface (AF_PACKET), lets the direction's Link drop or delay
it, and writes it to the other interface. IPv4 is impaired; ARP passes untouched (so
neighbours resolve); everything else is dropped. Run inside the router's namespace:

    python -m tests.impair.router IF_A IF_B CONTROL_SOCKET [--loss L --delay S --jitter S]

The control socket takes one JSON object per line and answers one per line:
``{"loss": 0.02, "delay": 0.04, "jitter": 0.0}`` sets both directions (with
``"only": IF``, just frames arriving on IF; ``"rate"``, ``"burst"``, ``"queue"``: a
bottleneck, see tests.impair.link); ``{"blackout": 1.0}`` drops everything in both
directions for a second; ``{}`` just reports the counters.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import fcntl
import json
import socket
import struct
import sys
from typing import Any

from tests.impair.link import BURST, QUEUE, Conditions, Link

_ETH_P_ALL = 0x0003
_PACKET_OUTGOING = 4  # sll_pkttype of frames this host sent (our own writes)
_ETH_IPV4 = 0x0800
_ETH_ARP = 0x0806
_SIOCETHTOOL = 0x8946
# ethtool "set" commands (linux/ethtool.h) for checksum offload, TSO, GSO and GRO.
_ETHTOOL_OFFLOADS = (0x17, 0x1F, 0x24, 0x2C)


def disable_offloads(ifname: str) -> None:
    """Make the kernel hand over real, finished frames (run in the interface's namespace).

    With offloads on, veth passes frames whose checksum is left to "the hardware" and
    TCP super-frames larger than the MTU; copied to another interface as raw frames,
    both would be dropped by the receiver.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for cmd in _ETHTOOL_OFFLOADS:
            value = array.array("I", [cmd, 0])
            ifreq = struct.pack("16sP", ifname.encode(), value.buffer_info()[0])
            with contextlib.suppress(OSError):  # not every device has every offload
                fcntl.ioctl(s.fileno(), _SIOCETHTOOL, ifreq)


def conditions_from(request: dict[str, Any]) -> Conditions | None:
    """The conditions a control request sets (unset fields: none), or None if it sets none."""
    if not {"loss", "delay", "jitter", "rate"} & set(request):
        return None
    return Conditions(
        loss=float(request.get("loss", 0.0)),
        delay=float(request.get("delay", 0.0)),
        jitter=float(request.get("jitter", 0.0)),
        rate=float(request.get("rate", 0.0)),
        burst=int(request.get("burst", BURST)),
        queue=int(request.get("queue", QUEUE)),
    )


class Router:
    """Two raw sockets and one Link per direction."""

    def __init__(self, if_a: str, if_b: str, conditions: Conditions) -> None:
        self.links = {if_a: Link(conditions, seed=1), if_b: Link(conditions, seed=2)}
        self._socks: dict[str, socket.socket] = {}
        for name in (if_a, if_b):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
            s.bind((name, 0))
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self._socks[name] = s
        self._peer = {if_a: if_b, if_b: if_a}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        for name, s in self._socks.items():
            loop.add_reader(s.fileno(), self._on_readable, loop, name)

    def _on_readable(self, loop: asyncio.AbstractEventLoop, name: str) -> None:
        s = self._socks[name]
        out = self._socks[self._peer[name]]
        link = self.links[name]
        while True:
            try:
                frame, addr = s.recvfrom(65535)
            except BlockingIOError:
                return
            if addr[2] == _PACKET_OUTGOING or len(frame) < 14:
                continue
            ethertype = int.from_bytes(frame[12:14], "big")
            if ethertype == _ETH_ARP:
                out.send(frame)
                continue
            if ethertype != _ETH_IPV4:
                continue
            now = loop.time()
            at = link.admit(now, len(frame))
            if at is None:
                continue
            if at <= now:
                self._send(out, frame)
            else:
                loop.call_at(at, self._send, out, frame)

    @staticmethod
    def _send(out: socket.socket, frame: bytes) -> None:
        with contextlib.suppress(BlockingIOError):  # a full queue is a loss, as on a wire
            out.send(frame)

    def control(
        self, loop: asyncio.AbstractEventLoop, request: dict[str, Any]
    ) -> dict[str, object]:
        c = conditions_from(request)
        if c is not None:
            only = request.get("only")  # one interface's incoming direction, or both
            for name, link in self.links.items():
                if only is None or only == name:
                    link.conditions = c
        if "blackout" in request:
            for link in self.links.values():
                link.blackout(loop.time(), float(request["blackout"]))
        return {
            name: {
                "forwarded": link.forwarded,
                "dropped": link.dropped,
                "overflowed": link.overflowed,
            }
            for name, link in self.links.items()
        }

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        for s in self._socks.values():
            loop.remove_reader(s.fileno())
            s.close()


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    disable_offloads(args.if_a)
    disable_offloads(args.if_b)
    router = Router(args.if_a, args.if_b, Conditions(args.loss, args.delay, args.jitter))
    router.start(loop)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            async for line in reader:
                reply = router.control(loop, json.loads(line or b"{}"))
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(handle, path=args.control)
    print("ready", flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        router.close(loop)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.impair.router")
    p.add_argument("if_a")
    p.add_argument("if_b")
    p.add_argument("control", help="path of the Unix control socket")
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--delay", type=float, default=0.0, help="one-way, seconds")
    p.add_argument("--jitter", type=float, default=0.0, help="seconds")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
