"""The WebAuthn relying party: passkey registration and assertion checks, over py_webauthn.

The relying party id is the host of ``TWEETPAY_PUBLIC_BASE_URL`` and the only accepted origin
is that URL's scheme, host and port: an assertion made on any other page (a phishing copy of
ours, another port) names another origin in its signed client data and is refused. WebAuthn
refuses an IP address as an RP id, so passkeys are offered only when the base URL names a host
(``localhost`` in the sandbox: ``TWEETPAY_PUBLIC_BASE_URL=http://localhost:8000``).

Every ceremony requires user verification (the device's biometric or PIN: with the device
itself, two factors). An assertion must also:

- answer one of the challenges the caller expects (an intent's derived challenge,
  ``handlers.binding``, or a stored one-time challenge);
- come from a credential of this user, whose ``userHandle`` (when the authenticator sends it)
  is the one registered;
- carry a signature counter above the stored one (py_webauthn refuses a counter that does not
  grow, unless the authenticator never counts: both 0), a sign of a cloned authenticator.

Only the credential id and its public key are stored (``storage.passkeys``). Nothing here
logs a challenge or an assertion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

MAX_ASSERTION_CHARS = 6000  # a real assertion is well under 2 KB; longer is not one
TIMEOUT_MS = 120_000


class PasskeyRefused(Exception):
    """The credential or assertion is not acceptable (never says more to the user)."""


@dataclass(frozen=True, slots=True)
class NewCredential:
    credential_id: str  # base64url
    public_key: str  # COSE, base64url
    sign_count: int


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """What a check needs of a stored passkey row."""

    id: int
    user_id: int
    public_key: str
    sign_count: int
    user_handle: str


@dataclass(frozen=True, slots=True)
class Assertion:
    """A parsed assertion: what to look up before verifying it."""

    credential_id: str
    challenge: bytes
    user_handle: str | None
    parsed: AuthenticationCredential


def passkeys_possible(public_base_url: str) -> bool:
    """WebAuthn needs a host name (never an IP address) on a secure context (https, or
    http://localhost)."""
    parts = urlsplit(public_base_url)
    host = parts.hostname or ""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return False
    return parts.scheme == "https" or host == "localhost" or host.endswith(".localhost")


def parse_assertion(text: str) -> Assertion:
    """Read an assertion sent by the page (``PublicKeyCredential`` as JSON); refuse junk."""
    if not text or len(text) > MAX_ASSERTION_CHARS:
        raise PasskeyRefused("no assertion")
    try:
        parsed = parse_authentication_credential_json(text)
        client = json.loads(parsed.response.client_data_json)
        challenge = base64url_to_bytes(str(client["challenge"]))
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRefused("malformed assertion") from exc
    handle = parsed.response.user_handle
    return Assertion(
        credential_id=bytes_to_base64url(parsed.raw_id),
        challenge=challenge,
        user_handle=bytes_to_base64url(handle) if handle else None,
        parsed=parsed,
    )


class AssertionVerifier(Protocol):
    """Checks an assertion's signature against a stored credential; returns the new counter.
    ``RelyingParty`` is the real one; the benchmark's ceiling uses one that checks nothing."""

    def verify(self, assertion: Assertion, expected_challenge: bytes,
               stored: StoredCredential) -> int: ...


class RelyingParty:
    """Registration options and checks, assertion options and checks, for one origin."""

    def __init__(self, public_base_url: str, name: str) -> None:
        parts = urlsplit(public_base_url)
        self.rp_id = parts.hostname or ""
        self.origin = f"{parts.scheme}://{parts.netloc}".lower()
        self.name = name
        self.enabled = passkeys_possible(public_base_url)

    # -- registration --------------------------------------------------------------------------

    def registration_options(self, *, challenge: bytes, user_handle: str, user_name: str,
                             existing: list[str]) -> dict[str, Any]:
        options = generate_registration_options(
            rp_id=self.rp_id, rp_name=self.name, user_id=base64url_to_bytes(user_handle),
            user_name=user_name, user_display_name=user_name, challenge=challenge,
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
            ],
        )
        return dict(json.loads(options_to_json(options)))

    def verify_registration(self, credential_json: str, challenge: bytes) -> NewCredential:
        if not credential_json or len(credential_json) > 4 * MAX_ASSERTION_CHARS:
            raise PasskeyRefused("no credential")
        try:
            verified = verify_registration_response(
                credential=credential_json, expected_challenge=challenge,
                expected_rp_id=self.rp_id, expected_origin=self.origin,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyRefused("registration refused") from exc
        return NewCredential(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
        )

    # -- authentication ------------------------------------------------------------------------

    def assertion_options(self, challenge: bytes, credential_ids: list[str]) -> dict[str, Any]:
        options = generate_authentication_options(
            rp_id=self.rp_id, challenge=challenge, timeout=TIMEOUT_MS,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in credential_ids
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return dict(json.loads(options_to_json(options)))

    def verify(self, assertion: Assertion, expected_challenge: bytes,
               stored: StoredCredential) -> int:
        if assertion.user_handle is not None and assertion.user_handle != stored.user_handle:
            raise PasskeyRefused("credential of another user")
        try:
            verified = verify_authentication_response(
                credential=assertion.parsed, expected_challenge=expected_challenge,
                expected_rp_id=self.rp_id, expected_origin=self.origin,
                credential_public_key=base64url_to_bytes(stored.public_key),
                credential_current_sign_count=stored.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyRefused("assertion refused") from exc
        return int(verified.new_sign_count)


class NoVerifier:
    """Accepts any well-formed assertion: only for ``benchmarks.confirm``'s ceiling (the same
    POST, the same transaction, the counter written back unchanged, without the signature
    check)."""

    def verify(self, assertion: Assertion, expected_challenge: bytes,
               stored: StoredCredential) -> int:
        return stored.sign_count
