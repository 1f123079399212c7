"""/healthz answers while the process lives; /readyz only when the database answers at the newest schema."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from meeting.app import create_app
from meeting.context import AppContext
from meeting.health import code_heads
from meeting.settings import Settings


def _client(context: AppContext) -> TestClient:
    return TestClient(create_app(context=context))  # no lifespan: the probes need no live hub


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that is bound but never listens: every connection to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_code_knows_its_newest_revision():
    assert code_heads() == frozenset({"0001"})


def test_ready_when_the_database_is_at_the_newest_schema(context: AppContext):
    client = _client(context)
    live = client.get("/healthz")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "schema": "0001"}
    assert ready.headers["cache-control"] == "no-store"


def test_not_ready_on_an_empty_database(settings: Settings):
    context = AppContext.create(settings, migrate=False)
    try:
        response = _client(context).get("/readyz")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["code"] == "not_ready"
        assert error["details"]["database"] == "empty" and error["details"]["expected"] == "0001"
        assert error["message"].startswith("Dịch vụ chưa sẵn sàng") and "schema" in error["message_en"]
        assert _client(context).get("/healthz").status_code == 200
    finally:
        context.engine.dispose()


def test_not_ready_when_the_schema_is_not_the_one_this_code_expects(context: AppContext):
    with context.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    response = _client(context).get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["details"]["database"] == "ffff"


def test_not_ready_when_the_database_is_unreachable_but_still_alive(refused_port: int, tmp_path):
    settings = Settings(database_url=f"postgresql://nobody@127.0.0.1:{refused_port}/none", data_dir=str(tmp_path))
    context = AppContext.create(settings, migrate=False)
    try:
        client = _client(context)
        response = client.get("/readyz")
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["details"]["detail"] == "database unreachable"
        assert "nobody" not in response.text  # the probe says what is wrong, never the connection string
        assert client.get("/healthz").status_code == 200
    finally:
        context.engine.dispose()


def test_probes_need_no_token_and_stay_out_of_the_api_document(context: AppContext):
    client = _client(context)
    paths = client.get("/api/openapi.json").json()["paths"]
    # The document lists /api/ routes only; the probes stay out of it, reachable without a token.
    assert "/healthz" not in paths and "/readyz" not in paths
    assert client.get("/readyz", headers={"Authorization": "Bearer nonsense"}).status_code == 200
