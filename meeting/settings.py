"""Configuration from the environment, in one place. Production refuses to start with a default secret."""

from __future__ import annotations

import fcntl
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
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
    # This node among the nodes sharing one PostgreSQL. `chibo serve` fills an empty one from the data directory
    # (`with_stable_node_id`), so a restarted node knows its own leases; embedded apps (tests) use host and pid.
    node_id: str = ""
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

    def with_stable_node_id(self) -> Settings:
        """These settings with a node id: CHIBO_NODE_ID if set, else the one kept in the data directory."""
        return self if self.node_id else replace(self, node_id=stable_node_id(self.data_dir))

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


NODE_ID_FILE = "node-id"
_claimed_node_ids: dict[Path, tuple[int, str]] = {}  # data directory -> (the locked file's descriptor, the id)


def stable_node_id(data_dir: str) -> str:
    """This node's name, made once (host name and a random part) and kept in `<data_dir>/node-id`, so a node
    killed and started again on the same machine takes its own leases back at once instead of waiting for them to
    lapse under the name of a process that is gone.

    The file stays locked (flock) while the process runs and the kernel lets go of it when the process dies, even
    by SIGKILL. A second node started on the same data directory would have the same name, and both would think
    they run the same meetings: it is refused (give each node its own CHIBO_DATA_DIR or its own CHIBO_NODE_ID).
    The lock works between processes of one machine (containers sharing a volume included), not on NFS."""
    folder = Path(data_dir).resolve()
    claimed = _claimed_node_ids.get(folder)
    if claimed is not None:
        return claimed[1]
    path = folder / NODE_ID_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SystemExit(
            f"{path}: không tạo được tệp tên máy chủ ({exc.strerror}); đặt CHIBO_NODE_ID hoặc cho ghi vào "
            f"CHIBO_DATA_DIR / cannot create the node id file ({exc.strerror}): set CHIBO_NODE_ID or make "
            "CHIBO_DATA_DIR writable"
        ) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(descriptor)
        raise SystemExit(
            f"CHIBO_DATA_DIR={data_dir!r} đang được một máy chủ chibo khác dùng; mỗi máy chủ cần thư mục dữ liệu "
            f"riêng hoặc CHIBO_NODE_ID riêng / is in use by another running chibo node: give each node its own "
            f"CHIBO_DATA_DIR or its own CHIBO_NODE_ID"
        ) from exc
    node_id = os.read(descriptor, 200).decode("utf-8", "replace").strip()[:100]  # the lease's column holds 100
    if not node_id:
        node_id = f"{socket.gethostname()[:60]}-{secrets.token_hex(4)}"
        os.write(descriptor, node_id.encode("utf-8") + b"\n")
        os.fsync(descriptor)
    _claimed_node_ids[folder] = (descriptor, node_id)  # kept open: the lock lasts as long as the process
    return node_id
