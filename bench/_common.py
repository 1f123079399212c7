"""What the benchmarks share: the PostgreSQL they measure against, a schema of their own there, and the secret their
servers sign tokens with. Benchmarks run as scripts (`python bench/x.py`), so this folder is on their import path."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text

# The test suite's PostgreSQL unless told otherwise (BENCH_POSTGRES_URL, or the tests' TEST_POSTGRES_URL).
PG_URL = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
)
SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Schema:
    url: str  # DATABASE_URL for the service: PG_URL with this schema as its search path
    name: str
    server_version: str

    def describe(self) -> str:
        return f"postgresql {self.server_version} on {PG_URL.rsplit('@', 1)[-1]} (schema {self.name}, dropped)"


@contextmanager
def pg_schema(prefix: str = "bench") -> Iterator[Schema]:
    """A fresh PostgreSQL schema for one measurement, dropped afterwards, so runs never see each other's rows."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
            version = str(connection.execute(text("SHOW server_version")).scalar())
        yield Schema(f"{PG_URL}?options=-csearch_path%3D{name}", name, version)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()
