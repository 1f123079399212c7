"""Configuration from the environment, in one place. Production refuses to start with a default secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from meeting.db.engine import DEFAULT_DATABASE_URL

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
ENVIRONMENTS = ("development", "test", "production")


def _environment_name(value: str) -> str:
    """A typo such as `prod` must not quietly start a production node in development mode (default secret)."""
    name = value.strip().lower()
    if name not in ENVIRONMENTS:
        raise SystemExit(f"CHIBO_ENV={value!r}: chỉ nhận / must be one of {', '.join(ENVIRONMENTS)}")
    return name


def _positive_int(env: Mapping[str, str], name: str, default: str) -> int:
    value = env.get(name, default)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise SystemExit(f"{name}={value!r}: cần một số nguyên dương / must be a positive whole number")
    return number


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = DEV_SECRET
    production: bool = False
    public_url: str = "http://127.0.0.1:8000"
    access_token_minutes: int = 30
    invite_hours: int = 72
    data_dir: str = "var"
    node_id: str = ""  # this process, among the nodes sharing one PostgreSQL (default: host and pid)
    lease_seconds: int = 10  # a meeting's owner must renew its lease within this; a dead owner's lapses
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ
        values = {
            "database_url": env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            "secret_key": env.get("CHIBO_SECRET_KEY", DEV_SECRET),
            "production": _environment_name(env.get("CHIBO_ENV", "development")) == "production",
            "public_url": env.get("CHIBO_PUBLIC_URL", "http://127.0.0.1:8000"),
            "access_token_minutes": _positive_int(env, "CHIBO_ACCESS_TOKEN_MINUTES", "30"),
            "invite_hours": _positive_int(env, "CHIBO_INVITE_HOURS", "72"),
            "data_dir": env.get("CHIBO_DATA_DIR", "var"),
            "node_id": env.get("CHIBO_NODE_ID", ""),
            "lease_seconds": _positive_int(env, "CHIBO_LEASE_SECONDS", "10"),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.production and (self.secret_key == DEV_SECRET or len(self.secret_key) < 32):
            raise SystemExit("CHIBO_SECRET_KEY must be set to a secret of at least 32 characters in production")
