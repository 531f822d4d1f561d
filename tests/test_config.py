"""Configuration: defaults, TOML file, environment overrides, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import ConfigError, async_database_url, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRUNKLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_readme() -> None:
    s = load_settings()
    assert (s.api.host, s.api.port) == ("127.0.0.1", 8000)
    assert (s.sip.host, s.sip.port, s.sip.transport) == ("0.0.0.0", 5060, "udp")
    assert s.data_dir == Path("var")
    assert s.database_url == f"sqlite+aiosqlite:///{Path('var').resolve() / 'trunkline.db'}"
    assert s.crm.default_region == "US"


def test_toml_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "trunkline.toml").write_text('data_dir = "/srv/tl"\n[api]\nport = 9000\n[sip]\nport = 5080\n')
    s = load_settings()
    assert (s.data_dir, s.api.port, s.sip.port) == (Path("/srv/tl"), 9000, 5080)
    monkeypatch.setenv("TRUNKLINE_API__PORT", "9100")
    monkeypatch.setenv("TRUNKLINE_DATABASE__URL", "postgres://u@127.0.0.1/db")
    s = load_settings()
    assert s.api.port == 9100 and s.database_url == "postgresql+asyncpg://u@127.0.0.1/db"
    monkeypatch.setenv("TRUNKLINE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "value", "key"),
    [
        ("TRUNKLINE_API__PORT", "0", "api.port"),
        ("TRUNKLINE_SIP__TRANSPORT", "sctp", "sip.transport"),
        ("TRUNKLINE_SIP__HOST", "not-an-ip", "sip.host"),
        ("TRUNKLINE_DATABASE__URL", "mysql://x", "database.url"),
        ("TRUNKLINE_CRM__DEFAULT_REGION", "XX", "crm.default_region"),
        ("TRUNKLINE_LOG__LEVEL", "loud", "log.level"),
    ],
)
def test_bad_values_name_the_key(monkeypatch: pytest.MonkeyPatch, env: str, value: str, key: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"config key {key} ({env})")


def test_unknown_toml_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "trunkline.toml").write_text("[api]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"api\.prot .*unknown key"):
        load_settings()


def test_async_driver_is_chosen() -> None:
    assert async_database_url("sqlite:////x.db") == "sqlite+aiosqlite:////x.db"
    assert async_database_url("postgresql://a@h/d") == "postgresql+asyncpg://a@h/d"
    assert async_database_url("postgresql+asyncpg://a@h/d") == "postgresql+asyncpg://a@h/d"
