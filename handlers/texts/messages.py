"""What the bot posts and sends by DM, French and English side by side.

Public texts never carry a URL nor an @mention of anyone (docs/design.md X platform rules: the
thread's own author is reached by the reply itself); links travel by DM as the ``{link}``
placeholder filled at send time.
"""

from __future__ import annotations

from handlers.money import Lang

MESSAGES: dict[str, dict[Lang, str]] = {
    # Public acknowledgements (no link, no mention).
    "ack_check_dm": {
        "fr": "Demande reçue : paiement de {amount}. Le lien de confirmation vous attend en "
        "message privé (valable {ttl} min). Réf. {reference}",
        "en": "Request received: payment of {amount}. Your confirmation link is in your DMs "
        "(valid {ttl} min). Ref. {reference}",
    },
    "ack_donation_check_dm": {
        "fr": "Demande reçue : don de {amount}. Le lien de confirmation vous attend en message "
        "privé (valable {ttl} min). Réf. {reference}",
        "en": "Request received: donation of {amount}. Your confirmation link is in your DMs "
        "(valid {ttl} min). Ref. {reference}",
    },
    "ack_request_sent": {
        "fr": "Demande de {amount} transmise (réf. {reference}). La personne sollicitée reçoit "
        "un lien de paiement en message privé.",
        "en": "Request for {amount} passed on (ref. {reference}). The payer gets a payment link "
        "by DM.",
    },
    "public_link_fallback": {
        "fr": "Vos messages privés sont fermés : voici votre lien de confirmation (inutile sans "
        "votre code secret, valable {ttl} min) : {link}",
        "en": "Your DMs are closed, so here is your confirmation link (useless without your "
        "secret code, valid {ttl} min): {link}",
    },
    "invite_signup_public": {
        "fr": "Bonjour ! Pour payer par tweet, il faut un compte : écrivez-nous en message privé "
        "#inscription et nous vous enverrons votre lien d'inscription.",
        "en": "Hello! Paying by tweet needs an account: send us a DM saying #signup and we will "
        "send you your sign-up link.",
    },
    # Direct messages.
    "confirm_link_dm": {
        "fr": "Confirmez le paiement de {amount} à {payee}{memo} avec votre code secret : {link} "
        "— lien à usage unique, valable {ttl} min. Réf. {reference}",
        "en": "Confirm the payment of {amount} to {payee}{memo} with your secret code: {link} "
        "— one-time link, valid {ttl} min. Ref. {reference}",
    },
    "confirm_donation_dm": {
        "fr": "Confirmez votre don de {amount} à {payee}{memo} avec votre code secret : {link} "
        "— lien à usage unique, valable {ttl} min. Réf. {reference}",
        "en": "Confirm your donation of {amount} to {payee}{memo} with your secret code: {link} "
        "— one-time link, valid {ttl} min. Ref. {reference}",
    },
    "request_link_dm": {
        "fr": "{payee} vous demande {amount}{memo}. Pour payer, confirmez avec votre code "
        "secret : {link} — valable {ttl} min. Réf. {reference}",
        "en": "{payee} asks you for {amount}{memo}. To pay, confirm with your secret code: "
        "{link} — valid {ttl} min. Ref. {reference}",
    },
    "memo_quote": {
        "fr": " (« {memo} »)",
        "en": " (\"{memo}\")",
    },
    "ack_request_dm": {
        "fr": "Demande de {amount} envoyée à {payer} (réf. {reference}).",
        "en": "Request for {amount} sent to {payer} (ref. {reference}).",
    },
    "fair_share_dm": {
        "fr": "Vous avez déjà reçu {limit} messages privés de ma part cette heure-ci : je "
        "traiterai vos prochaines commandes dans une heure. Rien d'autre n'a été fait.",
        "en": "You have had {limit} direct messages from me this hour already: I will handle "
        "your next commands in an hour. Nothing else was done.",
    },
    "signup_needed_dm": {
        "fr": "Vous n'avez pas encore de compte. Écrivez #inscription pour recevoir votre lien "
        "d'inscription.",
        "en": "You don't have an account yet. Send #signup to get your sign-up link.",
    },
    "recipient_no_account": {
        "fr": "Le destinataire n'a pas encore de compte : il peut s'inscrire en nous écrivant "
        "#inscription en message privé. Rien n'a été débité.",
        "en": "The recipient has no account yet: they can sign up by sending us #signup by DM. "
        "Nothing was charged.",
    },
    "payer_no_account": {
        "fr": "La personne sollicitée n'a pas de compte : elle ne peut pas encore payer.",
        "en": "That person has no account, so they cannot pay yet.",
    },
    "donate_needs_pro": {
        "fr": "#don est réservé aux comptes Pro (associations, cagnottes). Pour une personne, "
        "utilisez #envoyer.",
        "en": "#donate is for Pro accounts (charities, crowdfunding pots). To pay a person, use "
        "#send.",
    },
    "over_cap": {
        "fr": "Montant trop élevé : {cap} au maximum par opération vers ce compte.",
        "en": "Amount too high: at most {cap} per payment to this account.",
    },
    "rolling_limit_24h": {
        "fr": "Plafond de {limit} sur 24 h atteint : vous pouvez encore envoyer {remaining} "
        "aujourd'hui. Rien n'a été débité.",
        "en": "24-hour limit of {limit} reached: you can still send {remaining} today. Nothing "
        "was charged.",
    },
    "rolling_limit_30d": {
        "fr": "Plafond de {limit} sur 30 jours atteint : vous pouvez encore envoyer {remaining} "
        "sur 30 jours glissants. Rien n'a été débité.",
        "en": "30-day limit of {limit} reached: you can still send {remaining} over the last 30 "
        "days. Nothing was charged.",
    },
    "account_locked": {
        "fr": "Votre compte est bloqué jusqu'au {until} après trop de codes erronés.",
        "en": "Your account is locked until {until} after too many wrong codes.",
    },
    "account_inactive": {
        "fr": "Ce compte n'est pas actif.",
        "en": "This account is not active.",
    },
    "balance_dm": {
        "fr": "Votre solde : {balance}.",
        "en": "Your balance: {balance}.",
    },
    "history_dm": {
        "fr": "Vos {count} dernières opérations :\n{lines}",
        "en": "Your last {count} transactions:\n{lines}",
    },
    "history_dm_one": {
        "fr": "Votre dernière opération :\n{lines}",
        "en": "Your last transaction:\n{lines}",
    },
    "history_empty_dm": {
        "fr": "Aucune opération pour l'instant.",
        "en": "No transactions yet.",
    },
    "cancelled": {
        "fr": "Annulé : {items}.",
        "en": "Cancelled: {items}.",
    },
    "cancelled_item": {
        "fr": "{amount} pour {other} (réf. {reference})",
        "en": "{amount} for {other} (ref. {reference})",
    },
    "cancelled_request_item": {
        "fr": "demande de {amount} à {other} (réf. {reference})",
        "en": "request for {amount} from {other} (ref. {reference})",
    },
    "nothing_to_cancel": {
        "fr": "Aucune demande en attente à annuler.",
        "en": "No pending request to cancel.",
    },
    "unknown_reference": {
        "fr": "Aucune demande en attente avec cette référence. #annuler seul annule toutes vos "
        "demandes en attente.",
        "en": "No pending request with that reference. #cancel on its own cancels all your "
        "pending requests.",
    },
    # #annuler lost to a confirmation or a claim (perhaps by a race): say what happened.
    "cancel_too_late_confirmed": {
        "fr": "Trop tard pour annuler {reference} : ce paiement est déjà confirmé.",
        "en": "Too late to cancel {reference}: this payment is already confirmed.",
    },
    "cancel_too_late_claimed": {
        "fr": "Trop tard pour annuler {reference} : le destinataire a déjà reçu l'argent.",
        "en": "Too late to cancel {reference}: the recipient has already received the money.",
    },
    "expired_dm": {
        "fr": "Votre demande de {amount} à {payee} (réf. {reference}) a expiré sans "
        "confirmation. Rien n'a été débité.",
        "en": "Your request of {amount} to {payee} (ref. {reference}) expired unconfirmed. "
        "Nothing was charged.",
    },
    "request_expired_dm": {
        "fr": "Votre demande de {amount} à {payer} (réf. {reference}) a expiré sans paiement.",
        "en": "Your request for {amount} from {payer} (ref. {reference}) expired unpaid.",
    },
    "help": {
        "fr": "Commandes : #envoyer 12,50 € puis le @ du destinataire [message] · #don 10 € "
        "(comptes Pro) · #demander 5 € · #solde · #historique · #annuler [réf.] · "
        "#inscription · #compte · #stop. Plafond {cap_person} entre particuliers, {cap_pro} "
        "vers un compte Pro, sans frais.",
        "en": "Commands: #send €12.50 then the recipient's @ [note] · #donate €10 (Pro "
        "accounts) · #request €5 · #balance · #history · #cancel [ref] · #signup · #account "
        "· #stop. Cap {cap_person} between people, {cap_pro} to a Pro account, no fees.",
    },
    "stopped": {
        "fr": "C'est noté : plus aucun message de notre part jusqu'à votre prochain message.",
        "en": "Noted: no more messages from us until you write to us again.",
    },
    "unknown_handle": {
        "fr": "Nous ne trouvons pas ce compte X. Vérifiez l'orthographe. Rien n'a été fait.",
        "en": "We cannot find that X account. Please check the spelling. Nothing was done.",
    },
    "recipient_invite_hint": {
        "fr": "Le destinataire n'a pas encore de compte : une fois confirmé, l'argent l'attendra "
        "{days} jours. Dites-lui d'écrire #inscription en message privé à @{bot} pour le "
        "récupérer ; d'ici là, #annuler {reference} vous le rend.",
        "en": "The recipient has no account yet: once confirmed, the money waits {days} days "
        "for them. Tell them to DM #signup to @{bot} to claim it; until then, #cancel "
        "{reference} gives it back to you.",
    },
    "escrow_invite_dm": {
        "fr": "{sender} vous a envoyé {amount}. Pour le recevoir, écrivez-nous #inscription "
        "ici avant le {deadline}.",
        "en": "{sender} sent you {amount}. To receive it, send us #signup here before "
        "{deadline}.",
    },
    "escrow_claimed_recipient_dm": {
        "fr": "Bienvenue ! {amount} de {sender} sont arrivés sur votre compte.",
        "en": "Welcome! {amount} from {sender} has arrived in your account.",
    },
    "escrow_claimed_sender_dm": {
        "fr": "{recipient} a ouvert son compte : vos {amount} lui sont parvenus.",
        "en": "{recipient} opened an account: your {amount} reached them.",
    },
    "escrow_reminder_dm": {
        "fr": "Rappel : {recipient} n'a pas encore récupéré vos {amount}. Sans inscription "
        "avant le {deadline}, ils vous seront rendus.",
        "en": "Reminder: {recipient} has not claimed your {amount} yet. Without a sign-up "
        "before {deadline}, it comes back to you.",
    },
    "escrow_refunded_dm": {
        "fr": "{recipient} n'a pas récupéré vos {amount} à temps : ils sont de retour sur "
        "votre compte.",
        "en": "{recipient} did not claim your {amount} in time: it is back in your account.",
    },
    "signup_link_dm": {
        "fr": "Votre lien d'inscription (usage unique, valable {ttl} min) : {link} — vous y "
        "choisirez votre code secret.",
        "en": "Your sign-up link (one-time, valid {ttl} min): {link} — you will choose your "
        "secret code there.",
    },
    "already_signed_up": {
        "fr": "Vous avez déjà un compte. Écrivez #compte pour ouvrir votre espace.",
        "en": "You already have an account. Send #account to open your account page.",
    },
    "login_link_dm": {
        "fr": "Votre lien vers votre compte (usage unique, valable {ttl} min) : {link}",
        "en": "Your link to your account page (one-time, valid {ttl} min): {link}",
    },
    # Confirmation notices (handlers.confirmation), by DM only: nothing public after it.
    "received_dm": {
        "fr": "Vous avez reçu {amount} de @{payer}{memo}. Réf. {reference}",
        "en": "You received {amount} from @{payer}{memo}. Ref. {reference}",
    },
    "received_donation_dm": {
        "fr": "Vous avez reçu un don de {amount} de @{payer}{memo}. Réf. {reference}",
        "en": "You received a donation of {amount} from @{payer}{memo}. Ref. {reference}",
    },
    "receipt_dm": {
        "fr": "Paiement confirmé : {amount} à @{payee}{memo}. Réf. {reference}",
        "en": "Payment confirmed: {amount} to @{payee}{memo}. Ref. {reference}",
    },
    "receipt_donation_dm": {
        "fr": "Don confirmé : {amount} à @{payee}{memo}. Merci ! Réf. {reference}",
        "en": "Donation confirmed: {amount} to @{payee}{memo}. Thank you! Ref. {reference}",
    },
    "receipt_escrow_dm": {
        "fr": "Paiement confirmé : {amount} pour @{payee}{memo}. L'argent l'attend jusqu'à son "
        "inscription, {days} jours au plus (jusqu'au {deadline}) ; sinon il vous revient. "
        "Réf. {reference}",
        "en": "Payment confirmed: {amount} for @{payee}{memo}. The money waits until they sign "
        "up, {days} days at most (until {deadline}); otherwise it comes back to you. "
        "Ref. {reference}",
    },
    "request_cancelled_dm": {
        "fr": "Votre demande de {amount} à @{payer} (réf. {reference}) n'a pas été payée : elle "
        "est annulée. Vous pouvez la refaire.",
        "en": "Your request for {amount} from @{payer} (ref. {reference}) was not paid: it is "
        "cancelled. You may send it again.",
    },
    "lockout_dm": {
        "fr": "Alerte sécurité : {failures} codes secrets erronés de suite. Votre compte est "
        "bloqué jusqu'au {until}. Si ce n'était pas vous, ne communiquez jamais votre code "
        "et changez-le.",
        "en": "Security alert: {failures} wrong secret codes in a row. Your account is locked "
        "until {until}. If this was not you, never share your code and change it.",
    },
    # History lines (handlers.history): who the other party of a movement is.
    "history_to": {"fr": "à @{handle}", "en": "to @{handle}"},
    "history_from": {"fr": "de @{handle}", "en": "from @{handle}"},
    "history_held_for": {"fr": "en attente pour @{handle}", "en": "waiting for @{handle}"},
    "history_claimed_from": {"fr": "reçu de @{handle}", "en": "received from @{handle}"},
    "history_returned": {
        "fr": "rendu (non réclamé par @{handle})",
        "en": "returned (not claimed by @{handle})",
    },
    "history_topup": {"fr": "recharge par carte", "en": "card top-up"},
    "history_someone": {"fr": "un compte X", "en": "an X account"},
}

# Sent only by direct message, never posted: a DM may be long (X allows 10 000 characters) and
# carries links and private facts; every other text here may be posted and must fit one post.
DM_ONLY: frozenset[str] = frozenset({
    "confirm_link_dm", "request_link_dm", "ack_request_dm", "signup_needed_dm",
    "rolling_limit_24h", "rolling_limit_30d", "account_locked", "account_inactive",
    "balance_dm", "history_dm", "history_dm_one", "history_empty_dm", "cancelled", "expired_dm",
    "request_expired_dm",
    "recipient_invite_hint", "escrow_invite_dm", "escrow_claimed_recipient_dm",
    "escrow_claimed_sender_dm", "escrow_reminder_dm", "escrow_refunded_dm", "signup_link_dm",
    "login_link_dm", "received_dm", "receipt_dm", "request_cancelled_dm", "lockout_dm",
    "confirm_donation_dm", "received_donation_dm", "receipt_donation_dm", "receipt_escrow_dm",
    "cancelled_item", "cancelled_request_item", "memo_quote", "history_to", "history_from",
    "history_held_for", "history_claimed_from", "history_returned", "history_topup",
    "history_someone",
})
