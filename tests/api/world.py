"""Two branches in two communes, a commune admin, and an access token for every kind of caller.

In branch A the secretary does not chair the meeting: a plain member (official no. 6) does, so the table can
tell rights that come from the branch role from rights that come from the meeting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from meeting.auth import Principal, current_epoch, issue_access_token
from meeting.context import AppContext
from meeting.db.models import Branch, Commune, Meeting, User
from tests.conftest import TEST_SECRET
from tests.factories import SeededBranch, seed_branch

ROLES = ("anonymous", "admin", "secretary", "chair", "clerk", "member", "invitee", "outsider")


@dataclass
class World:
    context: AppContext
    client: TestClient
    a: SeededBranch
    b: SeededBranch
    admin_user_id: int
    chair: int  # member id of the meeting's chair (a plain member of A, not its secretary)
    tokens: dict[str, str | None] = field(default_factory=dict)

    principals: dict[str, Principal] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens[role]
        return {"Authorization": f"Bearer {token}"} if token else {}

    def renew_tokens(self) -> None:
        """Tokens for every role at their accounts' epochs now (after a sign-out or another revocation)."""
        with self.context.sessions() as session:
            for role, who in self.principals.items():
                fresh = replace(who, token_epoch=current_epoch(session, who) or 0)
                self.principals[role] = fresh
                self.tokens[role] = token_for(fresh)


def token_for(principal: Principal) -> str:
    return issue_access_token(principal, TEST_SECRET, minutes=30)


def build_world(context: AppContext, client: TestClient) -> World:
    a = seed_branch(context.sessions, code="cb-a")
    b = seed_branch(context.sessions, code="cb-b")
    with context.sessions.begin() as session:
        home, other = Commune(name="Xã A", code="xa-a"), Commune(name="Xã B", code="xa-b")
        session.add_all([home, other])
        session.flush()
        session.get(Branch, a.branch_id).commune_id = home.id
        session.get(Branch, b.branch_id).commune_id = other.id
        chair = a.officials[5]
        session.get(Meeting, a.meeting_id).chair_id = chair
        admin = User(username="admin-a", display_name="Quản trị xã A", is_admin=True, commune_id=home.id)
        session.add(admin)
        session.flush()
        admin_id, commune_id = admin.id, home.id
    world = World(context, client, a, b, admin_id, chair)
    world.principals = {
        "admin": Principal(admin_id, None, None, "admin", is_admin=True, commune_id=commune_id),
        "secretary": Principal(None, a.chair, a.branch_id, "secretary"),  # official no. 1
        "chair": Principal(None, chair, a.branch_id, "member"),
        "clerk": Principal(None, a.clerk, a.branch_id, "member"),
        "member": Principal(None, a.officials[2], a.branch_id, "member"),
        "invitee": Principal(None, a.officials[3], a.branch_id, "member", meeting_id=a.meeting_id),
        "outsider": Principal(None, b.officials[2], b.branch_id, "member"),
    }
    world.tokens = {"anonymous": None, **{role: token_for(who) for role, who in world.principals.items()}}
    return world


def new_meeting_body(world: World) -> dict:
    return {
        "kind": "regular",
        "title": "Họp thử",
        "scheduled_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "chair_id": world.chair,
        "clerk_id": world.a.clerk,
    }
