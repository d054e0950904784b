"""Look-ups the outbox needs after a crash or a timeout, served as X serves them:

- ``GET /2/dm_conversations/with/:participant_id/dm_events``: the events of the one-to-one
  conversation between the caller and the participant (both directions), newest first,
  paged with ``pagination_token``; X's 15 per 15 minutes per user.
- ``GET /2/users/:id/tweets``: a user's own posts (their replies included), newest first,
  ``since_id``/``until_id``/``max_results`` 5–100 and paging, as the mentions timeline.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.emulator.api import (
    _NUMERIC_ID,
    dm_page,
    endpoint,
    timeline,
)
from bot.emulator.oauth import Principal
from bot.emulator.records import invalid_request
from bot.emulator.state import EmulatorState


async def conversation_events(request: Request, state: EmulatorState, who: Principal) -> Response:
    participant = request.path_params["participant_id"]
    if not _NUMERIC_ID.match(participant) or participant not in state.users:
        raise invalid_request(
            f"The `participant_id` value [{participant}] is not a known user",
            participant_id=[participant],
        )
    me = str(who.user_id)
    return dm_page(request, state, who,
                   lambda e: {e.sender_id, e.recipient_id} == {me, participant})


async def user_tweets(request: Request, state: EmulatorState, who: Principal) -> Response:
    return timeline(request, state, who, state.tweets_by, with_includes=False)


ROUTES = [
    Route(
        "/2/dm_conversations/with/{participant_id}/dm_events",
        endpoint("conversation_events", conversation_events),
        methods=["GET"],
    ),
    Route("/2/users/{id}/tweets", endpoint("user_tweets", user_tweets), methods=["GET"]),
]
