"""Announce a public address in the SDP the SFU sends (a node behind 1:1 NAT, e.g. a cloud VM).

Sans-IO. The node binds its media sockets to its own interfaces; a browser on the internet must
be told the NAT's public address instead, with the same ports (1:1 NAT keeps them). Each IPv4
host candidate gets a copy with ``address`` (its own foundation, same priority) next to it, and
``c=`` lines naming a rewritten address name the public one: browsers reach the node through
the NAT, and clients on the node's own network still can through the private candidates.
"""

from __future__ import annotations

import ipaddress

_CANDIDATE = "a=candidate:"


def announce_address(sdp: str, address: str) -> str:
    """``sdp`` with every IPv4 host candidate also announced at ``address`` (an IPv4
    address; ports unchanged)."""
    ipaddress.IPv4Address(address)  # ValueError if not an IPv4 address
    lines = sdp.split("\r\n")
    private: set[str] = set()
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.startswith(_CANDIDATE):
            continue
        parts = line[len(_CANDIDATE):].split()
        # foundation component transport priority address port "typ" type ...
        if len(parts) < 8 or parts[6] != "typ" or parts[7] != "host":
            continue
        if ":" in parts[4] or parts[4] == address:
            continue  # IPv6, or already the public address
        private.add(parts[4])
        public = ["p" + parts[0][:31], *parts[1:4], address, *parts[5:]]
        out.append(_CANDIDATE + " ".join(public))
    for i, line in enumerate(out):
        if line.startswith("c=IN IP4 ") and line[len("c=IN IP4 "):] in private:
            out[i] = "c=IN IP4 " + address
    return "\r\n".join(out)
