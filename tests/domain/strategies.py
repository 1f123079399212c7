"""Hypothesis strategies: random branches, and random commands from random actors (mostly the right ones,
so that many are accepted, sometimes anyone at all, so that refusals are exercised too)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from meeting.domain import Actor
from meeting.domain import commands as c
from meeting.domain import events as ev
from meeting.domain.model import Category, Choice, EntryKind, HandKind
from tests.domain.builders import AGENDA, DISCUSSION, HALL, NOT_IN_ROSTER, SYSTEM, agenda, journal_opened

VOTE_IDS = ("v1", "v2", "v3")
ENTRY_IDS = ("e1", "e2", "e3")
RULES = [(2, 3, True), (2, 3, False), (1, 2, True), (1, 2, False), (3, 4, True)]


@st.composite
def openings(draw: st.DrawFn) -> ev.JournalOpened:
    """A branch of random make-up (possibly without officials, chair or clerk) and random rules."""
    counts = {
        Category.OFFICIAL: draw(st.integers(0, 6)),
        Category.PROBATIONARY: draw(st.integers(0, 2)),
        Category.EXEMPT: draw(st.integers(0, 2)),
        Category.GUEST: draw(st.integers(0, 1)),
    }
    members, next_id = [], 1
    for category, count in counts.items():
        for _ in range(count):
            members.append(ev.RosterEntry(member_id=next_id, name=f"Đồng chí {next_id}", category=category))
            next_id += 1
    ids = [m.member_id for m in members]
    officials = [m.member_id for m in members if m.category == Category.OFFICIAL]
    # Rarely no chair or no clerk (a middle value: hypothesis favours the ends of a range).
    chair = draw(st.sampled_from(officials)) if officials and draw(st.integers(0, 10)) != 5 else None
    clerk = draw(st.sampled_from(ids)) if ids and draw(st.integers(0, 10)) != 5 else None
    designated = draw(st.lists(st.sampled_from(ids), unique=True, max_size=3)) if ids else []
    return journal_opened(
        members=members,
        items=agenda(designated={DISCUSSION: designated}),
        quorum=draw(st.sampled_from(RULES)),
        majority=draw(st.sampled_from(RULES)),
        chair=chair,
        clerk=clerk,
    )


@dataclass(frozen=True)
class Step:
    command: c.Command
    actor: Actor
    wait_s: int  # the clock moves this much before the command

    def __repr__(self) -> str:  # short, for hypothesis' falsifying example
        fields = {k: v for k, v in self.command.model_dump().items() if k != "type"}
        return f"<{self.command.type} {fields} by {self.actor.kind}:{self.actor.member_id} +{self.wait_s}s>"


# Who is normally entitled to each command: the chair, the clerk, or the member it is about ("self").
CHAIR_COMMANDS = (
    c.StartMeeting,
    c.EndMeeting,
    c.OpenItem,
    c.CloseItem,
    c.SkipItem,
    c.ReorderAgenda,
    c.ConcludeItem,
    c.GrantFloor,
    c.NextSpeaker,
    c.RevokeFloor,
    c.MuteMicrophone,
    c.UnmuteMicrophone,
    c.OpenVote,
    c.CloseVote,
)
CLERK_COMMANDS = (c.MarkAbsent, c.RecordHallCount, c.WriteEntry, c.ReviseEntry, c.MoveEntry)


def command_strategy(opening: ev.JournalOpened) -> st.SearchStrategy[c.Command]:
    """Any command about this meeting's members and items (and a stranger and a missing item now and then)."""
    items = [item.id for item in opening.agenda]
    member = st.sampled_from([*(m.member_id for m in opening.roster), NOT_IN_ROSTER])
    item = st.sampled_from([*items, "no-such-item"])
    vote = st.sampled_from(VOTE_IDS)
    entry = st.sampled_from(ENTRY_IDS)
    text = st.sampled_from(["Ý kiến phát biểu", "Đã sửa lại", "Kết luận của chủ trì"])
    count = st.integers(0, 4)
    return st.one_of(
        st.builds(c.RaiseHand, kind=st.sampled_from(HandKind)),
        st.builds(c.OpenItem, item_id=item),
        st.builds(c.CloseItem, item_id=item),
        st.builds(c.SkipItem, item_id=item),
        st.permutations(items).map(lambda order: c.ReorderAgenda(order=order)),
        st.builds(c.ConcludeItem, item_id=item, text=text),
        st.just(c.StartMeeting()),
        st.builds(c.LowerHand, member_id=st.none() | member),
        st.builds(c.GrantFloor, member_id=member),
        st.just(c.NextSpeaker()),
        st.just(c.RevokeFloor()),
        st.just(c.YieldFloor()),
        st.just(c.EndExpiredFloor()),
        st.builds(c.MuteMicrophone, member_id=member) | st.just(c.MuteMicrophone(hall=True)),
        st.builds(c.UnmuteMicrophone, member_id=member) | st.just(c.UnmuteMicrophone(hall=True)),
        st.builds(c.CheckIn, member_id=member, mode=st.sampled_from(["in_person", "remote"])),
        st.builds(c.Leave, member_id=member),
        st.builds(c.MarkAbsent, member_id=member, reason=st.sampled_from([None, "Ốm", " "])),
        st.builds(c.OpenVote, vote_id=vote, question=st.just("Thông qua?"), item_id=st.none() | item),
        st.builds(c.CastBallot, vote_id=vote, choice=st.sampled_from(Choice)),
        st.builds(
            c.RecordHallCount, vote_id=vote, votes_for=count, votes_against=count, votes_abstain=st.integers(0, 1)
        ),
        st.builds(c.CloseVote, vote_id=vote),
        st.builds(
            c.WriteEntry,
            entry_id=entry,
            item_id=item,
            text=text,
            kind=st.sampled_from(EntryKind),
            speaker_id=st.none() | member,
        ),
        st.builds(c.ReviseEntry, entry_id=entry, text=text, speaker_id=st.none() | member),
        st.builds(c.MoveEntry, entry_id=entry, direction=st.sampled_from(["up", "down"])),
    )


def entitled_actor(draw: st.DrawFn, opening: ev.JournalOpened, command: c.Command, stray_one_in: int = 7) -> Actor:
    """Mostly whoever is entitled to the command, so that much is accepted; one time in `stray_one_in` anyone at
    all (a stranger, the hall, the system), so that refusals happen too."""
    members = [Actor.member(m.member_id) for m in opening.roster]
    anyone = st.sampled_from([*members, SYSTEM, HALL, Actor.member(NOT_IN_ROSTER)])
    chair = Actor.member(opening.chair_id) if opening.chair_id is not None else None
    clerk = Actor.member(opening.clerk_id) if opening.clerk_id is not None else None
    if draw(st.integers(0, stray_one_in - 1)) == 3:
        return draw(anyone)
    if isinstance(command, CHAIR_COMMANDS) and chair is not None:
        return chair
    if isinstance(command, CLERK_COMMANDS) and clerk is not None:
        return clerk
    if isinstance(command, c.CheckIn | c.Leave):
        return draw(st.sampled_from([x for x in (Actor.member(command.member_id), SYSTEM, clerk) if x]))
    if isinstance(command, c.EndExpiredFloor):
        return SYSTEM
    # The member's own commands: hands, the floor, ballots.
    return draw(st.sampled_from(members)) if members else draw(anyone)


def steps(opening: ev.JournalOpened) -> st.SearchStrategy[Step]:
    commands = command_strategy(opening)

    @st.composite
    def step(draw: st.DrawFn) -> Step:
        # Ending the meeting stops nearly everything else, so it comes rarely.
        command = c.EndMeeting() if draw(st.integers(0, 40)) == 20 else draw(commands)
        actor = entitled_actor(draw, opening, command)
        return Step(command, actor, draw(st.sampled_from([0, 0, 1, 30, 200, 400])))

    return step()


def vote_rounds(opening: ev.JournalOpened, vote_id: str) -> st.SearchStrategy[list[Step]]:
    """A vote from opening to closing, with ballots, shows of hands and members moving in between: the
    random steps alone rarely get that far, and this is where one person could be counted twice."""
    members = [m.member_id for m in opening.roster] or [NOT_IN_ROSTER]
    chair = Actor.member(opening.chair_id if opening.chair_id is not None else NOT_IN_ROSTER)
    clerk = Actor.member(opening.clerk_id if opening.clerk_id is not None else NOT_IN_ROSTER)
    member = st.sampled_from(members)

    @st.composite
    def round_(draw: st.DrawFn) -> list[Step]:
        # A few members do everything in the round, so the same one is often counted, moves, then votes.
        cast = draw(st.lists(member, min_size=1, max_size=3))
        middle: list[Step] = []
        for _ in range(draw(st.integers(1, 6))):
            who = draw(st.sampled_from(cast))
            ballot = Step(c.CastBallot(vote_id=vote_id, choice=draw(st.sampled_from(Choice))), Actor.member(who), 0)
            online = Step(c.CheckIn(member_id=who, mode="remote"), SYSTEM, 0)
            in_room = Step(c.CheckIn(member_id=who, mode="in_person"), clerk, 0)
            hands = Step(
                c.RecordHallCount(
                    vote_id=vote_id,
                    votes_for=draw(st.integers(0, 3)),
                    votes_against=draw(st.integers(0, 1)),
                    votes_abstain=draw(st.integers(0, 1)),
                ),
                clerk,
                0,
            )
            leave = Step(c.Leave(member_id=who), SYSTEM, 0)
            middle += draw(st.sampled_from([[ballot], [hands], [online, ballot], [in_room], [in_room, hands], [leave]]))
        opening_step = Step(c.OpenVote(vote_id=vote_id, question="Thông qua nghị quyết?"), chair, 0)
        return [opening_step, *middle, Step(c.CloseVote(vote_id=vote_id), chair, 0)]

    return round_()


def minute_rounds(opening: ev.JournalOpened, round_id: str) -> st.SearchStrategy[list[Step]]:
    """The clerk writes a few entries under one item and moves them about: random steps alone rarely put two
    things in one item's minutes, which a move needs."""
    clerk = Actor.member(opening.clerk_id if opening.clerk_id is not None else NOT_IN_ROSTER)
    items = [item.id for item in opening.agenda]

    @st.composite
    def round_(draw: st.DrawFn) -> list[Step]:
        item_id = draw(st.sampled_from(items))
        written = [f"{round_id}-{n}" for n in range(draw(st.integers(1, 4)))]
        writes = [
            Step(
                c.WriteEntry(
                    entry_id=entry_id, item_id=item_id, text="Ghi chép", kind=draw(st.sampled_from(EntryKind))
                ),
                clerk,
                0,
            )
            for entry_id in written
        ]
        moves = [
            Step(c.MoveEntry(entry_id=draw(st.sampled_from([*written, *ENTRY_IDS])), direction=direction), clerk, 0)
            for direction in draw(st.lists(st.sampled_from(["up", "down"]), max_size=5))
        ]
        return [*writes, *moves]

    return round_()


@st.composite
def meetings(
    draw: st.DrawFn,
    min_steps: int = 20,
    max_steps: int = 40,
    max_rounds: int = 3,
    opening: ev.JournalOpened | None = None,
) -> tuple[ev.JournalOpened, list[Step]]:
    """An opening and a run of steps; usually the meeting first fills up and starts, so the rest can happen."""
    opening = opening or draw(openings())
    prelude: list[Step] = []
    if draw(st.integers(0, 6)) != 3:
        for member in opening.roster:
            if draw(st.integers(0, 3)):
                mode = draw(st.sampled_from(["in_person", "remote"]))
                prelude.append(Step(c.CheckIn(member_id=member.member_id, mode=mode), SYSTEM, 0))
        if opening.chair_id is not None:
            prelude.append(Step(c.StartMeeting(), Actor.member(opening.chair_id), 0))
            prelude.append(Step(c.OpenItem(item_id=draw(st.sampled_from(AGENDA))), Actor.member(opening.chair_id), 0))
    body = [[step] for step in draw(st.lists(steps(opening), min_size=min_steps, max_size=max_steps))]
    for number in range(draw(st.integers(0, max_rounds))):
        body.insert(draw(st.integers(0, len(body))), draw(vote_rounds(opening, f"round-{number}")))
    for number in range(draw(st.integers(0, max_rounds))):
        body.insert(draw(st.integers(0, len(body))), draw(minute_rounds(opening, f"minutes-{number}")))
    return opening, [*prelude, *(step for chunk in body for step in chunk)]
