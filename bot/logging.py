"""structlog, configured once: JSON in production or off a terminal, readable on a terminal.

A redaction processor runs before rendering, so no secret reaches a log line: keys that name
secrets are masked whatever their value, and any string that looks like a confirmation or
sign-up link, a bearer token or an OAuth token has the sensitive part replaced.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from bot.links import ONE_TIME_PATHS

REDACTED = "[redacted]"
_SECRET_KEYS = re.compile(
    r"pin|pepper|secret|token|password|passwd|authorization|cookie|key|url|link|card|iban|code",
    re.IGNORECASE,
)
# Keys matched above that are known to be harmless (ids and counters, not credentials).
_SAFE_KEYS = frozenset({"token_id", "intent_id", "key_id", "event_key", "idempotency_key"})
_SECRET_PATTERNS = [
    # One-time links: every path of bot.links, whatever is added there later.
    re.compile(r"(/(?:" + "|".join(map(re.escape, ONE_TIME_PATHS)) + r")/)[A-Za-z0-9_\-]{16,}"),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE),
    re.compile(r"(oauth_(?:token|signature|consumer_key)=\"?)[^\",&\s]+"),
    re.compile(r"((?:access_token|refresh_token|code|client_secret)=)[^&\s\"]+"),
]


def redact_text(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key not in _SAFE_KEYS and _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-looking keys and values in every event."""
    for key, value in list(event_dict.items()):
        if key == "event" and isinstance(value, str):
            event_dict[key] = redact_text(value)
        elif key != "event":
            event_dict[key] = _redact_value(key, value)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "auto", production: bool = False) -> None:
    """Configure structlog and the stdlib root logger once, for the whole process.

    Library records (uvicorn, alembic, APScheduler...) go through the same processors, the
    redaction included: a request path with a one-time token is masked there too.
    """
    use_json = fmt == "json" or (fmt == "auto" and (production or not sys.stderr.isatty()))
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name,
                           structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    # Libraries log request URLs, which may carry tokens: keep them quiet (and redacted).
    for noisy in ("urllib3", "requests_oauthlib", "oauthlib", "tweepy", "httpx", "apscheduler",
                  "alembic"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
