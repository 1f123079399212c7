"""A meeting in memory for the pure rule tests: state is a fold of events from a `JournalOpened`.

`Meeting` keeps a state, a clock and the events so far; `do` runs a command through `decide` and folds
what it returns, `refuse` expects a `Rejected` and returns its code. No database anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from meeting.domain import Actor, MeetingState, decide, fold
from meeting.domain import commands as c
from meeting.domain import events as ev
from meeting.domain.model import Category
from meeting.errors import Rejected

MEETING_ID = 41
BRANCH_ID = 7
T0 = datetime(2024, 11, 20, 7, 30, tzinfo=UTC)

# The default roster: six officials (1 chairs, 2 keeps the minutes), then one member of each other category.
CHAIR, CLERK = 1, 2
OFFICIALS = (1, 2, 3, 4, 5, 6)
PROBATIONARY, EXEMPT, GUEST = 7, 8, 9
NOT_IN_ROSTER = 10**6  # no member id, in a test roster or a real database

# The default agenda: only the discussion has a speaking-time limit.
OPENING, REPORT, DISCUSSION, RESOLUTION, CLOSING = "opening", "report", "discussion", "resolution", "closing"
AGENDA = (OPENING, REPORT, DISCUSSION, RESOLUTION, CLOSING)
SPEAKING_LIMIT_S = 300

HALL = Actor("hall")
SYSTEM = Actor.system()


def roster(
    officials: Iterable[int] = OFFICIALS,
    probationary: Iterable[int] = (PROBATIONARY,),
    exempt: Iterable[int] = (EXEMPT,),
    guests: Iterable[int] = (GUEST,),
) -> list[ev.RosterEntry]:
    entries = []
    for category, ids in (
        (Category.OFFICIAL, officials),
        (Category.PROBATIONARY, probationary),
        (Category.EXEMPT, exempt),
        (Category.GUEST, guests),
    ):
        entries += [ev.RosterEntry(member_id=i, name=f"Đồng chí {i}", category=category) for i in ids]
    return entries


def agenda(designated: dict[str, list[int]] | None = None) -> list[ev.AgendaEntry]:
    designated = designated or {}
    return [
        ev.AgendaEntry(
            id=item_id,
            title=f"Mục {item_id}",
            kind=item_id,
            speaking_limit_s=SPEAKING_LIMIT_S if item_id == DISCUSSION else None,
            designated_speakers=designated.get(item_id, []),
        )
        for item_id in AGENDA
    ]


def journal_opened(
    *,
    members: Sequence[ev.RosterEntry] | None = None,
    items: Sequence[ev.AgendaEntry] | None = None,
    quorum: tuple[int, int, bool] = (2, 3, True),
    majority: tuple[int, int, bool] = (1, 2, True),
    chair: int | None = CHAIR,
    clerk: int | None = CLERK,
) -> ev.JournalOpened:
    return ev.JournalOpened(
        at=T0.isoformat(),
        meeting_id=MEETING_ID,
        branch_id=BRANCH_ID,
        title="Sinh hoạt chi bộ tháng 11",
        kind="regular",
        place="Nhà văn hóa thôn",
        scheduled_at=T0.isoformat(),
        chair_id=chair,
        clerk_id=clerk,
        roster=list(members if members is not None else roster()),
        agenda=list(items if items is not None else agenda()),
        rules=ev.RulesEntry(
            quorum_numerator=quorum[0],
            quorum_denominator=quorum[1],
            quorum_strict=quorum[2],
            majority_numerator=majority[0],
            majority_denominator=majority[1],
            majority_strict=majority[2],
        ),
    )


def state_from(opened: ev.JournalOpened | None = None, *events: ev.Event) -> MeetingState:
    """The state a journal describes: its opening event, then `events`, folded."""
    return fold(MeetingState(meeting_id=MEETING_ID), [opened or journal_opened(), *events])


def as_actor(who: int | Actor) -> Actor:
    return who if isinstance(who, Actor) else Actor.member(who)


class Meeting:
    """A live meeting without a database: commands decided and folded, the clock moved by hand."""

    def __init__(self, opened: ev.JournalOpened | None = None) -> None:
        self.opening = opened or journal_opened()
        self.events: list[ev.Event] = [self.opening]
        self.state = state_from(self.opening)
        self.now = T0

    def do(self, command: c.Command, who: int | Actor) -> list[ev.Event]:
        events = decide(self.state, command, as_actor(who), self.now)
        self.events += events
        self.state = fold(self.state, events)
        return events

    def refuse(self, command: c.Command, who: int | Actor) -> str:
        """The code of the refusal; fails the test if the command is accepted. The state is unchanged."""
        before = self.state
        with pytest.raises(Rejected) as refused:
            self.do(command, who)
        assert self.state is before
        return refused.value.code

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    # -- shortcuts for the usual first steps ------------------------------------------------------------
    def check_in(self, *member_ids: int, mode: str = "in_person") -> None:
        for member_id in member_ids:
            self.do(c.CheckIn(member_id=member_id, mode=mode), CLERK)

    def start(self, *present: int, mode: str = "in_person") -> Meeting:
        self.check_in(*present, mode=mode)
        self.do(c.StartMeeting(), CHAIR)
        return self

    def open(self, item_id: str) -> Meeting:
        self.do(c.OpenItem(item_id=item_id), CHAIR)
        return self

    def rebuilt(self) -> MeetingState:
        """The state folded again from the whole journal, from nothing."""
        return fold(MeetingState(meeting_id=MEETING_ID), self.events)


def types(events: Iterable[ev.Event]) -> list[str]:
    return [event.type for event in events]


def started(*present: int, item: str | None = None, mode: str = "in_person", **opening) -> Meeting:
    """A meeting that has started with `present` checked in, and `item` open if given."""
    meeting = Meeting(journal_opened(**opening) if opening else None).start(*present, mode=mode)
    if item is not None:
        meeting.open(item)
    return meeting
