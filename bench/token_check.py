"""Bench: what the revocation check (meeting/auth.py, check_not_revoked) adds to every authenticated request.

Times, for 10,000 logins, the token check as `principal()` does it (decode the JWT, then one primary-key lookup of
the account's token epoch in a session of its own) against the decode alone, on SQLite and on PostgreSQL (a schema
of its own in the `test` database on 127.0.0.1:5432, dropped afterwards). Prints one JSON document.

    .venv/bin/python bench/token_check.py [--runs 2000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SECRET, pg_schema

from meeting.auth import Principal, check_not_revoked, decode_access_token, issue_access_token
from meeting.context import AppContext
from meeting.db.models import User
from meeting.settings import Settings

USERS = 10_000


def _measure(database_url: str, runs: int) -> dict:
    context = AppContext.create(Settings(database_url=database_url, secret_key=SECRET))
    with context.engine.begin() as connection:
        connection.execute(
            insert(User), [{"username": f"u{i}", "display_name": f"U {i}", "token_epoch": 0} for i in range(USERS)]
        )
    tokens = [
        issue_access_token(
            Principal(user_id=1 + (i * 7919) % USERS, member_id=None, branch_id=None, role="member"), SECRET
        )
        for i in range(runs)
    ]

    def decode_only(token: str) -> None:
        decode_access_token(token, SECRET)

    def decode_and_check(token: str) -> None:
        who = decode_access_token(token, SECRET)
        with context.sessions() as session:
            check_not_revoked(session, who)

    timings = {}
    for name, step in (("decode_only", decode_only), ("decode_and_check", decode_and_check)):
        for token in tokens[:50]:  # warm the pool and the caches
            step(token)
        samples = []
        for token in tokens:
            start = time.perf_counter()
            step(token)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        timings[name] = {
            "median_ms": round(statistics.median(samples), 4),
            "p95_ms": round(samples[int(len(samples) * 0.95)], 4),
        }
    context.engine.dispose()
    added = timings["decode_and_check"]["median_ms"] - timings["decode_only"]["median_ms"]
    return {**timings, "added_median_ms": round(added, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    report: dict = {"bench": "token_check", "users": USERS, "runs": args.runs, "results": {}}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            report["results"]["sqlite"] = _measure(f"sqlite:///{folder}/bench.db", args.runs)
    if args.only in (None, "postgresql"):
        with pg_schema("token") as schema:
            report["results"]["postgresql"] = {"server": schema.describe(), **_measure(schema.url, args.runs)}
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
