"""Bench: the minutes of a 3-hour meeting with 2,000 minute entries, assembled from the journal and rendered.

The journal is made in memory, chained as the service chains it: 30 members, the regular order of business,
2,000 entries (opinions with their floor grants, notes, some revised) over three hours, five votes. Each step is
timed separately: folding the journal into the minutes, laying them out, and rendering DOCX, PDF and HTML. The
sealed PDF is timed beside the plain one: rendered with the journal embedded, then digitally signed (PAdES, pyHanko,
a 2048-bit RSA key in a PKCS#12 file made for the run by a throwaway test CA).
Prints one JSON document with medians (and the slowest run) in milliseconds, and the files' sizes.

    .venv/bin/python bench/record.py [--runs 5] [--entries 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meeting.domain import events as ev
from meeting.domain.model import AttendanceMode, Category, Choice, EntryKind
from meeting.journal import GENESIS, seal
from meeting.record import digital_seal
from meeting.record.assemble import assemble
from meeting.record.docx import render_docx
from meeting.record.html import render_html
from meeting.record.layout import minutes_layout
from meeting.record.model import Header, RecordContext, Signer
from meeting.record.pdf import render_pdf
from meeting.record.seal import journal_attachment
from meeting.settings import SealSettings
from meeting.templates import REGULAR
from tests.sealing import PKCS12_PASSWORD, make_ca, make_signer, write_pkcs12

WORDS = [
    "chi",
    "bộ",
    "đảng",
    "viên",
    "nghị",
    "quyết",
    "nhiệm",
    "vụ",
    "thực",
    "hiện",
    "kết",
    "quả",
    "đề",
    "nghị",
    "thống",
    "nhất",
    "phong",
    "trào",
    "khu",
    "dân",
    "cư",
    "vận",
    "động",
    "quỹ",
    "khuyến",
    "học",
    "đường",
    "giao",
    "thông",
    "nông",
    "thôn",
    "đảng",
    "phí",
    "sinh",
    "hoạt",
    "tư",
    "tưởng",
    "gương",
    "mẫu",
    "học",
    "tập",
    "làm",
    "theo",
]


def make_journal(entries: int, seed: int = 7, step: timedelta | None = None) -> list:
    """The events spread evenly over three hours (a first pass counts them)."""
    if step is None:
        step = timedelta(hours=3) / (len(make_journal(entries, seed, timedelta(seconds=1))) - 1)
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)  # 19:30 in Vietnam
    clock = [start]

    def at() -> str:
        clock[0] += step
        return clock[0].isoformat()

    roster = [
        ev.RosterEntry(member_id=i, name=f"Nguyễn Văn Đảng Viên {i}", category=Category.OFFICIAL) for i in range(1, 29)
    ]
    roster += [
        ev.RosterEntry(member_id=29, name="Trần Thị Dự Bị", category=Category.PROBATIONARY),
        ev.RosterEntry(member_id=30, name="Phan Văn Khách", category=Category.GUEST),
    ]
    agenda = [ev.AgendaEntry(id=f"i{n}", title=t.title_vi, kind=t.kind) for n, t in enumerate(REGULAR.items)]
    events: list = [
        ev.JournalOpened(
            at=at(),
            meeting_id=1,
            branch_id=1,
            title="Sinh hoạt chi bộ thường kỳ tháng 11",
            kind="regular",
            place="Hội trường thôn",
            scheduled_at=start.isoformat(),
            chair_id=1,
            clerk_id=2,
            roster=roster,
            agenda=agenda,
            rules=ev.RulesEntry(),
        )
    ]
    for member in range(1, 31):
        if member in (27, 28):
            events.append(ev.MarkedAbsent(at=at(), member_id=member, reason="Ốm" if member == 27 else None))
        else:
            mode = AttendanceMode.REMOTE if member % 5 == 0 else AttendanceMode.IN_PERSON
            events.append(ev.CheckedIn(at=at(), member_id=member, mode=mode, late=False, returning=False, by=2))
    events.append(ev.MeetingStarted(at=at()))
    per_item = entries // len(agenda)
    written = 0
    for index, item in enumerate(agenda):
        events.append(ev.ItemOpened(at=at(), item_id=item.id))
        count = per_item if index < len(agenda) - 1 else entries - written
        for _ in range(count):
            written += 1
            speaker = rng.randint(3, 26)
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 60))).capitalize() + "."
            kind = EntryKind.OPINION if written % 4 else EntryKind.NOTE
            if kind == EntryKind.OPINION:
                events.append(ev.FloorGranted(at=at(), member_id=speaker, item_id=item.id, deadline=None))
            entry_id = f"e{written}"
            events.append(
                ev.EntryWritten(
                    at=at(),
                    entry_id=entry_id,
                    item_id=item.id,
                    speaker_id=speaker if kind == EntryKind.OPINION else None,
                    kind=kind,
                    text=text,
                    by=2,
                )
            )
            if written % 10 == 0:
                events.append(
                    ev.EntryRevised(at=at(), entry_id=entry_id, speaker_id=None, text=text + " (đã sửa)", by=2)
                )
        if item.kind in ("resolution", "minutes", "discussion", "report", "review"):
            vote_id = f"v-{item.id}"
            events.append(
                ev.VoteOpened(at=at(), vote_id=vote_id, item_id=item.id, question=f"Biểu quyết: {item.title}")
            )
            events.append(ev.BallotCast(at=at(), vote_id=vote_id, member_id=5, choice=Choice.FOR))
            events.append(
                ev.VoteClosed(
                    at=at(),
                    vote_id=vote_id,
                    votes_for=22,
                    votes_against=1,
                    votes_abstain=1,
                    not_voting=1,
                    basis=27,
                    passed=True,
                )
            )
        if item.kind == "conclusion":
            events.append(ev.ItemConcluded(at=at(), item_id=item.id, text="Chi bộ thống nhất các nhiệm vụ trọng tâm."))
        events.append(ev.ItemClosed(at=at(), item_id=item.id))
    events.append(ev.MeetingEnded(at=at()))
    return seal(1, events, after_seq=0, head=GENESIS, actor="member:1", command_id=None)


def timed(runs: int, work) -> tuple[dict, object]:
    """Wall-clock medians and maxima, and the median CPU time of this process (what a busy, shared machine's
    wall clock hides)."""
    times, cpu, result = [], [], None
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "cpu_median_ms": round(statistics.median(cpu), 1),
    }, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    recorded = make_journal(args.entries)
    context = RecordContext(
        header=Header(
            organisation="Đảng bộ xã Tân Lập",
            branch_name="Chi bộ thôn Đông",
            locality="Tân Lập",
            number="11-BB/CB",
            chair_role="secretary",
        )
    )
    moment = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assembled, minutes = timed(args.runs, lambda: assemble(recorded, context))
    signers = [Signer(role="chair", member_id=1, name="Chủ trì"), Signer(role="clerk", member_id=2, name="Thư ký")]
    sha = minutes.content_sha256()
    laid, layout = timed(args.runs, lambda: minutes_layout(minutes, signers, sealed=True, content_sha256=sha))
    docx_t, docx = timed(args.runs, lambda: render_docx(layout, moment))
    pdf_t, pdf = timed(args.runs, lambda: render_pdf(layout, moment))
    html_t, html = timed(args.runs, lambda: render_html(layout))
    with tempfile.TemporaryDirectory() as folder:
        ca_key, ca_cert = make_ca()
        key, cert = make_signer(ca_key, ca_cert)
        p12 = write_pkcs12(Path(folder) / "seal.p12", key, cert, ca_cert)
        sealing = SealSettings(pkcs12=str(p12), pkcs12_password=PKCS12_PASSWORD)
        digital_seal.check_settings(sealing)  # the key is read once, at start-up, as the service does
        attachments = (journal_attachment(1, recorded),)
        embedded_t, embedded = timed(args.runs, lambda: render_pdf(layout, moment, attachments))
        signed_t, signed = timed(args.runs, lambda: digital_seal.sign_pdf(sealing, embedded))
        checked_t, check = timed(args.runs, lambda: digital_seal.check_signature(signed.data))
    assert check["intact"] and check["valid"], check
    hashed, _ = timed(args.runs, lambda: minutes.content_sha256())
    started, ended = datetime.fromisoformat(minutes.started_at), datetime.fromisoformat(minutes.ended_at)
    report = {
        "bench": "record",
        "meeting": {
            "entries": sum(len(item.entries) for item in minutes.items),
            "journal_events": len(recorded),
            "hours": round((ended - started).total_seconds() / 3600, 2),
            "votes": sum(len(item.votes) for item in minutes.items),
        },
        "runs": args.runs,
        "assemble_from_journal": assembled,
        "content_hash": hashed,
        "layout": laid,
        "docx": {**docx_t, "bytes": len(docx)},
        "pdf": {**pdf_t, "bytes": len(pdf), "pages": len(re.findall(rb"/Type\s*/Page(?!s)", pdf))},
        "html": {**html_t, "bytes": len(html.encode())},
        "docx_total_ms": round(assembled["median_ms"] + laid["median_ms"] + docx_t["median_ms"], 1),
        "pdf_total_ms": round(assembled["median_ms"] + laid["median_ms"] + pdf_t["median_ms"], 1),
        # The sealed PDF, side by side with the plain one: with the journal embedded, then signed.
        "pdf_sealed": {
            "render_with_journal": {**embedded_t, "bytes": len(embedded), "journal_bytes": len(attachments[0].data)},
            "sign": {**signed_t, "bytes": len(signed.data)},
            "verify_signature": checked_t,
        },
        "pdf_sealed_total_ms": round(
            assembled["median_ms"] + laid["median_ms"] + embedded_t["median_ms"] + signed_t["median_ms"], 1
        ),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
