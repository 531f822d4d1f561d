"""The ``trunkline`` command: serve, migrate, API keys, accounts, contact import, local models."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from api.config import CONFIG_ENV, ConfigError, Settings, load_settings
from api.errors import ApiError

T = TypeVar("T")

app = typer.Typer(
    help="Trunkline: self-hosted AI phone agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (tenants) of this installation.", no_args_is_help=True)
contacts_app = typer.Typer(help="CRM contacts.", no_args_is_help=True)
models_app = typer.Typer(help="Local speech and language models.", no_args_is_help=True)
app.add_typer(keys_app, name="api-key")
app.add_typer(accounts_app, name="accounts")
app.add_typer(contacts_app, name="contacts")
app.add_typer(models_app, name="models")

# Piped output (scripts, logs) must not be wrapped at 80 columns mid-value.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML configuration file.", envvar=CONFIG_ENV)
]
AccountOption = Annotated[str | None, typer.Option("--account", help="Account id (needed when there are several).")]


class CliError(Exception):
    """A problem to report as one line, without a traceback."""


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except (CliError, ConfigError, ApiError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        err.print(f"[red]error:[/red] database or file not reachable: {reason}", highlight=False)
        raise typer.Exit(2) from None


def _settings(config: Path | None) -> Settings:
    if config is not None:
        import os

        os.environ[CONFIG_ENV] = str(config)
    return load_settings()


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(sessionmaker)`` on a fresh engine and dispose of it."""
    from api.database import make_engine, make_sessionmaker

    async def main() -> T:
        engine = make_engine(settings.database_url, settings.database.pool_size)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _account_id(session: Any, account: str | None) -> UUID:
    from models import Account

    if account is not None:
        try:
            found = await session.get(Account, UUID(account))
        except ValueError:
            raise CliError(f"--account: '{account}' is not an account id") from None
        if found is None:
            raise CliError(f"--account: no account {account}")
        return found.id
    ids = list(await session.scalars(select(Account.id).limit(2)))
    if not ids:
        raise CliError("no account yet: start the server once, or run 'trunkline accounts create NAME'")
    if len(ids) > 1:
        raise CliError("several accounts exist: pass --account ID (see 'trunkline accounts list')")
    return ids[0]


def _prepare(settings: Settings) -> None:
    from api.database import migrate

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the database tables."""
    with _one_line_errors():
        settings = _settings(config)
        _prepare(settings)
        out.print("database is up to date")


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Migrate the database and start the node (API, dashboard, SIP, scheduler)."""
    with _one_line_errors():
        settings = _settings(config)
        from api.logging import configure_logging

        configure_logging(settings.log.level, settings.log.format)
        _prepare(settings)
        import uvicorn

        from api.app import create_app
        from api.bootstrap import ADMIN_KEY_FILE, ensure_first_account

        key = _run(settings, lambda sessions: ensure_first_account(sessions, settings.data_dir))
        if key:
            out.print("First start: created the first account and its admin API key (shown once):")
            out.print(f"  {key}", highlight=False, soft_wrap=True)
            out.print(f"  (also saved, readable only by you, in {settings.data_dir / ADMIN_KEY_FILE})")
        application = create_app(settings)
    uvicorn.run(
        application, host=settings.api.host, port=settings.api.port, log_config=None, access_log=False, lifespan="on"
    )


@keys_app.command("create")
def api_key_create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scopes: Annotated[str, typer.Option("--scopes", help="Comma-separated: read, write, admin.")] = "read,write",
    account: AccountOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an API key and print it once."""
    from models import ApiKeyScope

    with _one_line_errors():
        try:
            wanted = [ApiKeyScope(s.strip()) for s in scopes.split(",") if s.strip()]
        except ValueError:
            raise CliError(f"--scopes: '{scopes}' must list read, write or admin") from None
        if not wanted:
            raise CliError("--scopes: give at least one of read, write, admin")
        if not name.strip() or len(name) > 200:
            raise CliError("--name: must be 1 to 200 characters")

        async def work(sessions: Any) -> str:
            from api.services.api_keys import ApiKeyService

            async with sessions() as session:
                service = ApiKeyService(session, await _account_id(session, account))
                _, new = await service.issue(name.strip(), wanted)
                await session.commit()
                return new.secret

        secret = _run(_settings(config), work)
    out.print(secret, highlight=False, soft_wrap=True)


@keys_app.command("list")
def api_key_list(account: AccountOption = None, config: ConfigOption = None) -> None:
    """List API keys (prefixes only)."""
    from models import ApiKey

    with _one_line_errors():

        async def work(sessions: Any) -> list[ApiKey]:
            async with sessions() as session:
                account_id = await _account_id(session, account)
                return list(
                    await session.scalars(
                        select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.created_at)
                    )
                )

        keys = _run(_settings(config), work)
    table = Table("prefix", "name", "scopes", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.prefix,
            k.name,
            ",".join(k.scopes),
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "-",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-",
        )
    out.print(table)


@keys_app.command("revoke")
def api_key_revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix (tlk_…) or id.")],
    account: AccountOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke an API key at once."""
    with _one_line_errors():

        async def work(sessions: Any) -> str:
            from api.services.api_keys import ApiKeyService

            async with sessions() as session:
                service = ApiKeyService(session, await _account_id(session, account))
                found = await service.by_prefix_or_id(key)
                if found is None:
                    raise CliError(f"no API key '{key}' in this account")
                await service.revoke(found)
                await session.commit()
                return found.prefix

        prefix = _run(_settings(config), work)
    out.print(f"revoked {prefix}")


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Argument(help="The account's name.")], config: ConfigOption = None
) -> None:
    """Create an account and print its admin API key once."""
    with _one_line_errors():
        if not name.strip() or len(name) > 200:
            raise CliError("NAME: must be 1 to 200 characters")

        async def work(sessions: Any) -> tuple[UUID, str]:
            from api.services.api_keys import create_account

            async with sessions() as session:
                account, key = await create_account(session, name.strip())
                return account.id, key.secret

        account_id, secret = _run(_settings(config), work)
    out.print(f"account {account_id}")
    out.print(secret, highlight=False, soft_wrap=True)


@accounts_app.command("list")
def accounts_list(config: ConfigOption = None) -> None:
    """List accounts."""
    from models import Account

    with _one_line_errors():

        async def work(sessions: Any) -> list[Account]:
            async with sessions() as session:
                return list(await session.scalars(select(Account).order_by(Account.created_at)))

        accounts = _run(_settings(config), work)
    table = Table("id", "name", "created")
    for a in accounts:
        table.add_row(str(a.id), a.name, f"{a.created_at:%Y-%m-%d %H:%M}")
    out.print(table)


@contacts_app.command("import")
def contacts_import(
    file: Annotated[Path, typer.Argument(help="CSV file with a header row.")],
    company: Annotated[
        str | None, typer.Option("--company", help="Company for rows without a company column (created if missing).")
    ] = None,
    account: AccountOption = None,
    config: ConfigOption = None,
) -> None:
    """Import contacts from CSV with a progress bar; bad rows are listed with their field."""
    with _one_line_errors():
        if not file.is_file():
            raise CliError(f"{file}: no such file")
        total = max(0, sum(1 for _ in file.open("rb")) - 1)
        settings = _settings(config)

        async def work(sessions: Any) -> Any:
            from api.services.companies import CompanyService
            from api.services.contact_csv import import_contacts
            from api.services.contacts import ContactService

            async with sessions() as session:
                account_id = await _account_id(session, account)
                region = settings.crm.default_region
                company_id = None
                if company:
                    companies = CompanyService(session, account_id, default_region=region)
                    found = await companies.by_name(company.strip()) or await companies.add({"name": company})
                    await session.commit()
                    company_id = found.id
                with Progress(
                    TextColumn("importing"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total} rows"),
                    TimeElapsedColumn(),
                    console=err,
                    transient=False,
                ) as progress:
                    task = progress.add_task("import", total=total)
                    with file.open(encoding="utf-8-sig", newline="") as fh:
                        return await import_contacts(
                            ContactService(session, account_id, region),
                            fh,
                            company_id=company_id,
                            on_progress=lambda done, bad: progress.update(task, completed=done + bad),
                        )

        try:
            report = _run(settings, work)
        except UnicodeDecodeError:
            raise CliError(f"{file}: the CSV must be UTF-8 text") from None
    for e in report.errors[:20]:
        err.print(f"row {e.row}: {e.field}: {e.message}", highlight=False)
    if len(report.errors) > 20:
        err.print(f"… and {len(report.errors) - 20} more problems", highlight=False)
    out.print(f"imported {report.imported} contacts, rejected {report.rejected} rows")


@models_app.command("assemble")
def models_assemble(config: ConfigOption = None) -> None:
    """Assemble the local models (whisper, Piper voice, SmolLM2) into the data directory."""
    with _one_line_errors():
        from agents.model_assets import ModelAssetError, assemble_models

        settings = _settings(config)
        try:
            paths = assemble_models(settings.data_dir, on_progress=lambda line: out.print(line, highlight=False))
        except ModelAssetError as exc:
            raise CliError(str(exc)) from None
    out.print(f"models ready in {paths.whisper_dir.parent}")


def main() -> None:
    """Entry point of the ``trunkline`` console command."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
