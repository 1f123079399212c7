"""Minutes rules: entries tied to an item and a speaker, written and revised by the clerk, every revision kept."""

import pytest

from meeting.domain import commands as c
from meeting.domain.model import EntryKind
from tests.domain.builders import (
    CHAIR,
    CLERK,
    DISCUSSION,
    HALL,
    NOT_IN_ROSTER,
    OPENING,
    SYSTEM,
    T0,
    Meeting,
    started,
    types,
)


def write(entry_id: str = "e1", text: str = "Đồng chí 3 đề nghị tăng cường sinh hoạt", **extra) -> c.WriteEntry:
    return c.WriteEntry(entry_id=entry_id, item_id=extra.pop("item_id", DISCUSSION), text=text, **extra)


def test_minute_entry_is_tied_to_an_item_and_a_speaker():
    meeting = started(3, item=DISCUSSION)
    events = meeting.do(write(speaker_id=3), CLERK)
    assert types(events) == ["entry_written"] and events[0].by == CLERK
    entry = meeting.state.minutes["e1"]
    assert (entry.item_id, entry.speaker_id, entry.kind) == (DISCUSSION, 3, EntryKind.OPINION)
    assert entry.text == "Đồng chí 3 đề nghị tăng cường sinh hoạt"


def test_minute_entry_may_have_no_speaker():
    meeting = started(item=OPENING)
    meeting.do(write(item_id=OPENING, kind=EntryKind.NOTE, text="Khai mạc lúc 7 giờ 30"), CLERK)
    entry = meeting.state.minutes["e1"]
    assert (entry.speaker_id, entry.kind) == (None, EntryKind.NOTE)


def test_minutes_may_be_written_for_any_item_of_the_agenda():
    meeting = started(item=OPENING)
    meeting.do(write(item_id=DISCUSSION), CLERK)  # written ahead of the item (a report read out, a note)
    assert meeting.state.minutes["e1"].item_id == DISCUSSION
    assert meeting.refuse(write("e2", item_id="no-such-item"), CLERK) == "unknown_item"


@pytest.mark.parametrize("who", [CHAIR, 3, HALL, SYSTEM])
def test_only_clerk_writes_the_minutes(who):
    meeting = started(3, item=DISCUSSION)
    assert meeting.refuse(write(), who) == "clerk_only"


@pytest.mark.parametrize("who", [CHAIR, 3, HALL, SYSTEM])
def test_only_clerk_revises_the_minutes(who):
    meeting = started(3, item=DISCUSSION)
    meeting.do(write(), CLERK)
    assert meeting.refuse(c.ReviseEntry(entry_id="e1", text="Sửa"), who) == "clerk_only"


def test_speaker_must_be_on_the_roster():
    meeting = started(item=DISCUSSION)
    assert meeting.refuse(write(speaker_id=NOT_IN_ROSTER), CLERK) == "not_in_roster"
    meeting.do(write(speaker_id=3), CLERK)
    assert meeting.refuse(c.ReviseEntry(entry_id="e1", text="x", speaker_id=NOT_IN_ROSTER), CLERK) == "not_in_roster"


def test_an_entry_id_is_used_once():
    meeting = started(item=DISCUSSION)
    meeting.do(write(), CLERK)
    assert meeting.refuse(write(text="Một mục khác"), CLERK) == "entry_exists"


def test_every_minute_revision_is_kept():
    meeting = started(3, 4, item=DISCUSSION)
    meeting.do(write(speaker_id=3, text="Bản đầu"), CLERK)
    meeting.advance(30)
    meeting.do(c.ReviseEntry(entry_id="e1", text="Bản sửa lần một"), CLERK)
    meeting.advance(30)
    meeting.do(c.ReviseEntry(entry_id="e1", text="Bản sửa lần hai", speaker_id=4), CLERK)
    entry = meeting.state.minutes["e1"]
    assert [r.text for r in entry.revisions] == ["Bản đầu", "Bản sửa lần một", "Bản sửa lần hai"]
    assert [r.by for r in entry.revisions] == [CLERK, CLERK, CLERK]
    assert [r.at for r in entry.revisions] == sorted(r.at for r in entry.revisions)
    assert entry.revisions[0].at == T0.isoformat()
    assert (entry.text, entry.speaker_id) == ("Bản sửa lần hai", 4)


def test_revision_keeps_the_speaker_unless_it_names_another():
    meeting = started(3, item=DISCUSSION)
    meeting.do(write(speaker_id=3), CLERK)
    events = meeting.do(c.ReviseEntry(entry_id="e1", text="Nội dung sửa"), CLERK)
    assert events[0].speaker_id == 3
    assert meeting.state.minutes["e1"].speaker_id == 3


def test_revision_that_changes_nothing_is_refused():
    meeting = started(3, item=DISCUSSION)
    meeting.do(write(speaker_id=3, text="Như cũ"), CLERK)
    assert meeting.refuse(c.ReviseEntry(entry_id="e1", text="Như cũ"), CLERK) == "entry_unchanged"
    assert meeting.refuse(c.ReviseEntry(entry_id="e1", text="Như cũ", speaker_id=3), CLERK) == "entry_unchanged"
    meeting.do(c.ReviseEntry(entry_id="e1", text="Như cũ", speaker_id=4), CLERK)  # only the speaker changes
    assert len(meeting.state.minutes["e1"].revisions) == 2


def test_unknown_entry_cannot_be_revised():
    meeting = started(item=DISCUSSION)
    assert meeting.refuse(c.ReviseEntry(entry_id="nope", text="x"), CLERK) == "unknown_entry"


def test_minutes_may_still_be_completed_after_the_meeting_ends():
    meeting = started(3, item=DISCUSSION)
    meeting.do(write(speaker_id=3), CLERK)
    meeting.do(c.EndMeeting(), CHAIR)
    meeting.do(write("e2", item_id=OPENING, kind=EntryKind.NOTE, text="Bế mạc lúc 10 giờ"), CLERK)
    meeting.do(c.ReviseEntry(entry_id="e1", text="Bản hoàn chỉnh"), CLERK)
    assert meeting.state.minutes["e1"].text == "Bản hoàn chỉnh"
    assert set(meeting.state.minutes) == {"e1", "e2"}
    assert meeting.refuse(write("e3"), CHAIR) == "clerk_only"  # still only the clerk


def test_minutes_may_be_written_before_the_meeting_starts():
    meeting = Meeting()
    meeting.do(write(item_id=OPENING, kind=EntryKind.NOTE, text="Chuẩn bị"), CLERK)
    assert "e1" in meeting.state.minutes
