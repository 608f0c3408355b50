"""The public address a node behind 1:1 NAT announces (sfu.announce)."""

from __future__ import annotations

import pytest

from sfu.announce import announce_address

SDP = "\r\n".join([
    "v=0",
    "m=audio 40001 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 10.0.0.5",
    "a=mid:0",
    "a=candidate:0123456789abcdef0123456789abcdef 1 udp 2130706431 10.0.0.5 40001 typ host",
    "a=candidate:fedcba 1 udp 2130706431 fd00::5 40002 typ host",
    "a=candidate:aaaa 1 udp 1694498815 198.51.100.1 40003 typ srflx raddr 10.0.0.5 rport 40001",
    "a=end-of-candidates",
    "",
])


def test_each_ipv4_host_candidate_is_also_announced_at_the_public_address() -> None:
    out = announce_address(SDP, "203.0.113.7").split("\r\n")
    candidates = [line for line in out if line.startswith("a=candidate:")]
    assert candidates == [
        "a=candidate:0123456789abcdef0123456789abcdef 1 udp 2130706431 10.0.0.5 40001 typ host",
        "a=candidate:p0123456789abcdef0123456789abcde 1 udp 2130706431 203.0.113.7 40001 typ host",
        "a=candidate:fedcba 1 udp 2130706431 fd00::5 40002 typ host",
        "a=candidate:aaaa 1 udp 1694498815 198.51.100.1 40003 typ srflx raddr 10.0.0.5 rport 40001",
    ]
    assert "c=IN IP4 203.0.113.7" in out and "c=IN IP4 10.0.0.5" not in out
    assert out[-1] == ""  # the SDP still ends with CRLF


def test_announcing_the_address_a_candidate_has_changes_nothing() -> None:
    assert announce_address(SDP, "10.0.0.5") == SDP


def test_only_an_ipv4_address_can_be_announced() -> None:
    with pytest.raises(ValueError):
        announce_address(SDP, "turn.example.com")
