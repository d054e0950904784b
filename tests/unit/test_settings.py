"""Settings: read from TWEETPAY_* variables; every error names the variable at fault."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from bot.push import new_vapid_key
from config import SettingsError, load_settings
from config.settings import SANDBOX_DATA_KEY, SANDBOX_PIN_PEPPER, SANDBOX_VAPID_KEY, _sandbox_key

# Regression: pydantic-settings used to JSON-decode amounts and keys before our validators, so
# TWEETPAY_CAP_PERSON=250 meant 250 *cents* and "199,99" crashed (fixed with NoDecode).


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.startswith("TWEETPAY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env or ./data from the repository


def test_defaults_run_the_sandbox() -> None:
    settings = load_settings()
    assert settings.env == "sandbox"
    assert settings.cap_person == 25_000 and settings.cap_pro == 50_000
    assert settings.confirmation_ttl_seconds == 600
    assert settings.sqlalchemy_url == "sqlite:///data/tweetpay.sqlite3"
    assert settings.uses_emulator


def test_values_are_cast_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETPAY_CONFIRMATION_TTL_SECONDS", "300")
    monkeypatch.setenv("TWEETPAY_DATABASE_URL", "postgresql://u:p@db:5432/tweetpay")
    settings = load_settings()
    assert settings.confirmation_ttl_seconds == 300
    url = make_url(settings.sqlalchemy_url)
    assert (url.get_backend_name(), url.get_driver_name()) == ("postgresql", "psycopg")
    assert (url.host, url.database, url.password) == ("db", "tweetpay", "p")


@pytest.mark.parametrize(("value", "cents"), [("250", 25_000), ("199,99", 19_999),
                                             ("12.5 €", 1_250), ("0,05\u00a0€", 5)])
def test_caps_are_euros(monkeypatch: pytest.MonkeyPatch, value: str, cents: int) -> None:
    monkeypatch.setenv("TWEETPAY_CAP_PERSON", value)
    assert load_settings().cap_person == cents


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("TWEETPAY_DATABASE_URL", "not a url", "not a database URL"),
        ("TWEETPAY_DATABASE_URL", "mysql://u@h/db", "only sqlite"),
        pytest.param("TWEETPAY_CAP_PERSON", "beaucoup", "not an amount"),
        pytest.param("TWEETPAY_CAP_PRO", "12.5.0", "not an amount"),
        ("TWEETPAY_CAP_PRO", '"12.5.0"', "not an amount"),
        ("TWEETPAY_CONFIRMATION_TTL_SECONDS", "0", "greater than 0"),
        ("TWEETPAY_CONFIRMATION_TTL_SECONDS", "3600", "less than or equal to 600"),
        ("TWEETPAY_PIN_MAX_FAILURES_PER_ACCOUNT", "6", "less than or equal to 5"),
        pytest.param("TWEETPAY_DATA_KEYS", "c2hvcnQ=", "32 bytes"),
        ("TWEETPAY_ENV", "staging", "sandbox"),
    ],
)
def test_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert variable in message
    assert words in message


def test_production_refuses_sandbox_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETPAY_ENV", "production")
    with pytest.raises(SettingsError, match="TWEETPAY_DATA_KEYS"):
        load_settings()
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert load_settings().env == "production"


# A production configuration that passes: each refusal test spoils one variable of it.
PRODUCTION = {
    "TWEETPAY_DATA_KEYS": Fernet.generate_key().decode(),
    "TWEETPAY_PIN_PEPPER": "p" * 32,
    "TWEETPAY_X_API_BASE_URL": "https://api.twitter.com",
    "TWEETPAY_PUBLIC_BASE_URL": "https://pay.example.org",
    "TWEETPAY_X_CONSUMER_SECRET": "real-consumer-secret",
    "TWEETPAY_X_CLIENT_ID": "real-client-id",
    "TWEETPAY_X_CLIENT_SECRET": "real-client-secret",
    "TWEETPAY_PAYOUT_WEBHOOK_SECRET": "real-payout-webhook-secret",
    "TWEETPAY_VAPID_PRIVATE_KEY": new_vapid_key()[0],
}
SANDBOX_KEY = SANDBOX_DATA_KEY.get_secret_value()


UNSAFE_VALUES = [
    ("TWEETPAY_PIN_PEPPER", "", "shorter than 32 bytes"),
    ("TWEETPAY_PIN_PEPPER", "p" * 31, "shorter than 32 bytes"),
    ("TWEETPAY_PIN_PEPPER", "é" * 15 + "p", "shorter than 32 bytes"),  # 31 bytes
    ("TWEETPAY_PIN_PEPPER", SANDBOX_PIN_PEPPER.get_secret_value(), "sandbox"),
    ("TWEETPAY_PUBLIC_BASE_URL", "http://pay.example.org", "https://"),
    ("TWEETPAY_X_API_BASE_URL", "http://api.twitter.com", "https://"),
    ("TWEETPAY_X_API_BASE_URL", "", "emulator"),
    ("TWEETPAY_X_CONSUMER_SECRET", "sandbox-consumer-secret", "forge"),
    ("TWEETPAY_X_CLIENT_ID", "sandbox-client-id", "sandbox value"),
    ("TWEETPAY_X_CLIENT_SECRET", "sandbox-client-secret", "sandbox value"),
    ("TWEETPAY_DATA_KEYS", SANDBOX_KEY, "sandbox key"),
    ("TWEETPAY_DATA_KEYS", f"{PRODUCTION['TWEETPAY_DATA_KEYS']},{SANDBOX_KEY}", "sandbox key"),
    ("TWEETPAY_OPS_TOKEN", "short", "32 characters"),
    ("TWEETPAY_VAPID_PRIVATE_KEY", SANDBOX_VAPID_KEY.get_secret_value(), "sandbox key"),
    ("TWEETPAY_PAYOUT_WEBHOOK_SECRET", _sandbox_key("payout-webhook").get_secret_value(),
     "forge a payout status"),
]


# Ids without the values: one is a key made at import, which would give every run (and
# every pytest-xdist worker) other test names, and secrets have no place in test names.
@pytest.mark.parametrize(("variable", "value", "words"), UNSAFE_VALUES,
                         ids=[f"{variable}:{words}" for variable, _, words in UNSAFE_VALUES])
def test_production_refuses_each_unsafe_value_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv("TWEETPAY_ENV", "production")
    for name, good in PRODUCTION.items():
        monkeypatch.setenv(name, good)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert f"{variable}: " in message and words in message
    assert message.count("TWEETPAY_") == 1  # only the spoiled variable is named
    monkeypatch.setenv("TWEETPAY_ENV", "sandbox")
    assert load_settings().env == "sandbox"  # the same values are fine outside production


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETPAY_PIN_PEPPER", "very-secret-pepper")
    settings = load_settings()
    assert "very-secret-pepper" not in repr(settings)
    assert "very-secret-pepper" not in str(settings)
    assert settings.pin_pepper.get_secret_value() == "very-secret-pepper"


def test_timezone_defaults_to_paris_and_must_be_a_real_zone() -> None:
    assert load_settings().timezone == "Europe/Paris"
    assert load_settings(timezone="America/New_York").timezone == "America/New_York"
    with pytest.raises(SettingsError, match="TIMEZONE"):
        load_settings(timezone="Mars/Olympus")


@pytest.mark.parametrize("value", ["-5", "+5", "1,234", "5e2", "1 000", "nan", "", "12 euros"])
def test_an_amount_setting_not_plainly_in_euros_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                           value: str) -> None:
    monkeypatch.setenv("TWEETPAY_CAP_PERSON", value)
    with pytest.raises(SettingsError, match="TWEETPAY_CAP_PERSON"):
        load_settings()
