"""The demo branch: a commune and its admin, one branch with every kind of member, a meeting later today.

Idempotent: seeding again finds the branch by its code, plans a new meeting only when the last one has ended,
and prints the same logins. `seed_demo(context) -> DemoInfo` is a plain function so tests and other parts
(statistics, reports) can build on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from meeting.auth import hash_password, issue_invite_token
from meeting.context import AppContext
from meeting.db.models import Branch, Commune, Meeting, Member, User
from meeting.domain.model import MeetingKind
from meeting.planning import create_meeting

DEMO_COMMUNE_CODE = "demo-tan-lap"
DEMO_BRANCH_CODE = "demo-dong"
DEMO_ADMIN = "admin"
DEMO_PASSWORD = "chibo-demo"  # printed on every start: never seeded in production (the CLI refuses)
CHAIR, CLERK = "bithu", "thuky"
REMOTE_MEMBERS = ("dangvien6", "dangvien7")  # the two who get invite links
UPCOMING = ("scheduled", "in_progress")

# (username, full name, category, role in the branch)
DEMO_PEOPLE = [
    (CHAIR, "Nguyễn Văn An", "official", "secretary"),
    (CLERK, "Trần Thị Bình", "official", "deputy"),
    ("dangvien1", "Lê Văn Cường", "official", "member"),
    ("dangvien2", "Phạm Thị Dung", "official", "member"),
    ("dangvien3", "Hoàng Văn Em", "official", "member"),
    ("dangvien4", "Vũ Thị Giang", "official", "member"),
    ("dangvien5", "Đặng Văn Hải", "official", "member"),
    ("dangvien6", "Bùi Thị Hoa", "official", "member"),
    ("dangvien7", "Đỗ Văn Khánh", "official", "member"),
    ("dubi", "Ngô Thị Lan", "probationary", "member"),
    ("mien", "Dương Văn Minh", "exempt", "member"),
    ("khach", "Phan Văn Nam", "guest", "member"),
]

# What the banner prints: one login per point of view worth trying.
DEMO_LOGINS = [
    (DEMO_ADMIN, "Ban Xây dựng Đảng xã / commune admin"),
    (CHAIR, "Bí thư, chủ trì / secretary, chair"),
    (CLERK, "Thư ký / clerk"),
    ("dangvien1", "Đảng viên chính thức / official member"),
    ("dubi", "Đảng viên dự bị (không biểu quyết) / probationary, does not vote"),
    ("khach", "Khách cấp trên (không biểu quyết) / guest, does not vote"),
]


@dataclass
class DemoInfo:
    branch_id: int
    meeting_id: int
    commune_id: int
    members: dict[str, int] = field(default_factory=dict)  # username -> member id
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, who)
    invite_links: list[tuple[str, str]] = field(default_factory=list)  # (member's name, url)
    created: bool = False


def _create_branch(session: Session) -> Branch:
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for everyone: argon2 is slow on purpose
    commune = session.scalar(select(Commune).where(Commune.code == DEMO_COMMUNE_CODE))
    if commune is None:
        commune = Commune(name="Đảng ủy xã Tân Lập", code=DEMO_COMMUNE_CODE)
        session.add(commune)
        session.flush()
    if session.scalar(select(User).where(User.username == DEMO_ADMIN)) is None:
        session.add(
            User(
                username=DEMO_ADMIN,
                password_hash=password_hash,
                display_name="Ban Xây dựng Đảng xã Tân Lập",
                is_admin=True,
                commune_id=commune.id,
            )
        )
    branch = Branch(
        name="Chi bộ thôn Đông", code=DEMO_BRANCH_CODE, organisation="Đảng bộ xã Tân Lập", commune_id=commune.id
    )
    session.add(branch)
    session.flush()
    for username, name, category, role in DEMO_PEOPLE:
        user = User(username=username, password_hash=password_hash, display_name=name)
        session.add(user)
        session.flush()
        session.add(Member(branch_id=branch.id, user_id=user.id, full_name=name, category=category, role=role))
    session.flush()
    return branch


def _plan_meeting_today(session: Session, branch_id: int, members: dict[str, int], now: datetime) -> Meeting:
    return create_meeting(
        session,
        branch_id=branch_id,
        kind=MeetingKind.REGULAR,
        title="Sinh hoạt chi bộ thường kỳ",
        scheduled_at=now.replace(second=0, microsecond=0) + timedelta(hours=1),
        place="Nhà văn hóa thôn Đông",
        chair_id=members[CHAIR],
        clerk_id=members[CLERK],
    )


def seed_demo(context: AppContext, with_history: bool = True, now: datetime | None = None) -> DemoInfo:
    """Seed (or find) the demo branch. `with_history` adds a month of past meetings the first time."""
    settings = context.settings
    now = now or datetime.now(UTC)
    created = False
    with context.sessions.begin() as session:
        branch = session.scalar(select(Branch).where(Branch.code == DEMO_BRANCH_CODE))
        if branch is None:
            branch = _create_branch(session)
            created = True
        branch_id, commune_id = branch.id, branch.commune_id

    if created and with_history:
        from meeting.stats import seed_history  # past meetings run through the real service (statistics, reports)

        seed_history(context, branch_id, months=1, now=now)

    with context.sessions.begin() as session:
        members = {
            member.user.username: member.id
            for member in session.scalars(select(Member).where(Member.branch_id == branch_id))
            if member.user is not None
        }
        meeting = session.scalars(
            select(Meeting)
            .where(Meeting.branch_id == branch_id, Meeting.status.in_(UPCOMING))
            .order_by(Meeting.scheduled_at.desc())
        ).first()
        if meeting is None:  # first run, or the last demo meeting was held to its end: plan the next one
            meeting = _plan_meeting_today(session, branch_id, members, now)
            session.flush()
        info = DemoInfo(
            branch_id=branch_id, meeting_id=meeting.id, commune_id=commune_id, members=members, created=created
        )
        info.logins = [(username, DEMO_PASSWORD, who) for username, who in DEMO_LOGINS]
        scheduled = meeting.scheduled_at if meeting.scheduled_at.tzinfo else meeting.scheduled_at.replace(tzinfo=UTC)
        expires = max(scheduled, now) + timedelta(hours=settings.invite_hours)
        names = {username: name for username, name, _, _ in DEMO_PEOPLE}
        for username in REMOTE_MEMBERS:
            token = issue_invite_token(
                meeting_id=meeting.id,
                member_id=members[username],
                branch_id=branch_id,
                secret=settings.secret_key,
                expires_at=expires,
            )
            info.invite_links.append((names[username], f"{settings.public_url}/join#invite={token}"))
    return info
