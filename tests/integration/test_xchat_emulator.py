"""X Chat through the emulator over HTTP: the bot's real client (Chat XDK + gateway) and a
sandbox user's X app, with X's server framing in between. Answers checked against X's OpenAPI."""

from __future__ import annotations

import base64
import json

import pytest
from chat_xdk import Chat

from bot.xchat import envelope
from bot.xchat.api import ChatApi
from bot.xchat.bot_chat import BotChat, ChatRefused

ALICE = "alice"


def make_bot_chat(gateway, bot_id: str) -> BotChat:
    api = ChatApi(gateway)
    chat = Chat()
    version = api.register_keys(bot_id, chat.generate_keypairs())
    return BotChat(int(bot_id), bytes(chat.export_keys()), version, api)


@pytest.fixture
def bot_chat(gateway, emulator) -> BotChat:
    return make_bot_chat(gateway, emulator.bot_id)


def inbound(gateway) -> list[dict]:
    api = ChatApi(gateway)
    found = []
    for conversation in api.conversations()["data"]:
        page = api.events(conversation["id"])
        for event in page["data"]:
            found.append({**event, "key_events": page["meta"]["conversation_key_events"]})
    return found


def messages(gateway, bot_id: str) -> list[dict]:
    """Message events from users (not key changes, not the bot's), newest first."""
    return [e for e in inbound(gateway) if e["sender_id"] != bot_id
            and envelope.read(e["encoded_event"]).kind == envelope.MESSAGE_CREATE]


def test_a_chat_in_and_an_encrypted_reply_out(emulator, gateway, bot_chat):
    emulator.control.chat(ALICE, "#envoyer 5€ @bob & <merci> 🎉")
    message = messages(gateway, emulator.bot_id)
    assert len(message) == 1
    opened = bot_chat.open(message[0]["encoded_event"], message[0]["key_events"])
    assert opened.text == "#envoyer 5€ @bob & <merci> 🎉"
    alice = emulator.state.require_user(ALICE)
    assert opened.sender_id == int(alice.id)

    sealed = bot_chat.seal(opened.conversation_id, "Paiement de 5,00 € à @bob : réf. K7Q2")
    bot_chat.send(opened.conversation_id, sealed)
    texts = [(m["sender_id"], m["text"]) for m in emulator.control.chats(ALICE)]
    assert texts == [(alice.id, "#envoyer 5€ @bob & <merci> 🎉"),
                     (emulator.bot_id, "Paiement de 5,00 € à @bob : réf. K7Q2")]


def test_the_server_holds_only_ciphertext(emulator, gateway, bot_chat):
    secret = "#envoyer 7€ @bob très-secret-memo"
    emulator.control.chat(ALICE, secret)
    dumped = json.dumps(emulator.state.xchat.to_dict())
    assert "très-secret-memo" not in dumped and "secret" not in dumped
    for conversation in emulator.state.xchat.to_dict()["conversations"]:
        for event in conversation["events"]:
            assert "secret" not in base64.b64decode(event["encoded_event"]).decode("latin-1")


def test_a_restarted_bot_recovers_the_conversation_key(emulator, gateway, bot_chat):
    emulator.control.chat(ALICE, "#solde")
    event = messages(gateway, emulator.bot_id)[0]
    bot_chat.open(event["encoded_event"], event["key_events"])
    # A new process: same key blob, empty caches; it fetches the key changes itself.
    blob = bytes(bot_chat._chat.export_keys())
    fresh = BotChat(bot_chat.bot_user_id, blob, bot_chat.key_version, ChatApi(gateway))
    conversation = envelope.read(event["encoded_event"]).conversation_id
    fresh.send(conversation, fresh.seal(conversation, "Votre solde : 0,00 €"))
    assert emulator.control.chats(ALICE)[-1]["text"] == "Votre solde : 0,00 €"


def test_tampered_or_foreign_events_are_refused_without_their_content(emulator, gateway,
                                                                        bot_chat):
    emulator.control.chat(ALICE, "#envoyer 5€ @bob")
    event = [e for e in inbound(gateway)
             if envelope.read(e["encoded_event"]).kind == envelope.MESSAGE_CREATE][-1]
    raw = bytearray(base64.b64decode(event["encoded_event"]))
    head = envelope.read(event["encoded_event"])
    # Flip one byte of the ciphertext (inside the detail, after the clear header fields).
    at = raw.find(head.created_at_msec.__str__().encode()) + 40
    raw[at] ^= 0x01
    with pytest.raises(ChatRefused) as refused:
        bot_chat.open(base64.b64encode(bytes(raw)).decode(), event["key_events"])
    assert "5€" not in refused.value.reason
    with pytest.raises(ChatRefused):
        bot_chat.open("not base64!!", [])
    # The same message claimed by another sender (envelope rewritten): signature fails.
    bob = emulator.state.require_user("bob")
    forged = envelope.frame(sequence_id="99", message_id=head.message_id, sender_id=bob.id,
                            conversation_id=envelope.canonical_conversation_id(bob.id,
                                                                               emulator.bot_id),
                            created_at_msec=head.created_at_msec, detail=b"\x00",
                            signature=envelope.signature_struct("AA", "1", "7"))
    with pytest.raises(ChatRefused):
        bot_chat.open(forged, event["key_events"])


def test_a_user_who_rotates_keys_is_followed(emulator, gateway, bot_chat):
    emulator.control.chat(ALICE, "#aide")
    first = messages(gateway, emulator.bot_id)[0]
    bot_chat.open(first["encoded_event"], first["key_events"])
    emulator.control._call("POST", f"chats/{ALICE}/rotate")
    emulator.control.chat(ALICE, "#solde")
    latest = messages(gateway, emulator.bot_id)[0]
    assert bot_chat.open(latest["encoded_event"], latest["key_events"]).text == "#solde"


def test_a_duplicate_message_id_is_refused_by_the_server(emulator, gateway, bot_chat):
    emulator.control.chat(ALICE, "#aide")
    first = messages(gateway, emulator.bot_id)[0]
    opened = bot_chat.open(first["encoded_event"], first["key_events"])
    sealed = bot_chat.seal(opened.conversation_id, "Aide")
    bot_chat.send(opened.conversation_id, sealed)
    from handlers.errors import GatewayError

    with pytest.raises(GatewayError):
        bot_chat.send(opened.conversation_id, sealed)
    assert [m["text"] for m in emulator.control.chats(ALICE)].count("Aide") == 1


def test_a_key_change_or_message_from_someone_outside_the_conversation_is_refused(
        emulator, gateway, bot_chat):
    emulator.control.chat(ALICE, "#aide")
    genuine = messages(gateway, emulator.bot_id)[0]
    alice, bot = emulator.state.require_user(ALICE).id, emulator.bot_id
    # eve (carol here) has real, registered keys, and forges a key change for alice's
    # conversation with the bot, then a message in it claiming to be hers.
    carol = emulator.state.require_user("carol").id
    eve = Chat()
    registration = eve.generate_keypairs()
    version = emulator.state.xchat.register_keys(carol, {
        "public_key": {"public_key": registration.public_key.public_key,
                       "signing_public_key": registration.public_key.signing_public_key,
                       "identity_public_key_signature":
                           registration.public_key.identity_public_key_signature},
        "version": registration.version})["public_key_version"]
    eve.set_identity(carol, version)
    conversation = envelope.canonical_conversation_id(alice, bot)
    bot_key = emulator.state.xchat.public_keys(bot)[-1]
    prepared = eve.prepare_conversation_key_change(
        [{"user_id": carol, "public_key": registration.public_key.public_key,
          "key_version": version},
         {"user_id": bot, "public_key": bot_key["public_key"],
          "key_version": bot_key["public_key_version"]}],
        conversation_id=conversation)
    action = prepared["action_signatures"][0]
    forged_key = envelope.frame(
        sequence_id="900", message_id=action["message_id"], sender_id=carol,
        conversation_id=conversation, created_at_msec=1,
        detail=base64.b64decode(action["encoded_message_event_detail"]),
        signature=envelope.signature_struct(action["signature"], action["public_key_version"],
                                            action["signature_version"]))
    payload = eve.encrypt_message(conversation, "#envoyer 200€ @carol",
                                  conversation_key=prepared["conversation_key"],
                                  conversation_key_version=prepared["conversation_key_version"])
    forged_message = envelope.frame(
        sequence_id="901", message_id=payload.message_id, sender_id=carol,
        conversation_id=conversation, created_at_msec=2,
        detail=envelope.union(envelope.MESSAGE_CREATE,
                              base64.b64decode(payload.encrypted_content)),
        signature=base64.b64decode(payload.encoded_event_signature))
    with pytest.raises(ChatRefused) as refused:
        bot_chat.open(forged_message, [*genuine["key_events"], forged_key])
    assert "member" in refused.value.reason
    # The genuine conversation still works: the forged key was never cached.
    assert bot_chat.open(genuine["encoded_event"], genuine["key_events"]).text == "#aide"


def test_a_message_under_a_key_version_the_bot_never_saw_is_refused(emulator, gateway,
                                                                     bot_chat):
    emulator.control.chat(ALICE, "#solde")
    event = messages(gateway, emulator.bot_id)[0]
    with pytest.raises(ChatRefused):
        bot_chat.open(event["encoded_event"], [])  # no key change: nothing to unwrap
