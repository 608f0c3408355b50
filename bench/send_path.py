"""CPU per sent RTP packet of a synthetic publisher's send path, in one process: the Python
loop of loadtest.lean_sender (an aiortc RtpPacket per packet, serialize, pylibsrtp's protect,
one sendto each) against loadtest.compiled_send (one FrameSender.send per frame: build,
srtp_protect and sendmmsg in C), on the same frames, to a UDP socket on loopback.

    python bench/send_path.py                     # 360p-like video frames: 3 packets of 1100 B
    python bench/send_path.py --packets 1 --size 120 --level   # audio-like frames
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pylibsrtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import RTP_HISTORY_SIZE, HeaderExtensionsMap, RtpPacket

from loadtest import compiled_send

URIS = ("urn:ietf:params:rtp-hdrext:sdes:mid",
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level")


def session() -> pylibsrtp.Session:
    return pylibsrtp.Session(pylibsrtp.Policy(key=bytes(range(30)),
                                              ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND))


def python_loop(frames: int, payloads: list[bytes], level: int | None,
                ext_map: HeaderExtensionsMap, sock: socket.socket,
                addr: tuple[str, int]) -> float:
    """lean_sender's Python loop, per frame; CPU seconds."""
    history: dict[int, RtpPacket] = {}
    protect = session().protect
    sendto = sock.sendto
    seq, last = 0, len(payloads) - 1
    start = time.process_time()
    for n in range(frames):
        timestamp = n * 3000
        for i, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=timestamp,
                               ssrc=1234, marker=int(i == last), payload=payload)
            packet.extensions.abs_send_time = n & 0xFFFFFF
            packet.extensions.mid = "0"
            if level is not None:
                packet.extensions.audio_level = (False, -level)
            history[seq % RTP_HISTORY_SIZE] = packet
            sendto(protect(packet.serialize(ext_map)), addr)
            seq = (seq + 1) & 0xFFFF
    return time.process_time() - start


def compiled_loop(frames: int, payloads: list[bytes], level: int | None,
                  ext_map: HeaderExtensionsMap, sock: socket.socket,
                  addr: tuple[str, int]) -> float:
    """One FrameSender.send per frame; CPU seconds."""
    sender = compiled_send.frame_sender(payload_type=96, ssrc=1234, sequence_number=0,
                                        mid="0", extensions_map=ext_map)
    assert sender is not None, compiled_send.UNAVAILABLE_REASON
    compiled_send.set_session(sender, session())
    send, fd, errors = sender.send, sock.fileno(), print
    start = time.process_time()
    for n in range(frames):
        send(payloads, n * 3000, n & 0xFFFFFF, level, fd, addr, errors)
    return time.process_time() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--packets", type=int, default=3, help="packets per frame")
    ap.add_argument("--size", type=int, default=1100, help="payload bytes per packet")
    ap.add_argument("--level", action="store_true", help="with an audio level")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=uri) for i, uri in enumerate(URIS, 1)]))
    payloads = [bytes([i]) * args.size for i in range(args.packets)]
    level = -30 if args.level else None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))  # never read: the kernel drops what overflows its buffer
        addr = rx.getsockname()
        packets = args.frames * args.packets
        for _ in range(args.rounds):
            py = python_loop(args.frames, payloads, level, ext_map, tx, addr)
            c = compiled_loop(args.frames, payloads, level, ext_map, tx, addr)
            print(f"python {1e6 * py / packets:.2f} us/packet, compiled "
                  f"{1e6 * c / packets:.2f} us/packet ({args.packets} x {args.size} B frames)",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
