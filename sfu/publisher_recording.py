"""One publisher's tracks into one WebM file: RTP in, timestamped frames out to the writer.

Runs on the event loop, per packet, and does no I/O itself: VP8 packets become whole frames
(sfu.vp8_depacketizer), each Opus packet is one frame already (RFC 7587 §4.2), and both get
timestamps on the recording's timeline. The file starts at a video keyframe (one is asked
for when recording starts, and again after a loss); its audio starts there too. A publisher
with no video gets an audio-only file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from sfu.track_source import TrackSource
from sfu.vp8_depacketizer import Vp8Depacketizer, Vp8Frame, keyframe_size
from sfu.vp8_layers import Vp8Descriptor
from sfu.webm_writer import AUDIO_CLOCK, VIDEO_CLOCK, CloseFile, OpenFile, WebmWriter, WritePacket

#: With no video source this long after the first audio, the file is audio-only; with no
#: audio source this long after the video's, video-only (a publisher's two tracks start
#: flowing, and so are attached, one after the other).
AUDIO_ONLY_AFTER = 1.0
VIDEO_ONLY_AFTER = 1.0
#: While no keyframe came, ask again this often (encoders may ignore a request).
KEYFRAME_RETRY = 1.0
RECORDABLE = {"video": "vp8", "audio": "opus"}  # what WebM carries (and the SFU forwards)


class FileState(Enum):
    """WAITING for the first keyframe (or audio-only decision) -> OPEN -> CLOSED."""

    WAITING = "waiting"
    OPEN = "open"
    CLOSED = "closed"


class Timeline:
    """One track's RTP timestamps (32-bit, wrapping) as ticks since the recording started.

    The first frame is placed at its arrival time; later ones follow their RTP timestamps
    (the sender's clock), so jitter in arrival does not show in the file.
    """

    def __init__(self, clock: int) -> None:
        self.clock = clock
        self._first: int | None = None
        self._last = 0
        self._offset = 0

    def pts(self, timestamp: int, since_start: float) -> int:
        if self._first is None:
            self._first = self._last = timestamp
            self._offset = round(since_start * self.clock)
            return self._offset
        delta = (timestamp - self._last) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        self._last += delta
        return self._offset + self._last - self._first


@dataclass(slots=True)
class TrackStats:
    """What the manifest says of one track of the file."""

    codec: str
    first_pts: int | None = None
    last_pts: int | None = None
    frames: int = 0
    width: int | None = None
    height: int | None = None

    def wrote(self, pts: int) -> None:
        if self.first_pts is None:
            self.first_pts = pts
        self.last_pts = pts
        self.frames += 1


class PublisherRecording:
    """Taps one publisher's sources and writes them, as they come, to one file."""

    def __init__(
        self, owner: str, file_id: int, path: Path, writer: WebmWriter, started: float
    ) -> None:
        self.owner = owner
        self.file_id = file_id
        self.path = path
        self.state = FileState.WAITING
        self.sources: dict[str, TrackSource] = {}
        #: Sources seen but not recordable (e.g. H.264 video: WebM carries VP8 here).
        self.skipped: dict[str, str] = {}
        self.first_wall_time: float | None = None
        self._writer = writer
        self._started = started  # time.monotonic() when the recording started
        self._created = time.monotonic()
        self._depacketizer = Vp8Depacketizer()
        self._timelines = {"video": Timeline(VIDEO_CLOCK), "audio": Timeline(AUDIO_CLOCK)}
        self._stats: dict[str, TrackStats] = {}
        self._asked_at = 0.0
        self.lost_to_queue = 0
        #: Frames from the first keyframe on, while the file waits for the audio to start.
        self._held: list[tuple[Vp8Frame, float]] = []

    def attach(self, source: TrackSource) -> None:
        """Record ``source`` (its first keyframe is asked for now)."""
        codec = source.codec.name.lower() if source.codec is not None else "none"
        if RECORDABLE.get(source.kind) != codec:
            self.skipped[source.kind] = codec
            return
        self.sources[source.kind] = source
        source.taps.append(self)
        if source.kind == "video" and self.state is FileState.WAITING:
            self._ask_keyframe(time.monotonic())  # the file starts at this keyframe
        if source.kind == "audio" and self._held:
            self._open_held()  # the video waited for this audio to start the file with

    def detach(self) -> None:
        for source in self.sources.values():
            if self in source.taps:
                source.taps.remove(self)

    def _ask_keyframe(self, now: float) -> None:
        source = self.sources.get("video")
        if source is not None and now - self._asked_at >= KEYFRAME_RETRY:
            self._asked_at = now
            source.request_keyframe()

    # -- per packet (PacketTap) ------------------------------------------------------

    def on_rtp(
        self,
        source: TrackSource,
        seq: int,
        timestamp: int,
        marker: bool,
        payload: bytes,
        vp8: Vp8Descriptor | None,
    ) -> None:
        if self.state is FileState.CLOSED or self.sources.get(source.kind) is not source:
            return
        now = time.monotonic()
        if source.kind == "audio":
            self._audio(timestamp, payload, now)
        elif vp8 is not None:
            for frame in self._depacketizer.push(seq, timestamp, marker, payload, vp8):
                if self.state is FileState.WAITING:
                    if not self._held and keyframe_size(frame.data) is None:
                        continue
                    # From the keyframe on, held until the publisher's audio starts too
                    # (its first packet attaches it), or VIDEO_ONLY_AFTER has passed.
                    self._held.append((frame, now))
                    if "audio" in self.sources or now - self._created >= VIDEO_ONLY_AFTER:
                        self._open_held()
                    continue
                pts = self._timelines["video"].pts(frame.timestamp, now - self._started)
                self._put("video", frame.data, pts, frame.keyframe)
            if self._depacketizer.broken or (self.state is FileState.WAITING and not self._held):
                self._ask_keyframe(now)

    def _open_held(self) -> None:
        """Open the file at the held keyframe and write the frames held since."""
        held, self._held = self._held, []
        size = keyframe_size(held[0][0].data)
        assert size is not None
        self._open(video=size)
        for frame, arrived in held:
            pts = self._timelines["video"].pts(frame.timestamp, arrived - self._started)
            self._put("video", frame.data, pts, frame.keyframe)

    def _audio(self, timestamp: int, payload: bytes, now: float) -> None:
        if self.state is FileState.WAITING:
            if "video" in self.sources or now - self._created < AUDIO_ONLY_AFTER:
                return  # the file starts at the video's first keyframe
            self._open(video=None)
        if "audio" in self._stats:
            pts = self._timelines["audio"].pts(timestamp, now - self._started)
            self._put("audio", payload, pts, False)

    def _open(self, *, video: tuple[int, int] | None) -> None:
        self.state = FileState.OPEN
        self.first_wall_time = time.time()
        audio = "audio" in self.sources
        if video is not None:
            self._stats["video"] = TrackStats("vp8", width=video[0], height=video[1])
        if audio:
            self._stats["audio"] = TrackStats("opus")
        self._writer.put(OpenFile(self.file_id, self.path, video, audio))

    def _put(self, kind: str, data: bytes, pts: int, keyframe: bool) -> None:
        stats = self._stats.get(kind)
        if stats is None or (stats.last_pts is not None and pts <= stats.last_pts):
            return
        if self._writer.put(WritePacket(self.file_id, kind, data, pts, keyframe)):
            stats.wrote(pts)
        elif kind == "video":
            # The writer fell behind: the frames after this one need it, so start again
            # at a keyframe.
            self.lost_to_queue += 1
            self._depacketizer.broken = True

    # -- end -----------------------------------------------------------------------

    def close(self) -> None:
        """Stop taking packets; the writer closes the file after what is queued."""
        if self.state is FileState.CLOSED:
            return
        self.detach()
        if self.state is FileState.OPEN:
            self._writer.put(CloseFile(self.file_id))
        self.state = FileState.CLOSED

    def manifest(self) -> dict[str, Any]:
        """This file in the recording's manifest (timestamps: seconds since its start)."""
        tracks: dict[str, Any] = {}
        for kind, stats in self._stats.items():
            clock = self._timelines[kind].clock
            entry: dict[str, Any] = {
                "codec": stats.codec,
                "frames": stats.frames,
                "first_pts": None if stats.first_pts is None else stats.first_pts / clock,
                "last_pts": None if stats.last_pts is None else stats.last_pts / clock,
            }
            if stats.width is not None:
                entry["width"], entry["height"] = stats.width, stats.height
            tracks[kind] = entry
        return {
            "participant_id": self.owner,
            "file": self.path.name if self._stats else None,
            "first_wall_time": self.first_wall_time,
            "tracks": tracks,
            "skipped": self.skipped,
            "dropped_video_frames": self._depacketizer.dropped,
            "lost_to_queue": self.lost_to_queue,
        }
