"""Bench: what one command costs in the service, in process (no sockets, no hub): decide, seal, the journal rows,
the projection, commit, fold. On SQLite (a file in a temporary directory, WAL) and on PostgreSQL (a schema of its
own in the `test` database on 127.0.0.1:5432, dropped afterwards).

Workloads, each on a started meeting of 30 checked-in officials, one command after another from one thread:
  - floor: the chair gives the floor and takes it back, with a client command id each time (bench/fanout.py's
    chair): one or two events per command;
  - turn: a member raises a hand, the chair gives the next speaker the floor, the clerk writes the minute entry,
    the speaker yields (bench/journal.py's discussion), no command id;
  - resent: the same `floor` command sent again with its id (answered from the journal, nothing appended).
For each: milliseconds per command (median of several runs), and the SQL statements sent per command (commit
included; a statement can be one round trip to PostgreSQL or more). Then the fold alone: microseconds per minute
entry when folding a journal of 1,000 / 4,000 / 16,000 entries (flat when folding is linear).
Prints one JSON object.

Measured (2 cores, load average under 1, two runs each): floor 0.30-0.32 ms and 4.5 statements per command on
SQLite, 1.16-1.27 ms on PostgreSQL; turn 0.32-0.34 / 1.31-1.41 ms; fold 8 / 9 / 17 us per entry. Before issue 3's
work on the command path: floor 1.38-1.41 ms and 7 statements (SQLite), 3.5-4.2 ms (PostgreSQL); turn 0.92-0.96 /
2.3 ms; fold 25 / 88 / 400 us per entry (quadratic).

    .venv/bin/python bench/command.py [--quick] [--only sqlite|postgresql] [--profile]

--profile prints the functions that took the most time (cProfile, the floor workload) on stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SECRET, pg_schema

from meeting.context import AppContext
from meeting.db.models import Branch, Member
from meeting.domain import Actor, MeetingState, fold
from meeting.domain import commands as c
from meeting.domain import events as ev
from meeting.planning import create_meeting
from meeting.service import MeetingService
from meeting.settings import Settings

MEMBERS = 30
FOLD_ENTRIES = (1_000, 4_000, 16_000)


class Meeting:
    """A started meeting of `MEMBERS` officials, all present, its discussion item open."""

    def __init__(self, context: AppContext, tag: str) -> None:
        with context.sessions.begin() as session:
            branch = Branch(name=f"Chi bộ {tag}", code=f"bench-command-{tag}")
            session.add(branch)
            session.flush()
            members = [
                Member(branch_id=branch.id, full_name=f"Đảng viên {k}", category="official") for k in range(MEMBERS)
            ]
            session.add_all(members)
            session.flush()
            meeting = create_meeting(
                session,
                branch_id=branch.id,
                kind="regular",
                title="Sinh hoạt chi bộ",
                scheduled_at=datetime.now(UTC),
                chair_id=members[0].id,
                clerk_id=members[1].id,
            )
            self.id, self.members = meeting.id, [m.id for m in members]
            discussion = next(item.id for item in meeting.agenda if item.kind == "discussion")
        self.chair, self.clerk = Actor.member(self.members[0]), Actor.member(self.members[1])
        service = context.service
        for member_id in self.members:
            service.execute(self.id, c.CheckIn(member_id=member_id, mode="in_person"), self.clerk)
        service.execute(self.id, c.StartMeeting(), self.chair)
        service.execute(self.id, c.OpenItem(item_id=discussion), self.chair)
        self.discussion = discussion


def floor(meeting: Meeting, tag: str) -> Iterator[tuple[c.Command, Actor, str | None]]:
    n = 0
    while True:
        n += 1
        command = c.GrantFloor(member_id=meeting.members[2]) if n % 2 else c.RevokeFloor()
        yield command, meeting.chair, f"{tag}-{n}"


def turns(meeting: Meeting, tag: str) -> Iterator[tuple[c.Command, Actor, str | None]]:
    n = 0
    while True:
        speaker = meeting.members[2 + n % (MEMBERS - 2)]
        yield c.RaiseHand(), Actor.member(speaker), None
        yield c.NextSpeaker(), meeting.chair, None
        entry = c.WriteEntry(
            entry_id=f"{tag}-e{n}", item_id=meeting.discussion, text=f"Ý kiến phát biểu lượt {n}.", speaker_id=speaker
        )
        yield entry, meeting.clerk, None
        yield c.YieldFloor(), Actor.member(speaker), None
        n += 1


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_args) -> None:
        self.count += 1

    def _commit(self, *_args) -> None:
        self.count += 1


def run(
    service: MeetingService,
    meeting: Meeting,
    commands: Iterator[tuple[c.Command, Actor, str | None]],
    count: int,
    counter: StatementCounter,
) -> tuple[float, float]:
    """Milliseconds and statements per command."""
    statements = counter.count
    started = time.perf_counter()
    for _ in range(count):
        command, actor, command_id = next(commands)
        service.execute(meeting.id, command, actor, command_id)
    elapsed = time.perf_counter() - started
    return 1000 * elapsed / count, (counter.count - statements) / count


def measure(context: AppContext, runs: int, count: int, profile: bool) -> dict:
    service, counter = context.service, StatementCounter(context.engine)
    result: dict = {}
    workloads: dict[str, Callable[[Meeting, str], Iterator]] = {"floor": floor, "turn": turns}
    for name, workload in workloads.items():
        meeting = Meeting(context, f"{name}-{uuid.uuid4().hex[:6]}")
        commands = workload(meeting, name)
        run(service, meeting, commands, count // 4, counter)  # warm: statements compiled, caches filled
        figures = [run(service, meeting, commands, count, counter) for _ in range(runs)]
        result[name] = {
            "ms_per_command_median": round(statistics.median(ms for ms, _ in figures), 3),
            "statements_per_command": round(statistics.median(n for _, n in figures), 2),
            "commands_per_run": count,
            "runs": runs,
        }
        if name == "floor":
            sent = [next(commands) for _ in range(8)]
            for command, actor, command_id in sent:
                service.execute(meeting.id, command, actor, command_id)

            resent = [run(service, meeting, itertools.cycle(sent), count, counter) for _ in range(runs)]
            result["resent"] = {
                "ms_per_command_median": round(statistics.median(ms for ms, _ in resent), 3),
                "statements_per_command": round(statistics.median(n for _, n in resent), 2),
                "commands_per_run": count,
                "runs": runs,
            }
            if profile:
                profiler = cProfile.Profile()
                profiler.runcall(run, service, meeting, commands, count, counter)
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.sort_stats("cumulative").print_stats(40)
    return result


def fold_figures(runs: int) -> dict:
    opened = ev.JournalOpened(
        at="2024-11-20T00:30:00+00:00",
        meeting_id=1,
        branch_id=1,
        title="Sinh hoạt chi bộ",
        kind="regular",
        place="Hội trường",
        scheduled_at=None,
        chair_id=1,
        clerk_id=2,
        roster=[ev.RosterEntry(member_id=k, name=f"Đảng viên {k}", category="official") for k in range(1, MEMBERS + 1)],
        agenda=[ev.AgendaEntry(id="a1", title="Thảo luận", kind="discussion", speaking_limit_s=None)],
        rules=ev.RulesEntry(
            quorum_numerator=2,
            quorum_denominator=3,
            quorum_strict=True,
            majority_numerator=1,
            majority_denominator=2,
            majority_strict=True,
        ),
    )
    figures = {}
    for entries in FOLD_ENTRIES:
        events = [opened] + [
            ev.EntryWritten(
                at="2024-11-20T01:00:00+00:00",
                entry_id=f"e{n}",
                item_id="a1",
                speaker_id=3,
                kind="opinion",
                text=f"Ý kiến phát biểu lượt {n}.",
                by=2,
            )
            for n in range(entries)
        ]
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            fold(MeetingState(meeting_id=1), events)
            seconds.append(time.perf_counter() - started)
        figures[str(entries)] = round(1e6 * statistics.median(seconds) / entries, 2)
    return {"us_per_entry_median": figures, "runs": runs}


@contextmanager
def database(kind: str, directory: str) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield f"sqlite:///{directory}/command.db", "sqlite (temporary file, WAL, synchronous=NORMAL)"
        return
    with pg_schema("bench_command") as schema:
        yield schema.url, schema.describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer commands and runs (a smoke run)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", action="store_true", help="cProfile of the floor workload, on stderr")
    args = parser.parse_args()
    runs, count = (3, 100) if args.quick else (5, 400)
    report: dict = {
        "bench": "command",
        "quick": args.quick,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    kinds = [k for k in ("sqlite", "postgresql") if args.only in (None, k)]
    with tempfile.TemporaryDirectory(prefix="chibo-bench-") as directory:
        for kind in kinds:
            with database(kind, directory) as (url, label):
                context = AppContext.create(Settings(database_url=url, secret_key=SECRET))
                try:
                    report[kind] = {"url": label, **measure(context, runs, count, args.profile)}
                finally:
                    context.engine.dispose()
    report["fold"] = fold_figures(runs)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
