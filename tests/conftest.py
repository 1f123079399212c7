"""Fixtures shared by the whole suite. Database tests run twice: on a SQLite file and on PostgreSQL.

PostgreSQL is required, never skipped: TEST_POSTGRES_URL names it (default: the local server on
127.0.0.1:5432, database `test`). Each test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from meeting.context import AppContext
from meeting.settings import Settings
from tests.factories import SeededBranch, seed_branch

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"

# At least 200 examples per property test, in CI and on a developer's machine alike.
hypothesis_settings.register_profile("chibo", max_examples=200, deadline=None)
hypothesis_settings.load_profile("chibo")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/chibo-test.db"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path / "data"))


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    ctx = AppContext.create(settings)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def branch(context: AppContext) -> SeededBranch:
    return seed_branch(context.sessions)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the rest of
    the session, and an asyncio test collected after it could not start its own."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))
