"""Migrations: they build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import models
from api.database import current_revision, head_revision
from models.base import belongs_to_dialect


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync,
                        opts={
                            "compare_type": False,
                            "include_object": lambda obj, *_: belongs_to_dialect(obj, sync.dialect.name),
                        },
                    ),
                    models.Base.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []
