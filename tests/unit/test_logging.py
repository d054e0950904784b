"""Log redaction: no PIN, token, secret or one-time link ever reaches a log line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.logging import REDACTED, configure_logging, get_logger, redact_text

TOKEN = "Zx9_-kQ2mP7rT4vW8yB1nC5dF6gH3jL0"
LINK = f"https://pay.example.org/c/{TOKEN}"
SIGNUP = f"http://127.0.0.1:8000/s/{TOKEN}"


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]):
    """Configure logging lazily, from inside the test, where sys.stderr is capsys's stream."""
    configured = False

    def read() -> str:
        return capsys.readouterr().err

    def logger():
        nonlocal configured
        if not configured:
            configure_logging("DEBUG", "json")
            configured = True
        return get_logger("test")

    read.logger = logger  # type: ignore[attr-defined]
    return read


@pytest.mark.parametrize(
    "fields",
    [
        {"pin": "482913"},
        {"PIN": "482913"},
        {"user_pin_attempt": "482913"},
        {"token": TOKEN},
        {"confirmation_url": LINK},
        {"link": SIGNUP},
        {"x_access_token_secret": TOKEN},
        {"pepper": TOKEN},
        {"headers": {"Authorization": f"Bearer {TOKEN}"}},
        {"note": f"sent {LINK} by DM"},
        {"note": f"fallback reply with {SIGNUP}"},
        {"request": f"GET /c/{TOKEN}?x=1"},
        {"body": f"code={TOKEN}&state=abc"},
        {"auth": f'OAuth oauth_token="{TOKEN}", oauth_signature="{TOKEN}"'},
        {"texts": [f"link {LINK}", "plain"]},
    ],
)
def test_secrets_never_reach_the_output(log_lines, fields: dict) -> None:
    log_lines.logger().info("event", **fields)
    out = log_lines()
    assert out.strip(), "nothing was logged"
    assert TOKEN not in out
    assert "482913" not in out


def test_the_event_message_itself_is_redacted(log_lines) -> None:
    log_lines.logger().warning(f"could not DM {LINK}")
    out = log_lines()
    assert TOKEN not in out
    assert "could not DM" in out


def test_harmless_ids_stay_readable(log_lines) -> None:
    log_lines.logger().info("posted", intent_id=42, idempotency_key="intent:42", amount=1299)
    record = json.loads(log_lines().strip().splitlines()[-1])
    assert record["intent_id"] == 42
    assert record["idempotency_key"] == "intent:42"
    assert record["amount"] == 1299
    assert record["level"] == "info"


def test_secret_keys_are_masked_whatever_their_value(log_lines) -> None:
    log_lines.logger().info("login", password="hunter2", card_number="4111111111111111")
    record = json.loads(log_lines().strip().splitlines()[-1])
    assert record["password"] == REDACTED
    assert record["card_number"] == REDACTED


@pytest.mark.parametrize("text", [LINK, SIGNUP, f"Bearer {TOKEN}", f"access_token={TOKEN}"])
def test_redact_text(text: str) -> None:
    assert TOKEN not in redact_text(text)
    assert REDACTED in redact_text(text)


def test_stdlib_records_are_redacted_too() -> None:
    # uvicorn's access log and other libraries log through the stdlib, request paths included.
    # A fresh interpreter: pytest's own handlers on the root logger would hide the output.
    script = (
        "import logging; from bot.logging import configure_logging;"
        "configure_logging('DEBUG', 'json');"
        "logging.getLogger('uvicorn.access').warning("
        f"'127.0.0.1 - \"GET /c/%s HTTP/1.1\" 200', {TOKEN!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert "HTTP/1.1" in done.stderr
    assert TOKEN not in done.stderr
