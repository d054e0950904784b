"""A local X API v2 emulator: the embedded default of the sandbox and the tests' test double.

It speaks X's wire format on a real localhost socket, so the bot's real tweepy client talks to
it with only the host changed (see ``bot.gateway``). Endpoints (validated against X's OpenAPI
description in ``docs/x-api/``):

    GET  /2/users/me, /2/users/by/username/:username, /2/users/:id
    GET  /2/users/:id/mentions      since_id, until_id, max_results (5-100), pagination_token,
                                    expansions, tweet.fields, user.fields
    POST /2/tweets                  text, reply.in_reply_to_tweet_id, quote_tweet_id;
                                    403 on duplicate text from the same account
    GET  /2/dm_events               newest first, max_results (1-100), pagination_token,
                                    event_types, dm_event.fields, expansions=sender_id
    POST /2/dm_conversations/with/:participant_id/messages
                                    403 unless the recipient's DMs are open or they wrote first
    GET  /i/oauth2/authorize        the consent page (authorization code with PKCE)
    POST /2/oauth2/token            authorization_code and refresh_token grants

Authorization is required (OAuth 1.0a HMAC-SHA1 signatures verified over the
``https://api.twitter.com`` URL tweepy signed, or a Bearer token), per-user rate limits default
to X's published ones with ``x-rate-limit-*`` headers and 429s, and every error is an RFC 7807
problem as X sends it.

Control API (no auth, 127.0.0.1 only; users by id or username):

    GET    /_control/credentials     the bot's OAuth 1.0a credentials, user id, bearer, client id
    GET    /_control/users           POST {username, name?, accepts_dms?, description?, id?}
    PATCH  /_control/users/:ref      {accepts_dms?, username?, name?}  (handles can change)
    GET    /_control/tweets          POST {author, text, in_reply_to?, quote_of?, retweet_of?}
    GET    /_control/dms             POST {sender, recipient? (default: the bot), text}
    GET    /_control/bot/posts       {"tweets": [...], "dms": [...]} written by the bot
    GET    /_control/faults          POST {endpoint, kind, count?, delay?}   DELETE: clear all
                                     endpoint: mentions, dm_events, create_tweet, send_dm,
                                     users_me, user_by_username, user_by_id, oauth2_token or *;
                                     kind: 429 | 500 | 503 | slow | malformed | reset
                                     (delay: seconds to wait for slow, until reset for 429)
    POST   /_control/rate_limits     {endpoint, limit, window?}
    POST   /_control/clock           {seconds}: move the emulator's clock forward
    POST   /_control/reset           {seed?: true}: empty world, re-seeded with the sandbox

    curl -X POST localhost:8765/_control/tweets -H 'content-type: application/json' \\
         -d '{"author": "alice", "text": "@Smoney #envoyer 12,99€ @bob merci"}'
    curl -X POST localhost:8765/_control/faults -H 'content-type: application/json' \\
         -d '{"endpoint": "mentions", "kind": "slow", "delay": 30}'
    curl localhost:8765/_control/bot/posts

State lives in memory; ``EmulatorState(state_file)`` writes it through to a JSON file so a
sandbox survives a restart. ``seed_sandbox`` creates @Smoney (the bot), @alice, @bob,
@carol (DMs closed) and @ACF (an NGO, a Pro account).
"""

from bot.emulator.sandbox import BotCredentials, seed_sandbox
from bot.emulator.server import EmulatorServer, serve, usage
from bot.emulator.state import EmulatorState

__all__ = ["BotCredentials", "EmulatorServer", "EmulatorState", "seed_sandbox", "serve", "usage"]
