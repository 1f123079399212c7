"""The meeting's audio on disk: the common mix as Ogg/Opus, and a JSON sidecar that ties it to the journal.

The recorder muxes the very packets the listeners receive (no second encoder). Every change of who is
heard goes into the sidecar with its journal sequence number and its offset in the audio, so a minute
entry can point at the second where its speaker began. The sidecar is rewritten (atomically) at each
change, so a crash loses at most the Ogg file's last page, never the index.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from signaling.media import codec
from signaling.media.floor_gate import GateChange

log = logging.getLogger("chibo.media")


class Recorder:
    """Files are made with the first frame: a room that never mixed a frame leaves nothing on disk."""

    def __init__(self, directory: str | os.PathLike[str], meeting_id: int, started: datetime | None = None) -> None:
        self.folder = Path(directory)
        self.meeting_id = meeting_id
        self.started = started or datetime.now(UTC)
        self.audio_path: Path | None = None
        self.index_path: Path | None = None
        self.container: Any = None
        self.stream: Any = None
        self.first_frame: int | None = None
        self.frames = 0
        self.changes: list[dict[str, Any]] = []
        self.closed = False
        self.failed = False

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        path = self.folder / f"meeting-{self.meeting_id}-{stamp}.ogg"
        suffix = 1
        while path.exists():  # a room reopened within the same second
            suffix += 1
            path = self.folder / f"meeting-{self.meeting_id}-{stamp}-{suffix}.ogg"
        self.audio_path, self.index_path = path, path.with_suffix(".json")
        self.container = av.open(str(path), "w", format="ogg")
        self.stream = self.container.add_stream("libopus", rate=codec.SAMPLE_RATE, layout="mono")

    def write(self, packet: av.Packet, frame: int) -> None:
        """One frame of the common mix (a copy is muxed: the listeners' senders still read the original).
        A recording that cannot be written (disk full, say) stops; the meeting's audio goes on."""
        if self.closed:
            return
        try:
            if self.container is None:
                self._open()
                self.first_frame = frame
                self._write_index()
            assert self.first_frame is not None
            copy = av.Packet(bytes(packet))
            copy.pts = copy.dts = (frame - self.first_frame) * codec.FRAME_SAMPLES
            copy.time_base = codec.TIME_BASE
            copy.stream = self.stream
            self.container.mux(copy)
            self.frames += 1
        except (OSError, av.FFmpegError):
            log.exception("recording of meeting %s failed: stopped", self.meeting_id)
            self.failed = True
            self.close()

    def offset_of(self, frame: int) -> float:
        """Seconds into the recording at which `frame` is heard."""
        first = self.first_frame if self.first_frame is not None else frame
        return round(max(frame - first, 0) * codec.FRAME_SECONDS, 3)

    def mark(self, change: GateChange, frame: int, at: datetime | None = None) -> None:
        self.changes.append(
            {
                "seq": change.seq,
                "kind": change.kind,
                "who": str(change.who) if change.who else None,
                "member_id": change.who.id if change.who and change.who.kind == "member" else None,
                "reason": change.reason,
                "frame": frame,
                "offset_s": self.offset_of(frame),
                "at": (at or datetime.now(UTC)).isoformat(),
            }
        )
        if self.container is not None:
            self._write_index()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.container is None:
            return
        try:
            self.container.close()
        except (OSError, av.FFmpegError):
            log.exception("closing the recording of meeting %s failed", self.meeting_id)
            self.failed = True
        finally:
            self._write_index()

    def _write_index(self) -> None:
        assert self.audio_path is not None and self.index_path is not None
        index = {
            "meeting_id": self.meeting_id,
            "audio": self.audio_path.name,
            "format": "ogg/opus, mono, 48 kHz, 20 ms frames",
            "started_at": self.started.isoformat(),
            "duration_s": round(self.frames * codec.FRAME_SECONDS, 3),
            "complete": self.closed and not self.failed,
            "changes": self.changes,
        }
        temporary = self.index_path.with_suffix(".json.tmp")
        try:
            temporary.write_text(json.dumps(index, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(temporary, self.index_path)
        except OSError:
            log.exception("the recording index of meeting %s could not be written", self.meeting_id)
            self.failed = True


@dataclass(frozen=True)
class Moment:
    """Where in a meeting's recordings a journal event can be heard."""

    audio: Path
    offset_s: float
    seq: int


def moment_of(directory: str | os.PathLike[str], meeting_id: int, seq: int) -> Moment | None:
    """The recording and second at which the floor change at or just before journal event `seq` took effect:
    for a minute entry written during a speech, the moment its speaker was given the floor (a mute meanwhile is
    in the sidecar too, but it is not where the speech begins)."""
    best: Moment | None = None
    for index_path in sorted(Path(directory).glob(f"meeting-{meeting_id}-*.json")):
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a sidecar being rewritten, or damaged: the others still answer
        for change in index.get("changes", []):
            if change.get("kind") in ("muted", "unmuted"):
                continue
            at = change.get("seq")
            if at is not None and at <= seq and (best is None or at >= best.seq):
                best = Moment(index_path.parent / index["audio"], change["offset_s"], at)
    return best
