"""What the bot says about money out and the wind-down, in French and English. Pure: texts in,
``DirectMessage`` values out (the caller writes them to the outbox)."""

from __future__ import annotations

from handlers.money import Lang, Money
from handlers.outcomes import (
    LINK_PLACEHOLDER,
    PRIORITY_ALERT,
    PRIORITY_LINK,
    PRIORITY_NOTICE,
    PRIORITY_RECEIPT,
    DirectMessage,
)

# ISO 20022 return reasons in plain words.
RETURN_REASONS: dict[str, dict[Lang, str]] = {
    "AC01": {"fr": "le numéro de compte (IBAN) est erroné",
             "en": "the account number (IBAN) is wrong"},
    "AC04": {"fr": "ce compte bancaire est clos", "en": "this bank account is closed"},
    "AM04": {"fr": "la banque a refusé l’opération faute de provision",
             "en": "the bank refused it for insufficient funds"},
    "MS03": {"fr": "la banque n’a pas donné de raison", "en": "the bank gave no reason"},
    "refused": {"fr": "le prestataire a refusé le virement",
                "en": "the payment provider refused the transfer"},
}

TEXTS: dict[str, dict[Lang, str]] = {
    "iban_added": {
        "fr": "Un compte bancaire ({masked}) a été enregistré sur votre compte. Si ce n’est "
        "pas vous, changez votre code secret tout de suite : aucun virement ne partira vers "
        "lui avant le {until}.",
        "en": "A bank account ({masked}) was saved on your account. If this was not you, "
        "change your secret code now: no transfer goes to it before {until}.",
    },
    "withdraw_link": {
        "fr": "Retrait de {amount} vers {masked} : confirmez avec votre code secret sur ce "
        "lien (valable {minutes} min) : " + LINK_PLACEHOLDER,
        "en": "Withdrawal of {amount} to {masked}: confirm with your secret code on this link "
        "(valid {minutes} min): " + LINK_PLACEHOLDER,
    },
    "withdraw_no_bank": {
        "fr": "Ajoutez d’abord votre IBAN sur votre page de compte (#compte), puis "
        "recommencez.",
        "en": "Add your IBAN on your account page first (#account), then try again.",
    },
    "withdraw_refused": {
        "fr": "Retrait impossible : {reason}.",
        "en": "Withdrawal refused: {reason}.",
    },
    "withdraw_returned": {
        "fr": "Votre retrait de {amount} vers {masked} nous est revenu : {reason}. "
        "L’argent est de nouveau sur votre compte tweetpay.",
        "en": "Your withdrawal of {amount} to {masked} came back: {reason}. The money is "
        "back in your tweetpay account.",
    },
    "wind_down_refused": {
        "fr": "Le service ferme : plus de nouveaux paiements, demandes ni rechargements. "
        "Vous pouvez retirer votre solde vers votre banque depuis votre page de compte "
        "(#compte) ou avec #retirer.",
        "en": "The service is closing: no new payments, requests or top-ups. You can "
        "withdraw your balance to your bank from your account page (#account) or with "
        "#withdraw.",
    },
    "wind_down_notice": {
        "fr": "Le service ferme. Il vous reste {amount} : retirez-les vers votre banque "
        "depuis votre page de compte (#compte), où vous pouvez aussi télécharger votre "
        "relevé.",
        "en": "The service is closing. You still hold {amount}: withdraw it to your bank from "
        "your account page (#account), where you can also download your statement.",
    },
}

REFUSALS: dict[str, dict[Lang, str]] = {
    "amount_too_small": {"fr": "le minimum est {amount}", "en": "the minimum is {amount}"},
    "amount_too_large": {"fr": "{amount} au plus par retrait",
                         "en": "at most {amount} per withdrawal"},
    "daily_limit": {"fr": "{amount} au plus par 24 heures", "en": "at most {amount} per 24 hours"},
    "insufficient_funds": {"fr": "votre solde est insuffisant",
                           "en": "your balance is too low"},
    "empty_balance": {"fr": "votre solde est à zéro", "en": "your balance is zero"},
    "account_inactive": {"fr": "votre compte n’est pas actif",
                         "en": "your account is not active"},
}


def text(key: str, lang: Lang, **params: str | int) -> str:
    return TEXTS[key][lang].format(**params)


def return_reason(code: str | None, lang: Lang) -> str:
    return RETURN_REASONS.get(code or "MS03", RETURN_REASONS["MS03"])[lang]


def refusal(code: str, lang: Lang, amount: Money | None = None) -> str:
    texts = REFUSALS.get(code, REFUSALS["account_inactive"])
    return texts[lang].format(amount=amount.format(lang) if amount else "")


def iban_added(x_user_id: int, bank_account_id: int, masked: str, until: str,
               lang: Lang) -> DirectMessage:
    return DirectMessage(f"iban-added:{bank_account_id}", x_user_id,
                         text("iban_added", lang, masked=masked, until=until),
                         priority=PRIORITY_ALERT)


def withdraw_link(x_user_id: int, withdrawal_id: int, amount: Money, masked: str, link: str,
                  minutes: int, lang: Lang) -> DirectMessage:
    return DirectMessage(f"withdraw-link:{withdrawal_id}", x_user_id,
                         text("withdraw_link", lang, amount=amount.format(lang), masked=masked,
                              minutes=minutes),
                         priority=PRIORITY_LINK, link=link)


def withdrawal_returned(x_user_id: int, withdrawal_id: int, amount: Money, masked: str,
                        code: str | None, lang: Lang) -> DirectMessage:
    return DirectMessage(f"withdraw-returned:{withdrawal_id}", x_user_id,
                         text("withdraw_returned", lang, amount=amount.format(lang),
                              masked=masked, reason=return_reason(code, lang)),
                         priority=PRIORITY_NOTICE)


def wind_down_notice(x_user_id: int, amount: Money, lang: Lang) -> DirectMessage:
    return DirectMessage(f"wind-down:{x_user_id}", x_user_id,
                         text("wind_down_notice", lang, amount=amount.format(lang)),
                         priority=PRIORITY_RECEIPT)
