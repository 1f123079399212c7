"""A full meeting's journal renders into DOCX and PDF whose text, read back, holds every field the minutes must
record, with the figures the meeting produced. The figures expected here come from the scenario's own design
(who came how, who spoke, how each vote went) and from the clock that drove it, never from the code under test.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meeting import journal
from meeting.calendar_vn import VN_TZ
from meeting.context import AppContext
from meeting.db.models import Meeting
from meeting.record import seal
from meeting.record.assemble import locality_of
from meeting.record.html import render_html
from meeting.record.layout import date_words, minutes_layout
from tests.factories import seed_branch
from tests.record import scenario as sc
from tests.record.readback import docx_text, pdf_pages, pdf_text, pdf_to_png

ARTIFACTS = Path(os.environ.get("CHIBO_TEST_ARTIFACTS", "test-artifacts")) / "record"
START = datetime(2026, 11, 20, 19, 27, tzinfo=VN_TZ)  # the clock steps 3 minutes per command


def hm(moment: datetime) -> str:
    local = moment.astimezone(VN_TZ)
    return f"{local.hour:02d}:{local.minute:02d}"


@pytest.fixture
def held(context: AppContext):
    branch = seed_branch(context.sessions, officials=7)
    names = sc.give_names(context, branch)
    meeting = sc.hold_meeting(context, branch, start=START)
    sc.add_resolution(context, branch, meeting, START.date())
    return branch, names, meeting


def draft_files(context: AppContext, meeting_id: int) -> tuple[seal.Draft, bytes, bytes, str]:
    with context.sessions() as session:
        meeting = session.get(Meeting, meeting_id)
        draft = seal.make_draft(session, meeting, journal.read(session, meeting_id), None)
        layout = seal.draft_layout(session, draft, None)
        moment = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
        docx = seal.render(layout, "docx", moment, "test")
        pdf = seal.render(layout, "pdf", moment, "test")
        html = render_html(seal.draft_layout(session, draft, None))
    return draft, docx, pdf, html


def required_phrases(branch, names, held: sc.Held) -> list[str]:
    o = branch.officials
    started, ended = held.moments["started"], held.moments["ended"]
    return [
        # header and title
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "ĐẢNG BỘ XÃ TÂN LẬP",
        "CHI BỘ THÔN ĐÔNG",
        "Số 01-BB/CB",
        f"Tân Lập, {date_words(started.astimezone(VN_TZ))}",
        "BIÊN BẢN",
        "Sinh hoạt chi bộ tháng 11",
        # time, place, chair, clerk, guests
        f"bắt đầu lúc {started.hour} giờ {started.minute:02d} phút, ngày 20 tháng 11 năm 2026",
        "Địa điểm: Nhà văn hóa thôn; hình thức: trực tiếp kết hợp trực tuyến",
        f"Chủ trì: đồng chí {names[o[0]]}, Bí thư Chi bộ",
        f"Thư ký: đồng chí {names[o[1]]}",
        f"Đại biểu cấp trên dự: đồng chí {names[branch.guest]}",
        # attendance: 7 official + 1 exempt (official) + 1 probationary = 9 members; 6 came (4 in the room, 2 online)
        "Tổng số đảng viên của chi bộ: 9 đồng chí; trong đó chính thức: 8 (miễn sinh hoạt: 1), dự bị: 1",
        "Có mặt: 6 đồng chí (tại hội trường: 4; trực tuyến: 2)",
        f"Vắng có lý do: 1 đồng chí: đồng chí {names[o[4]]} ({sc.ABSENCE_REASON})",
        f"Vắng không có lý do: 1 đồng chí: đồng chí {names[o[6]]}",
        f"Miễn sinh hoạt, không dự: đồng chí {names[branch.exempt]}",
        f"Đến muộn: đồng chí {names[o[5]]} ({hm(held.moments['late'])})",
        f"Về sớm: đồng chí {names[branch.probationary]} ({hm(held.moments['left'])})",
        # quorum: 5 of the 7 officials who must attend; more than 2/3 of 7 needs 5
        "5/7 đảng viên chính thức phải dự họp có mặt; quy định > 2/3 (tối thiểu 5 đồng chí): đủ điều kiện tiến hành",
        # per item: notes, opinions in order with speaker and time, the last revision only
        sc.REPORT_NOTE,
        f"Đồng chí {names[o[2]]} ({hm(held.moments['speaker1'])}): {sc.OPINION_1}",
        f"Đồng chí {names[o[3]]} ({hm(held.moments['speaker2'])}): {sc.OPINION_2}",
        f"Đồng chí {names[o[5]]} ({hm(held.moments['speaker3'])}): {sc.OPINION_3_FINAL}",
        f"Kết luận của chủ trì: {sc.CONCLUSION}",
        # the resolution vote: 3 hands for in the room, online 1 for and 1 against; 4 of 7 is more than half
        f"«{sc.RESOLUTION_QUESTION}» — tán thành 4, không tán thành 1, không có ý kiến 0, "
        "không tham gia biểu quyết 0 (giơ tay tại hội trường 3/0/0; trực tuyến 2 phiếu)",
        "Kết quả: THÔNG QUA (4/7 đồng chí tán thành; quy định > 1/2)",
        # the resolution's action items, 5 rõ
        "Thu đảng phí quý IV",
        "100% đảng viên nộp đủ",
        "Vận động quỹ khuyến học",
        # adoption of the minutes, the closing time, the signature blocks
        f"«{sc.MINUTES_QUESTION}» — tán thành 4, không tán thành 0, không có ý kiến 1",
        "Biên bản đã được đọc lại trước chi bộ",
        f"Cuộc họp kết thúc lúc {ended.hour} giờ {ended.minute:02d} phút cùng ngày",
        "THƯ KÝ",
        "T/M CHI BỘ",
        "BÍ THƯ",
        names[o[0]],
        names[o[1]],
    ]


def test_a_full_meeting_renders_to_docx_and_pdf_with_every_required_field(context: AppContext, held, database_url):
    branch, names, meeting = held
    draft, docx, pdf, html = draft_files(context, meeting.meeting_id)
    from_docx, from_pdf = docx_text(docx), pdf_text(pdf)
    missing = {
        fmt: [phrase for phrase in required_phrases(branch, names, meeting) if phrase not in text]
        for fmt, text in (("docx", from_docx), ("pdf", from_pdf))
    }
    assert missing == {"docx": [], "pdf": []}
    assert sc.OPINION_3_FIRST + "," not in from_docx  # a revised entry shows its last text only
    # The opinions keep the order they were given in.
    order = [from_pdf.index(text) for text in (sc.OPINION_1, sc.OPINION_2, sc.OPINION_3_FINAL)]
    assert order == sorted(order)
    assert "DỰ THẢO — CHƯA KÝ" in from_pdf and draft.content_sha256 in from_docx
    assert "Nguyễn Văn An" in html and "<script" not in html
    # The same journal gives the same minutes and, at the same moment, the same bytes: a file can be made again.
    again, docx_again, pdf_again, _ = draft_files(context, meeting.meeting_id)
    assert (again.content_sha256, docx_again, pdf_again) == (draft.content_sha256, docx, pdf)
    # A meeting that runs past midnight says on which day it ended.
    late = draft.minutes.model_copy(update={"ended_at": "2026-11-20T17:30:00+00:00"})  # 00:30 on the 21st
    layout = minutes_layout(late, [], sealed=False, content_sha256="0" * 64)
    assert "Cuộc họp kết thúc lúc 0 giờ 30 phút ngày 21 tháng 11 năm 2026" in layout.text()
    if database_url.startswith("sqlite"):  # one sample for a person to look at is enough
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bien-ban-du-thao.docx").write_bytes(docx)
        (ARTIFACTS / "bien-ban-du-thao.pdf").write_bytes(pdf)
        for old in ARTIFACTS.glob("bien-ban-du-thao-*.png"):
            old.unlink()
        pages = pdf_to_png(ARTIFACTS / "bien-ban-du-thao.pdf", ARTIFACTS / "bien-ban-du-thao")
        assert len(pages) == pdf_pages(pdf) >= 2
        assert all(page.stat().st_size > 10_000 for page in pages)  # a page with text on it, not a blank one


def test_an_unfinished_meeting_says_so_and_never_claims_an_adoption(context: AppContext):
    branch = seed_branch(context.sessions, officials=7, code="cb-open")
    context.service.open(branch.meeting_id)
    _, docx, _, _ = draft_files(context, branch.meeting_id)
    text = docx_text(docx)
    assert "Biên bản chưa được chi bộ biểu quyết thông qua" in text
    assert "Cuộc họp chưa kết thúc" in text
    assert "Có mặt: 0 đồng chí" in text
    assert "KHÔNG ĐỦ số lượng theo quy định" in text  # a failed quorum is never hidden


def test_the_date_line_follows_the_party_document_form():
    assert date_words(datetime(2026, 2, 5, tzinfo=VN_TZ)) == "ngày 05 tháng 02 năm 2026"
    assert date_words(datetime(2026, 11, 20, tzinfo=VN_TZ)) == "ngày 20 tháng 11 năm 2026"
    assert date_words(datetime(2026, 3, 9, tzinfo=VN_TZ)) == "ngày 09 tháng 3 năm 2026"
    assert locality_of("Đảng bộ xã Tân Lập") == "Tân Lập"
    assert locality_of("Đảng ủy phường Bến Nghé") == "Bến Nghé"
    assert locality_of("", fallback="Nhà văn hóa") == "Nhà văn hóa"


def test_the_pdf_has_the_vietnamese_letters_in_its_font():
    from fontTools.ttLib import TTFont

    from meeting.record.pdf import font_files

    letters = "ĐđĂăÂâÊêÔôƠơƯưẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"
    for style, path in font_files().items():
        cmap = TTFont(str(path)).getBestCmap()
        assert [ch for ch in letters if ord(ch) not in cmap] == [], f"{style or 'regular'}: {path}"
