"""Fixtures of the multi-process cluster tests (helpers in tests/cluster/nodes.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL schema of this test's own, for several processes to share (nodes run on PostgreSQL only)."""
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
