"""The `chibo` command as a new person meets it: the demo prints logins that work, admins and migrations."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from meeting import cli
from meeting.app import create_app
from meeting.context import AppContext
from meeting.db.models import Commune, Meeting, Member, User
from meeting.demo import DEMO_PASSWORD, seed_demo
from meeting.domain.model import Category

CHIBO = Path(sys.executable).parent / "chibo"
ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"^ {4}(\S+)\s+/ (\S+)   (.+)$")
INVITE_LINE = re.compile(r"^ {4}(.+): (http://\S+/join#invite=(\S+))$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _login(client: httpx.Client | TestClient, username: str, password: str) -> dict:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, (username, response.text)
    return response.json()


def test_chibo_demo_prints_logins_and_invite_links_that_work(tmp_path):
    """What `make demo` runs: a real process on loopback, signed into with what it printed."""
    assert CHIBO.exists(), "the chibo console script is not installed: pip install -e '.[test]'"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHIBO_", "DATABASE_URL"))},
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
        "CHIBO_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.Popen(
        [str(CHIBO), "demo", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as client:
            while True:
                assert process.poll() is None, "chibo demo exited:\n" + "".join(output)
                assert time.monotonic() < deadline, "chibo demo did not answer in 60 s:\n" + "".join(output)
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            text = "".join(output)
            lines = [line.rstrip("\n") for line in output]
            assert "the demo branch is ready (mới tạo / just created)" in text
            assert f"serving at {base}/" in text
            logins = [m.groups() for m in map(LOGIN_LINE.match, lines) if m]
            invites = [m.groups() for m in map(INVITE_LINE.match, lines) if m]
            assert {username for username, _, _ in logins} >= {"admin", "bithu", "thuky", "dangvien1"}
            assert len(invites) == 2
            meeting_id = int(re.search(r"/chair\?m=(\d+)", text).group(1))

            for username, password, _ in logins:
                assert password == DEMO_PASSWORD
                token = _login(client, username, password)["access_token"]
                me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
                assert me["is_admin"] == (username == "admin")
            chair = _login(client, "bithu", DEMO_PASSWORD)
            assert chair["me"]["role"] == "secretary"
            meeting = client.get(
                f"/api/meetings/{meeting_id}", headers={"Authorization": f"Bearer {chair['access_token']}"}
            )
            assert meeting.status_code == 200
            for _name, url, token in invites:
                assert url.startswith(f"{base}/join#invite=")
                exchanged = client.post("/api/auth/invite", json={"token": token})
                assert exchanged.status_code == 200, exchanged.text
                assert exchanged.json()["me"]["meeting_id"] == meeting_id
            assert client.get(f"/chair?m={meeting_id}").status_code == 200
            # The consoles read the meeting from the query key the banner prints (common.js meetingIdFromUrl).
            common = (ROOT / "static" / "js" / "common.js").read_text()
            read_key = re.search(r"function meetingIdFromUrl\(\) \{\s+const value = [^;]*\.get\('(\w+)'\)", common)
            assert read_key and read_key.group(1) == "m"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    reader.join(timeout=5)
    assert process.returncode == 0, "".join(output)


def test_seed_demo_covers_every_category_and_is_idempotent(context: AppContext):
    now = datetime.now(UTC)
    first = seed_demo(context, with_history=False, now=now)
    again = seed_demo(context, with_history=False, now=now)
    assert first.created and not again.created
    assert (again.branch_id, again.meeting_id) == (first.branch_id, first.meeting_id)
    with context.sessions() as session:
        members = session.scalars(select(Member).where(Member.branch_id == first.branch_id)).all()
        assert len(members) == 12
        assert {m.category for m in members} == {c.value for c in Category}
        assert session.scalar(select(func.count()).select_from(User)) == 13  # 12 members and the commune admin
        meeting = session.get(Meeting, first.meeting_id)
        chair, clerk = session.get(Member, meeting.chair_id), session.get(Member, meeting.clerk_id)
        assert chair.role == "secretary" and chair.category == "official"
        assert clerk.category == "official" and clerk.id != chair.id
        assert meeting.kind == "regular" and meeting.status == "scheduled"
        scheduled = meeting.scheduled_at.replace(tzinfo=meeting.scheduled_at.tzinfo or UTC)
        assert now < scheduled <= now + timedelta(hours=1)
        assert len(meeting.agenda) >= 6  # the standard order of business


def test_demo_logins_and_invites_work_against_the_app(context: AppContext):
    info = seed_demo(context, with_history=False)
    client = TestClient(create_app(context=context))
    banner = cli.demo_banner(info, context.settings.public_url)
    for username, password, _ in info.logins:
        assert f"{username:<10} / {password}" in banner
        _login(client, username, password)
    for name, url in info.invite_links:
        assert f"{name}: {url}" in banner
        token = url.split("#invite=", 1)[1]
        response = client.post("/api/auth/invite", json={"token": token})
        assert response.status_code == 200 and response.json()["me"]["meeting_id"] == info.meeting_id
    admin = _login(client, "admin", DEMO_PASSWORD)
    assert admin["me"]["commune_id"] == info.commune_id
    assert client.post("/api/auth/login", json={"username": "bithu", "password": "sai"}).status_code == 401


def test_demo_plans_the_next_meeting_once_the_last_has_ended(context: AppContext):
    first = seed_demo(context, with_history=False)
    with context.sessions.begin() as session:
        session.get(Meeting, first.meeting_id).status = "ended"
    second = seed_demo(context, with_history=False)
    assert second.meeting_id != first.meeting_id
    with context.sessions() as session:
        assert session.get(Meeting, second.meeting_id).status == "scheduled"


def test_migrate_reports_the_newest_revision(monkeypatch: pytest.MonkeyPatch, database_url: str, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0  # a second run changes nothing
    out = capsys.readouterr().out
    assert out.count("(0001)") == 2
    assert "csearch_path" in out or "sqlite" in out  # where, never who: no password in the line
    assert "root@" not in out


def test_create_admin_makes_a_commune_admin_who_can_sign_in(
    monkeypatch: pytest.MonkeyPatch, database_url: str, settings, capsys
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CHIBO_ADMIN_PASSWORD", "mot-mat-khau-dai")
    args = ["create-admin", "bxd", "--commune", "xa-mot", "--commune-name", "Đảng ủy xã Một"]
    assert cli.main(args) == 0
    assert cli.main(args) == 1  # the same username twice
    assert "already exists" in capsys.readouterr().err
    context = AppContext.create(settings)
    try:
        me = _login(TestClient(create_app(context=context)), "bxd", "mot-mat-khau-dai")["me"]
        assert me["is_admin"]
        with context.sessions() as session:
            assert session.get(Commune, me["commune_id"]).name == "Đảng ủy xã Một"
    finally:
        context.engine.dispose()
    # One commune: no need to name it. Two: the command asks which.
    assert cli.main(["create-admin", "bxd2"]) == 0
    assert cli.main(["create-admin", "bxd3", "--commune", "xa-hai"]) == 0
    assert cli.main(["create-admin", "bxd4"]) == 2
    assert "--commune" in capsys.readouterr().err


def test_create_admin_refuses_short_or_missing_passwords(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/admins.db")
    monkeypatch.setenv("CHIBO_ADMIN_PASSWORD", "short")
    assert cli.main(["create-admin", "ngan", "--commune", "x"]) == 2
    assert "too short" in capsys.readouterr().err
    monkeypatch.delenv("CHIBO_ADMIN_PASSWORD")
    with open(os.devnull) as no_terminal:  # CI: nobody to ask
        monkeypatch.setattr(sys, "stdin", no_terminal)
        assert cli.main(["create-admin", "khongco", "--commune", "x"]) == 2
    assert "CHIBO_ADMIN_PASSWORD" in capsys.readouterr().err
