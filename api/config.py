"""Server configuration: one TOML file plus ``TRUNKLINE_*`` environment variables, validated at start."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from api.billing.rates import Pricing, RateCard

ENV_PREFIX = "TRUNKLINE_"
CONFIG_ENV = "TRUNKLINE_CONFIG"
DEFAULT_CONFIG_FILE = Path("trunkline.toml")


class Section(BaseModel):
    """Base of every configuration section: unknown keys are typos and stop the server."""

    model_config = ConfigDict(extra="forbid")


class ApiSettings(Section):
    """Where the REST API and dashboard listen."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("host")
    @classmethod
    def _host_is_address_or_name(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value):
            raise ValueError("must be an IP address or host name")
        return value


class SipSettings(Section):
    """Where the SIP user agent listens and how many calls this node carries."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    public_address: str | None = None
    max_concurrent_calls: int = Field(50, ge=1, le=2000)
    rtp_ports: str | None = Field(None, pattern=r"^\d{1,5}-\d{1,5}$", description="RTP port range, e.g. 10000-20000")
    ring_timeout_s: int = Field(30, ge=5, le=300)
    register_retry_s: float = Field(2.0, gt=0, le=300, description="First retry delay after a failed REGISTER")
    audio_handler: Literal["assistant", "echo", "tone"] = Field(
        "assistant", description="What talks on calls: the assistant's conversation, or an echo/tone for line tests"
    )

    @property
    def rtp_port_range(self) -> tuple[int, int] | None:
        """The RTP port range as (first, last), or None for the stack's default."""
        if not self.rtp_ports:
            return None
        first, last = (int(p) for p in self.rtp_ports.split("-"))
        return first, last

    @field_validator("rtp_ports")
    @classmethod
    def _ordered_range(cls, value: str | None) -> str | None:
        if value is not None:
            first, last = (int(p) for p in value.split("-"))
            if not 1024 <= first < last <= 65535:
                raise ValueError("must be FIRST-LAST with 1024 <= FIRST < LAST <= 65535")
        return value

    @field_validator("host", "public_address")
    @classmethod
    def _is_ip(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)
        return value


class ProviderSettings(Section):
    """How this node reaches speech, language and voice providers."""

    endpoints: dict[str, str] = Field(
        default_factory=dict, description="Base URL per cloud provider, overriding its public endpoint (proxies)"
    )
    preload_local: bool = Field(True, description="Load the local models at start, not on the first call")
    cpu_threads: int = Field(2, ge=1, le=64, description="Threads for local whisper and llama.cpp")

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not url.startswith(("http://", "https://", "ws://", "wss://")):
                raise ValueError(f"{name}: must be an http(s):// or ws(s):// URL")
        return value


class DatabaseSettings(Section):
    """The database: SQLite in the data directory unless a URL is given."""

    url: str | None = None
    pool_size: int = Field(10, ge=1, le=200)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value


class CrmSettings(Section):
    """CRM defaults."""

    default_region: str = Field("US", description="Region for phone numbers written without +country code")

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("must be a two-letter region code such as US or GB")
        return value.upper()


class SchedulerSettings(Section):
    """The campaign scheduler of this node (it runs where the SIP engine runs)."""

    enabled: bool = True
    node_id: str | None = Field(
        None, max_length=100, description="This node's name in attempt claims; default host:api-port"
    )
    local_hours: bool = Field(
        True, description="Call only 08:00-21:00 of the callee's local time; turn off only outside the US rules"
    )


class CreditSettings(Section):
    """Credit metering: per-minute rates of providers, what money buys, and the words of the drain warning."""

    rates: RateCard = Field(default_factory=RateCard)
    pricing: Pricing = Field(default_factory=Pricing)
    drain_warning: str = Field(
        "I'm sorry, this account has run out of call credit, so I have to end the call now. Goodbye.",
        min_length=1,
        max_length=500,
        description="Spoken just before a call whose credit has run out is ended",
    )


class OutboundSettings(Section):
    """Outbound HTTP requests (webhooks, webhook tools): which non-public addresses they may still reach."""

    allowed_networks: list[str] = Field(
        default_factory=list,
        description="Private, loopback or link-local networks (CIDR or address) outbound requests may reach",
    )

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value


class WebhookSettings(Section):
    """Delivery of webhook events: the receiver's time limit and the retry schedule."""

    enabled: bool = Field(True, description="Run this node's delivery worker")
    timeout_s: float = Field(5.0, gt=0, le=30, description="A receiver must answer 2xx within this time")
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 3600.0, 21600.0],
        min_length=1,
        max_length=20,
        description="Delay before each retry; a delivery fails after the first attempt plus one retry per delay",
    )

    @field_validator("retry_schedule_s")
    @classmethod
    def _delays(cls, value: list[float]) -> list[float]:
        if any(not 0.1 <= delay <= 7 * 86400 for delay in value):
            raise ValueError("every delay must be between 0.1 s and 7 days")
        return value


class LogSettings(Section):
    """How the server logs."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


class Settings(BaseSettings):
    """Every setting of a Trunkline node; see the README's configuration reference."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Path("var")
    secret_key: SecretStr | None = None
    api: ApiSettings = Field(default_factory=ApiSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    crm: CrmSettings = Field(default_factory=CrmSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    credits: CreditSettings = Field(default_factory=CreditSettings)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order of precedence: explicit values, environment, TOML file, defaults."""
        toml_file = _config_file_path()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def database_url(self) -> str:
        """The async SQLAlchemy URL of the database."""
        return async_database_url(self.database.url or f"sqlite:///{self.data_dir.resolve() / 'trunkline.db'}")

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite file."""
        return self.database_url.startswith("sqlite")


class ConfigError(Exception):
    """A configuration value is wrong; the message is one line naming the key and the problem."""


def async_database_url(url: str) -> str:
    """Give a database URL the async driver Trunkline uses (aiosqlite or asyncpg)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    for plain, driver in (("sqlite://", "sqlite+aiosqlite://"), ("postgresql://", "postgresql+asyncpg://")):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


def _config_file_path() -> Path | None:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _key_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if not isinstance(part, int)) or "(file)"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the configuration, raising ConfigError with one line naming the bad key."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit and not Path(explicit).is_file():
        raise ConfigError(f"{CONFIG_ENV}: config file {explicit} does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_name(first["loc"])
        env_name = ENV_PREFIX + key.upper().replace(".", "__")
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        got = first.get("input")
        shown = "" if isinstance(got, dict) or first["type"] == "extra_forbidden" else f" (got {got!r})"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"config key {key} ({env_name}): {message}{shown}{more}") from None
    except (ValueError, OSError) as exc:  # an unreadable or malformed TOML file
        raise ConfigError(f"config file: {exc}") from None
