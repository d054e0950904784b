"""Control routes for X Chat: write to the bot as a sandbox user's X app, read what it answered.

``POST /_control/chats {"sender": "alice", "text": "#envoyer 5€ @bob"}``: alice's app makes
her keys on first use, sets up the conversation key with the bot and sends the encrypted text.
``GET /_control/chats/alice``: the conversation as alice's app decrypts it.
``POST /_control/chats/alice/rotate``: alice's app makes new keys (the next message carries a
new conversation key). ``PATCH /_control/users/alice {"xchat": true}`` (control.py) moves her
DMs to X Chat, as X moved its users: from then on ``POST /_control/dms`` from alice is a chat.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.emulator.records import Refusal
from bot.emulator.state import EmulatorState


def _bot(state: EmulatorState) -> str:
    if not state.bot_user_id:
        raise Refusal(409, "Conflict", "No bot account is seeded.")
    return state.bot_user_id


def send_chat(state: EmulatorState, sender_ref: str, text: str,
              recipient_ref: str | None = None) -> dict[str, str]:
    sender = state.require_user(sender_ref)
    recipient = state.require_user(recipient_ref or _bot(state))
    if not text:
        raise ValueError("text is required")
    if not state.xchat.public_keys(recipient.id):
        raise Refusal(409, "Conflict", f"@{recipient.username} has no X Chat keys yet.")
    return state.chat_clients.send(sender.id, recipient.id, text)


async def create_chat(request: Request, state: EmulatorState) -> Response:
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("sender"), str):
        raise ValueError("sender is required")
    sent = send_chat(state, body["sender"], str(body.get("text", "")), body.get("recipient"))
    return JSONResponse(sent, status_code=201)


async def read_chat(request: Request, state: EmulatorState) -> Response:
    user = state.require_user(request.path_params["ref"])
    peer = state.require_user(request.query_params.get("with") or _bot(state))
    return JSONResponse({"messages": state.chat_clients.read(user.id, peer.id)})


async def rotate_keys(request: Request, state: EmulatorState) -> Response:
    user = state.require_user(request.path_params["ref"])
    device = state.chat_clients.enable(user.id)
    return JSONResponse({"public_key_version": device.version})


ROUTES = [
    Route("/_control/chats", create_chat, methods=["POST"]),
    Route("/_control/chats/{ref}", read_chat, methods=["GET"]),
    Route("/_control/chats/{ref}/rotate", rotate_keys, methods=["POST"]),
]
