"""What recording costs: the event loop's share per packet, and the writer thread's CPU.

Pre-encoded VP8 (a loadtest preset) and Opus are cut into RTP payloads once; then, for
``--publishers`` files of ``--seconds`` of media each, every packet goes through what the
SFU does on the event loop when recording (sfu.vp8_depacketizer, a WritePacket onto the
writer's queue) and the writer thread muxes them into WebM files with PyAV. No network, no
aiortc: the figures are the recording's own. The loop's part is timed with the main
thread's CPU clock; the writer's is the process's CPU time minus the main thread's.

    python bench/recording_path.py --preset 360p --publishers 4 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtest.media import PRESETS, cached_video, encode_audio
from sfu.vp8_depacketizer import Vp8Depacketizer, keyframe_size
from sfu.vp8_layers import parse_vp8_descriptor
from sfu.webm_writer import OpenFile, WebmWriter, WritePacket

MTU = 1200


def packetize(frame: bytes, seq: int, pid: int) -> list[tuple[int, bool, bytes]]:
    """RFC 7741 payloads of one frame: (seq, marker, payload)."""
    chunks = [frame[i : i + MTU] for i in range(0, len(frame), MTU)]
    out = []
    for i, chunk in enumerate(chunks):
        head = bytes((0x90 if i == 0 else 0x80, 0x80, 0x80 | (pid >> 8) & 0x7F, pid & 0xFF))
        out.append(((seq + i) & 0xFFFF, i == len(chunks) - 1, head + chunk))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="360p", choices=sorted(PRESETS))
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    video = cached_video(PRESETS[args.preset])
    audio = encode_audio(1.0)
    fps = video.fps
    n_frames = int(args.seconds * fps)
    # Replayed as the load tester does: the loop's keyframe once, then its deltas round and round.
    frames = [video.keyframe] + [
        video.deltas[i % len(video.deltas)] for i in range(n_frames - 1)
    ]
    size = keyframe_size(frames[0])
    assert size is not None, "the loop starts with a keyframe"
    packets: list[tuple[int, int, bool, bytes]] = []  # seq, ts, marker, payload
    seq = 1000
    for n, frame in enumerate(frames):
        for s, marker, payload in packetize(frame, seq, n & 0x7FFF):
            packets.append((s, n * 90000 // fps, marker, payload))
        seq += -(-len(frame) // MTU)
    opus = [audio[i % len(audio)] for i in range(int(args.seconds * 50))]

    with tempfile.TemporaryDirectory(prefix="coshop-rec-bench-") as tmp:
        writer = WebmWriter("bench")
        loop_cpu = 0.0
        process_start, thread_start = time.process_time(), time.thread_time()
        wall = time.perf_counter()
        count = 0
        for p in range(args.publishers):
            depacketizer = Vp8Depacketizer()
            start = time.thread_time()
            writer.put(OpenFile(p, Path(tmp) / f"p{p}.webm", size, True))
            a = 0
            for s, ts, marker, payload in packets:
                desc = parse_vp8_descriptor(payload)
                assert desc is not None
                for out in depacketizer.push(s, ts, marker, payload, desc):
                    writer.put(WritePacket(p, "video", out.data, out.timestamp, out.keyframe))
                    # Opus at 50 packets/s between the video frames.
                    while a < len(opus) and a * 960 * 90000 <= out.timestamp * 48000:
                        writer.put(WritePacket(p, "audio", opus[a], a * 960))
                        a += 1
                        count += 1
                count += 1
            loop_cpu += time.thread_time() - start
            # Let the writer catch up, so its queue never drops (it is bounded).
            while writer.backlog > 1000:
                time.sleep(0.01)
        writer.close()
        wall = time.perf_counter() - wall
        writer_cpu = (time.process_time() - process_start) - (time.thread_time() - thread_start)
        written = sum(f.stat().st_size for f in Path(tmp).iterdir())
        assert not writer.errors and not writer.dropped, (writer.errors, writer.dropped)
    media_seconds = args.publishers * args.seconds
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    print(f"{args.publishers} publishers x {args.seconds:g} s of {args.preset} VP8 + Opus: "
          f"{count} packets, {written / 1e6:.1f} MB written in {wall:.2f} s")
    print(f"event loop: {1e6 * loop_cpu / count:.1f} us CPU per recorded packet "
          f"(depacketize + queue)")
    print(f"writer thread: {writer_cpu:.2f} s CPU, {100 * writer_cpu / media_seconds:.2f} % "
          f"of a core per recorded publisher")


if __name__ == "__main__":
    main()
