"""Bench: the meeting journal. Appends per second for one meeting and for 50 meetings at once, on SQLite (a file
in a temporary directory, WAL) and on PostgreSQL (a schema of its own in the `test` database on 127.0.0.1:5432,
dropped afterwards), and the time to rebuild a 10,000-event meeting from its journal (read + fold).

Every append goes through `MeetingService.execute` (decide, seal, insert, projection, commit) with a workload a
real meeting has: a member raises a hand, the chair gives the next speaker the floor, the clerk writes what was
said, the speaker yields. Each of those commands appends exactly one event. The 50 meetings run at once from
asyncio through `execute_async` (worker threads), as the HTTP API and the live hub call it.
The 10,000-event journal is made by the pure core (decide, evolve, seal) and inserted in bulk, then rebuilt
with `MeetingService.rebuild`. Every figure is the median of several runs. Prints one JSON object.

    .venv/bin/python bench/journal.py [--quick] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import pg_schema

from meeting import journal
from meeting.db import models as m
from meeting.db.engine import make_engine, make_sessionmaker
from meeting.db.migrate import upgrade
from meeting.domain import Actor, MeetingState, decide, evolve
from meeting.domain import commands as c
from meeting.domain.events import event_to_json
from meeting.domain.model import MeetingKind
from meeting.planning import create_meeting
from meeting.service import MeetingService, build_journal_opened

OFFICIALS = 12
CONCURRENT_MEETINGS = 50
REBUILD_EVENTS = 10_000


@dataclass(frozen=True)
class Plan:
    """How much work each measurement does."""

    runs: int  # every figure is the median of this many runs
    single_commands: int  # commands appended to one meeting per run
    concurrent_commands: int  # commands appended to each of the 50 meetings per run
    rebuild_runs: int


FULL = Plan(runs=5, single_commands=1000, concurrent_commands=60, rebuild_runs=7)
QUICK = Plan(runs=3, single_commands=200, concurrent_commands=12, rebuild_runs=3)


@dataclass(frozen=True)
class Seeded:
    meeting_id: int
    chair: int
    clerk: int
    speakers: list[int]  # officials other than chair and clerk
    discussion_item: str


# -- set-up ---------------------------------------------------------------------------------------------------
def seed_meetings(sessions: sessionmaker[Session], count: int, tag: str) -> list[Seeded]:
    """One branch of `OFFICIALS` official members with `count` scheduled regular meetings."""
    seeded = []
    with sessions.begin() as session:
        branch = m.Branch(name=f"Chi bộ bench {tag}", code=f"bench-{tag}", organisation="Đảng ủy xã Bench")
        session.add(branch)
        session.flush()
        members = []
        for index in range(OFFICIALS):
            member = m.Member(
                branch_id=branch.id,
                full_name=f"Đảng viên {index + 1}",
                category="official",
                role="secretary" if index == 0 else "member",
            )
            session.add(member)
            members.append(member)
        session.flush()
        ids = [member.id for member in members]
        for number in range(count):
            meeting = create_meeting(
                session,
                branch_id=branch.id,
                kind=MeetingKind.REGULAR,
                title=f"Sinh hoạt chi bộ {number + 1}",
                scheduled_at=datetime.now(UTC) + timedelta(days=1),
                place="Hội trường",
                chair_id=ids[0],
                clerk_id=ids[1],
            )
            discussion = next(item.id for item in meeting.agenda if item.kind == "discussion")
            seeded.append(Seeded(meeting.id, ids[0], ids[1], ids[2:], discussion))
    return seeded


def opening_commands(seeded: Seeded) -> list[tuple[c.Command, Actor]]:
    """Everyone checks in, the meeting starts and the discussion opens."""
    clerk, chair = Actor.member(seeded.clerk), Actor.member(seeded.chair)
    steps: list[tuple[c.Command, Actor]] = [
        (c.CheckIn(member_id=member_id, mode="in_person" if member_id % 2 else "remote"), clerk)
        for member_id in (seeded.chair, seeded.clerk, *seeded.speakers)
    ]
    steps += [(c.StartMeeting(), chair), (c.OpenItem(item_id=seeded.discussion_item), chair)]
    return steps


def discussion_commands(seeded: Seeded, count: int) -> Iterator[tuple[c.Command, Actor]]:
    """Turns of the discussion, one event per command: raise a hand, next speaker, minute entry, yield."""
    chair, clerk = Actor.member(seeded.chair), Actor.member(seeded.clerk)
    turn = 0
    while True:
        speaker = seeded.speakers[turn % len(seeded.speakers)]
        entry_id = f"e{turn}"
        text_said = f"Đồng chí {speaker} phát biểu ý kiến về tình hình thực hiện nghị quyết, lượt {turn}."
        for step in (
            (c.RaiseHand(), Actor.member(speaker)),
            (c.NextSpeaker(), chair),
            (
                c.WriteEntry(entry_id=entry_id, item_id=seeded.discussion_item, text=text_said, speaker_id=speaker),
                clerk,
            ),
            (c.YieldFloor(), Actor.member(speaker)),
        ):
            if count == 0:
                return
            count -= 1
            yield step
        turn += 1


def prepare(service: MeetingService, seeded: Seeded) -> None:
    service.open(seeded.meeting_id)
    for command, actor in opening_commands(seeded):
        service.execute(seeded.meeting_id, command, actor)


# -- measurements ---------------------------------------------------------------------------------------------
def appends_one_meeting(service: MeetingService, seeded: Seeded, commands: int) -> dict[str, float]:
    prepare(service, seeded)
    _, seq_before = service.state(seeded.meeting_id)
    started = time.perf_counter()
    for command, actor in discussion_commands(seeded, commands):
        service.execute(seeded.meeting_id, command, actor)
    elapsed = time.perf_counter() - started
    _, seq_after = service.state(seeded.meeting_id)
    return {"events": seq_after - seq_before, "seconds": elapsed}


async def _drive(service: MeetingService, seeded: Seeded, commands: int) -> None:
    for command, actor in discussion_commands(seeded, commands):
        await service.execute_async(seeded.meeting_id, command, actor)


def appends_many_meetings(service: MeetingService, meetings: list[Seeded], commands: int) -> dict[str, float]:
    for seeded in meetings:
        prepare(service, seeded)
    before = sum(service.state(s.meeting_id)[1] for s in meetings)

    async def all_at_once() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_drive(service, seeded, commands) for seeded in meetings))
        return time.perf_counter() - started

    elapsed = asyncio.run(all_at_once())
    after = sum(service.state(s.meeting_id)[1] for s in meetings)
    return {"events": after - before, "seconds": elapsed}


def write_long_journal(sessions: sessionmaker[Session], seeded: Seeded, events_wanted: int) -> int:
    """A meeting with `events_wanted` events, made by the pure core and inserted in bulk (no service: the
    point is the rebuild, and appending 10,000 events one transaction each would dominate the run)."""
    now = datetime.now(UTC)
    with sessions() as session:
        opened = build_journal_opened(session, seeded.meeting_id, now)
    state = evolve(MeetingState(meeting_id=seeded.meeting_id), opened)
    recorded = journal.seal(
        seeded.meeting_id, [opened], after_seq=0, head=journal.GENESIS, actor="system", command_id=None
    )

    def append(command: c.Command, actor: Actor) -> None:
        nonlocal state
        events = decide(state, command, actor, now)
        label = journal.actor_label(actor.kind, actor.member_id)
        recorded.extend(
            journal.seal(
                seeded.meeting_id,
                events,
                after_seq=recorded[-1].seq,
                head=recorded[-1].hash,
                actor=label,
                command_id=None,
            )
        )
        for event in events:
            state = evolve(state, event)

    for command, actor in opening_commands(seeded):
        append(command, actor)
    for command, actor in discussion_commands(seeded, events_wanted - len(recorded)):
        now += timedelta(seconds=1)
        append(command, actor)
    rows = [
        {
            "meeting_id": r.meeting_id,
            "seq": r.seq,
            "type": r.type,
            "at": r.at,
            "actor": r.actor,
            "command_id": r.command_id,
            "payload": journal.canonical(event_to_json(r.event)).decode("utf-8"),
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }
        for r in recorded
    ]
    with sessions.begin() as session:
        for start in range(0, len(rows), 1000):
            session.execute(insert(m.JournalEvent), rows[start : start + 1000])
        meeting = session.get(m.Meeting, seeded.meeting_id)
        meeting.journal_seq, meeting.journal_head = recorded[-1].seq, recorded[-1].hash
    with sessions() as session:
        assert journal.verify(session, seeded.meeting_id).valid
    return len(recorded)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_database(engine: Engine, plan: Plan, name: str) -> dict:
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    service = MeetingService(sessions)
    result: dict = {}

    one = []
    for run in range(plan.runs):
        (seeded,) = seed_meetings(sessions, 1, f"{name}-one-{run}")
        one.append(appends_one_meeting(service, seeded, plan.single_commands))
    result["one_meeting"] = {
        "appends_per_second_median": round(statistics.median(r["events"] / r["seconds"] for r in one), 1),
        "events_per_run": one[0]["events"],
        "runs": plan.runs,
        "ms_per_append_median": round(statistics.median(1000 * r["seconds"] / r["events"] for r in one), 3),
    }

    many = []
    for run in range(plan.runs):
        meetings = seed_meetings(sessions, CONCURRENT_MEETINGS, f"{name}-many-{run}")
        many.append(appends_many_meetings(service, meetings, plan.concurrent_commands))
    result["meetings_at_once"] = {
        "meetings": CONCURRENT_MEETINGS,
        "appends_per_second_median": round(statistics.median(r["events"] / r["seconds"] for r in many), 1),
        "events_per_run": many[0]["events"],
        "runs": plan.runs,
        "driver": "asyncio + MeetingService.execute_async (worker threads)",
    }

    (seeded,) = seed_meetings(sessions, 1, f"{name}-rebuild")
    length = write_long_journal(sessions, seeded, REBUILD_EVENTS)
    rebuilt_seq = service.rebuild(seeded.meeting_id)[1]
    assert rebuilt_seq == length
    total, reading = [], []
    for _ in range(plan.rebuild_runs):
        total.append(timed(lambda: service.rebuild(seeded.meeting_id)))

        def read_only() -> None:
            with sessions() as session:
                journal.read(session, seeded.meeting_id)

        reading.append(timed(read_only))
    result["rebuild"] = {
        "events": length,
        "seconds_median": round(statistics.median(total), 4),
        "read_seconds_median": round(statistics.median(reading), 4),  # of which: query and parse the events
        "runs": plan.rebuild_runs,
    }
    return result


def run_sqlite(plan: Plan) -> dict:
    with tempfile.TemporaryDirectory(prefix="chibo-bench-") as directory:
        engine = make_engine(f"sqlite:///{directory}/journal.db")
        try:
            return {"url": "sqlite (temporary file, WAL, synchronous=NORMAL)", **bench_database(engine, plan, "s")}
        finally:
            engine.dispose()


def run_postgresql(plan: Plan) -> dict:
    with pg_schema("bench_journal") as schema:
        engine = make_engine(schema.url)
        try:
            return {"url": schema.describe(), **bench_database(engine, plan, "p")}
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer commands and runs (a smoke run)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    report: dict = {
        "bench": "journal",
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "workload": "raise hand, next speaker, minute entry, yield: one event per command, one transaction each",
    }
    if args.only != "postgresql":
        report["sqlite"] = run_sqlite(plan)
    if args.only != "sqlite":
        report["postgresql"] = run_postgresql(plan)
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
