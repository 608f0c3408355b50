"""A join asks nothing of anyone but the client: no STUN server on the internet.

aiortc's peer connections query Google's public STUN server unless told otherwise. On a node
that would cost every join a round trip to the internet, tell a third party about every
call, and on a network that drops outbound UDP hold each join for aioice's 5 s gathering
timeout. A node knows its own addresses (``COSHOP_PUBLIC_IP`` behind 1:1 NAT), so it needs
no STUN at all.

The test gives the server's namespace its own /etc/hosts (``ip netns exec`` mounts
/etc/netns/NAME/hosts over /etc/hosts) in which that STUN server's name points at a UDP
listener inside the namespace, so any query the node makes lands there and is counted.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from tests.impair.harness import SERVER_IP, ImpairedNetwork, namespaces_available

pytestmark = pytest.mark.media

STUN_NAME = "stun.l.google.com"  # aiortc's default (RTCIceTransport.getDefaultIceServers)
STUN_PORT = 19302

# One line per datagram received: "datagram <length>". "ready" once bound.
_LISTEN = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(({SERVER_IP!r}, {STUN_PORT}))
print("ready", flush=True)
while True:
    data, _ = s.recvfrom(2048)
    print("datagram", len(data), flush=True)
"""


@pytest.fixture(autouse=True)
def _namespaces() -> None:
    problem = namespaces_available()
    if problem is not None:
        pytest.fail(f"the impairment harness cannot run here: {problem}", pytrace=False)


@pytest.mark.timeout(180)
async def test_a_call_sends_no_stun_query_to_the_internet() -> None:
    net = ImpairedNetwork()
    etc = Path("/etc/netns") / net.server_ns
    try:
        await net.start()
        etc.mkdir(parents=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{SERVER_IP} {STUN_NAME}\n")
        listener = await net.spawn(net.server_ns, "-c", _LISTEN)
        assert listener.stdout is not None
        assert (await asyncio.wait_for(listener.stdout.readline(), 10)).strip() == b"ready"
        await net.start_server()
        result = await net.call("no-third-party", publishers=2, viewers=1, duration=4)
        # The call itself worked: every stream decoded frames.
        assert result.streams and all(s["decoded"] > 0 for s in result.streams), result
        heard: list[bytes] = []
        while True:
            try:
                heard.append(await asyncio.wait_for(listener.stdout.readline(), 0.5))
            except TimeoutError:
                break
        assert heard == [], f"the node queried {STUN_NAME}: {heard}"
    finally:
        await net.close()
        shutil.rmtree(etc, ignore_errors=True)
