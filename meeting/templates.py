"""Built-in agenda templates: the standard orders of business of a branch meeting (DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from meeting.domain.model import MeetingKind


@dataclass(frozen=True, slots=True)
class TemplateItem:
    kind: str  # a stable name the apps and the record use to recognise the step
    title_vi: str
    title_en: str
    speaking_limit_s: int | None = None


@dataclass(frozen=True, slots=True)
class AgendaTemplate:
    id: str
    meeting_kind: MeetingKind
    title_vi: str
    title_en: str
    items: tuple[TemplateItem, ...]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "meeting_kind": self.meeting_kind.value,
            "title": self.title_vi,
            "title_en": self.title_en,
            "items": [
                {"kind": i.kind, "title": i.title_vi, "title_en": i.title_en, "speaking_limit_s": i.speaking_limit_s}
                for i in self.items
            ],
        }


REGULAR = AgendaTemplate(
    id="regular",
    meeting_kind=MeetingKind.REGULAR,
    title_vi="Sinh hoạt chi bộ thường kỳ",
    title_en="Regular monthly branch meeting",
    items=(
        TemplateItem(
            "opening", "Khai mạc, báo cáo số lượng đảng viên dự họp", "Opening and attendance report (present / absent)"
        ),
        TemplateItem(
            "review", "Kiểm điểm việc thực hiện nghị quyết kỳ trước", "Review of the last resolution's implementation"
        ),
        TemplateItem("report", "Báo cáo tình hình và nhiệm vụ", "Situation report and tasks"),
        TemplateItem("discussion", "Thảo luận", "Discussion", speaking_limit_s=300),
        TemplateItem("conclusion", "Chủ trì kết luận", "Chair's conclusion"),
        TemplateItem("resolution", "Biểu quyết thông qua nghị quyết", "Vote on the resolution"),
        TemplateItem("minutes", "Thông qua biên bản cuộc họp", "Reading and adopting the minutes"),
        TemplateItem("closing", "Bế mạc", "Closing"),
    ),
)

THEMATIC = AgendaTemplate(
    id="thematic",
    meeting_kind=MeetingKind.THEMATIC,
    title_vi="Sinh hoạt chi bộ chuyên đề",
    title_en="Thematic quarterly branch meeting",
    items=(
        TemplateItem("opening", "Khai mạc, báo cáo số lượng đảng viên dự họp", "Opening and attendance report"),
        TemplateItem("topic_report", "Trình bày chuyên đề", "Topic report (a committee member presents)"),
        TemplateItem("discussion", "Thảo luận (ý kiến chuẩn bị trước)", "Prepared discussion", speaking_limit_s=420),
        TemplateItem("conclusion", "Chủ trì kết luận", "Chair's conclusion"),
        TemplateItem("resolution", "Biểu quyết thông qua nghị quyết chuyên đề", "Vote on the resolution"),
        TemplateItem("minutes", "Thông qua biên bản cuộc họp", "Reading and adopting the minutes"),
        TemplateItem("closing", "Bế mạc", "Closing"),
    ),
)

EXTRAORDINARY = AgendaTemplate(
    id="extraordinary",
    meeting_kind=MeetingKind.EXTRAORDINARY,
    title_vi="Sinh hoạt chi bộ bất thường",
    title_en="Extraordinary branch meeting",
    items=(
        TemplateItem("opening", "Khai mạc, báo cáo số lượng đảng viên dự họp", "Opening and attendance report"),
        TemplateItem("report", "Nội dung cần giải quyết", "The matter to decide"),
        TemplateItem("discussion", "Thảo luận", "Discussion", speaking_limit_s=300),
        TemplateItem("resolution", "Biểu quyết", "Vote"),
        TemplateItem("minutes", "Thông qua biên bản cuộc họp", "Reading and adopting the minutes"),
        TemplateItem("closing", "Bế mạc", "Closing"),
    ),
)

TEMPLATES: dict[str, AgendaTemplate] = {t.id: t for t in (REGULAR, THEMATIC, EXTRAORDINARY)}
DEFAULT_FOR_KIND: dict[MeetingKind, AgendaTemplate] = {t.meeting_kind: t for t in TEMPLATES.values()}
