"""What every request handler and the live hub share: settings, database and the meeting service."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from meeting.db.engine import make_engine, make_sessionmaker
from meeting.db.migrate import upgrade
from meeting.service import MeetingService
from meeting.settings import Settings
from meeting.throttle import LoginThrottle


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    service: MeetingService
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @classmethod
    def create(cls, settings: Settings, migrate: bool = True) -> AppContext:
        engine = make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        sessions = make_sessionmaker(engine)
        service = MeetingService(sessions)
        from meeting.record.seal import refuse_edits_when_sealed  # issue 6: a sealed record takes no minute edits

        service.guards.append(refuse_edits_when_sealed(sessions))
        return cls(settings=settings, engine=engine, sessions=sessions, service=service)
