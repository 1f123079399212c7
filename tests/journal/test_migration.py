"""The Alembic migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

The `context` fixture upgrades a fresh database to head; Alembic's autogenerate comparison of that database
with `Base.metadata` must then find nothing to add, drop or alter (the same options as `meeting/migrations/env.py`
plus type comparison, so a column whose type drifted from its model shows too).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from meeting.db.migrate import alembic_config
from meeting.db.models import Base


def test_migrated_schema_matches_the_models(context):
    with context.engine.connect() as connection:
        migration = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": Base.metadata}
        )
        differences = compare_metadata(migration, Base.metadata)
    assert differences == [], "run `make migration` (or regenerate 0001) after changing meeting/db/models.py"


def test_database_stands_at_the_newest_revision(context):
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"one line of migrations, found heads {heads}"
    with context.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == heads[0]
        tables = set(inspect(connection).get_table_names())
    assert set(Base.metadata.tables) <= tables
