"""Production hardening of the web app: HSTS only in production, and every route that takes a
one-time token is covered by the log redaction (its prefix is in ``bot.links``)."""

from __future__ import annotations

import logging

import pytest
import structlog
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.links import ONE_TIME_PATHS
from bot.logging import REDACTED, configure_logging, redact_text
from bot.push import new_vapid_key
from bot.web.app import create_app
from config import load_settings
from storage.db import make_session_factory

PRODUCTION = {
    "env": "production", "data_keys": Fernet.generate_key().decode(), "pin_pepper": "p" * 40,
    "x_api_base_url": "https://api.twitter.com", "public_base_url": "https://pay.example.org",
    "x_consumer_secret": "c" * 40, "x_client_id": "real-client", "x_client_secret": "s" * 40,
    "payout_webhook_secret": "w" * 40, "vapid_private_key": new_vapid_key()[0],
}


def test_production_sends_hsts_and_the_sandbox_does_not(sqlite_engine: Engine) -> None:
    sessions = make_session_factory(sqlite_engine)
    with TestClient(create_app(load_settings(**PRODUCTION), sessions)) as web:
        hsts = web.get("/healthz").headers.get("strict-transport-security", "")
        assert "max-age=63072000" in hsts
        assert "max-age" in web.get("/no-such-page").headers["strict-transport-security"]
    with TestClient(create_app(load_settings(), sessions)) as web:
        assert "strict-transport-security" not in web.get("/healthz").headers


def test_every_token_route_is_a_redacted_one_time_path(sqlite_engine: Engine) -> None:
    app = create_app(load_settings(), make_session_factory(sqlite_engine))
    token_routes = {r.path for r in app.routes if isinstance(r, Route) and "{token}" in r.path}
    assert token_routes, "the app has one-time link routes"
    for path in token_routes:
        prefix = path.strip("/").split("/")[0]
        assert prefix in ONE_TIME_PATHS, f"{path}: add its prefix to bot.links.ONE_TIME_PATHS"
    from bot.services.handle_event import LINK_PATHS

    assert set(LINK_PATHS.values()) <= set(ONE_TIME_PATHS), "links the bot sends are listed"
    token = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    for prefix in ONE_TIME_PATHS:
        line = redact_text(f"GET https://pay.example.org/{prefix}/{token}?lang=fr 200")
        assert token not in line and f"/{prefix}/{REDACTED}" in line


@pytest.mark.parametrize("prefix", sorted(ONE_TIME_PATHS))
def test_a_logged_link_of_each_kind_is_masked(prefix: str, capsys: pytest.CaptureFixture[str]
                                              ) -> None:
    configure_logging("INFO", "json")
    token = "zZ9yY8xX7wW6vV5uU4tT3sS2rR1qQ0pP"
    structlog.get_logger("t").info("sent", text=f"open http://h/{prefix}/{token} now")
    # A library record (uvicorn logs request lines this way) goes through the same redaction.
    logging.getLogger("tweetpay.test.library").warning("GET /%s/%s", prefix, token)
    err = capsys.readouterr().err
    assert token not in err and err.count(REDACTED) >= 2
