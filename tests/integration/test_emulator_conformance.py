"""Conformance: the real, unmodified tweepy Client against the running emulator over HTTP.

Only the host changes (``HostRedirect``); every answer is validated against X's OpenAPI
description by the ``client`` fixture when each test ends, errors included.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import tweepy

from bot.gateway import TWEEPY_API_ORIGIN, AccountLink, HostRedirect
from config import load_settings

ALICE, BOB, CAROL = "1790000000000000002", "1790000000000000003", "1790000000000000004"


def _client(emulator, **keys) -> tweepy.Client:
    creds = emulator.credentials
    client = tweepy.Client(
        consumer_key=keys.get("consumer_key", creds.consumer_key),
        consumer_secret=keys.get("consumer_secret", creds.consumer_secret),
        access_token=keys.get("access_token", creds.access_token),
        access_token_secret=keys.get("access_token_secret", creds.access_token_secret),
        bearer_token=keys.get("bearer_token"),
        return_type=requests.Response,
    )
    client.session.mount(TWEEPY_API_ORIGIN, HostRedirect(emulator.base_url, timeout=5))
    return client


@pytest.fixture
def checked(x_schema) -> Iterator:
    """Make clients whose every answer is checked against X's OpenAPI at teardown."""
    seen: list[requests.Response] = []

    def make(emulator, **keys) -> tweepy.Client:
        client = _client(emulator, **keys)
        seen.extend([])  # keep the list alive in the closure
        client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
        return client

    yield make
    assert seen, "no response was checked"
    for response in seen:
        x_schema.check(response)


@pytest.fixture
def client(emulator, checked) -> tweepy.Client:
    return checked(emulator)


# -- users -------------------------------------------------------------------------------------


def test_users_me_is_the_access_token_owner(client, emulator):
    body = client.get_me(user_fields=["created_at"]).json()
    assert body["data"]["id"] == emulator.bot_id
    assert body["data"]["username"] == "Smoney"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["data"]["created_at"])


def test_user_lookup_by_username_and_id(client):
    by_name = client.get_user(username="ALICE", user_auth=True).json()
    assert by_name == {"data": {"id": ALICE, "name": "Alice", "username": "alice"}}
    by_id = client.get_user(id=BOB, user_auth=True, user_fields=["receives_your_dm"]).json()
    assert by_id["data"]["username"] == "bob"
    assert by_id["data"]["receives_your_dm"] is True
    carol = client.get_user(id=CAROL, user_auth=True, user_fields=["receives_your_dm"]).json()
    assert carol["data"]["receives_your_dm"] is False


def test_unknown_users_are_200_with_a_not_found_error_as_on_x(client):
    body = client.get_user(username="nobody_here", user_auth=True).json()
    assert "data" not in body
    assert body["errors"][0]["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert body["errors"][0]["detail"] == "Could not find user with username: [nobody_here]."
    body = client.get_user(id="42", user_auth=True).json()
    assert body["errors"][0]["parameter"] == "id"


def test_invalid_username_is_a_400_problem(client):
    with pytest.raises(tweepy.BadRequest) as caught:
        client.get_user(username="not-a-handle", user_auth=True)
    body = caught.value.response.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"


# -- mentions ----------------------------------------------------------------------------------


def test_mentions_wire_format_with_entities_offsets_in_code_points(client, emulator):
    posted = emulator.control.tweet("alice", "🎉 @Smoney #envoyer 12,99€ @bob merci #resto")
    body = client.get_users_mentions(
        emulator.bot_id,
        user_auth=True,
        expansions=["author_id"],
        tweet_fields=["entities", "conversation_id", "created_at", "author_id"],
        user_fields=["username"],
    ).json()
    tweet = body["data"][0]
    assert tweet["id"] == posted["id"]
    assert tweet["edit_history_tweet_ids"] == [posted["id"]]
    assert tweet["conversation_id"] == posted["id"]
    assert tweet["author_id"] == ALICE
    text = tweet["text"]
    mentions = tweet["entities"]["mentions"]
    assert [(m["start"], m["end"], m["username"]) for m in mentions] == [
        (2, 9, "Smoney"),
        (26, 30, "bob"),
    ]
    assert [text[m["start"] : m["end"]] for m in mentions] == ["@Smoney", "@bob"]
    assert mentions[0]["id"] == emulator.bot_id and mentions[1]["id"] == BOB
    assert [h["tag"] for h in tweet["entities"]["hashtags"]] == ["envoyer", "resto"]
    assert body["includes"]["users"] == [{"id": ALICE, "name": "Alice", "username": "alice"}]
    assert body["meta"] == {
        "result_count": 1,
        "newest_id": posted["id"],
        "oldest_id": posted["id"],
    }


def test_mentions_paginate_newest_first_and_respect_since_id(client, emulator):
    ids = [emulator.control.tweet("bob", f"@Smoney #solde {n}")["id"] for n in range(12)]
    emulator.control.tweet("bob", "no mention of the bot here")
    seen, token, pages = [], None, 0
    while True:
        body = client.get_users_mentions(
            emulator.bot_id, user_auth=True, max_results=5, pagination_token=token
        ).json()
        seen += [t["id"] for t in body["data"]]
        pages += 1
        assert body["meta"]["newest_id"] == body["data"][0]["id"]
        assert body["meta"]["oldest_id"] == body["data"][-1]["id"]
        token = body["meta"].get("next_token")
        if token is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))
    newer = client.get_users_mentions(emulator.bot_id, user_auth=True, since_id=ids[9]).json()
    assert [t["id"] for t in newer["data"]] == [ids[11], ids[10]]
    nothing = client.get_users_mentions(emulator.bot_id, user_auth=True, since_id=ids[11])
    assert nothing.json() == {"meta": {"result_count": 0}}


def test_mentions_carry_reply_retweet_and_quote_references(client, emulator):
    original = emulator.control.tweet("alice", "@Smoney #envoyer 5€ @bob")
    reply = emulator.control.tweet("bob", "@Smoney @alice merci", in_reply_to=original["id"])
    retweet = emulator.control.tweet("carol", retweet_of=original["id"])
    quote = emulator.control.tweet("carol", "@Smoney regardez ça", quote_of=original["id"])
    body = client.get_users_mentions(
        emulator.bot_id,
        user_auth=True,
        expansions=["referenced_tweets.id", "in_reply_to_user_id"],
        tweet_fields=["referenced_tweets", "in_reply_to_user_id", "conversation_id"],
    ).json()
    by_id = {t["id"]: t for t in body["data"]}
    assert by_id[reply["id"]]["in_reply_to_user_id"] == ALICE
    assert by_id[reply["id"]]["conversation_id"] == original["id"]
    assert by_id[reply["id"]]["referenced_tweets"] == [{"type": "replied_to", "id": original["id"]}]
    assert by_id[retweet["id"]]["text"] == "RT @alice: @Smoney #envoyer 5€ @bob"
    assert by_id[retweet["id"]]["referenced_tweets"] == [
        {"type": "retweeted", "id": original["id"]}
    ]
    assert by_id[quote["id"]]["referenced_tweets"] == [{"type": "quoted", "id": original["id"]}]
    assert original["id"] in {t["id"] for t in body["includes"]["tweets"]}


def test_mentions_max_results_out_of_range_is_invalid_request(client, emulator):
    with pytest.raises(tweepy.BadRequest):
        client.get_users_mentions(emulator.bot_id, user_auth=True, max_results=3)


def test_tweepy_parses_the_emulator_into_its_models(emulator):
    client = _client(emulator)
    client.return_type = tweepy.Response
    emulator.control.tweet("alice", "@Smoney #aide")
    response = client.get_users_mentions(
        emulator.bot_id, user_auth=True, tweet_fields=["created_at"], expansions=["author_id"]
    )
    tweet = response.data[0]
    assert isinstance(tweet, tweepy.Tweet) and tweet.created_at.tzinfo is not None
    assert response.includes["users"][0].username == "alice"


# -- posting -----------------------------------------------------------------------------------


def test_create_tweet_reply_and_duplicate_refusal(client, emulator):
    mention = emulator.control.tweet("alice", "@Smoney #aide")
    response = client.create_tweet(text="@alice voici l'aide", in_reply_to_tweet_id=mention["id"])
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["text"] == "@alice voici l'aide" and data["edit_history_tweet_ids"] == [data["id"]]
    posted = emulator.control.bot_posts()["tweets"]
    assert [(t["id"], t["in_reply_to_user_id"], t["conversation_id"]) for t in posted] == [
        (data["id"], ALICE, mention["id"])
    ]
    with pytest.raises(tweepy.Forbidden) as caught:
        client.create_tweet(text="@alice voici l'aide")
    assert caught.value.response.json() == {
        "title": "Forbidden",
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "status": 403,
    }


def test_reply_to_unknown_tweet_is_invalid(client):
    with pytest.raises(tweepy.BadRequest):
        client.create_tweet(text="hello", in_reply_to_tweet_id="123")


# -- direct messages ---------------------------------------------------------------------------


def test_send_dm_and_refusal_when_recipient_does_not_accept(client, emulator):
    response = client.create_direct_message(participant_id=ALICE, text="Votre lien")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["dm_conversation_id"] == f"{emulator.bot_id}-{ALICE}"
    with pytest.raises(tweepy.Forbidden) as caught:
        client.create_direct_message(participant_id=CAROL, text="Votre lien")
    assert caught.value.response.json()["detail"] == "You cannot send messages to this user."
    emulator.control.dm("carol", "#inscription")  # writing first opens the conversation
    assert client.create_direct_message(participant_id=CAROL, text="Bienvenue").status_code == 201
    assert [d["text"] for d in emulator.control.bot_posts()["dms"]] == ["Votre lien", "Bienvenue"]


def test_dm_events_newest_first_paginated_with_fields(client, emulator):
    assert client.get_direct_message_events().json() == {"meta": {"result_count": 0}}
    sent = [emulator.control.dm("alice", f"#solde {n}")["id"] for n in range(3)]
    bob = emulator.control.dm("bob", "#historique")["id"]
    first = client.get_direct_message_events(
        max_results=3,
        event_types=["MessageCreate"],
        dm_event_fields=["created_at", "sender_id", "dm_conversation_id"],
        expansions=["sender_id"],
        user_fields=["username"],
    ).json()
    assert [e["id"] for e in first["data"]] == [bob, sent[2], sent[1]]
    assert first["data"][0]["sender_id"] == BOB
    assert first["data"][0]["dm_conversation_id"] == f"{emulator.bot_id}-{BOB}"
    assert first["data"][0]["event_type"] == "MessageCreate"
    assert {u["username"] for u in first["includes"]["users"]} == {"alice", "bob"}
    second = client.get_direct_message_events(
        max_results=3, pagination_token=first["meta"]["next_token"]
    ).json()
    assert [e["id"] for e in second["data"]] == [sent[0]]
    assert "next_token" not in second["meta"]


# -- authorization and rate limits ---------------------------------------------------------------


def test_unsigned_or_badly_signed_requests_are_401(emulator, checked):
    anonymous = requests.get(f"{emulator.base_url}/2/users/me", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    forged = checked(emulator, consumer_secret="not-the-secret")
    with pytest.raises(tweepy.Unauthorized):
        forged.get_me()


def test_app_only_bearer_reads_users_but_not_user_context_endpoints(emulator, checked):
    app = checked(emulator, bearer_token=emulator.credentials.bearer_token)
    assert app.get_user(username="bob").json()["data"]["id"] == BOB
    with pytest.raises(tweepy.Forbidden) as caught:
        app.create_tweet(text="hello", user_auth=False)
    assert caught.value.response.json()["title"] == "Unsupported Authentication"


def test_rate_limit_headers_and_429(client, emulator):
    first = client.get_me()
    assert first.headers["x-rate-limit-limit"] == "75"
    assert first.headers["x-rate-limit-remaining"] == "74"
    assert int(first.headers["x-rate-limit-reset"]) > 0
    emulator.control.rate_limit("users_me", 2)
    client.get_me()
    client.get_me()
    with pytest.raises(tweepy.TooManyRequests) as caught:
        client.get_me()
    response = caught.value.response
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert caught.value.reset_time == int(response.headers["x-rate-limit-reset"])
    assert response.json()["title"] == "Too Many Requests"
    emulator.control.advance_clock(901)
    assert client.get_me().status_code == 200


def test_default_limits_are_x_published_per_user_limits(client, emulator):
    limits = {
        "mentions": client.get_users_mentions(emulator.bot_id, user_auth=True),
        "dm_events": client.get_direct_message_events(),
        "create_tweet": client.create_tweet(text="un"),
        "send_dm": client.create_direct_message(participant_id=ALICE, text="deux"),
        "user_by_username": client.get_user(username="bob", user_auth=True),
    }
    assert {k: r.headers["x-rate-limit-limit"] for k, r in limits.items()} == {
        "mentions": "300",
        "dm_events": "15",
        "create_tweet": "100",
        "send_dm": "15",
        "user_by_username": "900",
    }


# -- OAuth 2.0 authorization code with PKCE ----------------------------------------------------


def test_account_link_pkce_flow_through_the_authorize_page(emulator):
    redirect_uri = "http://127.0.0.1:8000/link/callback"
    link = AccountLink(load_settings(), redirect_uri=redirect_uri, base_url=emulator.base_url)
    start = link.start()
    assert start.authorize_url.startswith(f"{emulator.base_url}/i/oauth2/authorize?")
    page = requests.get(start.authorize_url, timeout=5)
    assert page.status_code == 200 and "Authorize app" in page.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    assert fields["code_challenge"] == base64.urlsafe_b64encode(
        hashlib.sha256(start.code_verifier.encode()).digest()
    ).decode().rstrip("=")
    approved = requests.post(
        f"{emulator.base_url}/i/oauth2/authorize",
        data={**fields, "username": "alice", "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert approved.status_code == 302
    callback = approved.headers["location"]
    assert callback.startswith(redirect_uri)
    assert parse_qs(urlsplit(callback).query)["state"] == [start.state]
    user = link.finish(callback, start.state, start.code_verifier)
    assert (user.id, user.username) == (int(ALICE), "alice")


def test_token_endpoint_refuses_a_wrong_code_verifier(emulator):
    from handlers.errors import Forbidden

    redirect_uri = "http://127.0.0.1:8000/link/callback"
    link = AccountLink(load_settings(), redirect_uri=redirect_uri, base_url=emulator.base_url)
    start = link.start()
    page = requests.get(start.authorize_url, timeout=5)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.text))
    approved = requests.post(
        f"{emulator.base_url}/i/oauth2/authorize",
        data={**fields, "username": "bob", "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    with pytest.raises(Forbidden):
        link.finish(approved.headers["location"], start.state, "x" * 64)
