"""Random command sequences from random actors never break the meeting's invariants.

Each accepted command's events are sealed into a journal as the service would; an `Observer`
(tests/domain/invariants.py) follows the same events with its own bookkeeping and checks the live state
against it after every step.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import event as note_reached
from hypothesis import given

from meeting import journal
from meeting.domain import MeetingState, decide, event_from_json, evolve, fold
from meeting.errors import Rejected
from meeting.journal import GENESIS, RecordedEvent
from tests.domain.builders import MEETING_ID, T0
from tests.domain.invariants import Observer, check_shape
from tests.domain.strategies import meetings


@given(meetings())
def test_random_commands_keep_every_invariant(case):
    opening, steps = case
    recorded: list[RecordedEvent] = journal.seal(
        MEETING_ID, [opening], after_seq=0, head=GENESIS, actor="system", command_id=None
    )
    state = fold(MeetingState(meeting_id=MEETING_ID), [opening])
    observer = Observer(opening)
    states_after = {1: state}  # seq -> the live state once that event was applied
    observer.check(state)
    now = T0
    for step in steps:
        now += timedelta(seconds=step.wait_s)
        try:
            events = decide(state, step.command, step.actor, now)
        except Rejected:
            continue  # a refusal changes nothing (decide is pure: `state` is still the same object)
        assert events, f"{step!r} accepted with nothing to record"
        label = journal.actor_label(step.actor.kind, step.actor.member_id)
        recorded += journal.seal(
            MEETING_ID, events, after_seq=recorded[-1].seq, head=recorded[-1].hash, actor=label, command_id=None
        )
        for event in events:
            state = evolve(state, event)
            observer.see(event)
        observer.check(state)
        check_shape(state)
        states_after[recorded[-1].seq] = state

    # What the run reached (shown by --hypothesis-show-statistics), to keep the strategies honest.
    note_reached(f"events recorded: {min(len(recorded) // 10 * 10, 50)}+")
    for kind in (
        "ballot_cast",
        "hall_count_recorded",
        "vote_closed",
        "floor_granted",
        "hand_raised",
        "entry_revised",
        "entry_moved",
        "left",
        "microphone_muted",
        "meeting_ended",
    ):
        if any(r.type == kind for r in recorded):
            note_reached(f"has {kind}")
    rows = [journal.to_row(r) for r in recorded]
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))  # gap-free
    verification = journal.verify_rows(MEETING_ID, rows)
    assert verification.valid, verification.problem
    assert (verification.length, verification.head) == (len(rows), recorded[-1].hash)

    # The state rebuilt from the stored journal alone (its JSON payloads) equals the live state at every step.
    rebuilt = MeetingState(meeting_id=MEETING_ID)
    for row in rows:
        rebuilt = evolve(rebuilt, event_from_json(json.loads(row.payload)))
        if row.seq in states_after:
            assert rebuilt == states_after[row.seq]
    assert rebuilt == state
