"""The minutes (biên bản) of a meeting, assembled from its journal.

`assemble` is pure: the journal's recorded events plus a `RecordContext` give a `Minutes` value. It folds the
events as `evolve` does, and keeps what the state forgets: when each item opened and closed, who was given the
floor when, who arrived late and who left early. `gather_context` reads the rest from the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meeting.calendar_vn import VN_TZ
from meeting.db.models import Branch, Meeting, Member
from meeting.domain import events as ev
from meeting.domain.evolve import evolve
from meeting.domain.model import (
    Attendance,
    AttendanceMode,
    AttendanceStatus,
    Category,
    MeetingState,
    VoteStatus,
    frozen_map,
)
from meeting.domain.rules import quorum
from meeting.journal import GENESIS, RecordedEvent
from meeting.record.model import (
    Absentee,
    AttendanceFigures,
    Entry,
    Header,
    ItemRecord,
    Minutes,
    Moment,
    Part,
    Person,
    RecordContext,
    RecordingFile,
    RecordingLink,
    VoteRecord,
)

BRANCH_MEMBERS = frozenset({Category.OFFICIAL, Category.PROBATIONARY, Category.EXEMPT})
ATTENDED = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LEFT})


def assemble(recorded: Sequence[RecordedEvent], context: RecordContext) -> Minutes:
    """The minutes as the journal tells them (the whole journal given, in sequence order)."""
    if not recorded:
        raise ValueError("an empty journal has no minutes")
    state = MeetingState(meeting_id=recorded[0].meeting_id)
    opened_at: dict[str, str] = {}
    closed_at: dict[str, str] = {}
    entry_seq: dict[str, int] = {}
    grants: dict[tuple[str, int], list[tuple[int, str]]] = {}  # (item id, member id) -> [(seq, at)]
    left_at: dict[int, str] = {}
    for r in recorded:
        event = r.event
        if isinstance(event, ev.ItemOpened):
            opened_at.setdefault(event.item_id, event.at)
        elif isinstance(event, ev.ItemClosed):
            closed_at[event.item_id] = event.at
        elif isinstance(event, ev.EntryWritten):
            entry_seq[event.entry_id] = r.seq
        elif isinstance(event, ev.FloorGranted):
            grants.setdefault((event.item_id, event.member_id), []).append((r.seq, event.at))
        elif isinstance(event, ev.Left):
            left_at[event.member_id] = event.at
        elif isinstance(event, ev.CheckedIn):
            left_at.pop(event.member_id, None)
        state = evolve(state, event)

    def person(member_id: int | None) -> Person | None:
        if member_id is None or member_id not in state.roster:
            return None
        return Person(member_id=member_id, name=state.roster[member_id].name)

    def entry_of(entry_id: str) -> Entry:
        entry = state.minutes[entry_id]
        at, recording = entry.revisions[0].at, None
        if entry.speaker_id is not None:
            # The speaker's latest turn on this item before the entry was written: its time, and its audio.
            written = entry_seq[entry_id]
            turns = [t for t in grants.get((entry.item_id, entry.speaker_id), ()) if t[0] < written]
            if turns:
                at = turns[-1][1]
                recording = context.recordings.get(turns[-1][0])
        speaker = person(entry.speaker_id)
        return Entry(
            entry_id=entry.id,
            kind=entry.kind.value,
            speaker_id=entry.speaker_id,
            speaker=speaker.name if speaker else None,
            text=entry.text,
            at=at,
            revisions=len(entry.revisions),
            recording=recording,
        )

    votes = {vote_id: _vote_record(state, vote_id, recorded) for vote_id in state.votes}
    items = []
    for number, item in enumerate(state.agenda, 1):
        # What the item's minutes say in the order the journal has them: as it happened, then as the clerk moved it.
        parts = [Part(kind=place.kind, ref=place.ref) for place in state.minutes_of(item.id)]
        items.append(
            ItemRecord(
                number=number,
                item_id=item.id,
                title=item.title,
                kind=item.kind,
                status=item.status.value,
                opened_at=opened_at.get(item.id),
                closed_at=closed_at.get(item.id),
                entries=[entry_of(part.ref) for part in parts if part.kind == "entry"],
                conclusion=item.conclusion,
                votes=[votes[part.ref] for part in parts if part.kind == "vote"],
                review=context.review if item.kind == "review" else [],
                parts=parts,
            )
        )
    adoption = next(
        (v for item in reversed(items) if item.kind == "minutes" for v in reversed(item.votes) if v.closed_at), None
    )
    guests = [
        Person(member_id=p.member_id, name=p.name)
        for p in state.roster.values()
        if p.category == Category.GUEST and state.attendance_of(p.member_id).status in ATTENDED
    ]
    return Minutes(
        meeting_id=state.meeting_id,
        header=context.header,
        title=state.title,
        kind=state.kind.value,
        place=state.place,
        scheduled_at=state.scheduled_at,
        started_at=state.started_at,
        ended_at=state.ended_at,
        chair=person(state.chair_id),
        clerk=person(state.clerk_id),
        guests=guests,
        attendance=_attendance(state, left_at),
        items=items,
        resolutions=context.resolutions,
        adoption=adoption,
        journal_seq=recorded[-1].seq,
        journal_head=recorded[-1].hash if recorded else GENESIS,
        recordings=context.recording_files,
    )


def _vote_record(state: MeetingState, vote_id: str, recorded: Sequence[RecordedEvent]) -> VoteRecord:
    vote = state.votes[vote_id]
    closed_at = None
    if vote.status == VoteStatus.CLOSED:
        closed_at = next(
            r.event.at for r in reversed(recorded) if isinstance(r.event, ev.VoteClosed) and r.event.vote_id == vote_id
        )
    result = vote.result
    hall = vote.hall_count
    return VoteRecord(
        vote_id=vote.id,
        question=vote.question,
        opened_at=vote.opened_at,
        closed_at=closed_at,
        votes_for=result.votes_for if result else 0,
        votes_against=result.votes_against if result else 0,
        votes_abstain=result.votes_abstain if result else 0,
        not_voting=result.not_voting if result else 0,
        basis=result.basis if result else 0,
        passed=bool(result and result.passed),
        majority_rule=state.rules.majority.describe(),
        hall_for=hall.votes_for if hall else None,
        hall_against=hall.votes_against if hall else None,
        hall_abstain=hall.votes_abstain if hall else None,
        online_ballots=len(vote.ballots),
    )


def _attendance(state: MeetingState, left_at: dict[int, str]) -> AttendanceFigures:
    members = [p for p in state.roster.values() if p.category in BRANCH_MEMBERS]
    came = [p for p in members if state.attendance_of(p.member_id).status in ATTENDED]
    online = [p for p in came if state.attendance_of(p.member_id).mode == AttendanceMode.REMOTE]
    excused, unexcused, exempt_away = [], [], []
    for p in members:
        record = state.attendance_of(p.member_id)
        if record.status in ATTENDED:
            continue
        if p.category == Category.EXEMPT:
            exempt_away.append(Person(member_id=p.member_id, name=p.name))
        elif record.status == AttendanceStatus.ABSENT_EXCUSED:
            excused.append(Absentee(member_id=p.member_id, name=p.name, reason=record.reason))
        else:  # marked absent without a reason, or never came
            unexcused.append(Absentee(member_id=p.member_id, name=p.name))
    # The quorum over everyone who attended the meeting (a member who left had been counted when present).
    attended = {
        member_id: replace(record, status=AttendanceStatus.PRESENT) if record.status in ATTENDED else record
        for member_id, record in state.attendance.items()
    }
    figures = quorum(replace(state, attendance=frozen_map(attended)))
    late = [
        Moment(member_id=p.member_id, name=p.name, at=_arrival(state.attendance_of(p.member_id)))
        for p in came
        if state.attendance_of(p.member_id).late
    ]
    left_early = [
        Moment(member_id=p.member_id, name=p.name, at=left_at[p.member_id])
        for p in came
        if state.attendance_of(p.member_id).status == AttendanceStatus.LEFT and p.member_id in left_at
    ]
    return AttendanceFigures(
        total=len(members),
        official=sum(1 for p in members if p.category in (Category.OFFICIAL, Category.EXEMPT)),
        probationary=sum(1 for p in members if p.category == Category.PROBATIONARY),
        exempt=sum(1 for p in members if p.category == Category.EXEMPT),
        present=len(came),
        present_in_room=len(came) - len(online),
        present_online=len(online),
        absent_excused=excused,
        absent_unexcused=unexcused,
        exempt_not_attending=exempt_away,
        late=late,
        left_early=left_early,
        quorum_rule=figures.rule,
        quorum_eligible=figures.eligible,
        quorum_present=figures.present,
        quorum_required=figures.required,
        quorum_met=figures.met,
    )


def _arrival(record: Attendance) -> str:
    return record.first_arrived_at or ""


# -- what the journal does not hold -------------------------------------------------------------------------------
_ORG_PREFIX = re.compile(r"^(đảng\s+bộ|đảng\s+ủy|đảng\s+uỷ|chi\s+bộ)\s+", re.IGNORECASE)
_UNIT_PREFIX = re.compile(r"^(xã|phường|thị\s+trấn|thôn|ấp|bản|tổ\s+dân\s+phố|khu\s+phố)\s+", re.IGNORECASE)


def locality_of(organisation: str, fallback: str = "") -> str:
    """The place named in the date line: "Đảng bộ xã Tân Lập" -> "Tân Lập"."""
    name = _UNIT_PREFIX.sub("", _ORG_PREFIX.sub("", organisation.strip())).strip()
    return name or fallback


def document_number(session: Session, meeting: Meeting) -> str:
    """The minutes' number: the meeting's rank among the branch's meetings of its year ("05-BB/CB")."""
    local = _aware(meeting.scheduled_at).astimezone(VN_TZ)
    start = datetime(local.year, 1, 1, tzinfo=VN_TZ)
    rank = session.scalar(
        select(func.count())
        .select_from(Meeting)
        .where(
            Meeting.branch_id == meeting.branch_id,
            Meeting.scheduled_at >= start,
            (Meeting.scheduled_at < meeting.scheduled_at)
            | ((Meeting.scheduled_at == meeting.scheduled_at) & (Meeting.id <= meeting.id)),
        )
    )
    return f"{int(rank or 1):02d}-BB/CB"


def header_for(session: Session, meeting: Meeting) -> Header:
    branch = session.get(Branch, meeting.branch_id)
    chair = session.get(Member, meeting.chair_id) if meeting.chair_id else None
    organisation = branch.organisation if branch else ""
    return Header(
        organisation=organisation,
        branch_name=branch.name if branch else "",
        locality=locality_of(organisation, fallback=meeting.place),
        number=document_number(session, meeting),
        chair_role=chair.role if chair is not None else "member",
    )


def recording_links(recordings_dir: str | None, meeting_id: int) -> dict[int, RecordingLink]:
    """Where each floor grant's audio starts, from the recorder's sidecar files (meeting-<id>-<stamp>.json)."""
    links: dict[int, RecordingLink] = {}
    if not recordings_dir:
        return links
    folder = Path(recordings_dir)
    if not folder.is_dir():
        return links
    for sidecar in sorted(folder.glob(f"meeting-{meeting_id}-*.json")):
        try:
            index = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a half-written or foreign file is no reason to refuse the minutes
        for change in index.get("changes", []):
            seq, offset = change.get("seq"), change.get("offset_s")
            if isinstance(seq, int) and isinstance(offset, int | float) and seq not in links:
                links[seq] = RecordingLink(
                    audio=str(index.get("audio", sidecar.with_suffix(".ogg").name)), offset_s=offset
                )
    return links


def recording_files(recordings_dir: str | None, meeting_id: int) -> list[RecordingFile]:
    """The meeting's audio files as the recorder's sidecars name them, in the order they were recorded (the file
    names carry the start time), each with its size and SHA-256 as it is on disk now."""
    files: dict[str, RecordingFile] = {}
    if not recordings_dir or not Path(recordings_dir).is_dir():
        return []
    folder = Path(recordings_dir)
    for sidecar in sorted(folder.glob(f"meeting-{meeting_id}-*.json")):
        try:
            index = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        name = str(index.get("audio", sidecar.with_suffix(".ogg").name))
        if name in files:
            continue
        duration = index.get("duration_s")
        # The duration the recorder wrote is true only once it closed the file; before that it is a past count.
        known = isinstance(duration, int | float) and index.get("complete") is True
        audio = folder / Path(name).name  # a name, never a path out of the folder
        size, digest = _size_and_sha256(audio)
        files[name] = RecordingFile(name=name, duration_s=duration if known else None, size=size, sha256=digest)
    return list(files.values())


_DIGESTS: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> SHA-256: each draft would hash hours of audio


def _size_and_sha256(path: Path) -> tuple[int | None, str | None]:
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _DIGESTS:
            if len(_DIGESTS) > 256:  # a live recording changes with every draft: forget the old ones
                _DIGESTS.clear()
            digest = hashlib.sha256()
            with path.open("rb") as audio:
                while chunk := audio.read(1 << 20):
                    digest.update(chunk)
            _DIGESTS[key] = digest.hexdigest()
        return stat.st_size, _DIGESTS[key]
    except OSError:
        return None, None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = ["assemble", "document_number", "header_for", "locality_of", "recording_files", "recording_links"]
