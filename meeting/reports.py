"""The branch's report of a meeting to the upper committee (báo cáo kết quả sinh hoạt chi bộ), as DOCX and PDF.

It says what the commune needs and no more: when and where, who chaired, attendance (with the names of the
absent and their reasons), what each agenda item concluded, the resolution and its votes, and the follow-up
(the new action items, and how the previous resolution's are going). Who said what stays in the minutes.

The content is built once as a list of blocks; the DOCX and PDF renderers only lay the same blocks out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meeting.calendar_vn import VN_TZ, local_date
from meeting.db.models import ActionItem, AgendaItem, Attendance, Branch, Meeting, Member, MinuteEntry, Resolution, Vote
from meeting.domain.model import Category
from meeting.errors import Rejected

STATUS_VI = {"open": "Đang thực hiện", "done": "Đã hoàn thành"}


# -- the content --------------------------------------------------------------------------------------------------
@dataclass
class Block:
    kind: str  # title | subtitle | heading | para | table | signature
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)  # relative column widths of a table


@dataclass
class BranchReport:
    meeting_id: int
    branch_name: str
    organisation: str
    header_date: str
    blocks: list[Block]

    def text(self) -> str:
        """Everything the report says, as plain text (for search and tests)."""
        lines = []
        for block in self.blocks:
            lines.append(block.text)
            if block.kind == "table":
                lines += [" | ".join(block.headers), *(" | ".join(row) for row in block.rows)]
        return "\n".join(line for line in lines if line)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return _aware(moment).astimezone(VN_TZ).strftime("%H giờ %M, ngày %d/%m/%Y")


def _day(moment: datetime | None) -> str:
    return _aware(moment).astimezone(VN_TZ).strftime("%d/%m/%Y") if moment else "—"


def build_report(session: Session, meeting_id: int, now: datetime | None = None) -> BranchReport:
    """The report's content from the meeting's tables (projections of its journal, and the record)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise Rejected("not_found", status=404, what="meeting")
    if meeting.status != "ended":
        raise Rejected("report_not_ready")
    branch = session.get(Branch, meeting.branch_id)
    members = {m.id: m for m in session.scalars(select(Member).where(Member.branch_id == meeting.branch_id))}
    attendance = {
        a.member_id: a for a in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))
    }
    items = list(
        session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.position))
    )
    votes = list(session.scalars(select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.opened_at)))
    resolutions = list(
        session.scalars(select(Resolution).where(Resolution.meeting_id == meeting_id).order_by(Resolution.id))
    )
    opinions = dict(
        session.execute(
            select(MinuteEntry.item_id, func.count())
            .where(MinuteEntry.meeting_id == meeting_id, MinuteEntry.kind == "opinion")
            .group_by(MinuteEntry.item_id)
        ).all()
    )
    now = now or datetime.now(UTC)
    today = local_date(now)

    def name(member_id: int | None) -> str:
        return members[member_id].full_name if member_id in members else "—"

    branch_members = [m for m in members.values() if m.category != Category.GUEST and m.id in attendance]
    came = [m for m in branch_members if attendance[m.id].status in ("present", "left")]
    online = [m for m in came if attendance[m.id].mode == "remote"]
    excused = [m for m in branch_members if attendance[m.id].status == "absent_excused"]
    unexcused = [
        m
        for m in branch_members
        if attendance[m.id].status in ("absent_unexcused", "expected") and m.category != Category.EXEMPT
    ]
    guests = [
        m
        for m in members.values()
        if m.category == Category.GUEST and m.id in attendance and attendance[m.id].status in ("present", "left")
    ]
    kind_label = {"regular": "thường kỳ", "thematic": "chuyên đề", "extraordinary": "bất thường"}.get(meeting.kind, "")
    blocks = [
        Block("title", f"BÁO CÁO KẾT QUẢ SINH HOẠT CHI BỘ {kind_label.upper()}"),
        Block("subtitle", f"{meeting.title} — {_day(meeting.scheduled_at)}"),
        Block("heading", "I. Thời gian, địa điểm, thành phần"),
        Block("para", f"Thời gian: bắt đầu {_local(meeting.started_at)}; kết thúc {_local(meeting.ended_at)}."),
        Block("para", f"Địa điểm: {meeting.place or '—'}."),
        Block("para", f"Chủ trì: đồng chí {name(meeting.chair_id)}. Thư ký: đồng chí {name(meeting.clerk_id)}."),
        Block("para", "Đại biểu dự: " + (", ".join(f"đồng chí {g.full_name}" for g in guests) or "không có") + "."),
        Block("heading", "II. Tình hình đảng viên dự họp"),
        Block(
            "para",
            f"Tổng số đảng viên của chi bộ: {len(branch_members)}. Có mặt: {len(came)} "
            f"(tại hội trường {len(came) - len(online)}, trực tuyến {len(online)}). "
            f"Vắng có lý do: {len(excused)}. Vắng không lý do: {len(unexcused)}.",
        ),
    ]
    if excused or unexcused:
        blocks.append(
            Block(
                "table",
                headers=["Đảng viên vắng mặt", "Lý do"],
                rows=[[m.full_name, attendance[m.id].reason or ""] for m in excused]
                + [[m.full_name, "Không có lý do"] for m in unexcused],
                widths=[2, 3],
            )
        )
    blocks.append(Block("heading", "III. Nội dung sinh hoạt"))
    for number, item in enumerate(items, 1):
        presenter = f" (trình bày: đồng chí {name(item.presenter_id)})" if item.presenter_id else ""
        count = opinions.get(item.id, 0)
        heard = f" {count} ý kiến phát biểu." if count else ""
        status = " Không thực hiện." if item.status == "skipped" else ""
        blocks.append(Block("para", f"{number}. {item.title}{presenter}.{heard}{status}"))
        if item.conclusion:
            blocks.append(Block("para", f"Kết luận: {item.conclusion}"))
    blocks.append(Block("heading", "IV. Nghị quyết và biểu quyết"))
    for resolution in resolutions:
        blocks.append(Block("para", f"{resolution.title}: {resolution.text}".strip(": ")))
    if votes:
        blocks.append(
            Block(
                "table",
                headers=["Nội dung biểu quyết", "Tán thành", "Không tán thành", "Không biểu quyết", "Kết quả"],
                rows=[
                    [
                        v.question,
                        str(v.votes_for or 0),
                        str(v.votes_against or 0),
                        str((v.votes_abstain or 0) + (v.not_voting or 0)),
                        ("Thông qua" if v.passed else "Không thông qua") + f" ({v.votes_for or 0}/{v.basis or 0})",
                    ]
                    for v in votes
                    if v.status == "closed"
                ],
                widths=[4, 2, 2, 2, 3],
            )
        )
    if not resolutions and not votes:
        blocks.append(Block("para", "Không có nghị quyết."))
    blocks.append(Block("heading", "V. Nhiệm vụ và theo dõi thực hiện"))
    blocks += _follow_up(session, meeting, resolutions, name, today)
    blocks.append(Block("signature", f"T/M CHI BỘ\nBÍ THƯ\n\n\n{name(_secretary_id(members, meeting))}"))
    header_date = f"ngày {today.day:02d} tháng {today.month:02d} năm {today.year}"
    return BranchReport(
        meeting.id, branch.name if branch else "", branch.organisation if branch else "", header_date, blocks
    )


def _secretary_id(members: dict[int, Member], meeting: Meeting) -> int | None:
    secretary = next((m.id for m in members.values() if m.role == "secretary" and m.active), None)
    return secretary or meeting.chair_id


def _action_rows(actions: list[ActionItem], name: Any) -> list[list[str]]:
    return [
        [
            a.task,
            name(a.assignee_id) if a.assignee_id else a.responsible or "—",
            _day(a.deadline),
            STATUS_VI.get(a.status, a.status),
        ]
        for a in actions
    ]


def _follow_up(session: Session, meeting: Meeting, resolutions: list[Resolution], name: Any, today: Any) -> list[Block]:
    blocks: list[Block] = []
    headers = ["Nhiệm vụ", "Người thực hiện", "Thời hạn", "Tình hình"]
    new_actions = list(
        session.scalars(
            select(ActionItem).where(ActionItem.resolution_id.in_([r.id for r in resolutions])).order_by(ActionItem.id)
        )
    )
    if new_actions:
        blocks.append(Block("para", "Nhiệm vụ nghị quyết giao:"))
        blocks.append(Block("table", headers=headers, rows=_action_rows(new_actions, name), widths=[5, 3, 2, 2]))
    previous = session.scalars(
        select(Meeting)
        .where(
            Meeting.branch_id == meeting.branch_id,
            Meeting.status == "ended",
            Meeting.scheduled_at < meeting.scheduled_at,
        )
        .order_by(Meeting.scheduled_at.desc())
        .limit(1)
    ).first()
    if previous is not None:
        earlier = list(
            session.scalars(
                select(ActionItem)
                .join(Resolution, Resolution.id == ActionItem.resolution_id)
                .where(Resolution.meeting_id == previous.id)
                .order_by(ActionItem.id)
            )
        )
        if earlier:
            done = sum(1 for a in earlier if a.status == "done")
            blocks.append(
                Block(
                    "para",
                    f"Thực hiện nghị quyết kỳ trước ({_day(previous.scheduled_at)}): "
                    f"{done}/{len(earlier)} việc đã xong.",
                )
            )
            blocks.append(Block("table", headers=headers, rows=_action_rows(earlier, name), widths=[5, 3, 2, 2]))
    if not blocks:
        blocks.append(Block("para", "Không có nhiệm vụ được giao."))
    return blocks


# -- DOCX ---------------------------------------------------------------------------------------------------------
def render_docx(report: BranchReport) -> bytes:
    from docx import Document as DocxDocument
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = DocxDocument()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"  # the administrative documents' customary face
    style.font.size = Pt(13)
    header = doc.add_table(rows=1, cols=2)
    left, right = header.rows[0].cells
    left.text = f"{report.organisation.upper()}\nCHI BỘ {report.branch_name.removeprefix('Chi bộ ').upper()}\n*"
    right.text = f"ĐẢNG CỘNG SẢN VIỆT NAM\n\n{report.header_date}"
    for cell in (left, right):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in paragraph.runs:
                run.bold = True
    for block in report.blocks:
        if block.kind == "title":
            paragraph = doc.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(block.text)
            run.bold, run.font.size = True, Pt(15)
        elif block.kind == "subtitle":
            paragraph = doc.add_paragraph(block.text)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif block.kind == "heading":
            paragraph = doc.add_paragraph()
            paragraph.add_run(block.text).bold = True
        elif block.kind == "para":
            doc.add_paragraph(block.text)
        elif block.kind == "table":
            table = doc.add_table(rows=1 + len(block.rows), cols=len(block.headers))
            table.style = "Table Grid"
            for column, text in enumerate(block.headers):
                cell = table.rows[0].cells[column]
                cell.text = text
                cell.paragraphs[0].runs[0].bold = True
            for r, row in enumerate(block.rows, 1):
                for column, text in enumerate(row):
                    table.rows[r].cells[column].text = text
        elif block.kind == "signature":
            paragraph = doc.add_paragraph()
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            paragraph.add_run(block.text).bold = True
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# -- PDF ----------------------------------------------------------------------------------------------------------
def render_pdf(report: BranchReport) -> bytes:
    """Set like the minutes (meeting/record/pdf.py): the party documents' Times face, the same fallback font."""
    from fpdf.fonts import FontFace

    from meeting.record.pdf import FAMILY, DocumentPDF

    pdf = DocumentPDF()
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(next((b.text for b in report.blocks if b.kind == "title"), "Báo cáo"))
    pdf.set_creator("chibo")
    pdf.add_page()
    width = pdf.epw
    pdf.set_font(FAMILY, "B", 10)
    top = pdf.get_y()
    left = f"{report.organisation.upper()}\nCHI BỘ {report.branch_name.removeprefix('Chi bộ ').upper()}\n*"
    pdf.multi_cell(width / 2, 5, left, align="C")
    after_left = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width / 2, top)
    pdf.multi_cell(width / 2, 5, f"ĐẢNG CỘNG SẢN VIỆT NAM\n\n{report.header_date}", align="C")
    pdf.set_y(max(after_left, pdf.get_y()) + 6)
    for block in report.blocks:
        pdf.set_x(pdf.l_margin)
        if block.kind == "title":
            pdf.set_font(FAMILY, "B", 14)
            pdf.multi_cell(width, 8, block.text, align="C")
        elif block.kind == "subtitle":
            pdf.set_font(FAMILY, "", 11)
            pdf.multi_cell(width, 6, block.text, align="C")
            pdf.ln(3)
        elif block.kind == "heading":
            pdf.ln(2)
            pdf.set_font(FAMILY, "B", 11)
            pdf.multi_cell(width, 6, block.text)
        elif block.kind == "para":
            pdf.set_font(FAMILY, "", 10.5)
            pdf.multi_cell(width, 5.5, block.text)
        elif block.kind == "table":
            pdf.set_font(FAMILY, "", 9.5)
            with pdf.table(
                col_widths=tuple(block.widths or [1] * len(block.headers)),
                headings_style=FontFace(emphasis="BOLD"),
                text_align="LEFT",
                line_height=5,
            ) as table:
                for row in [block.headers, *block.rows]:
                    cells = table.row()
                    for text in row:
                        cells.cell(text)
            pdf.ln(2)
        elif block.kind == "signature":
            pdf.ln(6)
            pdf.set_font(FAMILY, "B", 11)
            pdf.set_x(pdf.l_margin + width / 2)
            pdf.multi_cell(width / 2, 6, block.text, align="C")
    return bytes(pdf.output())
