"""Settings: read from TWEETPAY_* variables; every error names the variable at fault."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from config import SettingsError, load_settings
from handlers.money import Money

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
    assert settings.cap_person == Money(25_000) and settings.cap_pro == Money(50_000)
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


@pytest.mark.parametrize(("value", "cents"), [("250", 25_000), ("199,99", 19_999)])
def test_caps_are_euros(monkeypatch: pytest.MonkeyPatch, value: str, cents: int) -> None:
    monkeypatch.setenv("TWEETPAY_CAP_PERSON", value)
    assert load_settings().cap_person == Money(cents)


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
    monkeypatch.setenv("TWEETPAY_DATA_KEYS", Fernet.generate_key().decode())
    with pytest.raises(SettingsError, match="TWEETPAY_PIN_PEPPER"):
        load_settings()
    monkeypatch.setenv("TWEETPAY_PIN_PEPPER", "a-real-pepper-from-the-vault")
    with pytest.raises(SettingsError, match="TWEETPAY_X_API_BASE_URL"):
        load_settings()
    monkeypatch.setenv("TWEETPAY_X_API_BASE_URL", "https://api.x.com")
    assert load_settings().env == "production"


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWEETPAY_PIN_PEPPER", "very-secret-pepper")
    settings = load_settings()
    assert "very-secret-pepper" not in repr(settings)
    assert "very-secret-pepper" not in str(settings)
    assert settings.pin_pepper.get_secret_value() == "very-secret-pepper"
