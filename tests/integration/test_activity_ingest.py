"""``/webhooks/xaa`` on SQLite and PostgreSQL: X's CRC, the signature on the raw body, and
signed deliveries whose content is odd (missing fields, wrong types, ``1e400``, ids of 2⁶³ and
more, huge arrays): each is a 400, logged, never a 500, and leaves the database as it was; a
good delivery right after still goes in. The legacy Account Activity path refuses the same
numbers with a 400 too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from bot.web.app import create_app
from bot.webhook import SIGNATURE_HEADER, crc_response, sign
from config import load_settings
from storage.db import make_session_factory
from storage.models import InboxEvent, XUsage

SETTINGS = load_settings()
SECRET = SETTINGS.x_consumer_secret.get_secret_value()
BOT = "1790000000000000001"
ALICE = "1790000000000000002"
URL = "/webhooks/xaa"

MENTION: dict[str, Any] = {"data": {
    "event_uuid": "-6850472171600526495", "filter": {"user_id": BOT},
    "event_type": "post.mention.create", "tag": "tweetpay-mentions",
    "payload": {
        "id": "2080765813578191303", "text": "@Smoney #solde", "author_id": ALICE,
        "created_at": "2026-07-24T21:23:23.000Z", "conversation_id": "2080765813578191303",
        "edit_history_tweet_ids": ["2080765813578191303"],
        "entities": {"mentions": [{"start": 0, "end": 7, "start_str": "0", "end_str": "7",
                                   "username": "Smoney", "id": BOT}]},
        "public_metrics": {"like_count": 0, "like_count_str": "0"}},
    "includes": {"users": [{"id": ALICE, "username": "alice", "name": "Alice"}]}}}
DM: dict[str, Any] = {"data": {
    "event_uuid": "8511582263942905822", "filter": {"user_id": BOT},
    "event_type": "dm.received",
    "payload": {"direct_message_events": [{
        "type": "message_create", "id": "2080765901528535096",
        "created_timestamp": "1784928224372",
        "message_create": {"target": {"recipient_id": BOT}, "sender_id": ALICE,
                           "message_data": {"text": "#solde", "entities": {}}}}],
        "users": {ALICE: {"data": {"id": ALICE, "username": "alice", "name": "Alice"}}}}}}


@pytest.fixture
def web(engine: Engine) -> Iterator[TestClient]:
    app = create_app(SETTINGS, make_session_factory(engine), bot_user_id=int(BOT))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _post(web: TestClient, body: bytes, url: str = URL) -> int:
    response = web.post(url, content=body, headers={SIGNATURE_HEADER: sign(SECRET, body),
                                                    "content-type": "application/json"})
    return response.status_code


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        inbox = conn.scalar(select(func.count()).select_from(InboxEvent)) or 0
        usage = conn.scalar(select(func.count()).select_from(XUsage)) or 0
    return inbox, usage


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    node: Any = body
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return body


_DELETE = object()
MENTIONS = [{"start": 0, "end": 7, "username": "Smoney", "id": BOT}]
ODD = {
    "no payload id": (MENTION, "data.payload.id", _DELETE),
    "no text": (MENTION, "data.payload.text", _DELETE),
    "id as a number": (MENTION, "data.payload.id", 2080765813578191303),
    "author id of 2^63": (MENTION, "data.payload.author_id", str(2**63)),
    "author id of 20 digits": (MENTION, "data.payload.author_id", "1" * 20),
    "text as a list": (MENTION, "data.payload.text", ["@Smoney"]),
    "offset as a string": (MENTION, "data.payload.entities.mentions.0.start", "0"),
    "offset huge": (MENTION, "data.payload.entities.mentions.0.start", 10**30),
    "500 mentions": (MENTION, "data.payload.entities.mentions", MENTIONS * 500),
    "a megabyte of mentions": (MENTION, "data.payload.entities.mentions", MENTIONS * 20_000),
    "bad time": (MENTION, "data.payload.created_at", "yesterday"),
    "no event uuid": (MENTION, "data.event_uuid", _DELETE),
    "filter as a string": (MENTION, "data.filter", "everyone"),
    "data as a list": (MENTION, "data", []),
    "dm without events": (DM, "data.payload.direct_message_events", []),
    "dm sender of 2^64": (DM, "data.payload.direct_message_events.0.message_create.sender_id",
                          str(2**64)),
    "dm text null": (DM, "data.payload.direct_message_events.0.message_create.message_data.text",
                     None),
    "dm 200 events": (DM, "data.payload.direct_message_events",
                      DM["data"]["payload"]["direct_message_events"] * 200),
}


def test_crc_is_the_hmac_of_the_token(web: TestClient) -> None:
    answer = web.get(URL, params={"crc_token": "abc"})
    assert answer.status_code == 200 and answer.json() == crc_response(SECRET, "abc")
    assert web.get(URL).status_code == 400


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha256=AAAA", sign("other", b"{}")])
def test_a_bad_signature_is_refused_before_parsing(web: TestClient, engine: Engine,
                                                   header: str | None) -> None:
    body = json.dumps(MENTION).encode()
    headers = {SIGNATURE_HEADER: header} if header is not None else {}
    assert web.post(URL, content=body, headers=headers).status_code == 401
    assert _rows(engine) == (0, 0)


@pytest.mark.parametrize("case", list(ODD))
def test_odd_signed_content_is_a_400_and_poisons_nothing(web: TestClient, engine: Engine,
                                                         case: str) -> None:
    base, path, value = ODD[case]
    expected = 413 if case.startswith("a megabyte") else 400  # over the body limit: not read
    assert _post(web, json.dumps(_with(base, path, value)).encode()) == expected
    assert _rows(engine) == (0, 0)
    assert _post(web, json.dumps(MENTION).encode()) == 200  # and the next good one goes in
    assert _rows(engine) == (1, 1)


@pytest.mark.parametrize("raw", [
    b'{"data": {"event_type": "post.mention.create", "event_uuid": "1", "payload": 1e400}}',
    b'{"data": {"event_type": "dm.received", "event_uuid": NaN}}',
    b'{"data": {"event_type": "post.mention.create", "event_uuid": -Infinity}}',
    b"[" * 100_000 + b"]" * 100_000,
    b"\xff\xfe not json",
    b"[]",
])
def test_unreadable_json_is_a_400(web: TestClient, engine: Engine, raw: bytes) -> None:
    assert _post(web, raw) == 400
    assert _rows(engine) == (0, 0)


def test_the_same_event_twice_and_under_a_new_uuid_is_one_row(web: TestClient,
                                                             engine: Engine) -> None:
    again = _with(MENTION, "data.event_uuid", "42")
    for body in (MENTION, MENTION, again, DM, DM):
        assert _post(web, json.dumps(body).encode()) == 200
    with engine.connect() as conn:
        rows = conn.execute(select(InboxEvent.source, InboxEvent.event_id)).all()
        billed = dict(conn.execute(select(XUsage.operation, XUsage.billed)).all())
    assert sorted(rows) == [("dm", "2080765901528535096"), ("mention", "2080765813578191303")]
    assert billed == {"event.dm.received": 1, "event.post.mention.create": 1}


def test_an_event_for_another_account_or_the_bots_own_post_is_ignored(
        web: TestClient, engine: Engine) -> None:
    other = _with(MENTION, "data.filter.user_id", ALICE)
    own = _with(MENTION, "data.payload.author_id", BOT)
    unknown = _with(MENTION, "data.event_type", "like.create")
    for body in (other, own, unknown):
        assert _post(web, json.dumps(body).encode()) == 200
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(InboxEvent)) == 0


@pytest.mark.parametrize("raw", [
    b'{"for_user_id": "1790000000000000001", "tweet_create_events": [{"id_str": 1e400}]}',
    b'{"for_user_id": "1790000000000000001", "direct_message_events": [{"type":'
    b' "message_create", "id": "1", "message_create": {"sender_id": "99999999999999999999",'
    b' "target": {"recipient_id": "1790000000000000001"}, "message_data": {"text": "x"}}}]}',
])
def test_the_legacy_webhook_refuses_the_same_numbers(web: TestClient, engine: Engine,
                                                      raw: bytes) -> None:
    assert _post(web, raw, "/webhooks/x") == 400
    assert _rows(engine) == (0, 0)
