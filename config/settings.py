"""Typed settings, read once from ``TWEETPAY_*`` environment variables.

With nothing set, the defaults run the sandbox: an SQLite file under ``./data``, the local
X API emulator, sandbox keys. ``load_settings()`` validates everything at start-up and raises
``SettingsError`` whose message names the variable and what is wrong with it.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "TWEETPAY_"
Environment = Literal["sandbox", "development", "production"]


class Euros:
    """Marks a setting that is an amount: integer cents in the program, written in euros in
    the environment (``250`` or ``250,00``). The layers above wrap it in ``handlers.money.Money``;
    config imports no other layer, so it does not know that type."""


_EUROS_HELP = "an amount in euros such as 250 or 250,00"


def _euros_to_cents(value: Any) -> int:
    # Decimal, never float; at most two decimals, no sign: anything else is refused.
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(_EUROS_HELP)
        return value  # already cents (from code, not the environment)
    if not isinstance(value, str):
        raise ValueError(_EUROS_HELP)
    text = value.strip().removesuffix("€").removesuffix("EUR").strip().replace(",", ".")
    digits = text.replace(".", "", 1)
    if not (digits.isascii() and digits.isdigit()):  # no sign, exponent, space or NaN
        raise ValueError(f"not an amount: {value!r} ({_EUROS_HELP})")
    euros = Decimal(text)
    if euros != euros.quantize(Decimal("0.01")):
        raise ValueError(f"not an amount: {value!r} ({_EUROS_HELP})")
    return int(euros * 100)


# NoDecode: an amount such as 250,00 is not JSON; our own validator reads it.
MoneySetting = Annotated[int, NoDecode, BeforeValidator(_euros_to_cents), Euros()]


def _sandbox_key(label: str) -> SecretStr:
    # Deterministic so a sandbox restart can still read what it encrypted; refused in production.
    digest = hashlib.sha256(f"tweetpay-sandbox-{label}".encode()).digest()
    return SecretStr(base64.urlsafe_b64encode(digest).decode())


SANDBOX_DATA_KEY = _sandbox_key("data-key")
SANDBOX_PIN_PEPPER = _sandbox_key("pin-pepper")
# A P-256 private value (32 bytes, urlsafe base64) for Web Push's VAPID in the sandbox.
SANDBOX_VAPID_KEY = _sandbox_key("vapid-key")


class SettingsError(RuntimeError):
    """Start-up configuration is invalid; the message names the variable."""


class Settings(BaseSettings):
    # A string right under a field is its description (`tweetpay settings`, docs/settings.md).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True,
                                      use_attribute_docstrings=True)

    env: Environment = "sandbox"
    """sandbox (emulator, sandbox keys), development, or production (refuses sandbox secrets, see
    docs/security.md)."""
    data_dir: Path = Path("data")
    """Directory for the SQLite file, the emulator's world and the sandbox acquirer's state."""
    database_url: str = ""  # empty: an SQLite file in data_dir
    """sqlite:///path or postgresql+psycopg://user:pass@host/db; empty: an SQLite file in the data
    dir."""

    # Money rules (from the S-Money seeds): integer cents, written in euros; no fees.
    cap_person: MoneySetting = 25_000
    """Largest payment between people, in euros."""
    cap_pro: MoneySetting = 50_000
    """Largest payment or donation to a Pro account, in euros."""
    min_amount: MoneySetting = 1
    """Smallest payment or top-up, in euros."""
    limit_24h: MoneySetting = 50_000
    """Most a user may send over a sliding 24 hours (escrow holds included), in euros."""
    limit_30d: MoneySetting = 150_000
    """Most a user may send over a sliding 30 days, in euros."""
    topup_max: MoneySetting = 100_000  # one card top-up, at most (min: min_amount)
    """Largest single card top-up, in euros."""
    topup_max_24h: MoneySetting = 150_000
    """Most a user may top up by card over a sliding 24 hours, in euros (pending charges
    count: concurrent top-ups cannot pass it together)."""
    three_ds_above: MoneySetting = 3_000
    """A card top-up above this (or a card's first) goes through the issuer's 3-D Secure
    challenge, in euros (30 € is the EU's low-value exemption)."""

    confirmation_ttl_seconds: int = Field(default=600, gt=0, le=600)
    """Lifetime of a confirmation link, in seconds (at most 600)."""
    claim_period_days: int = Field(default=14, gt=0)
    """Days a newcomer has to claim money waiting in escrow before it goes back."""
    pin_max_attempts_per_intent: int = Field(default=3, gt=0)
    """Wrong codes that cancel one payment."""
    pin_max_failures_per_account: int = Field(default=5, gt=0, le=5)
    """Wrong codes in a row that lock the account (at most 5)."""
    lockout_minutes: int = Field(default=30, gt=0)
    """How long a locked account stays locked, in minutes."""

    timezone: str = "Europe/Paris"
    """IANA time zone of the times users read (pages, DMs); stored times stay UTC."""

    bot_handle: str = "Smoney"
    """The bot account's @handle (display; identity is its numeric id)."""
    public_base_url: str = "http://127.0.0.1:8000"
    """Public URL of the web process; links in DMs point there (https:// in production)."""
    web_host: str = "127.0.0.1"
    """Address the web process (and the worker's metrics server) listens on."""
    web_port: int = Field(default=8000, gt=0, lt=65536)
    """Port of the web process."""
    web_workers: int = Field(default=1, ge=0, le=64)
    """Processes serving the web pages; 0: one per core on PostgreSQL, 1 on SQLite."""

    # X API: empty base URL means "start the embedded emulator".
    x_api_base_url: str = ""
    """X API origin, https://api.twitter.com in production; empty: the local emulator."""
    emulator_port: int = Field(default=8765, ge=0, lt=65536)
    """Port of the sandbox's X emulator (0: any free port)."""
    x_consumer_key: SecretStr = SecretStr("sandbox-consumer-key")
    """The X app's API key (OAuth 1.0a consumer key)."""
    x_consumer_secret: SecretStr = SecretStr("sandbox-consumer-secret")
    """The X app's API key secret: signs OAuth 1.0a calls and webhook deliveries."""
    x_access_token: SecretStr = SecretStr("")
    """The bot account's access token (USERID-...); empty in the sandbox."""
    x_access_token_secret: SecretStr = SecretStr("")
    """The bot account's access token secret."""
    x_client_id: str = "sandbox-client-id"
    """OAuth 2.0 client id of the X app (Sign in with X)."""
    x_client_secret: SecretStr = SecretStr("sandbox-client-secret")
    """OAuth 2.0 client secret of the X app."""
    x_timeout_seconds: float = Field(default=10.0, gt=0)
    """Timeout of every call to X, in seconds."""

    # Keys: data keys are Fernet keys, newest first (older ones still decrypt: rotation).
    data_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=lambda: [SANDBOX_DATA_KEY]
    )
    """Fernet keys sealing data at rest, comma-separated, newest first (older ones decrypt)."""
    pin_pepper: SecretStr = SANDBOX_PIN_PEPPER
    """Secret mixed into every PIN hash, kept out of the database (32 bytes or more in
    production)."""

    # Jobs (seconds).
    poll_mentions_seconds: float = Field(default=15.0, gt=0)
    """Seconds between two polls of the bot's mentions."""
    poll_dms_seconds: float = Field(default=60.0, gt=0)
    """Seconds between two polls of the bot's DMs (X allows 15 reads per 15 minutes)."""
    poll_chats_seconds: float = Field(default=120.0, gt=0)
    """Seconds between two polls of the bot's X Chat conversations (the safety net beside push)."""
    xchat_enabled: bool = True
    """Receive and answer X Chat (encrypted DMs); needs the bot's keys (tweetpay x chat-keys init,
    made by itself in the sandbox)."""
    outbox_seconds: float = Field(default=2.0, gt=0)
    """Seconds between two passes of the outbox sender (and of pending inbox rows)."""
    expiry_seconds: float = Field(default=30.0, gt=0)
    """Seconds between two passes of the expiry and escrow jobs."""

    # X Activity API push (bot/activity, docs/x-activity-api.md).
    x_push: bool = Field(
        default=False,
        description="Receive mentions and DMs by X Activity API webhook; polling then runs"
        " at the slower safety-net periods below.")
    x_webhook_url: str = Field(
        default="",
        description="Public URL X posts events to; empty: <public_base_url>/webhooks/xaa.")
    x_push_subscribe_at_start: bool = Field(
        default=False,
        description="The worker runs `tweetpay x subscribe` itself at start (the sandbox).")
    polling: bool = Field(
        default=True, description="Poll mentions and DMs at all (off only with push on).")
    poll_mentions_push_seconds: float = Field(
        default=300.0, gt=0, description="Mentions poll period while push is on.")
    poll_dms_push_seconds: float = Field(
        default=900.0, gt=0, description="DM poll period while push is on.")
    x_push_check_seconds: float = Field(
        default=30.0, gt=0,
        description="How often the worker checks the webhook answers (a CRC of our own);"
        " after an outage it asks X to replay the missed window.")

    # Messaging policy (docs/design.md: DMs are the scarcest resource).
    dm_receipt_to_sender: bool = False
    """Also DM the payer a receipt (costs one more DM per payment)."""
    public_link_fallback: bool = True
    """Payer's DMs closed: post the confirmation link in a public reply in their thread."""
    outbox_max_attempts: int = Field(default=8, gt=0)
    """Failed sends after which a message is given up (marked failed)."""
    x_dms_per_15_minutes: int = Field(default=15, gt=0)
    """DMs the bot account may send per 15 minutes (X's per-user limit; the outbox paces
    itself on it, counted from its own rows)."""
    x_posts_per_15_minutes: int = Field(default=100, gt=0)
    """Posts (replies) the bot account may send per 15 minutes (X's per-user limit)."""
    dm_commands_per_hour: int = Field(default=10, ge=0)
    """DMs one person's own commands may cost per hour (links, DM replies); beyond it one
    notice, then nothing until the hour has passed (0: no limit). X allows the bot 15 DMs per
    15 minutes in all."""

    # Metrics (bot/metrics.py, docs/operations.md).
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="If set, /metrics asks for `Authorization: Bearer <token>`; empty: open.",
    )
    worker_metrics_port: int = Field(
        default=9108, ge=0, lt=65536,
        description="Port of the worker's own /metrics server, on TWEETPAY_WEB_HOST (0: off).",
    )
    # The tweetpay app (device sessions, Web Push; `tweetpay keys vapid` makes a key pair).
    device_session_days: int = Field(default=30, gt=0, le=90)
    """How long a signed-in device (the app, the account page) stays signed in, in days."""
    app_fallback_minutes: int = Field(default=3, ge=1, le=9)
    """Minutes after which an app user's unseen payment gets its link by DM, once."""
    vapid_private_key: SecretStr = SANDBOX_VAPID_KEY
    """Web Push (VAPID) private key, urlsafe base64 (`tweetpay keys vapid` makes one)."""
    vapid_subject: str = "mailto:ops@tweetpay.invalid"
    """Contact the push services may use about our pushes (a mailto: or https: URL)."""
    push_per_minute: int = Field(default=600, gt=0)
    """The push channel's own budget, in pushes per minute (no X budget is spent)."""
    push_ttl_seconds: int = Field(default=600, gt=0)
    """How long a push service keeps an undelivered push, in seconds."""

    # Worker liveness (bot/heartbeat.py).
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    """Seconds between two heartbeats of a worker; three missed ones report it dead."""

    # Operator page /ops (bot/web/ops.py, docs/operations.md).
    ops_token: SecretStr = SecretStr("")
    """Password of the operator page /ops (HTTP Basic, user `ops`); empty: the page is off."""

    # Money out: SEPA withdrawals (bot/services/withdraw.py).
    payout_max: MoneySetting = 100_000
    """One withdrawal, at most."""
    payout_limit_24h: MoneySetting = 200_000
    """Withdrawn in any 24 hours, at most."""
    payout_cooling_off_hours: float = Field(default=24.0, ge=0)
    """A new or changed IBAN receives its first transfer only after this many hours."""
    payout_webhook_secret: SecretStr = _sandbox_key("payout-webhook")
    """Signs the payout provider's status webhooks (/webhooks/payouts)."""
    payouts_seconds: float = Field(default=10.0, gt=0)
    """Seconds between two passes of the payout job (submit due, ask about unresolved)."""
    payout_recovery_grace_seconds: float = Field(default=30.0, ge=0)
    """A submission younger than this may still be on its way: recovery leaves it alone."""
    reconcile_hour_utc: int = Field(default=3, ge=0, lt=24)
    """Hour (UTC) of the daily reconciliation with the providers."""
    wind_down_dms_per_hour: int = Field(default=20, gt=0)
    """Wind-down: withdrawal reminders sent by DM per hour, at most (X's budget)."""

    log_level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""
    log_format: Literal["auto", "json", "console"] = "auto"
    """json, console, or auto (json in production or off a terminal)."""

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

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"not an IANA time zone such as Europe/Paris ({exc})") from exc
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
    def activity_webhook_url(self) -> str:
        return self.x_webhook_url or self.public_base_url.rstrip("/") + "/webhooks/xaa"

    @property
    def uses_emulator(self) -> bool:
        return not self.x_api_base_url

    def check_production(self) -> None:
        problems = production_problems(self)
        if problems:
            raise SettingsError("refused in production: " + "; ".join(problems))


# -- production refusals (docs/security.md) ----------------------------------------------------

MIN_PEPPER_BYTES = 32
MIN_OPS_TOKEN_CHARS = 32


def _sandbox_default(name: str) -> str:
    default = Settings.model_fields[name].default
    return default.get_secret_value() if isinstance(default, SecretStr) else str(default)


def production_problems(settings: Settings) -> list[str]:
    """Every reason production must not start with these settings, each naming its variable."""
    if settings.env != "production":
        return []
    problems: list[str] = []

    def refuse(field: str, why: str) -> None:
        problems.append(f"{ENV_PREFIX}{field.upper()}: {why}")

    sandbox_key = SANDBOX_DATA_KEY.get_secret_value()
    if any(key.get_secret_value() == sandbox_key for key in settings.data_keys):
        refuse("data_keys", "holds the sandbox key (anyone can read it in the source)")
    pepper = settings.pin_pepper.get_secret_value()
    if pepper == SANDBOX_PIN_PEPPER.get_secret_value():
        refuse("pin_pepper", "the sandbox pepper is public")
    elif len(pepper.encode()) < MIN_PEPPER_BYTES:
        refuse("pin_pepper", f"empty or shorter than {MIN_PEPPER_BYTES} bytes")
    if settings.uses_emulator:
        refuse("x_api_base_url", "empty means the emulator; production must talk to X")
    elif not settings.x_api_base_url.lower().startswith("https://"):
        refuse("x_api_base_url", "must be an https:// URL")
    if not settings.public_base_url.lower().startswith("https://"):
        refuse("public_base_url", "must be an https:// URL (links and cookies need TLS)")
    for field in ("x_consumer_secret", "x_client_id", "x_client_secret"):
        value = getattr(settings, field)
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if text == _sandbox_default(field):
            why = "the sandbox value"
            if field == "x_consumer_secret":
                why += " (it signs webhook deliveries: anyone could forge one)"
            refuse(field, why)
    if settings.payout_webhook_secret.get_secret_value() == _sandbox_default(
            "payout_webhook_secret"):
        refuse("payout_webhook_secret", "the sandbox value (anyone could forge a payout status)")
    if settings.vapid_private_key.get_secret_value() == SANDBOX_VAPID_KEY.get_secret_value():
        refuse("vapid_private_key", "the sandbox key is public (`tweetpay keys vapid` makes one)")
    ops = settings.ops_token.get_secret_value()
    if ops and len(ops) < MIN_OPS_TOKEN_CHARS:
        refuse("ops_token", f"shorter than {MIN_OPS_TOKEN_CHARS} characters")
    return problems


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
