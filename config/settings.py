"""Typed settings, read once from ``TWEETPAY_*`` environment variables.

With nothing set, the defaults run the sandbox: an SQLite file under ``./data``, the local
X API emulator, sandbox keys. ``load_settings()`` validates everything at start-up and raises
``SettingsError`` whose message names the variable and what is wrong with it.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from handlers.money import AmountError, Money

ENV_PREFIX = "TWEETPAY_"
Environment = Literal["sandbox", "development", "production"]


def _to_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Money(value)
    if isinstance(value, str):
        try:
            return Money.parse(value)
        except AmountError as exc:
            raise ValueError(str(exc)) from exc
    raise ValueError("an amount in euros such as 250 or 250,00")


# NoDecode: an amount such as 250,00 is not JSON; our own validator reads it.
MoneySetting = Annotated[Money, NoDecode, BeforeValidator(_to_money)]


def _sandbox_key(label: str) -> SecretStr:
    # Deterministic so a sandbox restart can still read what it encrypted; refused in production.
    digest = hashlib.sha256(f"tweetpay-sandbox-{label}".encode()).digest()
    return SecretStr(base64.urlsafe_b64encode(digest).decode())


SANDBOX_DATA_KEY = _sandbox_key("data-key")
SANDBOX_PIN_PEPPER = _sandbox_key("pin-pepper")


class SettingsError(RuntimeError):
    """Start-up configuration is invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Environment = "sandbox"
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: an SQLite file in data_dir

    # Money rules (from the S-Money seeds): integer cents, no fees.
    cap_person: MoneySetting = Money(25_000)
    cap_pro: MoneySetting = Money(50_000)
    min_amount: MoneySetting = Money(1)
    limit_24h: MoneySetting = Money(50_000)
    limit_30d: MoneySetting = Money(150_000)
    topup_max: MoneySetting = Money(100_000)  # one card top-up, at most (min: min_amount)

    confirmation_ttl_seconds: int = Field(default=600, gt=0, le=600)
    claim_period_days: int = Field(default=14, gt=0)
    pin_max_attempts_per_intent: int = Field(default=3, gt=0)
    pin_max_failures_per_account: int = Field(default=5, gt=0, le=5)
    lockout_minutes: int = Field(default=30, gt=0)
    session_minutes: int = Field(default=15, gt=0, le=60)  # account page (cookie) sessions

    bot_handle: str = "Smoney"
    public_base_url: str = "http://127.0.0.1:8000"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, gt=0, lt=65536)

    # X API: empty base URL means "start the embedded emulator".
    x_api_base_url: str = ""
    emulator_port: int = Field(default=8765, ge=0, lt=65536)
    x_consumer_key: SecretStr = SecretStr("sandbox-consumer-key")
    x_consumer_secret: SecretStr = SecretStr("sandbox-consumer-secret")
    x_access_token: SecretStr = SecretStr("")
    x_access_token_secret: SecretStr = SecretStr("")
    x_client_id: str = "sandbox-client-id"
    x_client_secret: SecretStr = SecretStr("sandbox-client-secret")
    x_timeout_seconds: float = Field(default=10.0, gt=0)

    # Keys: data keys are Fernet keys, newest first (older ones still decrypt: rotation).
    data_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SANDBOX_DATA_KEY]
    )
    pin_pepper: SecretStr = SANDBOX_PIN_PEPPER

    # Jobs (seconds).
    poll_mentions_seconds: float = Field(default=15.0, gt=0)
    poll_dms_seconds: float = Field(default=60.0, gt=0)
    outbox_seconds: float = Field(default=2.0, gt=0)
    expiry_seconds: float = Field(default=30.0, gt=0)

    # Messaging policy (docs/design.md: DMs are the scarcest resource).
    dm_receipt_to_sender: bool = False
    public_link_fallback: bool = True
    outbox_max_attempts: int = Field(default=8, gt=0)

    # Metrics (bot/metrics.py, docs/operations.md).
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="If set, /metrics asks for `Authorization: Bearer <token>`; empty: open.",
    )
    worker_metrics_port: int = Field(
        default=9108, ge=0, lt=65536,
        description="Port of the worker's own /metrics server on 127.0.0.1 (0: off).",
    )

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite:/// and postgresql+psycopg:// URLs are supported")
        return value

    @field_validator("data_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("data_keys")
    @classmethod
    def _check_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        if not value:
            raise ValueError("at least one Fernet key is needed")
        for key in value:
            try:
                raw = base64.urlsafe_b64decode(key.get_secret_value().encode())
            except ValueError as exc:
                raise ValueError("each key must be urlsafe base64 (Fernet.generate_key())") from exc
            if len(raw) != 32:
                raise ValueError("each key must decode to 32 bytes (Fernet.generate_key())")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = make_url(self.database_url)
            if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
                url = url.set(drivername="postgresql+psycopg")
            return url.render_as_string(hide_password=False)
        return f"sqlite:///{(self.data_dir / 'tweetpay.sqlite3').as_posix()}"

    @property
    def uses_emulator(self) -> bool:
        return not self.x_api_base_url

    def check_production(self) -> None:
        if self.env != "production":
            return
        if self.data_keys[0].get_secret_value() == SANDBOX_DATA_KEY.get_secret_value():
            raise SettingsError(f"{ENV_PREFIX}DATA_KEYS: the sandbox key is refused in production")
        if self.pin_pepper.get_secret_value() == SANDBOX_PIN_PEPPER.get_secret_value():
            raise SettingsError(f"{ENV_PREFIX}PIN_PEPPER: the sandbox pepper is refused here")
        if self.uses_emulator:
            raise SettingsError(f"{ENV_PREFIX}X_API_BASE_URL: production must talk to X")


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise ``SettingsError`` naming the bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
    settings.check_production()
    return settings
