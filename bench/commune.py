"""Bench: the commune admin overview for a commune of 50 branches and 2,000 members with a year of monthly meetings.

Seeds the tables with bulk inserts (not through the meeting service, so setting up takes seconds), then times
the overview both as a function call and as the HTTP route (token check and JSON included), on SQLite and on
PostgreSQL (a schema of its own in the `test` database on 127.0.0.1:5432, dropped afterwards).
Prints one JSON document. Target: median under 200 ms.

    .venv/bin/python bench/commune.py [--runs 40] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SECRET, pg_schema

from meeting import commune as cm
from meeting.auth import Principal, issue_access_token
from meeting.context import AppContext
from meeting.db import models as m
from meeting.settings import Settings

BRANCHES, MEMBERS_PER_BRANCH, MONTHS = 50, 40, 12
TARGET_MS = 200


def month_start(now: datetime, back: int) -> datetime:
    year, month = now.year, now.month - back
    while month < 1:
        month += 12
        year -= 1
    return datetime(year, month, 1, tzinfo=UTC)


def seed(context: AppContext, now: datetime) -> dict[str, int]:
    """One commune, its admin, 50 branches of 40 members, a meeting a month for a year with attendance and
    reports; the current month half planned, half held."""
    rng = random.Random(7)
    counts = {"branches": BRANCHES, "members": 0, "meetings": 0, "attendance_rows": 0, "reports": 0}
    with context.sessions.begin() as session:
        commune = m.Commune(name="Đảng ủy xã Bench", code="bench")
        session.add(commune)
        session.flush()
        admin = m.User(username="bench-admin", display_name="Ban Xây dựng Đảng", is_admin=True, commune_id=commune.id)
        session.add(admin)
        session.flush()
        commune_id, admin_id = commune.id, admin.id
        session.execute(
            insert(m.Branch),
            [
                {"name": f"Chi bộ thôn {i + 1:02d}", "code": f"bench-{i + 1:02d}", "commune_id": commune_id}
                for i in range(BRANCHES)
            ],
        )
        branch_ids = [row[0] for row in session.execute(text("SELECT id FROM branches ORDER BY id"))]
        categories = ["official"] * 34 + ["probationary"] * 3 + ["exempt"] * 2 + ["guest"]
        member_rows = [
            {
                "branch_id": branch_id,
                "full_name": f"Đảng viên {branch_id}-{n}",
                "category": categories[n],
                "role": "secretary" if n == 0 else "member",
            }
            for branch_id in branch_ids
            for n in range(MEMBERS_PER_BRANCH)
        ]
        session.execute(insert(m.Member), member_rows)
        members: dict[int, list[tuple[int, str]]] = {}
        for member_id, branch_id, category in session.execute(text("SELECT id, branch_id, category FROM members")):
            members.setdefault(branch_id, []).append((member_id, category))
        counts["members"] = len(member_rows)

        meeting_rows = []
        for branch_id in branch_ids:
            for back in range(MONTHS, -1, -1):
                start = month_start(now, back) + timedelta(days=9, hours=1)
                held = back > 0 or rng.random() < 0.5
                meeting_rows.append(
                    {
                        "branch_id": branch_id,
                        "kind": "regular",
                        "title": f"Sinh hoạt chi bộ tháng {start:%m/%Y}",
                        "place": "Nhà văn hóa",
                        "scheduled_at": start if held else now + timedelta(days=3),
                        "status": "ended" if held else "scheduled",
                        "started_at": start if held else None,
                        "ended_at": start + timedelta(hours=2) if held else None,
                        "journal_seq": 0,
                    }
                )
        session.execute(insert(m.Meeting), meeting_rows)
        counts["meetings"] = len(meeting_rows)
        ended = list(session.execute(text("SELECT id, branch_id, ended_at FROM meetings WHERE status = 'ended'")))
        attendance_rows, report_rows = [], []
        for meeting_id, branch_id, ended_at in ended:
            for member_id, _category in members[branch_id]:
                roll = rng.random()
                status = "present" if roll < 0.8 else "absent_excused" if roll < 0.9 else "absent_unexcused"
                attendance_rows.append(
                    {
                        "meeting_id": meeting_id,
                        "member_id": member_id,
                        "status": status,
                        "mode": ("remote" if rng.random() < 0.3 else "in_person") if status == "present" else None,
                        "late": False,
                        "reason": "Đi công tác" if status == "absent_excused" else None,
                    }
                )
            fate = rng.random()
            if fate < 0.9:
                ended_at = ended_at if isinstance(ended_at, datetime) else datetime.fromisoformat(str(ended_at))
                delay = timedelta(days=2) if fate < 0.85 else timedelta(days=12)
                report_rows.append(
                    {
                        "meeting_id": meeting_id,
                        "branch_id": branch_id,
                        "submitted_at": ended_at + delay,
                        "minutes_shared": fate < 0.4,
                        "note": "",
                    }
                )
        for chunk in range(0, len(attendance_rows), 5000):
            session.execute(insert(m.Attendance), attendance_rows[chunk : chunk + 5000])
        session.execute(insert(m.ReportSubmission), report_rows)
        counts["attendance_rows"], counts["reports"] = len(attendance_rows), len(report_rows)
    counts["commune_id"], counts["admin_id"] = commune_id, admin_id
    return counts


def timed(call, runs: int) -> dict[str, float]:
    call()  # warm-up: connection pool, statement caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[math.ceil(len(samples) * 0.95) - 1], 2),  # nearest rank: never below the median
        "max_ms": round(samples[-1], 2),
    }


def bench(database_url: str, runs: int) -> dict:
    with warnings.catch_warnings():  # the test client's notice about httpx is noise beside the JSON
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from meeting.app import create_app

    settings = Settings(database_url=database_url, secret_key=SECRET, data_dir=tempfile.mkdtemp(prefix="chibo-bench-"))
    context = AppContext.create(settings)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        counts = seed(context, now)
        seed_s = round(time.perf_counter() - started, 2)
        last_month = cm.Month.parse(f"{month_start(now, 1):%Y-%m}", now)
        this_month = cm.Month.parse(None, now)

        def overview(month: cm.Month) -> dict:
            with context.sessions() as session:
                commune = session.get(m.Commune, counts["commune_id"])
                return cm.overview(session, commune, month, now=now)

        check = overview(last_month)
        assert len(check["branches"]) == BRANCHES and check["totals"]["held"] == BRANCHES
        who = Principal(user_id=counts["admin_id"], member_id=None, branch_id=None, role="admin", is_admin=True)
        headers = {"Authorization": f"Bearer {issue_access_token(who, SECRET)}"}
        with TestClient(create_app(context=context)) as client:

            def http() -> None:
                response = client.get(f"/api/commune/overview?month={last_month.label}", headers=headers)
                assert response.status_code == 200, response.text

            http_figures = timed(http, runs)
        result = {
            "seed_s": seed_s,
            **{k: v for k, v in counts.items() if k not in ("commune_id", "admin_id")},
            "overview_last_month": timed(lambda: overview(last_month), runs),
            "overview_this_month": timed(lambda: overview(this_month), runs),
            "http_overview_last_month": http_figures,
            "late_reports_seen": check["totals"]["reports_late"],
        }
        result["meets_target"] = all(
            result[k]["median_ms"] < TARGET_MS
            for k in ("overview_last_month", "overview_this_month", "http_overview_last_month")
        )
        return result
    finally:
        context.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    report: dict = {"target_median_ms": TARGET_MS, "runs": args.runs}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory(prefix="chibo-bench-") as folder:
            report["sqlite"] = bench(f"sqlite:///{folder}/bench.db", args.runs)
    if args.only in (None, "postgresql"):
        with pg_schema("bench_commune") as schema:
            report["postgresql"] = bench(schema.url, args.runs)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
