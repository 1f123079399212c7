"""The branch report to the upper committee: its content, and the same content in DOCX and PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from meeting import reports
from meeting.db.models import Member, Vote
from meeting.errors import Rejected
from tests.prep.test_stats import _add_actions, _run_known_meeting


def test_no_report_before_the_meeting_ends(context, branch):
    with context.sessions() as session, pytest.raises(Rejected) as refused:
        reports.build_report(session, branch.meeting_id)
    assert refused.value.code == "report_not_ready"


@pytest.fixture
def report(context, branch):
    _run_known_meeting(context, branch)
    _add_actions(context, branch, datetime.now(UTC))
    with context.sessions.begin() as session:
        session.add(
            Vote(
                id="v1",
                meeting_id=branch.meeting_id,
                item_id=branch.item_ids[5],
                question="Thông qua nghị quyết tháng",
                status="closed",
                opened_at=datetime.now(UTC),
                votes_for=5,
                votes_against=1,
                votes_abstain=0,
                not_voting=0,
                basis=6,
                passed=False,
            )
        )
    with context.sessions() as session:
        names = {m.id: m.full_name for m in session.query(Member)}
        return reports.build_report(session, branch.meeting_id), names


def test_report_content_attendance_absences_votes_and_follow_up(branch, report):
    built, names = report
    text = built.text()
    assert "Có mặt: 6 (tại hội trường 4, trực tuyến 2)" in text
    assert "Vắng có lý do: 1. Vắng không lý do: 0." in text  # the exempt member's absence is not counted
    assert f"{names[branch.officials[5]]} | Đi công tác" in text
    assert f"Chủ trì: đồng chí {names[branch.chair]}" in text
    assert "Thảo luận. 1 ý kiến phát biểu." in text
    assert "Thông qua nghị quyết tháng | 5 | 1 | 0 | Không thông qua (5/6)" in text
    assert text.count("| Đã hoàn thành") == 2 and text.count("| Đang thực hiện") == 3
    assert "Ý kiến" not in text and "Đồng ý." not in text  # who said what stays in the minutes


def test_docx_holds_the_same_content(report):
    built, _ = report
    document = docx.Document(io.BytesIO(reports.render_docx(built)))
    words = [p.text for p in document.paragraphs]
    for table in document.tables:
        words += [cell.text for row in table.rows for cell in row.cells]
    flat = "\n".join(words)
    for block in built.blocks:
        if block.kind in ("title", "heading", "para"):
            assert block.text in flat
        for row in block.rows:
            assert all(cell in flat for cell in row)
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in flat


def test_pdf_holds_the_same_content_in_vietnamese(report):
    built, _ = report
    data = reports.render_pdf(built)
    assert data.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    squashed = " ".join(text.split())
    for phrase in ("BÁO CÁO KẾT QUẢ SINH HOẠT CHI BỘ THƯỜNG KỲ", "Vắng có lý do: 1", "Đi công tác", "Không thông qua"):
        assert phrase in squashed, phrase


def test_missing_font_is_a_clear_error(monkeypatch):
    from meeting.record import pdf

    built = reports.BranchReport(1, "Chi bộ thôn Đông", "Đảng bộ xã Tân Lập", "ngày 05 tháng 02 năm 2026", [])
    monkeypatch.setattr(pdf, "font_dirs", lambda: [Path("/nonexistent")])
    pdf.font_files.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="fonts-liberation2"):
            reports.render_pdf(built)
    finally:
        pdf.font_files.cache_clear()
