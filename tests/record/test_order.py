"""The minutes read in the order things happened within each item: speakers' opinions and the clerk's notes
interleaved as they were written, the vote and the chair's conclusion where they came; then as the clerk moved
the entries (move_entry, journaled). The documents (DOCX, HTML) follow the same order, and a sealed record, or
anyone but the clerk, cannot move anything."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from meeting import journal
from meeting.app import create_app
from meeting.context import AppContext
from meeting.db.models import Meeting
from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.domain.model import AttendanceMode, EntryKind
from meeting.errors import Rejected
from meeting.record import seal
from meeting.record.html import render_html
from tests.factories import SeededBranch, seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text
from tests.record.test_minutes import START
from tests.record.test_seal import Caller, seal_it

OPINION_A = "Đề nghị làm rõ trách nhiệm thu đảng phí."
NOTE_BETWEEN = "Đồng chí Bí thư đọc tờ trình của Đảng ủy xã."
OPINION_B = "Nhất trí, đề nghị bổ sung kế hoạch khuyến học."
NOTE_AFTER = "Thư ký ghi nhận: các ý kiến thống nhất với dự thảo."
QUESTION = "Thông qua dự thảo"
CONCLUSION = "Chủ trì kết luận: tiếp thu các ý kiến."


@dataclass
class Discussed:
    meeting_id: int
    item_id: str
    speakers: tuple[int, int]


def discuss(context: AppContext, branch: SeededBranch) -> Discussed:
    """Two speakers; a note read between them; a note written after them; a vote; the chair's conclusion."""
    service, meeting_id = context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    a, b = branch.officials[2], branch.officials[3]
    service.open(meeting_id)
    for member in (branch.chair, branch.clerk, a, b):
        service.execute(meeting_id, c.CheckIn(member_id=member, mode=AttendanceMode.IN_PERSON), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    item = branch.item_ids[3]
    service.execute(meeting_id, c.OpenItem(item_id=item), chair)

    def write(entry_id: str, text: str, kind: EntryKind, speaker: int | None = None) -> None:
        command = c.WriteEntry(entry_id=entry_id, item_id=item, text=text, kind=kind, speaker_id=speaker)
        service.execute(meeting_id, command, clerk)

    service.execute(meeting_id, c.GrantFloor(member_id=a), chair)
    write("op-a", OPINION_A, EntryKind.OPINION, a)
    write("note-between", NOTE_BETWEEN, EntryKind.NOTE)
    service.execute(meeting_id, c.GrantFloor(member_id=b), chair)
    write("op-b", OPINION_B, EntryKind.OPINION, b)
    service.execute(meeting_id, c.RevokeFloor(), chair)
    write("note-after", NOTE_AFTER, EntryKind.NOTE)
    service.execute(meeting_id, c.OpenVote(vote_id="v-draft", question=QUESTION), chair)
    service.execute(meeting_id, c.CloseVote(vote_id="v-draft"), chair)
    service.execute(meeting_id, c.ConcludeItem(item_id=item, text=CONCLUSION), chair)
    return Discussed(meeting_id, item, (a, b))


def documents(context: AppContext, meeting_id: int) -> tuple[list[str], str, str]:
    """The item's parts as the draft has them, and the DOCX and HTML text."""
    with context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        draft = seal.make_draft(session, meeting, journal.read(session, meeting_id), None)
        layout = seal.draft_layout(session, draft, None)
        docx = docx_text(seal.render(layout, "docx", sc.now(), "test"))
        html = render_html(layout)
    item = next(i for i in draft.minutes.items if i.entries)
    return [f"{p.kind}:{p.ref}" for p in item.parts], docx, html


def positions(text: str, *needles: str) -> list[int]:
    return [text.index(needle) for needle in needles]


def clerk(branch: SeededBranch) -> Actor:
    return Actor.member(branch.clerk)


WRITTEN = ["entry:op-a", "entry:note-between", "entry:op-b", "entry:note-after", "vote:v-draft"]


def test_an_items_minutes_read_in_the_order_they_were_written(context: AppContext, branch: SeededBranch):
    held = discuss(context, branch)
    parts, docx, html = documents(context, held.meeting_id)
    assert parts == [*WRITTEN, f"conclusion:{held.item_id}"]
    for text in (docx, html):
        # The note written after the speakers stands after them, the vote and the conclusion after it.
        at = positions(text, OPINION_A, NOTE_BETWEEN, OPINION_B, NOTE_AFTER, f"«{QUESTION}»", CONCLUSION)
        assert at == sorted(at), text
        assert text.count("Ý kiến phát biểu:") == 1


def test_the_record_follows_the_clerks_moves(context: AppContext, branch: SeededBranch):
    held = discuss(context, branch)
    service = context.service
    for entry_id, direction in (("note-after", "up"), ("note-after", "up"), ("op-a", "down")):
        service.execute(held.meeting_id, c.MoveEntry(entry_id=entry_id, direction=direction), clerk(branch))
    parts, docx, html = documents(context, held.meeting_id)
    expected = ["entry:note-after", "entry:op-a", "entry:note-between", "entry:op-b", "vote:v-draft"]
    assert parts == [*expected, f"conclusion:{held.item_id}"]
    for text in (docx, html):
        at = positions(text, NOTE_AFTER, OPINION_A, NOTE_BETWEEN, OPINION_B, f"«{QUESTION}»", CONCLUSION)
        assert at == sorted(at), text
    # A move past the vote: the entry now reads after it.
    service.execute(held.meeting_id, c.MoveEntry(entry_id="op-b", direction="down"), clerk(branch))
    parts, docx, _ = documents(context, held.meeting_id)
    assert parts[3:5] == ["vote:v-draft", "entry:op-b"]
    assert docx.index(f"«{QUESTION}»") < docx.index(OPINION_B) < docx.index(CONCLUSION)
    # The journal holds the moves: a cold service rebuilds the same order.
    state, _ = service.state(held.meeting_id)
    service.forget(held.meeting_id)
    assert service.state(held.meeting_id)[0].minute_order == state.minute_order


def test_moves_at_the_edges_and_by_others_are_refused_and_change_nothing(context: AppContext, branch: SeededBranch):
    held = discuss(context, branch)
    service = context.service
    _, seq = service.state(held.meeting_id)
    refusals = [
        (c.MoveEntry(entry_id="op-a", direction="up"), clerk(branch), "entry_already_first"),
        (c.MoveEntry(entry_id="no-such", direction="up"), clerk(branch), "unknown_entry"),
        (c.MoveEntry(entry_id="op-b", direction="up"), Actor.member(branch.chair), "clerk_only"),
        (c.MoveEntry(entry_id="op-b", direction="up"), Actor.member(held.speakers[0]), "clerk_only"),
    ]
    for command, actor, code in refusals:
        with pytest.raises(Rejected) as refused:
            service.execute(held.meeting_id, command, actor)
        assert refused.value.code == code
    # An entry written after the conclusion stands last: it can go no further down.
    service.execute(held.meeting_id, c.WriteEntry(entry_id="late", item_id=held.item_id, text="Bổ sung"), clerk(branch))
    with pytest.raises(Rejected) as refused:
        service.execute(held.meeting_id, c.MoveEntry(entry_id="late", direction="down"), clerk(branch))
    assert refused.value.code == "entry_already_last"
    assert service.state(held.meeting_id)[1] == seq + 1  # only the write was appended


def test_over_http_a_move_is_the_clerks_and_a_sealed_record_refuses_it(context: AppContext):
    branch = seed_branch(context.sessions, officials=7, with_logins=True)
    sc.give_names(context, branch)
    held = sc.hold_meeting(context, branch, start=START)
    client = TestClient(create_app(context=context))
    callers = {
        role: Caller(client, branch.usernames[member])
        for role, member in (("chair", branch.chair), ("clerk", branch.clerk))
    }
    url = f"/api/meetings/{held.meeting_id}/commands"
    last_opinion = held.entry_ids[-1]  # the third speaker's opinion, after two others in the discussion

    def move(caller: Caller, direction: str = "up"):
        command = {"type": "move_entry", "entry_id": last_opinion, "direction": direction}
        return client.post(url, json={"command": command}, headers=caller.headers)

    by_chair = move(callers["chair"])
    assert (by_chair.status_code, by_chair.json()["error"]["code"]) == (403, "clerk_only")
    assert move(callers["clerk"]).status_code == 200  # the meeting has ended; the minutes may still be put in order
    record = client.get(f"/api/meetings/{held.meeting_id}/record", headers=callers["clerk"].headers).json()
    discussion = next(item for item in record["minutes"]["items"] if item["kind"] == "discussion")
    assert [e["entry_id"] for e in discussion["entries"]][-2:] == [last_opinion, held.entry_ids[-2]]
    sealed = seal_it(client, held, callers)
    refused = move(callers["clerk"], "down")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "record_sealed")
    with pytest.raises(Rejected) as direct:
        context.service.execute(held.meeting_id, c.MoveEntry(entry_id=last_opinion, direction="down"), clerk(branch))
    assert direct.value.code == "record_sealed"
    assert context.service.state(held.meeting_id)[1] == sealed["journal_seq"]  # nothing appended
