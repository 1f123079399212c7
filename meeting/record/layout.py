"""The minutes laid out as blocks of text, once, in the customary form of a Vietnamese party document.

The DOCX, PDF and HTML renderers only place these blocks; none of them decides what the record says, so the
three formats say the same thing word for word.

The form: the upper committee and the branch on the left with the document number, "ĐẢNG CỘNG SẢN VIỆT NAM"
on the right with the place and date; the title "BIÊN BẢN"; the body in numbered sections; the clerk's
signature on the left and the chair's on the right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from meeting.calendar_vn import VN_TZ
from meeting.record.model import (
    ActionRow,
    Addendum,
    Entry,
    Header,
    ItemRecord,
    Minutes,
    Part,
    RecordingFile,
    RecordingLink,
    Signer,
    VoteRecord,
)
from meeting.record.resolutions import STATUS_VI

KIND_VI = {"regular": "thường kỳ", "thematic": "chuyên đề", "extraordinary": "bất thường"}
ROLE_VI = {"secretary": "Bí thư Chi bộ", "deputy": "Phó Bí thư Chi bộ"}
ACTION_HEADERS = ["TT", "Người thực hiện", "Nhiệm vụ", "Thời hạn", "Người chịu trách nhiệm", "Kết quả cần đạt"]
ACTION_WIDTHS = [2, 5, 7, 4.5, 5, 6]
REVIEW_HEADERS = ["TT", "Nhiệm vụ", "Người thực hiện", "Thời hạn", "Tình hình"]
REVIEW_WIDTHS = [2, 9, 5, 4.5, 4.5]


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True, slots=True)
class Para:
    runs: tuple[Run, ...]
    style: Literal["body", "title", "subtitle", "heading", "item", "small", "mark"] = "body"
    align: Literal["left", "center", "justify", "right"] = "justify"
    indent: bool = False  # first-line indent (body paragraphs)

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class DocHeader:
    """The two columns at the top of the first page."""

    left: tuple[Run, ...]  # one run per line
    right: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class SignatureBlock:
    titles: tuple[str, ...]  # e.g. ("T/M CHI BỘ", "BÍ THƯ")
    note: str  # "Đã ký điện tử lúc ..." or "" for a draft
    name: str


@dataclass(frozen=True, slots=True)
class Signatures:
    left: SignatureBlock
    right: SignatureBlock


Block = Para | Table | Signatures


@dataclass
class Layout:
    title: str  # for the file's metadata
    header: DocHeader
    blocks: list[Block] = field(default_factory=list)
    footer: str = ""  # the identifying line printed at the end (number, content hash, journal head)
    keywords: str = ""  # written into the file's properties: how a sealed file names its record

    def text(self) -> str:
        """Everything written on the document, in reading order (for search and tests)."""
        lines = [run.text for run in (*self.header.left, *self.header.right)]
        for block in self.blocks:
            if isinstance(block, Para):
                lines.append(block.text)
            elif isinstance(block, Table):
                lines += [" | ".join(block.headers), *(" | ".join(row) for row in block.rows)]
            else:
                for side in (block.left, block.right):
                    lines += [*side.titles, side.note, side.name]
        lines.append(self.footer)
        return "\n".join(line for line in lines if line)


# -- words and numbers ----------------------------------------------------------------------------------------------
def local(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).astimezone(VN_TZ) if iso else None


def clock(iso: str | None) -> str:
    """ "19 giờ 30 phút"."""
    moment = local(iso)
    return f"{moment.hour} giờ {moment.minute:02d} phút" if moment else "…"


def hm(iso: str | None) -> str:
    moment = local(iso)
    return f"{moment.hour:02d}:{moment.minute:02d}" if moment else "…"


def date_words(moment: datetime | None) -> str:
    """ "ngày 05 tháng 02 năm 2026": days below 10 and the months January and February take a leading zero."""
    if moment is None:
        return "ngày … tháng … năm …"
    month = f"{moment.month:02d}" if moment.month < 3 else str(moment.month)
    return f"ngày {moment.day:02d} tháng {month} năm {moment.year}"


def day_month_year(iso_date: str | None) -> str:
    if not iso_date:
        return "—"
    year, month, day = iso_date.split("-")
    return f"{day}/{month}/{year}"


def offset_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _p(text: str, style: Literal["body", "heading", "item", "small", "mark"] = "body", **kw) -> Para:
    return Para((Run(text, bold=style in ("heading", "item")),), style=style, **kw)


def _labelled(label: str, text: str) -> Para:
    return Para((Run(label, bold=True), Run(text)), indent=True)


def _names(people: list, with_reason: bool = False) -> str:
    parts = []
    for person in people:
        reason = getattr(person, "reason", None)
        parts.append(f"đồng chí {person.name}" + (f" ({reason})" if with_reason and reason else ""))
    return "; ".join(parts)


# -- the document's head and foot -------------------------------------------------------------------------------------
def doc_header(header: Header, on: datetime | None) -> DocHeader:
    return DocHeader(
        left=(
            Run(header.organisation.upper()),
            Run(header.branch_name.upper(), bold=True),
            Run("*"),
            Run(f"Số {header.number}"),
        ),
        right=(
            Run("ĐẢNG CỘNG SẢN VIỆT NAM", bold=True),
            Run(""),
            Run(f"{header.locality}, {date_words(on)}", italic=True),
        ),
    )


def signature_blocks(header: Header, signers: list[Signer]) -> Signatures:
    by_role = {s.role: s for s in signers}

    def block(role: str, titles: tuple[str, ...]) -> SignatureBlock:
        signer = by_role.get(role)
        if signer is None:
            return SignatureBlock(titles, "", "")
        note = ""
        if signer.signed_at:
            moment = local(signer.signed_at)
            note = f"(Đã ký xác nhận lúc {hm(signer.signed_at)}, {moment:%d/%m/%Y})"
        return SignatureBlock(titles, note, signer.name)

    chair_titles = (
        ("T/M CHI BỘ", ROLE_VI[header.chair_role].removesuffix(" Chi bộ").upper())
        if header.chair_role in ROLE_VI
        else ("CHỦ TRÌ",)
    )
    # Both columns get as many title lines, so the two names stand on one line.
    clerk_titles = ("THƯ KÝ",) + ("",) * (len(chair_titles) - 1)
    return Signatures(left=block("clerk", clerk_titles), right=block("chair", chair_titles))


# -- the minutes ----------------------------------------------------------------------------------------------------
def minutes_layout(minutes: Minutes, signers: list[Signer], *, sealed: bool, content_sha256: str) -> Layout:
    started = local(minutes.started_at) or local(minutes.scheduled_at)
    kind = KIND_VI.get(minutes.kind, "")
    layout = Layout(title=f"Biên bản {minutes.title}", header=doc_header(minutes.header, started))
    add = layout.blocks.append
    if not sealed:
        add(_p("DỰ THẢO — CHƯA KÝ", "mark", align="center"))
    add(Para((Run("BIÊN BẢN", bold=True),), style="title", align="center"))
    # "Sinh hoạt chi bộ thường kỳ", then the meeting's own title unless it already says as much.
    if minutes.title.lower().startswith("sinh hoạt"):
        add(Para((Run(minutes.title, bold=True),), style="subtitle", align="center"))
    else:
        add(Para((Run(f"Sinh hoạt chi bộ {kind}".strip(), bold=True),), style="subtitle", align="center"))
        add(Para((Run(minutes.title, bold=True),), style="subtitle", align="center"))
    add(_p("-----", align="center"))

    add(_p("I. THỜI GIAN, ĐỊA ĐIỂM, THÀNH PHẦN", "heading", align="left"))
    figures = minutes.attendance
    add(_labelled("Loại hình: ", f"sinh hoạt chi bộ {kind}." if kind else "sinh hoạt chi bộ."))
    add(_labelled("Thời gian: ", f"bắt đầu lúc {clock(minutes.started_at)}, {date_words(started)}."))
    form = "trực tiếp kết hợp trực tuyến" if figures.present_online else "trực tiếp"
    add(_labelled("Địa điểm: ", f"{minutes.place or '—'}; hình thức: {form}."))
    chair_title = ROLE_VI.get(minutes.header.chair_role)
    chair = f"đồng chí {minutes.chair.name}" + (f", {chair_title}" if chair_title else "") if minutes.chair else "—"
    add(_labelled("Chủ trì: ", f"{chair}."))
    add(_labelled("Thư ký: ", f"đồng chí {minutes.clerk.name}." if minutes.clerk else "—."))
    add(_labelled("Đại biểu cấp trên dự: ", (_names(minutes.guests) or "không có") + "."))

    add(_p("II. TÌNH HÌNH ĐẢNG VIÊN DỰ HỌP", "heading", align="left"))
    add(
        _labelled(
            "Tổng số đảng viên của chi bộ: ",
            f"{figures.total} đồng chí; trong đó chính thức: {figures.official} "
            f"(miễn sinh hoạt: {figures.exempt}), dự bị: {figures.probationary}.",
        )
    )
    add(
        _labelled(
            "Có mặt: ",
            f"{figures.present} đồng chí (tại hội trường: {figures.present_in_room}; "
            f"trực tuyến: {figures.present_online}).",
        )
    )
    excused = _names(figures.absent_excused, with_reason=True)
    add(
        _labelled(
            "Vắng có lý do: ",
            f"{len(figures.absent_excused)} đồng chí" + (f": {excused}." if excused else "."),
        )
    )
    unexcused = _names(figures.absent_unexcused)
    add(
        _labelled(
            "Vắng không có lý do: ",
            f"{len(figures.absent_unexcused)} đồng chí" + (f": {unexcused}." if unexcused else "."),
        )
    )
    if figures.exempt_not_attending:
        add(_labelled("Miễn sinh hoạt, không dự: ", _names(figures.exempt_not_attending) + "."))
    if figures.late:
        add(_labelled("Đến muộn: ", "; ".join(f"đồng chí {m.name} ({hm(m.at)})" for m in figures.late) + "."))
    if figures.left_early:
        add(_labelled("Về sớm: ", "; ".join(f"đồng chí {m.name} ({hm(m.at)})" for m in figures.left_early) + "."))
    verdict = "đủ điều kiện tiến hành" if figures.quorum_met else "KHÔNG ĐỦ số lượng theo quy định"
    add(
        _labelled(
            "Số lượng dự họp: ",
            f"{figures.quorum_present}/{figures.quorum_eligible} đảng viên chính thức phải dự họp có mặt; quy định "
            f"{figures.quorum_rule} (tối thiểu {figures.quorum_required} đồng chí): {verdict}.",
        )
    )

    add(_p("III. NỘI DUNG CUỘC HỌP", "heading", align="left"))
    for item in minutes.items:
        layout.blocks += _item_blocks(item, minutes.recordings)

    section = 4
    if minutes.resolutions:
        add(_p(f"{_roman(section)}. NGHỊ QUYẾT VÀ NHIỆM VỤ GIAO (5 RÕ)", "heading", align="left"))
        section += 1
        for resolution in minutes.resolutions:
            add(Para((Run(resolution.title, bold=True),), indent=True))
            if resolution.text:
                add(_p(resolution.text, indent=True))
            if resolution.actions:
                add(_action_table(resolution.actions))

    add(_p(f"{_roman(section)}. THÔNG QUA BIÊN BẢN VÀ BẾ MẠC", "heading", align="left"))
    if minutes.adoption is not None:
        vote = minutes.adoption
        result = "được thông qua" if vote.passed else "KHÔNG được thông qua"
        add(
            _p(
                f"Biên bản đã được đọc lại trước chi bộ lúc {clock(vote.opened_at)} và {result}: {_figures(vote)}.",
                indent=True,
            )
        )
    else:
        add(_p("Biên bản chưa được chi bộ biểu quyết thông qua.", indent=True))
    ended = local(minutes.ended_at)
    if ended is None:
        add(_p("Cuộc họp chưa kết thúc.", indent=True))
    else:
        same_day = started is not None and ended.date() == started.date()
        add(
            _p(
                f"Cuộc họp kết thúc lúc {clock(minutes.ended_at)} "
                + ("cùng ngày." if same_day else f"{date_words(ended)}."),
                indent=True,
            )
        )
    add(signature_blocks(minutes.header, signers))
    layout.blocks += _recordings_appendix(minutes.recordings)
    layout.footer = (
        f"Biên bản số {minutes.header.number} · mã nội dung (SHA-256) {content_sha256} · "
        f"nhật ký cuộc họp đến sự kiện số {minutes.journal_seq}, mã {minutes.journal_head}"
    )
    return layout


def _roman(number: int) -> str:
    return ["", "I", "II", "III", "IV", "V", "VI", "VII"][number]


def _item_blocks(item: ItemRecord, recordings: list[RecordingFile]) -> list[Block]:
    span = ""
    if item.opened_at:
        span = f" ({hm(item.opened_at)} – {hm(item.closed_at)})" if item.closed_at else f" (từ {hm(item.opened_at)})"
    blocks: list[Block] = [_p(f"{item.number}. {item.title}{span}", "item", align="left")]
    if item.status == "skipped":
        blocks.append(_p("Nội dung này không thực hiện.", indent=True))
    if item.kind == "review":
        if item.review:
            done = sum(1 for row in item.review if row.status == "done")
            blocks.append(
                _p(
                    f"Kết quả thực hiện nghị quyết kỳ trước: {done}/{len(item.review)} nhiệm vụ đã hoàn thành.",
                    indent=True,
                )
            )
            blocks.append(_review_table(item.review))
        else:
            blocks.append(_p("Không có nhiệm vụ nào từ nghị quyết kỳ trước.", indent=True))
    entries = {entry.entry_id: entry for entry in item.entries}
    votes = {vote.vote_id: vote for vote in item.votes}
    heard = False  # the "opinions" label stands once, before the first opinion
    for part in _reading_order(item):
        if part.kind == "entry":
            entry = entries[part.ref]
            if entry.kind == "opinion" and not heard:
                blocks.append(Para((Run("Ý kiến phát biểu:", italic=True, bold=True),), indent=True))
                heard = True
            if entry.kind == "conclusion":
                blocks.append(Para((Run("Kết luận: ", bold=True, italic=True), Run(entry.text)), indent=True))
            else:
                blocks.append(_entry_para(entry, recordings))
        elif part.kind == "vote":
            blocks.append(_vote_para(votes[part.ref]))
        elif part.kind == "conclusion" and item.conclusion:
            blocks.append(
                Para((Run("Kết luận của chủ trì: ", bold=True, italic=True), Run(item.conclusion)), indent=True)
            )
    return blocks


def _reading_order(item: ItemRecord) -> list[Part]:
    """The item's parts; a record sealed before the minutes kept their order had none: entries, conclusion, votes."""
    if item.parts:
        return item.parts
    return [
        *(Part(kind="entry", ref=entry.entry_id) for entry in item.entries),
        *([Part(kind="conclusion", ref=item.item_id)] if item.conclusion else []),
        *(Part(kind="vote", ref=vote.vote_id) for vote in item.votes),
    ]


def _entry_para(entry: Entry, recordings: list[RecordingFile]) -> Para:
    if entry.kind != "opinion" or entry.speaker is None:
        return _p(entry.text, indent=True)
    where = hm(entry.at)
    if entry.recording is not None:
        where += f"; {_recording_reference(entry.recording, recordings)}"
    return Para((Run(f"– Đồng chí {entry.speaker}", bold=True), Run(f" ({where}): {entry.text}")), indent=True)


def _recording_reference(link: RecordingLink, recordings: list[RecordingFile]) -> str:
    """ "ghi âm 00:12:34": seconds from the start of the file, as a player shows them; the file is named in the
    appendix, by its number there when the meeting has more than one."""
    offset = offset_text(link.offset_s)
    names = [recording.name for recording in recordings]
    if len(names) > 1 and link.audio in names:
        return f"ghi âm số {names.index(link.audio) + 1}, {offset}"
    return f"ghi âm {offset}"


def _recordings_appendix(recordings: list[RecordingFile]) -> list[Block]:
    if not recordings:
        return []
    blocks: list[Block] = [
        _p("PHỤ LỤC: TỆP GHI ÂM CUỘC HỌP", "heading", align="left"),
        _p(
            "Thời điểm «ghi âm giờ:phút:giây» trong biên bản tính từ đầu tệp ghi âm (vị trí trên thanh thời gian "
            "của trình phát), không phải giờ trong ngày"
            + ("; «ghi âm số N» chỉ tệp thứ N dưới đây" if len(recordings) > 1 else "")
            + ". Mã SHA-256 của mỗi tệp dùng để kiểm tra tệp còn nguyên vẹn.",
            indent=True,
        ),
    ]
    for number, recording in enumerate(recordings, 1):
        if recording.size is None:
            facts = "không tìm thấy tệp trong kho ghi âm khi lập biên bản"
        else:
            facts = "; ".join(
                ([f"thời lượng {offset_text(recording.duration_s)}"] if recording.duration_s is not None else [])
                + [f"dung lượng {_byte_count(recording.size)}"]
            )
        blocks.append(
            Para((Run(f"{number}. {recording.name}", bold=True), Run(f": {facts}.")), align="left", indent=False)
        )
        if recording.sha256:
            blocks.append(_p(f"SHA-256: {recording.sha256}", "small", align="left"))
    return blocks


def _byte_count(size: int) -> str:
    """ "12.345.678 byte (12,3 MB)": grouped with dots and a decimal comma, as Vietnamese writes numbers."""
    exact = f"{size:,}".replace(",", ".")
    if size < 1_000_000:
        return f"{exact} byte"
    megabytes = f"{size / 1_000_000:.1f}".replace(".", ",")
    return f"{exact} byte ({megabytes} MB)"


def _figures(vote: VoteRecord) -> str:
    text = (
        f"tán thành {vote.votes_for}, không tán thành {vote.votes_against}, không có ý kiến {vote.votes_abstain}, "
        f"không tham gia biểu quyết {vote.not_voting}"
    )
    if vote.hall_for is not None or vote.online_ballots:
        hall = (
            f"giơ tay tại hội trường {vote.hall_for}/{vote.hall_against}/{vote.hall_abstain}"
            if vote.hall_for is not None
            else "không giơ tay tại hội trường"
        )
        text += f" ({hall}; trực tuyến {vote.online_ballots} phiếu)"
    return text


def _vote_para(vote: VoteRecord) -> Para:
    if vote.closed_at is None:
        return Para((Run("Biểu quyết: ", bold=True), Run(f"«{vote.question}» — chưa kết thúc.")), indent=True)
    verdict = "THÔNG QUA" if vote.passed else "KHÔNG THÔNG QUA"
    return Para(
        (
            Run("Biểu quyết: ", bold=True),
            Run(f"«{vote.question}» — {_figures(vote)}. "),
            Run(f"Kết quả: {verdict}", bold=True),
            Run(f" ({vote.votes_for}/{vote.basis} đồng chí tán thành; quy định {vote.majority_rule})."),
        ),
        indent=True,
    )


def _action_table(actions: list[ActionRow]) -> Table:
    return Table(
        headers=tuple(ACTION_HEADERS),
        rows=tuple(
            (str(n), a.assignee, a.task, day_month_year(a.deadline), a.responsible, a.expected_result)
            for n, a in enumerate(actions, 1)
        ),
        widths=tuple(ACTION_WIDTHS),
    )


def _review_table(rows: list[ActionRow]) -> Table:
    return Table(
        headers=tuple(REVIEW_HEADERS),
        rows=tuple(
            (str(n), a.task, a.assignee, day_month_year(a.deadline), STATUS_VI.get(a.status, a.status))
            for n, a in enumerate(rows, 1)
        ),
        widths=tuple(REVIEW_WIDTHS),
    )


# -- an addendum ------------------------------------------------------------------------------------------------------
def addendum_layout(addendum: Addendum, signers: list[Signer], *, sealed: bool, content_sha256: str) -> Layout:
    written = local(addendum.written_at)
    layout = Layout(
        title=f"Biên bản bổ sung số {addendum.number} của biên bản {addendum.record_number}",
        header=doc_header(
            addendum.header.model_copy(update={"number": f"{addendum.record_number}/BS{addendum.number}"}), written
        ),
    )
    add = layout.blocks.append
    if not sealed:
        add(_p("DỰ THẢO — CHƯA KÝ", "mark", align="center"))
    add(Para((Run("BIÊN BẢN BỔ SUNG", bold=True),), style="title", align="center"))
    record_date = day_month_year(addendum.record_date)
    add(
        Para(
            (Run(f"Đính chính, bổ sung Biên bản số {addendum.record_number} ngày {record_date}", bold=True),),
            style="subtitle",
            align="center",
        )
    )
    add(_p("-----", align="center"))
    add(
        _p(
            f"Biên bản số {addendum.record_number} đã được chủ trì và thư ký ký xác nhận (mã nội dung "
            f"{addendum.record_content_sha256}). Biên bản này không sửa biên bản đó mà ghi lại phần đính chính, "
            "bổ sung sau đây:",
            indent=True,
        )
    )
    for paragraph in addendum.text.split("\n"):
        if paragraph.strip():
            add(_p(paragraph.strip(), indent=True))
    add(
        _p(
            f"Người lập: đồng chí {addendum.written_by}, lúc {hm(addendum.written_at)} {date_words(written)}.",
            indent=True,
        )
    )
    add(signature_blocks(addendum.header, signers))
    layout.footer = (
        f"Biên bản bổ sung số {addendum.number} của biên bản {addendum.record_number} · mã nội dung (SHA-256) "
        f"{content_sha256} · nối tiếp mã {addendum.previous_sha256}"
    )
    return layout
