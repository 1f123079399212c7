"""SQLAlchemy 2 models. The journal is the source of truth for a live meeting; the tables beside it
(attendance, speaker requests, minutes, votes) are projections of it, written in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and always read back timezone-aware (SQLite alone would hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Branch(Base):
    """A party branch (chi bộ) and its rules."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(50), unique=True)
    organisation: Mapped[str] = mapped_column(String(200), default="")  # the upper committee, for headers
    # The commune committee the branch reports to (None: a branch not yet attached to one).
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id", ondelete="SET NULL"), index=True)
    quorum_numerator: Mapped[int] = mapped_column(Integer, default=2)
    quorum_denominator: Mapped[int] = mapped_column(Integer, default=3)
    quorum_strict: Mapped[bool] = mapped_column(Boolean, default=True)
    majority_numerator: Mapped[int] = mapped_column(Integer, default=1)
    majority_denominator: Mapped[int] = mapped_column(Integer, default=2)
    majority_strict: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[Member]] = relationship(back_populates="branch", order_by="Member.id")


class User(Base):
    """A login. Branch members have one; a commune admin has one without membership."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # None: invite links only
    display_name: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # commune committee admin
    # The commune an admin oversees: they see that commune's branches and no other.
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Raised by a password change, a sign-out, a role change or a deactivation: every access token issued
    # before (it carries the value it was issued with) is refused from then on (meeting/auth.py).
    token_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    member: Mapped[Member | None] = relationship(back_populates="user", uselist=False)


class Member(Base):
    """A person on a branch's roster, with their category and role in the branch."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))  # meeting.domain.model.Category
    role: Mapped[str] = mapped_column(String(20), default="member")  # secretary | deputy | member
    phone: Mapped[str] = mapped_column(String(30), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # As User.token_epoch, for tokens without a login (from an invite link): raised by a sign-out, a role change
    # or a deactivation.
    token_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    branch: Mapped[Branch] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship(back_populates="member")


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # meeting.domain.model.MeetingKind
    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(300), default="")
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The journal's head, kept beside the meeting so a reader need not scan the journal.
    journal_seq: Mapped[int] = mapped_column(Integer, default=0)
    journal_head: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )


class AgendaItem(Base):
    __tablename__ = "agenda_items"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    speaking_limit_s: Mapped[int | None] = mapped_column(Integer)
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    designated_speakers: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    conclusion: Mapped[str | None] = mapped_column(Text)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class Attendance(Base):
    __tablename__ = "attendance"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # meeting.domain.model.AttendanceStatus
    mode: Mapped[str | None] = mapped_column(String(20))
    first_arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SpeakerRequest(Base):
    __tablename__ = "speaker_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting | granted | lowered
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MinuteEntry(Base):
    __tablename__ = "minute_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64))
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revision_count: Mapped[int] = mapped_column(Integer, default=1)
    # Its rank among its item's entries as the clerk ordered them (votes and conclusions live in their own tables).
    position: Mapped[int] = mapped_column(Integer, default=0)


class MinuteRevision(Base):
    """Every version of every entry, the first one included: nothing written is ever lost."""

    __tablename__ = "minute_revisions"
    __table_args__ = (UniqueConstraint("meeting_id", "entry_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    speaker_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_member_id: Mapped[int | None] = mapped_column(Integer)
    journal_seq: Mapped[int] = mapped_column(Integer)


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hall_for: Mapped[int | None] = mapped_column(Integer)
    hall_against: Mapped[int | None] = mapped_column(Integer)
    hall_abstain: Mapped[int | None] = mapped_column(Integer)
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    votes_abstain: Mapped[int | None] = mapped_column(Integer)
    not_voting: Mapped[int | None] = mapped_column(Integer)
    basis: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)


class Ballot(Base):
    __tablename__ = "ballots"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    vote_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Resolution(Base):
    __tablename__ = "resolutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | adopted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ActionItem(Base):
    """One "5 rõ" task of a resolution: who, what, by when, who answers for it, what result."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    resolution_id: Mapped[int] = mapped_column(ForeignKey("resolutions.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    task: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responsible: Mapped[str] = mapped_column(String(300), default="")
    expected_result: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="other")  # meeting.documents.DocumentKind
    title: Mapped[str] = mapped_column(String(300), default="")
    # Set when the branch hands the document to the meeting's participants; members see it from then on.
    distributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    distributed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class JournalEvent(Base):
    """One event of a meeting's journal. (meeting_id, seq) is the key: a second writer of the same
    sequence number fails on insert, so the journal can never fork or leave a gap unnoticed."""

    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_command", "meeting_id", "command_id"),)

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))  # "member:12", "system", "hall"
    # The client's id for the command that caused this event: a retried command is found, not reapplied. Kept with
    # the caller's label ("member:12/" + up to 64 characters, or a QR check-in's "qr-checkin:<member>:<code>").
    command_id: Mapped[str | None] = mapped_column(String(160))
    # SHA-256 of the command behind that id (meeting.journal.command_digest): the id sent again with another
    # command is refused. Outside the chain: it says what was asked, not what happened.
    command_hash: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the canonical JSON that was hashed
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# -- before and after the meeting (preparation, documents, reports to the commune) -------------------
class Commune(Base):
    """A commune party committee (Đảng ủy xã): the upper level that oversees branches and receives reports."""

    __tablename__ = "communes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(50), unique=True)
    # A branch's report is late when not submitted this many working days after its meeting.
    report_due_working_days: Mapped[int] = mapped_column(Integer, default=5)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DocumentAccess(Base):
    """One opening of a document by someone: the chair sees who has read the draft, and when."""

    __tablename__ = "document_access"
    __table_args__ = (Index("ix_document_access_document", "document_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AbsenceNotice(Base):
    """A member's notice, before the meeting, that they cannot attend and why. Pre-fills the attendance
    log: the journal records it as an excused absence when it opens."""

    __tablename__ = "absence_notices"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReportSubmission(Base):
    """The branch's report of one meeting, sent to its commune committee. The minutes stay with the branch
    unless it chose to share them with this report."""

    __tablename__ = "report_submissions"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    minutes_shared: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")


class MeetingLease(Base):
    """Which node runs a live meeting. Renewed by its owner; a lapsed lease may be taken by any node."""

    __tablename__ = "meeting_leases"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(100))
    node_url: Mapped[str] = mapped_column(String(300))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- the official record (biên bản): sealed documents, their signatures, addenda (issue 6) ----------------------
class RecordDocument(Base):
    """The minutes of a meeting (number 0) or one of its addenda (1, 2, ...). A row is a draft until both chair
    and clerk have signed the same content; then it is sealed: the content is frozen as a snapshot, and the
    exact DOCX and PDF files handed out are kept with their SHA-256, beside the journal head they were made from."""

    __tablename__ = "record_documents"
    __table_args__ = (UniqueConstraint("meeting_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 0: the minutes; n: addendum n
    text: Mapped[str] = mapped_column(Text, default="")  # an addendum's correction
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # of the canonical JSON snapshot
    snapshot: Mapped[str | None] = mapped_column(Text)  # the canonical JSON that was hashed
    journal_seq: Mapped[int | None] = mapped_column(Integer)
    journal_head: Mapped[str | None] = mapped_column(String(64))
    docx: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    docx_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # The PDF's digital seal (meeting/record/digital_seal.py), when a key was configured at sealing: the
    # certificate's subject common name and the signing time written in the file. None: the PDF is not signed.
    pdf_signer: Mapped[str | None] = mapped_column(String(300))
    pdf_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecordSignature(Base):
    """A chair's or clerk's signature (password re-entered) on one exact content of a record document."""

    __tablename__ = "record_signatures"
    __table_args__ = (UniqueConstraint("document_id", "role", "content_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("record_documents.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(10))  # chair | clerk
    name: Mapped[str] = mapped_column(String(200))  # as printed under the signature
    content_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# -- accounts (issue 13) ---------------------------------------------------------------------------------------------
class AccountEvent(Base):
    """One change to someone's account: who did it to whom, what, when, from which address. Never updated or
    deleted; read by the branch's secretary and deputy and by its commune admin (meeting/api/access.py)."""

    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_branch", "branch_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # login_created | password_reset | password_changed | role_changed | deactivated | reactivated | signed_out
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(200), default="")  # e.g. "member -> deputy"
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")  # as it was then, kept if the row goes
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    subject_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
