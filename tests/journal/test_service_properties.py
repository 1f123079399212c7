"""Random command sequences through the real `MeetingService` on a SQLite file never break the journal.

Each example plans a new meeting in one seeded branch (random quorum and majority rules, random designated
speakers), opens its journal and sends random commands from random actors, now and then the same command again
with the same client command id. After each command the service must agree with the pure core run beside it;
after the run:
- sequence numbers are 1..n without a gap and the stored hash chain verifies up to the meeting's recorded head;
- the state rebuilt from the journal, and the state a cold service loads, equal the live state;
- the projection tables say what the state says (attendance, agenda, votes and ballots, minutes with every
  revision), and the quorum recomputed from the attendance table and the member categories matches `quorum`;
- every closed vote counts ballots plus the show of hands, each member at most once, never more than the
  members who could vote while it was open.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction as Ratio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from meeting import journal
from meeting.db import models as m
from meeting.db.engine import make_engine, make_sessionmaker
from meeting.db.migrate import upgrade
from meeting.domain import Actor, MeetingState, decide, evolve, fold, quorum
from meeting.domain import commands as c
from meeting.domain import events as ev
from meeting.domain.model import AttendanceMode, Category, MeetingKind
from meeting.errors import MESSAGES, Rejected
from meeting.planning import create_meeting
from meeting.service import MeetingService
from tests.domain.strategies import command_strategy, entitled_actor
from tests.factories import SeededBranch, seed_branch

T0 = datetime(2024, 11, 20, 0, 30, tzinfo=UTC)
RULES = [(2, 3, True), (2, 3, False), (1, 2, True), (1, 2, False), (3, 4, True)]
VOTING = {Category.OFFICIAL, Category.EXEMPT}


class ManualClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Live:
    engine: Engine
    sessions: sessionmaker[Session]
    service: MeetingService
    clock: ManualClock
    branch: SeededBranch


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One SQLite file for all examples (migrating a database per example would be most of the run); each
    example gets a meeting of its own."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('service-properties')}/chibo.db")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = ManualClock()
    yield Live(engine, sessions, MeetingService(sessions, clock=clock), clock, seed_branch(sessions, code="prop"))
    engine.dispose()


def plan_meeting(live: Live, quorum_rule: tuple, majority_rule: tuple, designated: list[int]) -> int:
    with live.sessions.begin() as session:
        session.execute(
            update(m.Branch)
            .where(m.Branch.id == live.branch.branch_id)
            .values(
                quorum_numerator=quorum_rule[0],
                quorum_denominator=quorum_rule[1],
                quorum_strict=quorum_rule[2],
                majority_numerator=majority_rule[0],
                majority_denominator=majority_rule[1],
                majority_strict=majority_rule[2],
            )
        )
        meeting = create_meeting(
            session,
            branch_id=live.branch.branch_id,
            kind=MeetingKind.REGULAR,
            title="Sinh hoạt chi bộ",
            scheduled_at=T0,
            place="Hội trường",
            chair_id=live.branch.chair,
            clerk_id=live.branch.clerk,
        )
        discussion = next(item for item in meeting.agenda if item.kind == "discussion")
        discussion.designated_speakers = designated
        return meeting.id


# -- the property ---------------------------------------------------------------------------------------------
class Bookkeeping:
    """From the events alone: who could vote while each vote was open, which hands were raised and are still
    waiting (item, member), how many turns were given."""

    def __init__(self, opened: ev.JournalOpened) -> None:
        self.category = {r.member_id: r.category for r in opened.roster}
        self.present: set[int] = set()
        self.could_vote: dict[str, set[int]] = {}
        self.open: set[str] = set()
        self.waiting: set[tuple[str, int]] = set()
        self.turns = 0

    def see(self, event: ev.Event) -> None:
        match event:
            case ev.HandRaised(item_id=item, member_id=member):
                self.waiting.add((item, member))
            case ev.HandLowered(item_id=item, member_id=member):
                self.waiting.discard((item, member))
            case ev.FloorGranted(item_id=item, member_id=member):
                self.waiting.discard((item, member))
                self.turns += 1
            case ev.CheckedIn(member_id=member):
                self.present.add(member)
            case ev.Left(member_id=member) | ev.MarkedAbsent(member_id=member):
                self.present.discard(member)
            case ev.VoteOpened(vote_id=vote):
                self.open.add(vote)
                self.could_vote[vote] = set()
            case ev.VoteClosed(vote_id=vote):
                self.open.discard(vote)
        for vote in self.open:
            self.could_vote[vote] |= {member for member in self.present if self.category[member] in VOTING}


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_commands_through_the_service_keep_the_journal_sound(live: Live, data: st.DataObject):
    service, clock = live.service, live.clock
    everyone = live.branch.everyone
    meeting_id = plan_meeting(
        live,
        data.draw(st.sampled_from(RULES), label="quorum"),
        data.draw(st.sampled_from(RULES), label="majority"),
        data.draw(st.lists(st.sampled_from(everyone), unique=True, max_size=3), label="designated"),
    )
    clock.now = T0
    opening = service.open(meeting_id)
    opened = opening[0].event
    assert isinstance(opened, ev.JournalOpened)
    mirror = fold(MeetingState(meeting_id=meeting_id), (r.event for r in opening))  # the pure core, beside it
    book = Bookkeeping(opened)
    for r in opening:
        book.see(r.event)

    # Usually a quick start (attendance, the meeting opened, an item), so later commands have something to act on.
    prelude: list[tuple[c.Command, Actor]] = []
    if data.draw(st.integers(0, 5), label="skip the usual start") != 0:
        for member_id in everyone:
            if data.draw(st.booleans(), label=f"{member_id} comes"):
                mode = data.draw(st.sampled_from(AttendanceMode), label="mode")
                prelude.append((c.CheckIn(member_id=member_id, mode=mode), Actor.system()))
        chair = Actor.member(opened.chair_id)
        item = data.draw(st.sampled_from([a.id for a in opened.agenda]), label="first item")
        prelude += [(c.StartMeeting(), chair), (c.OpenItem(item_id=item), chair)]
    # A real meeting: the commands name its own members and items; ending it may come at any time.
    commands = st.one_of(command_strategy(opened), st.just(c.EndMeeting()))
    steps = [(command, actor, 0) for command, actor in prelude]
    for _ in range(data.draw(st.integers(3, 15), label="steps")):
        command = data.draw(commands)
        actor = entitled_actor(data.draw, opened, command, stray_one_in=6)
        steps.append((command, actor, data.draw(st.sampled_from([0, 1, 30, 400]), label="wait")))

    seq = len(opening)
    accepted: list[tuple[c.Command, Actor, str, list[journal.RecordedEvent]]] = []
    for number, (command, actor, wait_s) in enumerate(steps):
        clock.now += timedelta(seconds=wait_s)
        command_id = f"cmd-{number}" if data.draw(st.booleans(), label="with a command id") else None
        try:
            expected = decide(mirror, command, actor, clock.now)
        except Rejected as refused:
            expected, code = None, refused.code
        try:
            recorded = service.execute(meeting_id, command, actor, command_id=command_id)
        except Rejected as refused:
            assert expected is None, f"the service refused ({refused.code}) what the core accepts"
            assert refused.code == code and refused.code in MESSAGES
            assert service.state(meeting_id)[1] == seq, "a refusal appended something"
            continue
        assert expected is not None, f"the service accepted what the core refuses ({code})"
        assert [r.event for r in recorded] == expected
        assert [r.seq for r in recorded] == list(range(seq + 1, seq + 1 + len(recorded)))
        seq = recorded[-1].seq
        for event in expected:
            mirror = evolve(mirror, event)
            book.see(event)
        if command_id is not None:
            accepted.append((command, actor, command_id, recorded))
        # Now and then the client did not hear the answer and sends the same command again: it counts once.
        if accepted and data.draw(st.integers(0, 5), label="resend") == 0:
            again, again_actor, again_id, first_time = data.draw(st.sampled_from(accepted), label="resent")
            assert service.execute(meeting_id, again, again_actor, command_id=again_id) == first_time
            assert service.state(meeting_id)[1] == seq

    state, live_seq = service.state(meeting_id)
    assert (state, live_seq) == (mirror, seq)
    stored = service.events_after(meeting_id, 0)
    assert [r.seq for r in stored] == list(range(1, seq + 1)), "sequence numbers with a gap"
    # A client that reconnects with the last sequence number it saw receives exactly what it missed.
    last_seen = data.draw(st.integers(0, seq), label="a client's last seq")
    assert service.events_after(meeting_id, last_seen) == stored[last_seen:]
    with live.sessions() as session:
        verification = journal.verify(session, meeting_id)
    assert verification.valid, verification.problem
    assert (verification.length, verification.head) == (seq, stored[-1].hash)
    assert service.rebuild(meeting_id) == (state, seq)
    service.forget(meeting_id)  # a cold start: the service loads the meeting from its journal alone
    assert service.state(meeting_id) == (state, seq)

    check_projection(live, meeting_id, state, book)
    check_votes(state, book)


def check_projection(live: Live, meeting_id: int, state: MeetingState, book: Bookkeeping) -> None:
    with live.sessions() as session:
        meeting = session.get(m.Meeting, meeting_id)
        assert meeting.status == state.status
        items = session.scalars(select(m.AgendaItem).where(m.AgendaItem.meeting_id == meeting_id)).all()
        by_position = sorted(items, key=lambda item: item.position)
        assert [(i.id, i.status, i.conclusion) for i in by_position] == [
            (i.id, i.status, i.conclusion) for i in state.agenda
        ]
        rows = session.scalars(select(m.Attendance).where(m.Attendance.meeting_id == meeting_id)).all()
        attendance = {row.member_id: row for row in rows}
        for member_id in state.roster:
            record, row = state.attendance_of(member_id), attendance[member_id]
            assert (row.status, row.mode, row.late, row.reason) == (
                record.status,
                record.mode,
                record.late,
                record.reason,
            )
        # The quorum from the attendance table and the member categories, without the domain's rules.
        query = select(m.Member.id, m.Member.category).where(m.Member.id.in_(list(state.roster)))
        categories = {member_id: category for member_id, category in session.execute(query)}
        present = {member_id for member_id, row in attendance.items() if row.status == "present"}
        eligible = {i for i, cat in categories.items() if cat == "official" or (cat == "exempt" and i in present)}
        rule = state.rules.quorum
        threshold = Ratio(rule.numerator, rule.denominator)
        counted = len(eligible & present)
        if eligible:
            share = Ratio(counted, len(eligible))
            met = share > threshold if rule.strict else share >= threshold
        else:
            met = False
        figures = quorum(state)
        assert (figures.eligible, figures.present, figures.met) == (len(eligible), counted, met)
        assert figures.present_in_room + figures.present_online == len(present)

        # Speaker requests: one waiting row per hand raised and still up, on its own item; one row per turn.
        requests = session.scalars(select(m.SpeakerRequest).where(m.SpeakerRequest.meeting_id == meeting_id)).all()
        waiting = [(r.item_id, r.member_id) for r in requests if r.status == "waiting"]
        assert sorted(waiting) == sorted(book.waiting)
        queued = {(item_id, hand.member_id) for item_id, queue in state.queues.items() for hand in queue}
        assert book.waiting <= queued
        assert sum(1 for r in requests if r.granted_at is not None) == book.turns
        speaking = [(r.item_id, r.member_id) for r in requests if r.granted_at is not None and r.ended_at is None]
        assert speaking == ([(state.floor.item_id, state.floor.member_id)] if state.floor else [])

        votes = {v.id: v for v in session.scalars(select(m.Vote).where(m.Vote.meeting_id == meeting_id))}
        assert set(votes) == set(state.votes)
        ballots = session.scalars(select(m.Ballot).where(m.Ballot.meeting_id == meeting_id)).all()
        for vote_id, vote in state.votes.items():
            row = votes[vote_id]
            assert row.status == vote.status
            assert {b.member_id: b.choice for b in ballots if b.vote_id == vote_id} == dict(vote.ballots)
            hall = vote.hall_count
            assert (row.hall_for, row.hall_against, row.hall_abstain) == (
                (hall.votes_for, hall.votes_against, hall.votes_abstain) if hall else (None, None, None)
            )
            if vote.result is not None:
                result = vote.result
                assert (row.votes_for, row.votes_against, row.votes_abstain, row.not_voting, row.basis, row.passed) == (
                    result.votes_for,
                    result.votes_against,
                    result.votes_abstain,
                    result.not_voting,
                    result.basis,
                    result.passed,
                )

        entries = {
            e.id: e for e in session.scalars(select(m.MinuteEntry).where(m.MinuteEntry.meeting_id == meeting_id))
        }
        assert set(entries) == set(state.minutes)
        # Each item's entries rank as the state orders them (the clerk's moves included).
        for places in state.minute_order.values():
            in_order = [place.ref for place in places if place.kind == "entry"]
            assert sorted(in_order, key=lambda entry_id: entries[entry_id].position) == in_order
        revisions = session.scalars(
            select(m.MinuteRevision).where(m.MinuteRevision.meeting_id == meeting_id).order_by(m.MinuteRevision.id)
        ).all()
        for entry_id, entry in state.minutes.items():
            row = entries[entry_id]
            assert (row.text, row.speaker_id, row.revision_count) == (
                entry.text,
                entry.speaker_id,
                len(entry.revisions),
            )
            kept = [(r.number, r.text) for r in revisions if r.entry_id == entry_id]
            assert kept == [(number, r.text) for number, r in enumerate(entry.revisions, start=1)]


def check_votes(state: MeetingState, votes: Bookkeeping) -> None:
    for vote_id, vote in state.votes.items():
        assert not set(vote.ballots) & vote.hall_counted, "a member counted by hand and by ballot"
        if vote.hall_count is not None:
            hall = vote.hall_count
            assert hall.votes_for + hall.votes_against + hall.votes_abstain <= len(vote.hall_counted)
        if vote.result is None:
            continue
        result = vote.result
        cast = result.votes_for + result.votes_against + result.votes_abstain
        hall_total = (
            0
            if vote.hall_count is None
            else sum((vote.hall_count.votes_for, vote.hall_count.votes_against, vote.hall_count.votes_abstain))
        )
        assert cast == len(vote.ballots) + hall_total
        assert set(vote.ballots) <= votes.could_vote[vote_id], "a ballot from someone who could not vote"
        assert cast <= len(votes.could_vote[vote_id]), "more votes than members who could vote"
