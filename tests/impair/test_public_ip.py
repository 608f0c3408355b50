"""COSHOP_PUBLIC_IP across a real 1:1 NAT (tests.impair.nat: the kernel's DNAT/SNAT).

The node binds a private address in its own namespace; two aiortc peers in another namespace
know only its public address (its URL too). With ``COSHOP_PUBLIC_IP`` their media connects to
the public candidate the node announces, and each decodes the other's colour. Without it the
same set-up gets no media: the node offers only its private address, which the outside cannot
reach, and the NAT lets in no check the outside did not start (so peer-reflexive candidates
cannot save the call either).
"""

from __future__ import annotations

import pytest

from tests.impair.nat import PORT, PRIVATE_IP, PUBLIC_IP, nat_available, natted_node
from tests.impair.nat_call import FRAMES

pytestmark = pytest.mark.media


@pytest.fixture(autouse=True)
def _nat() -> None:
    # A skipped test passes nothing: without namespaces and iptables (tests/run.sh installs
    # both; root needed) this fails and says why.
    problem = nat_available()
    if problem is not None:
        pytest.fail(f"the NAT harness cannot run here: {problem}", pytrace=False)


@pytest.mark.timeout(180)
async def test_peers_outside_the_nat_get_media_through_the_announced_public_address() -> None:
    async with natted_node(public_ip=PUBLIC_IP) as net:
        result = await net.call(seconds=60)
        why = f"{result}\n{await net.nat_rules()}\n{net.server_log.read_text()[-3000:]}"
    print(f"\n{result}")
    # The node offered both addresses; the outside reached it at the public one.
    for hosts in result["offered_hosts"].values():
        assert PUBLIC_IP in hosts and PRIVATE_IP in hosts, why
    for addresses in result["nominated"].values():
        assert addresses and all(a.split(":")[0] == PUBLIC_IP for a in addresses), why
        assert all(int(a.split(":")[1]) != PORT for a in addresses), why  # media, not HTTP
    # Each decoded the other's colour, and nothing else.
    for route, got in result["routes"].items():
        assert got["right"] >= FRAMES and got["wrong"] == 0, (route, why)
    assert all(not e for e in result["errors"].values()), why


@pytest.mark.timeout(180)
async def test_without_a_public_ip_the_same_peers_get_no_media() -> None:
    async with natted_node(public_ip=None) as net:
        # aioice gives up on a pair after ~40 s of unanswered checks: wait for that verdict.
        result = await net.call(seconds=90)
        why = f"{result}\n{await net.nat_rules()}"
    for hosts in result["offered_hosts"].values():
        assert PUBLIC_IP not in hosts and PRIVATE_IP in hosts, why
    assert set(result["ice"].values()) == {"failed"}, why
    assert all(got["right"] == 0 for got in result["routes"].values()), why
