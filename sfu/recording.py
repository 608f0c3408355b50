"""A room's recording: one WebM file (VP8 + Opus) per publisher, and a JSON manifest.

The forwarded packets are muxed as they are: never decoded, never encoded (sfu.webm_writer).
Files and manifest go to ``<directory>/<room id>/<recording id>/``. Every file shares the
recording's timeline: a timestamp is seconds since the recording started, so the files of
one recording line up with each other (the manifest's ``started_at`` is that instant's
wall-clock time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from enum import Enum
from pathlib import Path
from typing import Any

from sfu.publisher_recording import PublisherRecording
from sfu.track_source import TrackSource
from sfu.webm_writer import WebmWriter

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class RecordingState(Enum):
    """RECORDING -> STOPPED (by the API, or the room emptying)."""

    RECORDING = "recording"
    STOPPED = "stopped"


class Recording:
    """Records every publisher of one media room, from ``add_source`` until ``stop``."""

    def __init__(self, room_id: str, recording_id: str, directory: Path) -> None:
        """Start recording into ``directory``; raises OSError if it cannot be created."""
        self.room_id = room_id
        self.id = recording_id
        self.directory = directory / _UNSAFE.sub("_", room_id) / _UNSAFE.sub("_", recording_id)
        # Here, so a directory that cannot be written refuses the start (OSError), instead
        # of every file failing later.
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state = RecordingState.RECORDING
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self._started = time.monotonic()
        self._writer = WebmWriter(f"{room_id}/{recording_id}")
        self._files: list[PublisherRecording] = []
        self._current: dict[str, PublisherRecording] = {}  # owner -> its latest file
        self._stop_lock = asyncio.Lock()
        self._manifest: dict[str, Any] | None = None

    def add_source(self, source: TrackSource) -> None:
        """Record ``source`` too (a ready one: its codec is known)."""
        if self.state is not RecordingState.RECORDING:
            return
        current = self._current.get(source.owner)
        if current is None or source.kind in current.sources or source.kind in current.skipped:
            # A publisher's first track, or it came back on a new connection: a new file.
            count = sum(1 for f in self._files if f.owner == source.owner)
            name = _UNSAFE.sub("_", source.owner) + (f"-{count + 1}" if count else "") + ".webm"
            current = PublisherRecording(
                source.owner, len(self._files), self.directory / name, self._writer,
                self._started,
            )
            self._files.append(current)
            self._current[source.owner] = current
        current.attach(source)

    def status(self) -> dict[str, Any]:
        """Where the recording stands (the API's view while it runs)."""
        return {
            "id": self.id,
            "room": self.room_id,
            "state": self.state.value,
            "started_at": self.started_at,
            "directory": str(self.directory),
            "publishers": sorted({f.owner for f in self._files}),
        }

    async def stop(self) -> dict[str, Any]:
        """Close every file, write the manifest, return it (idempotent: the same manifest)."""
        async with self._stop_lock:
            if self._manifest is None:
                self._manifest = await self._stop()
        return self._manifest

    async def _stop(self) -> dict[str, Any]:
        self.state = RecordingState.STOPPED
        self.stopped_at = time.time()
        for file in self._files:
            file.close()
        # Joining the thread waits for the queued frames to be written: not on the loop.
        await asyncio.to_thread(self._writer.close)
        manifest = {
            **self.status(),
            "stopped_at": self.stopped_at,
            "duration": self.stopped_at - self.started_at,
            "timestamps": "seconds since started_at",
            "files": [f.manifest() for f in self._files],
            "errors": list(self._writer.errors),
            "lost_to_queue": self._writer.dropped,
        }
        try:
            await asyncio.to_thread(self._write_manifest, manifest)
        except OSError as exc:  # a full or read-only disk: the API still answers with it
            logger.warning("recording %s: manifest not written: %s", self.id, exc)
            manifest["errors"].append(f"manifest: {exc}")
        logger.info("recording %s of room %s stopped: %d files in %s", self.id, self.room_id,
                    sum(1 for f in self._files if f.manifest()["file"]), self.directory)
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / MANIFEST
        path.write_text(json.dumps(manifest, indent=2) + "\n")
