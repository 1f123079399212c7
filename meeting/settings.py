"""Configuration from the environment, in one place. Production refuses to start with a default secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
    # Where this node is reached through the proxy: lease owners hand it out in redirects. Empty: the public URL,
    # which is right for one node but names no node in particular behind a load balancer.
    node_url: str = ""
    lease_seconds: int = 10  # a meeting's owner must renew its lease within this; a dead owner's lapses
    # Proxies whose X-Forwarded-For / -Proto headers are believed (uvicorn's forwarded_allow_ips: addresses or
    # networks, comma-separated). Empty: none, the peer's own address counts, so nobody can pick the address the
    # sign-in throttle counts against by sending the header.
    forwarded_allow_ips: str = ""
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
            "node_url": env.get("CHIBO_NODE_URL", "").strip(),
            "lease_seconds": _positive_int(env, "CHIBO_LEASE_SECONDS", "10"),
            "forwarded_allow_ips": env.get("FORWARDED_ALLOW_IPS", "").strip(),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def __post_init__(self) -> None:
        # Frozen: the default is filled in here, once, so every reader sees the address the node hands out.
        object.__setattr__(self, "node_url", (self.node_url or self.public_url).rstrip("/"))

    def check(self) -> None:
        if self.production and (self.secret_key == DEV_SECRET or len(self.secret_key) < 32):
            raise SystemExit("CHIBO_SECRET_KEY must be set to a secret of at least 32 characters in production")
        if self.node_url != self.public_url.rstrip("/"):  # the public URL's own checks are the CLI's warning
            _check_node_url(self.node_url, self.production)


def _check_node_url(url: str, production: bool) -> None:
    """A redirect to a malformed address strands every client of the meeting: refuse it before listening."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - read for its check: a port that is no number raises here
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SystemExit(
            f"CHIBO_NODE_URL={url!r}: cần một địa chỉ đầy đủ http(s)://máy[:cổng][/đường-dẫn] / "
            "must be an absolute http(s)://host[:port][/path] address"
        )
    if production and parts.scheme != "https":
        # A secure page may not open ws:// or fetch http://: clients could not follow the redirect.
        raise SystemExit(
            f"CHIBO_NODE_URL={url!r}: phải là https khi CHIBO_ENV=production / must be https in production"
        )
