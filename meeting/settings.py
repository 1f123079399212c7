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
class SealSettings:
    """The key that signs sealed records (a PAdES signature in the PDF) and the roots that verification trusts.

    One key per deployment, not per commune: a key on a hardware token (how Vietnamese agencies sign) lives in
    the machine it is plugged into, with its PIN in that machine's environment, so the deployment is what holds
    a key; a commune that must sign with its own certificate runs its own deployment (the usual set-up: one per
    commune's party committee). The key comes from a PKCS#12 file or a PKCS#11 token, never both."""

    pkcs12: str = ""  # path of a PKCS#12 (.p12/.pfx) file with the key and its certificate
    pkcs12_password: str = field(default="", repr=False)
    pkcs11_module: str = ""  # path of the token's PKCS#11 library
    pkcs11_token: str = ""  # the token's label
    pkcs11_key: str = ""  # the private key's label on the token
    pkcs11_cert: str = ""  # the certificate's label (default: the key's)
    pkcs11_pin: str = field(default="", repr=False)
    trust_roots: str = ""  # PEM or DER file(s) of the CA certificates a signature must chain to; comma-separated

    @property
    def configured(self) -> bool:
        return bool(self.pkcs12 or self.pkcs11_module)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SealSettings:
        seal = cls(
            pkcs12=env.get("CHIBO_SEAL_PKCS12", "").strip(),
            pkcs12_password=env.get("CHIBO_SEAL_PKCS12_PASSWORD", ""),
            pkcs11_module=env.get("CHIBO_SEAL_PKCS11_MODULE", "").strip(),
            pkcs11_token=env.get("CHIBO_SEAL_PKCS11_TOKEN", "").strip(),
            pkcs11_key=env.get("CHIBO_SEAL_PKCS11_KEY", "").strip(),
            pkcs11_cert=env.get("CHIBO_SEAL_PKCS11_CERT", "").strip(),
            pkcs11_pin=env.get("CHIBO_SEAL_PKCS11_PIN", ""),
            trust_roots=env.get("CHIBO_SEAL_TRUST_ROOTS", "").strip(),
        )
        seal.check_names()
        return seal

    def check_names(self) -> None:
        """The settings that belong together are all there (the key itself is opened by `check`)."""
        if self.pkcs12 and self.pkcs11_module:
            raise SystemExit("CHIBO_SEAL_PKCS12 và CHIBO_SEAL_PKCS11_MODULE: chỉ chọn một / set one of them, not both")
        if self.pkcs11_module:
            missing = [
                name
                for name, value in (
                    ("CHIBO_SEAL_PKCS11_TOKEN", self.pkcs11_token),
                    ("CHIBO_SEAL_PKCS11_KEY", self.pkcs11_key),
                    ("CHIBO_SEAL_PKCS11_PIN", self.pkcs11_pin),
                )
                if not value
            ]
            if missing:
                raise SystemExit(f"CHIBO_SEAL_PKCS11_MODULE cần thêm / also needs: {', '.join(missing)}")
        elif self.pkcs11_token or self.pkcs11_key or self.pkcs11_pin or self.pkcs11_cert:
            raise SystemExit("CHIBO_SEAL_PKCS11_*: thiếu / missing CHIBO_SEAL_PKCS11_MODULE (the token's library)")
        if self.pkcs12_password and not self.pkcs12:
            raise SystemExit("CHIBO_SEAL_PKCS12_PASSWORD: thiếu / missing CHIBO_SEAL_PKCS12 (the key file)")

    def check(self) -> None:
        """Open the key once and read the trust roots, so a wrong path, password, PIN or label stops the start."""
        self.check_names()
        if self.configured or self.trust_roots:
            from meeting.record.digital_seal import check_settings

            check_settings(self)


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
    seal: SealSettings = field(default_factory=SealSettings)  # the digital seal of sealed records (none: unsigned)
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
            "seal": SealSettings.from_env(env),
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
        self.seal.check()


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
