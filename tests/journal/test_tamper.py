"""The journal is tamper-evident: any change to a stored row makes `journal.verify` fail, on both databases.

Each test writes a short real meeting through the service, then edits the `journal` table behind its back
with plain SQL, as someone with access to the database could.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from meeting import journal
from meeting.context import AppContext
from meeting.domain import Actor
from meeting.domain import commands as c
from tests.factories import SeededBranch


def hold_a_short_meeting(context: AppContext, branch: SeededBranch) -> int:
    """Attendance, an item, a speaker, a minute entry and its revision, a vote. Returns the journal length."""
    service, meeting_id = context.service, branch.meeting_id
    chair, clerk = Actor.member(branch.chair), Actor.member(branch.clerk)
    speaker = branch.officials[2]
    for member_id in branch.officials:
        service.execute(meeting_id, c.CheckIn(member_id=member_id, mode="in_person"), clerk)
    service.execute(meeting_id, c.StartMeeting(), chair)
    item = branch.item_ids[0]
    service.execute(meeting_id, c.OpenItem(item_id=item), chair)
    service.execute(meeting_id, c.RaiseHand(), Actor.member(speaker))
    service.execute(meeting_id, c.NextSpeaker(), chair)
    service.execute(meeting_id, c.WriteEntry(entry_id="e1", item_id=item, text="Đồng ý.", speaker_id=speaker), clerk)
    service.execute(meeting_id, c.ReviseEntry(entry_id="e1", text="Đồng ý với báo cáo."), clerk)
    service.execute(meeting_id, c.OpenVote(vote_id="v1", question="Thông qua báo cáo?"), chair)
    service.execute(meeting_id, c.RecordHallCount(vote_id="v1", votes_for=5, votes_against=1, votes_abstain=0), clerk)
    service.execute(meeting_id, c.CloseVote(vote_id="v1"), chair)
    return service.state(meeting_id)[1]


def verification(context: AppContext, meeting_id: int) -> journal.Verification:
    with context.sessions() as session:
        return journal.verify(session, meeting_id)


def seq_of(connection: Connection, meeting_id: int, event_type: str) -> int:
    return connection.execute(
        text("SELECT min(seq) FROM journal WHERE meeting_id = :m AND type = :t"), {"m": meeting_id, "t": event_type}
    ).scalar_one()


# Each tampering returns the sequence number of the first row `verify` must find wrong.
def edit_payload(connection: Connection, meeting_id: int) -> int:
    """Rewrite what a speaker said in the minutes (the payload stays valid JSON of a valid event)."""
    seq = seq_of(connection, meeting_id, "entry_written")
    payload = connection.execute(
        text("SELECT payload FROM journal WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq}
    ).scalar_one()
    data = json.loads(payload)
    data["text"] = "Không đồng ý."
    connection.execute(
        text("UPDATE journal SET payload = :p WHERE meeting_id = :m AND seq = :s"),
        {"p": journal.canonical(data).decode(), "m": meeting_id, "s": seq},
    )
    return seq


def edit_payload_and_its_hash(connection: Connection, meeting_id: int) -> int:
    """The same edit, with the edited row's own hash recomputed: the next row's link gives it away."""
    seq = edit_payload(connection, meeting_id)
    row = connection.execute(
        text("SELECT * FROM journal WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq}
    ).one()
    digest = journal.chain_hash(
        meeting_id=meeting_id,
        seq=seq,
        type=row.type,
        at=row.at,
        actor=row.actor,
        command_id=row.command_id,
        payload=row.payload,
        prev_hash=row.prev_hash,
    )
    connection.execute(
        text("UPDATE journal SET hash = :h WHERE meeting_id = :m AND seq = :s"),
        {"h": digest, "m": meeting_id, "s": seq},
    )
    return seq + 1


def edit_vote_figures(connection: Connection, meeting_id: int) -> int:
    """Change the result of a vote in the `vote_closed` event."""
    seq = seq_of(connection, meeting_id, "vote_closed")
    payload = connection.execute(
        text("SELECT payload FROM journal WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq}
    ).scalar_one()
    data = json.loads(payload)
    data["votes_for"], data["votes_against"] = data["votes_against"], data["votes_for"]
    connection.execute(
        text("UPDATE journal SET payload = :p WHERE meeting_id = :m AND seq = :s"),
        {"p": journal.canonical(data).decode(), "m": meeting_id, "s": seq},
    )
    return seq


def edit_actor(connection: Connection, meeting_id: int) -> int:
    """Say someone else wrote the minute entry (a column outside the payload)."""
    seq = seq_of(connection, meeting_id, "entry_written")
    connection.execute(
        text("UPDATE journal SET actor = 'member:999' WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq}
    )
    return seq


def delete_a_row(connection: Connection, meeting_id: int) -> int:
    """Remove the revision of the minute entry, as if it had never been revised."""
    seq = seq_of(connection, meeting_id, "entry_revised")
    connection.execute(text("DELETE FROM journal WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq})
    return seq


def delete_the_last_row(connection: Connection, meeting_id: int) -> int:
    """Cut the vote's closing off the end of the journal: the chain that remains is intact in itself."""
    seq = connection.execute(text("SELECT max(seq) FROM journal WHERE meeting_id = :m"), {"m": meeting_id}).scalar_one()
    connection.execute(text("DELETE FROM journal WHERE meeting_id = :m AND seq = :s"), {"m": meeting_id, "s": seq})
    return seq  # the chain before it is intact in itself: what fails is the length the meeting recorded


def swap_two_rows(connection: Connection, meeting_id: int) -> int:
    """Exchange the places of the minute entry and its revision (through a free sequence number)."""
    first = seq_of(connection, meeting_id, "entry_written")
    second = seq_of(connection, meeting_id, "entry_revised")
    parking = -1
    for old, new in ((first, parking), (second, first), (parking, second)):
        connection.execute(
            text("UPDATE journal SET seq = :new WHERE meeting_id = :m AND seq = :old"),
            {"new": new, "old": old, "m": meeting_id},
        )
    return first


TAMPERINGS: dict[str, Callable[[Connection, int], int]] = {
    "payload_edited": edit_payload,
    "payload_edited_and_rehashed": edit_payload_and_its_hash,
    "vote_figures_edited": edit_vote_figures,
    "actor_edited": edit_actor,
    "row_deleted": delete_a_row,
    "last_row_deleted": delete_the_last_row,
    "rows_swapped": swap_two_rows,
}


def test_untouched_journal_verifies(context, branch):
    length = hold_a_short_meeting(context, branch)
    result = verification(context, branch.meeting_id)
    assert result.valid, result.problem
    assert result.length == length
    assert result.head == context.service.events_after(branch.meeting_id, length - 1)[0].hash


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_tampering_with_a_stored_journal_row_makes_verify_fail(context, branch, tampering):
    length = hold_a_short_meeting(context, branch)
    with context.engine.begin() as connection:
        first_bad_seq = TAMPERINGS[tampering](connection, branch.meeting_id)
    assert first_bad_seq <= length
    result = verification(context, branch.meeting_id)
    assert not result.valid
    assert result.problem
    # The report points at where the chain broke: everything before it still checks out.
    assert result.length == first_bad_seq - 1
