"""A small branch with every kind of member and a scheduled regular meeting, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from meeting.auth import hash_password
from meeting.db.models import Branch, Member, User
from meeting.domain.model import MeetingKind
from meeting.planning import create_meeting

PASSWORD = "mat-khau-thu-nghiem"


@dataclass
class SeededBranch:
    branch_id: int
    meeting_id: int
    chair: int  # secretary, official
    clerk: int  # official
    officials: list[int]  # every official member, chair and clerk included
    probationary: int
    exempt: int
    guest: int
    usernames: dict[int, str] = field(default_factory=dict)  # member id -> username (password PASSWORD)
    item_ids: list[str] = field(default_factory=list)

    @property
    def everyone(self) -> list[int]:
        return [*self.officials, self.probationary, self.exempt, self.guest]


def seed_branch(
    sessions: sessionmaker[Session],
    *,
    code: str = "cb-test",
    officials: int = 6,
    with_logins: bool = False,
    kind: MeetingKind = MeetingKind.REGULAR,
) -> SeededBranch:
    """Officials 0 and 1 are the chair (secretary) and the clerk. Logins (argon2: slow) only on request."""
    password_hash = hash_password(PASSWORD) if with_logins else None
    with sessions.begin() as session:
        branch = Branch(name=f"Chi bộ {code}", code=code, organisation="Đảng ủy xã Thử Nghiệm")
        session.add(branch)
        session.flush()
        people = [
            (f"Đảng viên chính thức {i + 1}", "official", "secretary" if i == 0 else "member") for i in range(officials)
        ]
        people += [
            ("Đảng viên dự bị", "probationary", "member"),
            ("Đảng viên miễn sinh hoạt", "exempt", "member"),
            ("Đồng chí cấp ủy cấp trên", "guest", "member"),
        ]
        members = []
        usernames = {}
        for index, (name, category, role) in enumerate(people):
            user = None
            if with_logins:
                user = User(username=f"{code}-u{index}", password_hash=password_hash, display_name=name)
                session.add(user)
                session.flush()
            member = Member(
                branch_id=branch.id, user_id=user.id if user else None, full_name=name, category=category, role=role
            )
            session.add(member)
            session.flush()
            members.append(member)
            if user is not None:
                usernames[member.id] = user.username
        meeting = create_meeting(
            session,
            branch_id=branch.id,
            kind=kind,
            title="Sinh hoạt chi bộ tháng 11",
            scheduled_at=datetime.now(UTC) + timedelta(days=1),
            place="Nhà văn hóa thôn",
            chair_id=members[0].id,
            clerk_id=members[1].id,
        )
        ids = [m.id for m in members]
        return SeededBranch(
            branch_id=branch.id,
            meeting_id=meeting.id,
            chair=ids[0],
            clerk=ids[1],
            officials=ids[:officials],
            probationary=ids[officials],
            exempt=ids[officials + 1],
            guest=ids[officials + 2],
            usernames=usernames,
            item_ids=[item.id for item in meeting.agenda],
        )
