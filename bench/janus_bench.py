"""Janus baseline: the full-room benchmark (bench/room_bench.py) against coshop and against
Debian's Janus VideoRoom, interleaved, with the same synthetic publishers and subscribers and
the same measurement (server CPU over packets counted by the receivers; late joiners' time to
first frame; the machine's load and the tester's loop lag per run).

Janus runs with its default settings and with ``event_loops = 2`` (each its own process,
configured in a temporary directory with only the VideoRoom plugin and the HTTP transport);
it is installed with apt-get when missing. Runs go round-robin (coshop, Janus, Janus 2 loops,
then the reverse order), ``--runs`` times each; the summary gives the median and range of each
figure and the ratio of the medians.

Both servers get the same client: the load tester's publishers (lean send loop; a keyframe only
when a PLI or FIR asks) and receivers (lean SRTP path; ``loadtest.receiver.Receiver`` repairs
video as a browser does: NACK, RTX, and while a stream has no keyframe a PLI every 200 ms, sent
as compound RTCP led by a receiver report, RFC 4585 §3.1) and send a browser's periodic receiver
reports (``loadtest.reception_report``), whose LSR/DLSR give Janus the RTT it needs before it
keeps packets to answer NACKs with (``NACKed / RTX received``). A late joiner's 10 simultaneous
keyframes overflow its socket's receive buffer on a busy machine, so the one PLI Janus sends per
publisher at the subscriber's webrtcup is often not enough: the receiver's own PLIs, which
coshop's receivers always sent, make up for it. The Janus rooms are as an operator would create
them for this call, like coshop: VP8 and Opus, no bitrate cap, ``fir_freq = 0`` (no periodic
keyframes; the publishers encode one only when asked).

    flock /work/bench.lock nice -n 15 python bench/janus_bench.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import free_port, start_server
from bench.janus_api import JanusSession
from bench.room_bench import RoomNotFlowing, fmt, measure, print_runs, summarize_runs
from loadtest.media import PRESETS, cached_video

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")


def ensure_janus() -> str:
    """The janus binary; installs Debian's package first when it is missing."""
    found = shutil.which("janus")
    if found is None:
        print("janus not found: apt-get install -y janus ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "janus"], check=True)
        found = shutil.which("janus")
    if found is None:
        raise SystemExit("janus is not installed and apt-get could not install it")
    return found


def _config(workdir: Path, http_port: int, event_loops: int | None) -> Path:
    """Janus configuration files (libconfig syntax) for a benchmark: only the VideoRoom
    plugin and the plain HTTP transport; everything else at Janus's defaults."""
    conf = workdir / "conf"
    folders = {name: workdir / name for name in ("plugins", "transports", "events", "loggers")}
    for folder in (conf, *folders.values()):
        folder.mkdir(parents=True, exist_ok=True)
    (folders["plugins"] / "libjanus_videoroom.so").symlink_to(
        LIB / "plugins" / "libjanus_videoroom.so")
    (folders["transports"] / "libjanus_http.so").symlink_to(
        LIB / "transports" / "libjanus_http.so")
    loops = f"\n    event_loops = {event_loops}" if event_loops else ""
    (conf / "janus.jcfg").write_text(f"""general: {{
    configs_folder = "{conf}"
    plugins_folder = "{folders['plugins']}"
    transports_folder = "{folders['transports']}"
    events_folder = "{folders['events']}"
    loggers_folder = "{folders['loggers']}"
    debug_level = 3{loops}
}}
""")
    (conf / "janus.transport.http.jcfg").write_text(f"""general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
}}
""")
    (conf / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return conf


@contextlib.contextmanager
def janus_server(event_loops: int | None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Janus process on a free port; yields its API URL once it answers."""
    binary = ensure_janus()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="janus-bench-") as tmp:
        conf = _config(Path(tmp), port, event_loops)
        log = Path(tmp) / "janus.log"
        proc = subprocess.Popen([binary, "-F", str(conf), "-L", str(log), "-N", "-o"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/janus"
        try:
            deadline = time.time() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/info", timeout=1):
                        break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        tail = log.read_text()[-3000:] if log.exists() else ""
                        raise RuntimeError(f"janus did not start:\n{tail}") from None
                    time.sleep(0.2)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _create_room(url: str, room: int, publishers: int) -> None:
    async with aiohttp.ClientSession() as http:
        session = JanusSession(http, url)
        await session.open()
        try:
            handle = await session.attach()
            # As coshop: VP8 and Opus, no bitrate cap, no periodic keyframe requests.
            await session.message(handle, {
                "request": "create", "room": room, "publishers": publishers,
                "videocodec": "vp8", "audiocodec": "opus", "bitrate": 0, "fir_freq": 0})
        finally:
            await session.close()


def create_room(url: str, publishers: int) -> int:
    """A fresh VideoRoom on the Janus at ``url``."""
    room = int(time.time() * 1000) % 1_000_000_000
    asyncio.run(_create_room(url, room, publishers))
    return room


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=15)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--publishers", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2, help="processes hosting the participants")
    ap.add_argument("--duration", type=float, default=20.0, help="measurement window, seconds")
    ap.add_argument("--late-joiners", type=int, default=6)
    ap.add_argument("--preset", default="360p", choices=sorted(PRESETS))
    ap.add_argument("--runs", type=int, default=3, help="windows per subject (interleaved)")
    ap.add_argument("--no-event-loops-2", action="store_true",
                    help="leave out Janus with event_loops = 2")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()

    loop_info = cached_video(PRESETS[args.preset])
    print(f"{args.preset} VP8 loop: {loop_info.bitrate / 1e6:.2f} Mbit/s "
          f"(label {PRESETS[args.preset].bitrate / 1e6:.2f})", flush=True)
    subjects = ["coshop", "janus (default)"] + ([] if args.no_event_loops_2
                                                 else ["janus (event_loops = 2)"])
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in subjects}
    failed = dict.fromkeys(subjects, 0)
    with contextlib.ExitStack() as stack:
        port = free_port()
        coshop = start_server(port, "--capacity", str(args.publishers + args.late_joiners + 2),
                              "--no-rate-limits")
        stack.callback(_stop, coshop)
        servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {
            "coshop": (f"http://127.0.0.1:{port}", coshop)}
        servers["janus (default)"] = stack.enter_context(janus_server(None))
        if not args.no_event_loops_2:
            servers["janus (event_loops = 2)"] = stack.enter_context(janus_server(2))
        for name, (url, proc) in servers.items():
            print(f"{name}: {url} (pid {proc.pid})", flush=True)
        for round_ in range(args.runs):
            order = subjects if round_ % 2 == 0 else subjects[::-1]
            for subject in order:
                print(f"\n=== {subject}, run {round_ + 1} of {args.runs} ===", flush=True)
                url, proc = servers[subject]
                room = None if subject == "coshop" else create_room(url, args.publishers + 2)
                try:
                    results[subject].append(measure(args, url, proc, janus_room=room))
                except RoomNotFlowing as exc:
                    # One subject's bad run (a subscription that never flowed) is reported
                    # and left out; the interleaving of the others goes on.
                    failed[subject] += 1
                    print(f"run left out, it measured nothing: {exc}", flush=True)
    summaries = {s: summarize_runs(r) for s, r in results.items()}
    print_runs(summaries)
    for subject, count in failed.items():
        if count:
            print(f"{subject}: {count} of {args.runs} run(s) left out (a route never flowed)")
    print("\nratios of medians (coshop / Janus):")
    for subject in subjects[1:]:
        for figure in ("CPU per received packet", "late joiner 1st frame p50",
                       "late joiner 1st frame p95"):
            ours, theirs = summaries["coshop"][figure], summaries[subject][figure]
            ratio = (ours["median"] / theirs["median"]
                     if ours and theirs and theirs["median"] else None)
            print(f"  {figure:28s} vs {subject:24s} {fmt(ratio, 'x', 2)}")
    if args.json:
        args.json.write_text(json.dumps(
            {"runs": results, "summary": summaries, "failed_runs": failed}, indent=2))
        print(f"wrote {args.json}")
    return 1 if any(not r for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
