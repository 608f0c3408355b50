"""A node behind a real 1:1 NAT (the kernel's, set up with Debian's iptables), as a cloud VM is:

    outside ns (198.51.100.2) ── veth ── nat ns ── veth ── node ns (10.79.0.1, private)
                                 DNAT 203.0.113.10 -> 10.79.0.1, SNAT 10.79.0.1 -> 203.0.113.10

The node binds its private address; from outside it is reachable only at the public one
(203.0.113.10, a documentation range: nothing here is routed off the machine; the namespaces
have no route anywhere else). The outside has no route to the private network, and the NAT
lets into the outside only what answers a flow the outside started: a client behind its own
NAT or firewall, as browsers on the internet are. Needs root (``ip netns``, ``iptables``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.impair.harness import REPO, _ip, namespaces_available

PRIVATE_IP = "10.79.0.1"
NAT_INSIDE_IP = "10.79.0.254"
PUBLIC_IP = "203.0.113.10"
NAT_OUTSIDE_IP = "198.51.100.1"
OUTSIDE_IP = "198.51.100.2"
PORT = 8080
_counter = itertools.count()


def nat_available() -> str | None:
    """None if this machine can build the NAT, else why not."""
    problem = namespaces_available()
    if problem is None and shutil.which("iptables") is None:
        problem = "no `iptables` (apt-get install iptables; tests/run.sh does)"
    return problem


async def _run(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {out.decode().strip()}")
    return out.decode()


class NattedNode:
    """The three namespaces, the NAT's rules and one ``coshop serve`` behind it."""

    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}y{next(_counter)}"
        self.node_ns, self.nat_ns, self.outside_ns = (f"cs{r}{tag}" for r in "nqo")
        self._ifs = {r: f"ve{r}{tag}" for r in ("n", "i", "o", "x")}
        self._dir = Path(tempfile.mkdtemp(prefix="coshop-nat-"))
        self.server_log = self._dir / "server.log"
        self._made: list[str] = []
        self._server: asyncio.subprocess.Process | None = None
        self.public_url = f"http://{PUBLIC_IP}:{PORT}"

    async def start(self) -> None:
        for ns in (self.node_ns, self.nat_ns, self.outside_ns):
            await _ip("netns", "add", ns)
            self._made.append(ns)
            await _ip("-n", ns, "link", "set", "lo", "up")
        i = self._ifs
        for end, ns, peer, addr, nat_addr in (
            (i["n"], self.node_ns, i["i"], PRIVATE_IP, NAT_INSIDE_IP),
            (i["o"], self.outside_ns, i["x"], OUTSIDE_IP, NAT_OUTSIDE_IP),
        ):
            await _ip("link", "add", end, "netns", ns, "type", "veth", "peer", "name", peer,
                      "netns", self.nat_ns)
            await _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", end)
            await _ip("-n", ns, "link", "set", end, "up")
            await _ip("-n", self.nat_ns, "addr", "add", f"{nat_addr}/24", "dev", peer)
            await _ip("-n", self.nat_ns, "link", "set", peer, "up")
        # The node's way out is the NAT; the outside knows the public address only.
        await _ip("-n", self.node_ns, "route", "add", "default", "via", NAT_INSIDE_IP)
        await _ip("-n", self.outside_ns, "route", "add", f"{PUBLIC_IP}/32", "via",
                  NAT_OUTSIDE_IP)
        await self._in(self.nat_ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        rules = (
            # 1:1 NAT: the public address is the node's, every port (RFC 4787 calls this
            # endpoint-independent mapping: what a cloud VM's public IP gives).
            ("-t", "nat", "-A", "PREROUTING", "-i", i["x"], "-d", PUBLIC_IP,
             "-j", "DNAT", "--to-destination", PRIVATE_IP),
            ("-t", "nat", "-A", "POSTROUTING", "-o", i["x"], "-s", PRIVATE_IP,
             "-j", "SNAT", "--to-source", PUBLIC_IP),
            # The outside is a client behind its own NAT: only answers to what it sent get in.
            ("-A", "FORWARD", "-i", i["i"], "-o", i["x"], "-m", "conntrack", "--ctstate",
             "ESTABLISHED,RELATED", "-j", "ACCEPT"),
            ("-A", "FORWARD", "-i", i["i"], "-o", i["x"], "-j", "DROP"),
        )
        for rule in rules:
            await self._in(self.nat_ns, "iptables", *rule)

    async def _in(self, ns: str, *argv: str) -> str:
        return await _run("ip", "netns", "exec", ns, *argv)

    async def nat_rules(self) -> str:
        """The NAT's table with its packet counters (for a failing assertion's message)."""
        return await self._in(self.nat_ns, "iptables", "-t", "nat", "-L", "-n", "-v")

    async def start_server(self, *, public_ip: str | None) -> None:
        """``coshop serve`` on the private address (announcing ``public_ip`` if given); returns
        once it answers through the NAT, from outside."""
        coshop = Path(sys.executable).with_name("coshop")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COSHOP_")}
        env["PYTHONPATH"] = str(REPO)
        if public_ip is not None:
            env["COSHOP_PUBLIC_IP"] = public_ip
        with self.server_log.open("wb") as log:
            self._server = await asyncio.create_subprocess_exec(
                "ip", "netns", "exec", self.node_ns, str(coshop), "serve", "--host", PRIVATE_IP,
                "--port", str(PORT), cwd=REPO, env=env, stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def call(self, seconds: float) -> dict[str, Any]:
        """Run ``tests.impair.nat_call`` in the outside namespace against the public URL."""
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        proc = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", self.outside_ns, sys.executable, "-m",
            "tests.impair.nat_call", self.public_url, "--seconds", str(seconds),
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(seconds + 60):
            out, _ = await proc.communicate()
        lines = out.decode().splitlines()
        result = next((ln for ln in reversed(lines) if ln.startswith("result ")), None)
        if result is None:
            raise RuntimeError("the outside client failed:\n" + "\n".join(lines[-40:]))
        reply: dict[str, Any] = json.loads(result[len("result "):])
        return reply

    async def close(self) -> None:
        """Stop the node and delete the namespaces (their rules go with them)."""
        if self._server is not None and self._server.returncode is None:
            self._server.terminate()
            try:
                async with asyncio.timeout(10):
                    await self._server.wait()
            except TimeoutError:
                self._server.kill()
                await self._server.wait()
        for ns in self._made:
            with contextlib.suppress(RuntimeError):
                await _ip("netns", "del", ns)
        self._made.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def natted_node(*, public_ip: str | None):  # type: ignore[no-untyped-def]
    """A NattedNode with its ``coshop serve`` running; removed on exit."""
    net = NattedNode()
    try:
        await net.start()
        await net.start_server(public_ip=public_ip)
        yield net
    finally:
        await net.close()
