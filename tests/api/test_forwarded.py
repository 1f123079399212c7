"""Forwarded addresses count only from the proxies FORWARDED_ALLOW_IPS names (issue 13): `chibo serve` trusts none by
default, so a client on this machine rotating X-Forwarded-For is throttled as the one address it is."""

from __future__ import annotations

import asyncio

import httpx2 as httpx
import pytest

from meeting.app import create_app
from meeting.cli import uvicorn_config
from meeting.settings import Settings
from tests.factories import PASSWORD, seed_branch


def _tries(settings: Settings, context, username: str) -> list[int]:
    """40 wrong passwords from 127.0.0.1, each claiming another address, then the right one: the statuses."""
    config = uvicorn_config(create_app(context=context), settings, "127.0.0.1", 0)
    config.load()  # the app as uvicorn serves it (with its proxy-headers middleware, if any)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://chibo.test") as client:
            statuses = []
            for i in range(41):
                password = PASSWORD if i == 40 else f"doan-{i}"
                response = await client.post(
                    "/api/auth/login",
                    json={"username": username, "password": password},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                )
                statuses.append(response.status_code)
            return statuses

    return asyncio.run(run())


def test_settings_trust_no_proxy_unless_named(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert Settings.from_env().forwarded_allow_ips == ""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", " 172.31.251.10 ")
    assert Settings.from_env().forwarded_allow_ips == "172.31.251.10"


def test_a_rotated_forwarded_header_from_loopback_is_not_believed_by_default(context, settings):
    branch = seed_branch(context.sessions, code="cb-xff", with_logins=True)
    statuses = _tries(settings, context, branch.usernames[branch.chair])
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}  # the right guess at the end is refused too


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_named_proxy_is_believed(context, settings):
    """The same rotation through a proxy the operator named: each forwarded address is counted on its own (here the
    proxy is loopback only to show the setting takes effect; in docker/compose.yaml it is Caddy's own address)."""
    branch = seed_branch(context.sessions, code="cb-xff2", with_logins=True)
    trusting = Settings(
        database_url=settings.database_url, secret_key=settings.secret_key, forwarded_allow_ips="127.0.0.1"
    )
    statuses = _tries(trusting, context, branch.usernames[branch.chair])
    assert statuses == [401] * 40 + [200]
