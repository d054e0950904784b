"""What X would bill for each answered call, recorded in the state's ``Meter``.

The classification is ``bot.x_meter``'s (the bot uses the same rules on its side); what only
the server can know is decided here from the world: a mentions read is *owned* when the
account read is the caller itself, a reply is *summoned* when the post it answers
@mentions the caller or quotes one of the caller's posts.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bot.emulator.oauth import Principal
from bot.emulator.state import EmulatorState
from bot.x_meter import READ_ENDPOINTS, post_operation, read_usage


def _summoned(state: EmulatorState, parent_id: str, caller: str) -> bool:
    parent = state.tweets.get(parent_id)
    if parent is None:
        return False
    if any(m.get("id") == caller for m in parent.entities.get("mentions", [])):
        return True
    return any(ref.get("type") == "quoted" and getattr(state.tweets.get(ref["id"]), "author_id",
                                                       None) == caller
               for ref in parent.referenced_tweets)


def meter_call(state: EmulatorState, name: str, who: Principal, request: Request,
               response: Response) -> None:
    if not 200 <= response.status_code < 300:
        return
    try:
        body: dict[str, Any] = json.loads(bytes(response.body))
    except (ValueError, AttributeError):
        return
    if name in READ_ENDPOINTS:
        owned = request.path_params.get("id") == who.user_id
        for operation, ids, is_request in read_usage(name, body, owned=owned):
            state.meter.record(operation, ids, request=is_request)
    elif name == "create_tweet":
        tweet = state.tweets.get(str(body.get("data", {}).get("id")))
        if tweet is None:
            return
        parent = next((r["id"] for r in tweet.referenced_tweets if r["type"] == "replied_to"),
                      None)
        summoned = parent is not None and _summoned(state, parent, str(who.user_id))
        state.meter.record(post_operation(tweet.text, in_reply_to=parent is not None,
                                          summoned=summoned))
    elif name == "send_dm":
        state.meter.record("dm_create")
