"""Validate real HTTP answers against X's own OpenAPI description (docs/x-api/).

``XApiSchema(base_url).check(response)`` finds the operation for the request that produced a
``requests.Response`` and validates status, content type and body against the response schema
of that operation (openapi-core, every ``$ref`` resolved). Problems travel as
``application/problem+json``, which openapi-core does not parse by itself: it is registered as
JSON here. Paths the description does not cover (the OAuth 2.0 token endpoint, the control
API) are skipped and counted.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC_PATH = Path(__file__).resolve().parents[1] / "docs" / "x-api" / "openapi-2.166.json"
NOT_IN_SPEC = ("/2/oauth2/", "/_control/", "/i/oauth2/")


@cache
def _spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


class XApiSchema:
    def __init__(self, base_url: str) -> None:
        spec = copy.deepcopy(_spec())
        spec["servers"] = [{"url": base_url.rstrip("/")}]
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        self.api = OpenAPI.from_dict(spec, config=config)
        self.checked = 0

    def check(self, response: requests.Response) -> None:
        """Raise AssertionError naming the request and the schema errors."""
        url = response.request.url or ""
        if any(part in url for part in NOT_IN_SPEC):
            return
        if response.headers.get("x-emulator-fault") == "malformed":
            return  # broken on purpose by fault injection
        try:
            self.api.validate_response(
                RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response)
            )
        except Exception as exc:
            cause = exc.__cause__
            errors = getattr(cause, "schema_errors", None) or [cause or exc]
            details = "; ".join(str(e).splitlines()[0] for e in errors)
            raise AssertionError(
                f"{response.request.method} {url} -> {response.status_code} does not match "
                f"X's OpenAPI: {exc.__class__.__name__}: {details}\nbody: {response.text[:500]}"
            ) from exc
        self.checked += 1

    def record(self, session: requests.Session) -> list[requests.Response]:
        """Keep every response that passes through ``session`` (to check them all later)."""
        seen: list[requests.Response] = []
        session.hooks["response"].append(lambda response, *args, **kwargs: seen.append(response))
        return seen
