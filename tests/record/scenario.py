"""A full regular meeting run through the real service, with every kind of attendance, speech and vote the
minutes must show. The figures it produces are spelled out in `Expected` so tests compare against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from meeting.context import AppContext
from meeting.db.models import Resolution
from meeting.domain import commands as c
from meeting.domain.commands import Actor
from meeting.domain.model import AttendanceMode, Choice, EntryKind
from meeting.record.resolutions import ActionFields, add_action
from tests.factories import SeededBranch

ABSENCE_REASON = "Đi công tác tỉnh Nghệ An"
REPORT_NOTE = "Đồng chí Bí thư trình bày báo cáo tình hình tháng 11 và nhiệm vụ tháng 12."
OPINION_1 = "Đề nghị chi bộ quan tâm hơn đến việc thu đảng phí đúng hạn và giữ gìn vệ sinh đường làng."
OPINION_2 = "Nhất trí với báo cáo; đề nghị bổ sung chỉ tiêu vận động quỹ khuyến học."
OPINION_3_FIRST = "Đề nghị tổ chức ra quân làm đường bê tông ngõ xóm"
OPINION_3_FINAL = "Đề nghị tổ chức ra quân làm đường bê tông ngõ xóm trước Tết Nguyên Đán, mỗi hộ góp một ngày công."
CONCLUSION = "Chi bộ thống nhất ba nhiệm vụ trọng tâm tháng 12: đảng phí, khuyến học, đường ngõ xóm."
RESOLUTION_QUESTION = "Thông qua nghị quyết tháng 12"
MINUTES_QUESTION = "Thông qua biên bản cuộc họp"


@dataclass
class Held:
    meeting_id: int
    in_room: list[int]
    online: list[int]
    excused: int
    unexcused: int
    late: int
    left_early: int
    speakers: list[int]
    entry_ids: list[str]
    resolution_id: int | None = None
    action_ids: list[int] = field(default_factory=list)
    moments: dict[str, datetime] = field(default_factory=dict)


class SteppingClock:
    """The service's clock for a meeting that takes its time: each command comes `step` after the one before."""

    def __init__(self, start: datetime, step: timedelta = timedelta(minutes=3)) -> None:
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def hold_meeting(
    context: AppContext,
    branch: SeededBranch,
    meeting_id: int | None = None,
    prefix: str = "",
    start: datetime | None = None,
) -> Held:
    """Run the branch's meeting from start to end. Officials: chair, clerk, o3 (room), o4 (online), o5 (absent
    with a reason), o6 (late, online), o7 (absent, no reason); the probationary member comes and leaves early;
    the exempt member stays away; the guest attends in the room."""
    service = context.service
    if start is not None:
        service.clock = SteppingClock(start)
    meeting_id = meeting_id or branch.meeting_id
    chair, clerk, o3, o4, o5, o6, o7 = branch.officials[:7]
    items = dict(zip(_kinds(context, meeting_id), _item_ids(context, meeting_id), strict=True))
    as_chair, as_clerk = Actor.member(chair), Actor.member(clerk)

    moments: dict[str, datetime] = {}

    def run(command: c.Command, actor: Actor, moment: str | None = None) -> None:
        service.execute(meeting_id, command, actor)
        if moment is not None and isinstance(service.clock, SteppingClock):
            moments[moment] = service.clock.now  # when the service says it happened: the test's own clock

    service.open(meeting_id)
    for member in (chair, clerk, o3, branch.probationary, branch.guest):
        run(c.CheckIn(member_id=member, mode=AttendanceMode.IN_PERSON), as_clerk)
    run(c.CheckIn(member_id=o4, mode=AttendanceMode.REMOTE), Actor.member(o4))
    run(c.MarkAbsent(member_id=o5, reason=ABSENCE_REASON), as_clerk)
    run(c.MarkAbsent(member_id=o7), as_clerk)
    run(c.StartMeeting(), as_chair, "started")
    entries: list[str] = []

    def write(item: str, text: str, kind: EntryKind = EntryKind.NOTE, speaker: int | None = None) -> str:
        entry_id = f"{prefix}e{len(entries) + 1}"
        run(c.WriteEntry(entry_id=entry_id, item_id=items[item], text=text, kind=kind, speaker_id=speaker), as_clerk)
        entries.append(entry_id)
        return entry_id

    run(c.OpenItem(item_id=items["opening"]), as_chair)
    write("opening", "Đồng chí chủ trì tuyên bố lý do, giới thiệu đại biểu và báo cáo số lượng đảng viên dự họp.")
    run(c.OpenItem(item_id=items["review"]), as_chair)
    write("review", "Chi bộ kiểm điểm việc thực hiện nghị quyết tháng trước.")
    run(c.OpenItem(item_id=items["report"]), as_chair)
    write("report", REPORT_NOTE)
    run(c.OpenItem(item_id=items["discussion"]), as_chair)
    run(c.RaiseHand(), Actor.member(o3))
    run(c.RaiseHand(), Actor.member(o4))
    run(c.NextSpeaker(), as_chair, "speaker1")
    write("discussion", OPINION_1, EntryKind.OPINION, o3)
    run(c.NextSpeaker(), as_chair, "speaker2")
    write("discussion", OPINION_2, EntryKind.OPINION, o4)
    run(c.YieldFloor(), Actor.member(o4))
    run(c.CheckIn(member_id=o6, mode=AttendanceMode.REMOTE), Actor.member(o6), "late")
    run(c.RaiseHand(), Actor.member(o6))
    run(c.NextSpeaker(), as_chair, "speaker3")
    revised = write("discussion", OPINION_3_FIRST, EntryKind.OPINION, o6)
    run(c.ReviseEntry(entry_id=revised, text=OPINION_3_FINAL), as_clerk)
    run(c.OpenItem(item_id=items["conclusion"]), as_chair)
    run(c.ConcludeItem(item_id=items["conclusion"], text=CONCLUSION), as_chair)
    run(c.OpenItem(item_id=items["resolution"]), as_chair)
    run(c.OpenVote(vote_id=f"{prefix}v-resolution", question=RESOLUTION_QUESTION), as_chair)
    run(c.CastBallot(vote_id=f"{prefix}v-resolution", choice=Choice.FOR), Actor.member(o4))
    run(c.CastBallot(vote_id=f"{prefix}v-resolution", choice=Choice.AGAINST), Actor.member(o6))
    run(c.RecordHallCount(vote_id=f"{prefix}v-resolution", votes_for=3, votes_against=0, votes_abstain=0), as_clerk)
    run(c.CloseVote(vote_id=f"{prefix}v-resolution"), as_chair)
    run(c.OpenItem(item_id=items["minutes"]), as_chair)
    run(c.OpenVote(vote_id=f"{prefix}v-minutes", question=MINUTES_QUESTION), as_chair)
    run(c.CastBallot(vote_id=f"{prefix}v-minutes", choice=Choice.FOR), Actor.member(o4))
    run(c.CastBallot(vote_id=f"{prefix}v-minutes", choice=Choice.ABSTAIN), Actor.member(o6))
    run(c.RecordHallCount(vote_id=f"{prefix}v-minutes", votes_for=3, votes_against=0, votes_abstain=0), as_clerk)
    run(c.CloseVote(vote_id=f"{prefix}v-minutes"), as_chair)
    run(c.OpenItem(item_id=items["closing"]), as_chair)
    run(c.Leave(member_id=branch.probationary), as_clerk, "left")
    run(c.EndMeeting(), as_chair, "ended")
    return Held(
        meeting_id=meeting_id,
        in_room=[chair, clerk, o3, branch.probationary],
        online=[o4, o6],
        excused=o5,
        unexcused=o7,
        late=o6,
        left_early=branch.probationary,
        speakers=[o3, o4, o6],
        entry_ids=entries,
        moments=moments,
    )


def add_resolution(context: AppContext, branch: SeededBranch, held: Held, today: date) -> Held:
    """The resolution drafted at the meeting, with two "5 rõ" action items."""
    o3, o4 = branch.officials[2], branch.officials[3]
    with context.sessions.begin() as session:
        resolution = Resolution(meeting_id=held.meeting_id, title="Nghị quyết tháng 12", text="Ba nhiệm vụ trọng tâm.")
        session.add(resolution)
        session.flush()
        first = add_action(
            session,
            resolution,
            branch.branch_id,
            ActionFields(o3, "Thu đảng phí quý IV", today + timedelta(days=10), "Chi ủy", "100% đảng viên nộp đủ"),
        )
        second = add_action(
            session,
            resolution,
            branch.branch_id,
            ActionFields(o4, "Vận động quỹ khuyến học", today + timedelta(days=20), "Bí thư", "Quỹ đạt 20 triệu đồng"),
        )
        held.resolution_id, held.action_ids = resolution.id, [first.id, second.id]
    return held


def _item_ids(context: AppContext, meeting_id: int) -> list[str]:
    from meeting.db.models import Meeting

    with context.sessions() as session:
        return [item.id for item in session.get(Meeting, meeting_id).agenda]


def _kinds(context: AppContext, meeting_id: int) -> list[str]:
    from meeting.db.models import Meeting

    with context.sessions() as session:
        return [item.kind for item in session.get(Meeting, meeting_id).agenda]


def now() -> datetime:
    return datetime.now(UTC)


NAMES = [
    "Nguyễn Văn An",
    "Trần Thị Bình",
    "Lê Văn Cường",
    "Phạm Thị Dung",
    "Hoàng Văn Em",
    "Vũ Thị Giang",
    "Đặng Văn Hải",
    "Ngô Thị Lan",  # probationary
    "Dương Văn Minh",  # exempt
    "Phan Văn Nam",  # guest
]


def give_names(context: AppContext, branch: SeededBranch) -> dict[int, str]:
    """Real Vietnamese names (every tone mark and đ), the branch's organisation and name, before the journal opens."""
    from meeting.db.models import Branch, Member

    people = [*branch.officials[:7], branch.probationary, branch.exempt, branch.guest]
    with context.sessions.begin() as session:
        for member_id, name in zip(people, NAMES, strict=True):
            session.get(Member, member_id).full_name = name
        found = session.get(Branch, branch.branch_id)
        found.organisation, found.name = "Đảng bộ xã Tân Lập", "Chi bộ thôn Đông"
    return dict(zip(people, NAMES, strict=True))
