"""What the kernel charges per forwarded copy on loopback, by way of sending (issue 16).

An SFU's fan-out writes one packet to N subscribers. coshop writes each copy with one
``sendto`` on that subscriber's own ICE socket (one socket per peer connection). Two ideas
change that: one UDP port for every peer (ICE-lite style), so a whole fan-out can leave in a
single ``sendmmsg(2)``; and ``connect(2)``-ed sockets, whose route is looked up once. This
measures the sender's CPU (user + system, from ``time.process_time``) per datagram for:

- ``sendto``    one unconnected socket, one ``sendto`` per copy (coshop's way);
- ``connected`` one connected socket per subscriber, one ``send`` per copy;
- ``sendmmsg``  one socket, the whole fan-out in one ``sendmmsg`` (libc through ctypes).

Receivers are another process with one socket per subscriber, reading as fast as it can; on
loopback the receiving half of the network stack runs in the sender's system call, so what is
printed is the whole kernel path a copy takes on one machine (the same for any server). Rounds
alternate the three ways (interleaved), every round prints the load average, and a round taken
on a saturated machine is flagged.

    python bench/udp_send_paths.py --subscribers 9 --rate 13000 --rounds 6
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing as mp
import os
import select
import socket
import statistics
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtest.machine import MachineWindow, judge

WAYS = ("sendto", "connected", "sendmmsg")
PAYLOAD = b"\x80" * 1100  # about a 360p video packet after SRTP


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.POINTER(_Iovec)),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


class _SockaddrIn(ctypes.Structure):
    _fields_ = [
        ("family", ctypes.c_ushort),
        ("port", ctypes.c_uint16),
        ("addr", ctypes.c_uint32),
        ("zero", ctypes.c_char * 8),
    ]


def receive(n: int, ports: mp.Queue[list[int]], stop: Event) -> None:
    """The subscribers: ``n`` sockets, drained until ``stop``."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks.append(s)
    ports.put([s.getsockname()[1] for s in socks])
    poll = select.epoll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        poll.register(fd, select.EPOLLIN)
    while not stop.is_set():
        for fd, _ in poll.poll(0.1):
            try:
                while True:
                    by_fd[fd].recv(2048)
            except BlockingIOError:
                pass


class Sender:
    """The three ways of writing one fan-out to the subscribers at ``ports``."""

    def __init__(self, ports: list[int]) -> None:
        self.addrs = [("127.0.0.1", p) for p in ports]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.connected = []
        for addr in self.addrs:
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.connect(addr)
            self.connected.append(c)
        self._libc = ctypes.CDLL(None, use_errno=True)
        n = len(ports)
        self._buf = ctypes.create_string_buffer(PAYLOAD, len(PAYLOAD))
        self._iov = (_Iovec * n)()
        self._names = (_SockaddrIn * n)()
        self._msgs = (_Mmsghdr * n)()
        for i, port in enumerate(ports):
            self._iov[i].base = ctypes.addressof(self._buf)
            self._iov[i].len = len(PAYLOAD)
            self._names[i].family = socket.AF_INET
            self._names[i].port = socket.htons(port)
            self._names[i].addr = int.from_bytes(socket.inet_aton("127.0.0.1"), "little")
            hdr = self._msgs[i].hdr
            hdr.name = ctypes.addressof(self._names[i])
            hdr.namelen = ctypes.sizeof(_SockaddrIn)
            hdr.iov = ctypes.pointer(self._iov[i])
            hdr.iovlen = 1

    def fan_out(self, way: str) -> None:
        if way == "sendto":
            for addr in self.addrs:
                self.sock.sendto(PAYLOAD, addr)
        elif way == "connected":
            for c in self.connected:
                c.send(PAYLOAD)
        else:
            n = len(self.addrs)
            sent = self._libc.sendmmsg(self.sock.fileno(), self._msgs, n, 0)
            if sent != n:
                raise OSError(ctypes.get_errno(), "sendmmsg sent only part of the fan-out")


def run_round(sender: Sender, way: str, rate: float, seconds: float) -> float:
    """Fan-outs at ``rate`` datagrams/s for ``seconds``; the sender's CPU us per datagram."""
    n = len(sender.addrs)
    interval = n / rate
    sent = 0
    cpu0, start = time.process_time(), time.monotonic()
    due = start
    while time.monotonic() - start < seconds:
        sender.fan_out(way)
        sent += n
        due += interval
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return 1e6 * (time.process_time() - cpu0) / sent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=9, help="copies per fan-out")
    ap.add_argument("--rate", type=float, default=13000.0,
                    help="datagrams per second (a full 10-person 360p room: ~13,000)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    ap.add_argument("--rounds", type=int, default=6, help="rounds of each way (interleaved)")
    args = ap.parse_args()

    ports: mp.Queue[list[int]] = mp.Queue()
    stop = mp.Event()
    receiver = mp.Process(target=receive, args=(args.subscribers, ports, stop), daemon=True)
    receiver.start()
    sender = Sender(ports.get(timeout=10))
    figures: dict[str, list[float]] = {way: [] for way in WAYS}
    print(f"{args.subscribers} copies per fan-out, {args.rate:,.0f} datagrams/s, "
          f"{len(PAYLOAD)} bytes, {args.seconds:g} s rounds; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    try:
        for r in range(args.rounds):
            order = WAYS if r % 2 == 0 else WAYS[::-1]
            for way in order:
                window = MachineWindow()
                us = run_round(sender, way, args.rate, args.seconds)
                verdict = judge(window.stop(), None)
                figures[way].append(us)
                flag = "" if verdict.reliable else "  UNRELIABLE: " + "; ".join(verdict.reasons)
                print(f"round {r + 1} {way:<9} {us:5.2f} us CPU per datagram; load "
                      f"{os.getloadavg()[0]:.2f}{flag}", flush=True)
    finally:
        stop.set()
        receiver.join(timeout=5)
    base = statistics.median(figures["sendto"])
    print()
    for way in WAYS:
        med = statistics.median(figures[way])
        print(f"{way:<9} median {med:5.2f} us per datagram "
              f"(min {min(figures[way]):.2f}, max {max(figures[way]):.2f}); "
              f"{med / base:.3f} of sendto's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
