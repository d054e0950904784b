"""The confirmation pages' strings, French and English side by side (the sign-up and account
pages' own strings are in ``handlers.texts.account``)."""

from __future__ import annotations

from handlers.money import Lang

PAGES: dict[str, dict[Lang, str]] = {
    "title_confirm": {"fr": "Confirmer le paiement", "en": "Confirm the payment"},
    "title_done": {"fr": "Paiement effectué", "en": "Payment done"},
    "title_failed": {"fr": "Paiement impossible", "en": "Payment failed"},
    "title_cancelled": {"fr": "Paiement annulé", "en": "Payment cancelled"},
    "title_locked": {"fr": "Compte bloqué", "en": "Account locked"},
    "title_dead_link": {"fr": "Lien inutilisable", "en": "Link unusable"},
    "title_error": {"fr": "Requête refusée", "en": "Request refused"},
    "lead_send": {"fr": "Vous allez payer :", "en": "You are about to pay:"},
    "lead_request": {"fr": "@{payee} vous demande :", "en": "@{payee} asks you for:"},
    "lead_donate": {"fr": "Vous allez donner :", "en": "You are about to donate:"},
    "amount": {"fr": "Montant", "en": "Amount"},
    "to": {"fr": "À", "en": "To"},
    "from": {"fr": "De", "en": "From"},
    "memo": {"fr": "Message", "en": "Note"},
    "no_memo": {"fr": "(aucun)", "en": "(none)"},
    "memo_stripped": {
        "fr": "Liens et mentions retirés du message.",
        "en": "Links and @mentions removed from the note.",
    },
    "reference": {"fr": "Référence", "en": "Reference"},
    "date": {"fr": "Date", "en": "Date"},
    "expires": {"fr": "Valable jusqu’à", "en": "Valid until"},
    "expires_value": {
        "fr": "{time} (encore {minutes} min)",
        "en": "{time} ({minutes} min left)",
    },
    "pin_label": {"fr": "Votre code secret", "en": "Your secret code"},
    "pin_hint": {
        "fr": "Les 6 chiffres choisis à l’inscription. Ne les donnez jamais à personne.",
        "en": "The 6 digits you chose when signing up. Never give them to anyone.",
    },
    "submit": {"fr": "Confirmer {amount}", "en": "Confirm {amount}"},
    "no_fees": {
        "fr": "Sans frais. Ce lien ne sert qu’une fois.",
        "en": "No fees. This link works once.",
    },
    "wrong_code": {
        "fr": "Code erroné. Encore {left} essais.",
        "en": "Wrong code. {left} attempts left.",
    },
    "wrong_code_one": {
        "fr": "Code erroné. Encore un essai.",
        "en": "Wrong code. One attempt left.",
    },
    "enter_code": {
        "fr": "Saisissez votre code secret : 6 chiffres.",
        "en": "Please enter your secret code: 6 digits.",
    },
    "done_body": {
        "fr": "{amount} ont été envoyés à @{payee}. Cette page est votre reçu ; "
        "#historique le garde aussi.",
        "en": "{amount} was sent to @{payee}. This page is your receipt; #history keeps it too.",
    },
    "done_donation_body": {
        "fr": "Votre don de {amount} à @{payee} est fait, merci ! Cette page est votre reçu ; "
        "#historique le garde aussi.",
        "en": "Your donation of {amount} to @{payee} is done, thank you! This page is your "
        "receipt; #history keeps it too.",
    },
    "done_escrow_body": {
        "fr": "{amount} sont mis de côté pour @{payee}, qui n’a pas encore de compte : l’argent "
        "l’attend jusqu’à son inscription, {days} jours au plus (jusqu’au {deadline}). Sans "
        "inscription d’ici là, il vous revient. Cette page est votre reçu.",
        "en": "{amount} is set aside for @{payee}, who has no account yet: the money waits "
        "until they sign up, {days} days at most (until {deadline}). Without a sign-up by "
        "then, it comes back to you. This page is your receipt.",
    },
    "cancelled_body": {
        "fr": "Code erroné, trop d’essais : ce paiement est annulé. Rien n’a été débité. "
        "Vous pouvez refaire la demande.",
        "en": "Wrong code, too many attempts: this payment is cancelled. Nothing was charged. "
        "You may make the request again.",
    },
    "locked_body": {
        "fr": "Trop de codes erronés de suite : votre compte est bloqué jusqu’au {until}. "
        "Rien n’a été débité. Nous vous avons prévenu par message privé.",
        "en": "Too many wrong codes in a row: your account is locked until {until}. "
        "Nothing was charged. We have alerted you by DM.",
    },
    "insufficient_funds_body": {
        "fr": "Solde insuffisant pour payer {amount}. Rien n’a été débité ; rechargez votre "
        "compte puis refaites la demande.",
        "en": "Your balance is too low to pay {amount}. Nothing was charged; top up your "
        "account, then make the request again.",
    },
    "rolling_limit_24h_body": {
        "fr": "Plafond de {limit} sur 24 h atteint : {amount} dépasserait ce plafond. Vous "
        "pouvez encore envoyer {remaining} aujourd’hui. Rien n’a été débité.",
        "en": "24-hour limit of {limit} reached: {amount} would go over it. You can still send "
        "{remaining} today. Nothing was charged.",
    },
    "rolling_limit_30d_body": {
        "fr": "Plafond de {limit} sur 30 jours atteint : {amount} dépasserait ce plafond. Vous "
        "pouvez encore envoyer {remaining} sur 30 jours glissants. Rien n’a été débité.",
        "en": "30-day limit of {limit} reached: {amount} would go over it. You can still send "
        "{remaining} over the last 30 days. Nothing was charged.",
    },
    "account_unavailable_body": {
        "fr": "Ce paiement ne peut pas aboutir : un des comptes n’est pas disponible. Rien n’a "
        "été débité.",
        "en": "This payment cannot go through: one of the accounts is unavailable. Nothing "
        "was charged.",
    },
    "unknown_body": {
        "fr": "Ce lien n’existe pas. Vérifiez que vous l’avez copié en entier.",
        "en": "This link does not exist. Check that you copied all of it.",
    },
    "expired_body": {
        "fr": "Ce lien a expiré. Rien n’a été débité ; refaites la demande pour en recevoir "
        "un nouveau.",
        "en": "This link has expired. Nothing was charged; make the request again to get a "
        "new one.",
    },
    "used_body": {
        "fr": "Ce lien a déjà servi : il ne fonctionne qu’une fois.",
        "en": "This link has already been used: it works only once.",
    },
    "used_confirmed_body": {
        "fr": "Ce paiement est déjà confirmé (réf. {reference}). Le lien ne sert qu’une fois.",
        "en": "This payment is already confirmed (ref. {reference}). The link works only once.",
    },
    "status_confirmed": {
        "fr": "Ce paiement est déjà confirmé.",
        "en": "This payment is already confirmed.",
    },
    "status_cancelled": {"fr": "Ce paiement a été annulé.", "en": "This payment was cancelled."},
    "status_expired": {
        "fr": "Ce paiement a expiré sans confirmation. Rien n’a été débité.",
        "en": "This payment expired unconfirmed. Nothing was charged.",
    },
    "status_failed": {
        "fr": "Ce paiement a échoué. Rien n’a été débité.",
        "en": "This payment failed. Nothing was charged.",
    },
    "mismatch_body": {
        "fr": "Ce lien ne correspond plus au paiement demandé : il est refusé. Refaites la "
        "demande.",
        "en": "This link no longer matches the payment requested, so it is refused. Make the "
        "request again.",
    },
    "inactive_body": {
        "fr": "Ce compte ne peut pas confirmer de paiement pour l’instant.",
        "en": "This account cannot confirm payments at the moment.",
    },
    "forbidden_body": {
        "fr": "Cette demande ne vient pas de notre page : elle est refusée.",
        "en": "This request did not come from our page, so it is refused.",
    },
    "bad_form_body": {
        "fr": "Le formulaire est incomplet. Rouvrez le lien reçu en message privé.",
        "en": "The form is incomplete. Open the link from your DM again.",
    },
    "not_found_body": {"fr": "Page introuvable.", "en": "Page not found."},
    "switch_lang": {"fr": "English", "en": "Français"},
}

