"""The media plane's configuration, from the environment.

CHIBO_MEDIA                 "off" disables the media plane (default on)
CHIBO_ICE_SERVERS           JSON list of RTCIceServer dicts, the shape browsers take, e.g.
                            [{"urls": "stun:stun.example.vn:3478"},
                             {"urls": ["turn:turn.example.vn:3478?transport=udp"], "username": "u", "credential": "p"}]
                            handed to browsers; the server's own peers use only the STUN entries (a server
                            with a public address needs no relay)
CHIBO_TURN_SECRET           coturn's static-auth-secret (use-auth-secret): TURN entries may then leave out
                            username and credential, and each browser gets its own for 12 hours
CHIBO_MEDIA_HOST_ADDRESSES  comma-separated addresses the server offers as host candidates (default: every
                            interface); "127.0.0.1" keeps a test or benchmark on loopback
CHIBO_MEDIA_BITRATE         Opus bitrate of what the server sends, bits/s (default 24000)
CHIBO_MEDIA_JITTER_FRAMES   20 ms frames buffered per incoming voice before it is mixed (default 2)
CHIBO_RECORDINGS_DIR        where meeting recordings go (default <CHIBO_DATA_DIR>/recordings; "off": none)
CHIBO_MEDIA_VIDEO           "on" serves the stage video (the floor holder's camera, else the hall's); default off
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signaling.media import codec


class MediaConfigError(ValueError):
    pass


@dataclass(frozen=True)
class MediaSettings:
    enabled: bool = True
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    host_addresses: list[str] | None = None
    opus: codec.OpusSettings = field(default_factory=codec.OpusSettings)
    jitter_frames: int = 2
    recordings_dir: str | None = None
    video: bool = False
    turn_secret: str | None = None

    @classmethod
    def from_env(cls, data_dir: str = "var", env: Mapping[str, str] | None = None) -> MediaSettings:
        env = os.environ if env is None else env
        recordings = env.get("CHIBO_RECORDINGS_DIR", str(Path(data_dir) / "recordings"))
        turn_secret = env.get("CHIBO_TURN_SECRET") or None
        hosts = [a.strip() for a in env.get("CHIBO_MEDIA_HOST_ADDRESSES", "").split(",") if a.strip()]
        try:
            bitrate = int(env.get("CHIBO_MEDIA_BITRATE", "24000"))
            jitter = int(env.get("CHIBO_MEDIA_JITTER_FRAMES", "2"))
        except ValueError as exc:
            raise MediaConfigError(f"CHIBO_MEDIA_BITRATE and CHIBO_MEDIA_JITTER_FRAMES are integers: {exc}") from exc
        if not 6_000 <= bitrate <= 128_000 or not 1 <= jitter <= 25:
            raise MediaConfigError("CHIBO_MEDIA_BITRATE is 6000-128000 and CHIBO_MEDIA_JITTER_FRAMES 1-25")
        return cls(
            enabled=env.get("CHIBO_MEDIA", "on").lower() not in ("off", "0", "false", "no"),
            ice_servers=parse_ice_servers(env.get("CHIBO_ICE_SERVERS", ""), turn_secret=bool(turn_secret)),
            turn_secret=turn_secret,
            host_addresses=hosts or None,
            opus=codec.OpusSettings(bitrate=bitrate),
            jitter_frames=jitter,
            recordings_dir=None if recordings.lower() in ("off", "none", "") else recordings,
            video=env.get("CHIBO_MEDIA_VIDEO", "off").lower() in ("on", "1", "true", "yes"),
        )


def parse_ice_servers(text: str, turn_secret: bool = False) -> list[dict[str, Any]]:
    """CHIBO_ICE_SERVERS checked at start-up, so a typo fails loudly instead of leaving members behind NAT mute."""
    if not text.strip():
        return []
    try:
        servers = json.loads(text)
    except ValueError as exc:
        raise MediaConfigError(f"CHIBO_ICE_SERVERS is not JSON: {exc}") from exc
    if not isinstance(servers, list):
        raise MediaConfigError("CHIBO_ICE_SERVERS is a JSON list of {urls, username?, credential?}")
    checked = []
    for server in servers:
        if not isinstance(server, dict) or "urls" not in server:
            raise MediaConfigError("each ICE server is an object with urls")
        urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
        schemes = {u.split(":", 1)[0] if isinstance(u, str) else None for u in urls}
        if not urls or not schemes <= {"stun", "stuns", "turn", "turns"}:
            raise MediaConfigError(f"ICE server urls start with stun:, stuns:, turn: or turns: ({urls!r})")
        is_turn = any(u.startswith("turn") for u in urls)
        has_credentials = isinstance(server.get("username"), str) and isinstance(server.get("credential"), str)
        if is_turn and not has_credentials and not turn_secret:
            raise MediaConfigError("a TURN server needs a username and a credential (or CHIBO_TURN_SECRET)")
        entry: dict[str, Any] = {"urls": urls}
        if "username" in server:
            entry["username"] = server["username"]
            entry["credential"] = server["credential"]
        checked.append(entry)
    return checked


_restricted: list[str] | None = None


def restrict_host_addresses(addresses: list[str] | None) -> None:
    """Offer only these addresses as ICE host candidates (for the whole process: aioice asks once per
    connection). aioice leaves 127.0.0.1 out on its own; naming it here puts it back, for loopback tests."""
    global _restricted
    import aioice.ice

    original = getattr(aioice.ice.get_host_addresses, "__wrapped__", aioice.ice.get_host_addresses)
    _restricted = list(addresses) if addresses else None
    if _restricted is None:
        aioice.ice.get_host_addresses = original
        return

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        assert _restricted is not None
        return [a for a in _restricted if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    host_addresses.__wrapped__ = original  # type: ignore[attr-defined]
    aioice.ice.get_host_addresses = host_addresses


def server_ice(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the server's own peer connections use: STUN only (TURN is for browsers behind NAT)."""
    return [
        {"urls": stun}
        for server in servers
        if (stun := [u for u in server["urls"] if u.startswith(("stun:", "stuns:"))])
    ]


def browser_ice(
    servers: list[dict[str, Any]], turn_secret: str | None, who: str, now: float, hours: int = 12
) -> list[dict[str, Any]]:
    """What a browser is told: with a TURN secret, TURN entries get coturn's time-limited credentials
    (username "<expiry>:<who>", credential base64(HMAC-SHA1(secret, username)))."""
    if not turn_secret:
        return servers
    username = f"{int(now) + hours * 3600}:{who}"
    credential = base64.b64encode(hmac.new(turn_secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    told = []
    for server in servers:
        if any(u.startswith("turn") for u in server["urls"]) and "username" not in server:
            server = {**server, "username": username, "credential": credential}
        told.append(server)
    return told
