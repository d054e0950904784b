"""Passkeys, step-up and 3-D Secure: what the pages say, French and English side by side."""

from __future__ import annotations

from handlers.money import Lang

SECURITY: dict[str, dict[Lang, str]] = {
    # -- the link page -----------------------------------------------------------------------
    "passkey_confirm": {"fr": "Confirmer avec une clé d’accès", "en": "Confirm with a passkey"},
    "passkey_or_pin": {
        "fr": "ou saisissez votre code secret ci-dessous",
        "en": "or enter your secret code below",
    },
    "passkey_failed": {
        "fr": "La clé d’accès n’a pas répondu. Réessayez, ou utilisez votre code secret.",
        "en": "The passkey did not answer. Try again, or use your secret code.",
    },
    "passkey_wrong": {
        "fr": "Clé d’accès refusée. Encore {left} essais, avec une clé ou votre code.",
        "en": "Passkey refused. {left} attempts left, with a passkey or your code.",
    },
    "passkey_wrong_one": {
        "fr": "Clé d’accès refusée. Encore un essai, avec une clé ou votre code.",
        "en": "Passkey refused. One attempt left, with a passkey or your code.",
    },
    # -- the account page: passkeys ----------------------------------------------------------
    "passkeys": {"fr": "Clés d’accès", "en": "Passkeys"},
    "passkeys_explain": {
        "fr": "Une clé d’accès confirme vos paiements avec votre téléphone ou votre "
        "ordinateur (empreinte, visage ou code de l’appareil), sans taper votre code secret.",
        "en": "A passkey confirms your payments with your phone or computer (fingerprint, "
        "face or device PIN), without typing your secret code.",
    },
    "passkeys_none": {"fr": "Aucune clé d’accès.", "en": "No passkey yet."},
    "passkeys_unavailable": {
        "fr": "Les clés d’accès demandent une adresse https (ou localhost) et JavaScript.",
        "en": "Passkeys need an https address (or localhost) and JavaScript.",
    },
    "passkey_added_on": {"fr": "ajoutée le {time}", "en": "added {time}"},
    "passkey_used_on": {"fr": "dernière utilisation : {time}", "en": "last used: {time}"},
    "passkey_never": {"fr": "jamais utilisée", "en": "never used"},
    "passkey_name": {"fr": "Nom de la clé", "en": "Name of the passkey"},
    "passkey_name_hint": {
        "fr": "Par exemple « Téléphone ». Votre code secret est demandé d’abord.",
        "en": "For example \u201cPhone\u201d. Your secret code is asked first.",
    },
    "passkey_add_submit": {"fr": "Créer la clé d’accès", "en": "Create the passkey"},
    "passkey_remove": {"fr": "Retirer", "en": "Remove"},
    "passkey_remove_which": {"fr": "Clé à retirer", "en": "Passkey to remove"},
    "passkey_remove_submit": {"fr": "Retirer cette clé", "en": "Remove this passkey"},
    "done_passkey_added": {
        "fr": "Clé d’accès ajoutée : elle peut confirmer vos paiements.",
        "en": "Passkey added: it can confirm your payments.",
    },
    "done_passkey_removed": {
        "fr": "Clé d’accès retirée.",
        "en": "Passkey removed.",
    },
    "passkey_refused_expired": {
        "fr": "Trop tard : recommencez l’ajout de la clé.",
        "en": "Too late: start adding the passkey again.",
    },
    "passkey_refused_invalid": {
        "fr": "Cette clé d’accès n’a pas pu être vérifiée.",
        "en": "This passkey could not be verified.",
    },
    "passkey_refused_too_many": {
        "fr": "Vous avez déjà le nombre maximal de clés d’accès.",
        "en": "You already have the most passkeys allowed.",
    },
    "passkey_refused_duplicate": {
        "fr": "Cette clé d’accès est déjà enregistrée.",
        "en": "This passkey is already saved.",
    },
    "passkey_unknown": {"fr": "Clé d’accès introuvable.", "en": "No such passkey."},
    # -- step-up -----------------------------------------------------------------------------
    "step_up_hint": {
        "fr": "Demandé pour chaque opération sensible, même connecté.",
        "en": "Asked for every sensitive action, even when signed in.",
    },
    "step_up_passkey": {"fr": "Ou avec une clé d’accès", "en": "Or with a passkey"},
    "step_up_needed": {
        "fr": "Saisissez votre code secret (6 chiffres) ou utilisez une clé d’accès.",
        "en": "Enter your secret code (6 digits) or use a passkey.",
    },
    "topup_daily_cap": {
        "fr": "Plafond de recharge de {limit} sur 24 h : vous pouvez encore recharger "
        "{remaining}. Rien n’a été débité.",
        "en": "Top-up limit of {limit} over 24 hours: you can still top up {remaining}. "
        "Nothing was charged.",
    },
    # -- 3-D Secure ----------------------------------------------------------------------------
    "card_reason_authentication_failed": {
        "fr": "votre banque n’a pas pu vous authentifier (3-D Secure).",
        "en": "your bank could not authenticate you (3-D Secure).",
    },
    "card_reason_authentication_timed_out": {
        "fr": "l’authentification auprès de votre banque a expiré (3-D Secure).",
        "en": "the authentication with your bank timed out (3-D Secure).",
    },
    "three_ds_replayed": {
        "fr": "Cette authentification a déjà servi : rien de plus n’a été débité.",
        "en": "This authentication was already used: nothing more was charged.",
    },
    "title_issuer": {"fr": "Votre banque (démonstration)", "en": "Your bank (sandbox)"},
    "issuer_lead": {
        "fr": "Validez ce paiement par carte demandé par @{bot} :",
        "en": "Approve this card payment asked for by @{bot}:",
    },
    "issuer_approve": {"fr": "Valider le paiement", "en": "Approve the payment"},
    "issuer_deny": {"fr": "Refuser", "en": "Refuse"},
    "issuer_hint": {
        "fr": "Page de la banque du bac à sable : en vrai, votre application bancaire.",
        "en": "The sandbox bank's page: in real life, your banking app.",
    },
    "issuer_back": {"fr": "Retour à votre compte", "en": "Back to your account"},
    "issuer_done": {
        "fr": "Réponse de la banque enregistrée. Retournez sur votre compte pour terminer.",
        "en": "The bank's answer is ready. Go back to your account to finish.",
    },
    "issuer_gone": {
        "fr": "Cette demande d’authentification n’existe pas ou a expiré.",
        "en": "This authentication request does not exist or has expired.",
    },
}
