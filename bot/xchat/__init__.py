"""X Chat: X's end-to-end encrypted DMs, a second DM transport beside the legacy ``dm_events``.

X cannot read X Chat messages; the bot holds its own key pair and does every cryptographic step
locally with the Chat XDK (``chat_xdk``). X's server only frames what a sender posts into the
event the receiver decrypts (``envelope``). The bot never asks a user for their X Chat PIN or
keys (X forbids it) and never decrypts on anyone's behalf.
"""
