"""WebM files muxed from already-encoded VP8 frames and Opus packets, on a thread of its own.

PyAV's muxer writes to disk and may block (a slow disk, a full page cache), so it never
runs on the event loop: the loop puts commands on a bounded queue and one thread owned by
the writer does the I/O. Nothing is decoded or encoded: each frame is handed to the webm
muxer as an ``av.Packet`` with its timestamp. (PyAV opens a stream's codec context when it
writes the header; for libvpx and libopus that sets up an encoder which is never fed, and
libopus fills in the OpusHead header the WebM track needs, RFC 7845 §5.1.)
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from av.container import OutputContainer
from av.stream import Stream

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000  # RTP clock of video (RFC 7741 §6.1)
AUDIO_CLOCK = 48_000  # RTP clock of Opus (RFC 7587 §4.1)
#: Commands waiting for the thread at most; beyond that the loop drops media, not blocks.
QUEUE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class OpenFile:
    """Create ``path`` with a VP8 track of ``video`` (width, height) and/or an Opus track."""

    file_id: int
    path: Path
    video: tuple[int, int] | None
    audio: bool


@dataclass(frozen=True, slots=True)
class WritePacket:
    """One VP8 frame (pts on the 90 kHz clock) or Opus packet (48 kHz) into ``file_id``."""

    file_id: int
    kind: str
    data: bytes
    pts: int
    keyframe: bool = False


@dataclass(frozen=True, slots=True)
class CloseFile:
    file_id: int


Command = OpenFile | WritePacket | CloseFile


@dataclass(slots=True)
class _Output:
    container: OutputContainer
    streams: dict[str, Stream] = field(default_factory=dict)
    last_pts: dict[str, int] = field(default_factory=dict)


class WebmWriter:
    """Owns one thread that carries out commands in order; ``close`` ends it cleanly."""

    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[Command | None] = queue.Queue(QUEUE_SIZE)
        self._outputs: dict[int, _Output] = {}
        #: What went wrong in the thread (file, message), for the manifest.
        self.errors: list[str] = []
        self.dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"webm:{name}", daemon=True)
        self._thread.start()

    def put(self, command: Command) -> bool:
        """Queue ``command`` without blocking; False if the thread is too far behind."""
        if self._closed:
            return False
        try:
            self._queue.put_nowait(command)
        except queue.Full:
            self.dropped += 1
            return False
        return True

    @property
    def backlog(self) -> int:
        """Commands queued and not yet carried out."""
        return self._queue.qsize()

    def close(self) -> None:
        """Finish every queued command, close every file and end the thread (blocks: call
        it off the event loop; idempotent)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (command := self._queue.get()) is not None:
            try:
                self._do(command)
            except (av.FFmpegError, OSError, ValueError) as exc:
                # One file's failure (disk full, a muxer refusal) must not end the others.
                logger.warning("recording: %s failed: %s", type(command).__name__, exc)
                self.errors.append(f"{type(command).__name__} {command.file_id}: {exc}")
        for file_id in list(self._outputs):
            try:
                self._close(file_id)
            except (av.FFmpegError, OSError, ValueError) as exc:
                logger.warning("recording: closing file %d failed: %s", file_id, exc)
                self.errors.append(f"CloseFile {file_id}: {exc}")

    def _do(self, command: Command) -> None:
        if isinstance(command, OpenFile):
            self._open(command)
        elif isinstance(command, WritePacket):
            self._write(command)
        else:
            self._close(command.file_id)

    def _open(self, command: OpenFile) -> None:
        command.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(command.path), "w", format="webm")
        out = _Output(container)
        self._outputs[command.file_id] = out
        if command.video is not None:
            video = container.add_stream("libvpx", rate=30)
            video.width, video.height = command.video
            video.pix_fmt = "yuv420p"
            video.time_base = Fraction(1, VIDEO_CLOCK)
            out.streams["video"] = video
        if command.audio:
            audio = container.add_stream("libopus", rate=AUDIO_CLOCK)
            audio.layout = "stereo"  # Opus in WebRTC is always signalled as 2 channels
            audio.time_base = Fraction(1, AUDIO_CLOCK)
            out.streams["audio"] = audio

    def _write(self, command: WritePacket) -> None:
        out = self._outputs.get(command.file_id)
        if out is None:
            return
        stream = out.streams.get(command.kind)
        if stream is None:
            return
        if command.pts <= out.last_pts.get(command.kind, -1):
            return  # the muxer needs increasing timestamps per track
        out.last_pts[command.kind] = command.pts
        packet = av.Packet(command.data)
        packet.stream = stream
        packet.time_base = Fraction(1, VIDEO_CLOCK if command.kind == "video" else AUDIO_CLOCK)
        packet.pts = packet.dts = command.pts
        packet.is_keyframe = command.keyframe or command.kind == "audio"
        out.container.mux(packet)

    def _close(self, file_id: int) -> None:
        out = self._outputs.pop(file_id, None)
        if out is not None:
            out.container.close()
