"""The tweetpay app's texts, French and English: what the bot says about the app (public
texts carry no URL and mention nobody; each holds the event's reference, so no two are alike),
the Web Push notices (no link, no secret: they only open the app), and the app's pages.
"""

from __future__ import annotations

from handlers.money import Lang

APP_MESSAGES: dict[str, dict[Lang, str]] = {
    # The one public reply to an app user's payment: no URL, no DM follows.
    "app_ack_public": {
        "fr": "Paiement de {amount} prêt : confirmez dans l'app tweetpay, réf. {reference}",
        "en": "Payment of {amount} ready: confirm it in the tweetpay app, ref. {reference}",
    },
    # The one DM reply to an app user's DM payment (no link: the app has it).
    "app_ack_dm": {
        "fr": "Confirmez {amount} à {payee}{memo} dans l'app tweetpay, réf. {reference}",
        "en": "Confirm {amount} to {payee}{memo} in the tweetpay app, ref. {reference}",
    },
    "app_ack_request": {
        "fr": "Demande de {amount} transmise (réf. {reference}) : elle attend dans l'app "
        "tweetpay de la personne sollicitée.",
        "en": "Request for {amount} passed on (ref. {reference}): it waits in the payer's "
        "tweetpay app.",
    },
    # Appended to replies to people without an app device: how to get it (no URL).
    "get_app_hint": {
        "fr": "Confirmez sans attendre de DM : envoyez-nous #compte en DM pour ouvrir l'app.",
        "en": "Confirm without waiting for a DM: DM us #account to open the app.",
    },
    "get_app_hint_stranger": {
        "fr": "Ensuite, l'app tweetpay reçoit vos paiements.",
        "en": "Then the tweetpay app receives your payments.",
    },
    # Web Push (title, body).
    "push_confirm_title": {"fr": "Paiement à confirmer", "en": "A payment to confirm"},
    "push_confirm_body": {
        "fr": "{amount} à {payee} · réf. {reference}",
        "en": "{amount} to {payee} · ref. {reference}",
    },
    "push_request_title": {"fr": "Demande de paiement", "en": "A request to pay"},
    "push_request_body": {
        "fr": "{payee} vous demande {amount} · réf. {reference}",
        "en": "{payee} asks you for {amount} · ref. {reference}",
    },
    "push_received_title": {"fr": "Paiement reçu", "en": "Payment received"},
    "push_received_body": {
        "fr": "Vous avez reçu {amount} de @{payer}",
        "en": "You received {amount} from @{payer}",
    },
}


APP_PAGES: dict[str, dict[Lang, str]] = {
    "app_title": {"fr": "Vos paiements", "en": "Your payments"},
    "app_description": {
        "fr": "Confirmez et recevez vos paiements tweetpay.",
        "en": "Confirm and receive your tweetpay payments.",
    },
    "app_to_confirm": {"fr": "À confirmer", "en": "To confirm"},
    "app_nothing_to_confirm": {
        "fr": "Rien à confirmer. Un paiement que vous tweetez s’affiche ici aussitôt.",
        "en": "Nothing to confirm. A payment you tweet shows up here at once.",
    },
    "app_requests": {"fr": "Demandes reçues", "en": "Requests to pay"},
    "app_waiting": {"fr": "Vos demandes en attente", "en": "Your requests, waiting"},
    "app_waiting_line": {
        "fr": "{amount} demandés à @{handle}", "en": "{amount} asked of @{handle}",
    },
    "app_held": {"fr": "Argent en attente d’un compte", "en": "Money waiting for an account"},
    "app_held_line": {
        "fr": "{amount} pour @{handle}, réclamable jusqu’au {deadline}",
        "en": "{amount} for @{handle}, claimable until {deadline}",
    },
    "app_minutes_left": {"fr": "encore {minutes} min", "en": "{minutes} min left"},
    "app_cancel": {"fr": "Annuler", "en": "Cancel"},
    "app_decline": {"fr": "Refuser de payer", "en": "Decline to pay"},
    "app_cancel_done": {"fr": "Réf. {reference} annulée.", "en": "Ref. {reference} cancelled."},
    # After a confirmation in the app: the link page's words, less "this page is your receipt"
    # (the app's page is not one; its history keeps the payment).
    "app_done": {
        "fr": "{amount} ont été envoyés à @{payee} (réf. {reference}). Le paiement figure dans "
        "vos derniers mouvements.",
        "en": "{amount} was sent to @{payee} (ref. {reference}). It is in your recent "
        "activity.",
    },
    "app_done_donation": {
        "fr": "Votre don de {amount} à @{payee} est fait, merci ! (réf. {reference})",
        "en": "Your donation of {amount} to @{payee} is done, thank you! (ref. {reference})",
    },
    "app_done_escrow": {
        "fr": "{amount} sont mis de côté pour @{payee}, qui n’a pas encore de compte : l’argent "
        "l’attend jusqu’à son inscription, {days} jours au plus (jusqu’au {deadline}). Sans "
        "inscription d’ici là, il vous revient (réf. {reference}).",
        "en": "{amount} is set aside for @{payee}, who has no account yet: the money waits "
        "until they sign up, {days} days at most (until {deadline}). Without a sign-up by "
        "then, it comes back to you (ref. {reference}).",
    },
    "app_cancel_nothing": {
        "fr": "Rien à annuler pour la réf. {reference}.",
        "en": "Nothing to cancel for ref. {reference}.",
    },
    "app_push_on": {"fr": "Activer les notifications", "en": "Turn notifications on"},
    "app_push_off": {"fr": "Couper les notifications", "en": "Turn notifications off"},
    "app_push_hint": {
        "fr": "Notifications activées : vos paiements arrivent ici, sans message privé.",
        "en": "With notifications on, your payments arrive here instead of by DM.",
    },
    "app_push_unsupported": {
        "fr": "Ce navigateur ne reçoit pas de notifications : l’app se met à jour quand elle "
        "est ouverte.",
        "en": "This browser cannot receive notifications: the app updates while it is open.",
    },
    "app_account_link": {"fr": "Compte, cartes et appareils", "en": "Account, cards, devices"},
    "app_open": {"fr": "Ouvrir l’app", "en": "Open the app"},
    "app_welcome_lead": {
        "fr": "Connectez-vous une fois sur cet appareil : vos paiements tweetés s’y affichent, "
        "à confirmer avec votre code secret, et l’argent reçu aussi.",
        "en": "Sign in once on this device: the payments you tweet show up here, to confirm "
        "with your secret code, and so does the money you receive.",
    },
    "app_welcome_dm": {
        "fr": "Ou envoyez #compte en message privé à @{bot} : un lien de connexion vous "
        "répond.",
        "en": "Or DM #account to @{bot}: a sign-in link comes back.",
    },
    "app_offline_title": {"fr": "Hors ligne", "en": "Offline"},
    "app_offline_body": {
        "fr": "Pas de réseau pour l’instant. Rien n’est perdu : vos paiements vous attendent.",
        "en": "No network right now. Nothing is lost: your payments are waiting for you.",
    },
    "app_retry": {"fr": "Réessayer", "en": "Try again"},
    "devices_title": {"fr": "Appareils connectés", "en": "Signed-in devices"},
    "device_this": {"fr": "cet appareil", "en": "this device"},
    "device_unnamed": {"fr": "Appareil", "en": "Device"},
    "device_push": {"fr": "notifications", "en": "notifications"},
    "device_seen": {
        "fr": "Connecté le {time} · dernière utilisation : {until}",
        "en": "Signed in {time} · last used {until}",
    },
    "device_revoke": {"fr": "Révoquer", "en": "Revoke"},
    "device_revoke_all": {"fr": "Déconnecter tous les appareils", "en": "Sign out every device"},
    "done_device_revoked": {"fr": "Appareil déconnecté.", "en": "Device signed out."},
    # The sandbox playground (bot.web.playground).
    "play_title": {"fr": "Bac à sable", "en": "Sandbox playground"},
    "play_lead": {
        "fr": "Un faux X pour essayer : tweetez ou écrivez à @{bot} au nom de n’importe quel "
        "utilisateur du bac à sable ; ses réponses et messages privés s’affichent ici.",
        "en": "A fake X to try things: tweet or DM @{bot} as any sandbox user; the bot’s "
        "replies and DMs show up here.",
    },
    "play_as": {"fr": "Jouer en tant que", "en": "Play as"},
    "play_tweet_as": {"fr": "Tweeter en tant que @{handle}", "en": "Tweet as @{handle}"},
    "play_tweet": {"fr": "Tweeter", "en": "Tweet"},
    "play_dm_as": {
        "fr": "Message privé de @{handle} à @{bot}", "en": "DM from @{handle} to @{bot}",
    },
    "play_dm": {"fr": "Envoyer le message privé", "en": "Send the DM"},
    "play_chat": {
        "fr": "Envoyer par X Chat (chiffré)", "en": "Send by X Chat (encrypted)",
    },
    "play_chat_badge": {"fr": "X Chat, chiffré", "en": "X Chat, encrypted"},
    "play_open_app": {
        "fr": "Ouvrir l’app tweetpay en tant que @{handle}",
        "en": "Open the tweetpay app as @{handle}",
    },
    "play_no_account": {
        "fr": "@{handle} n’a pas encore de compte : écrivez #inscription en message privé.",
        "en": "@{handle} has no account yet: DM #signup first.",
    },
    "play_dms": {"fr": "Messages privés @{handle} ↔ @{bot}", "en": "DMs @{handle} ↔ @{bot}"},
    "play_timeline": {"fr": "Fil public", "en": "Public timeline"},
    "play_unreachable": {
        "fr": "L’émulateur d’X ne répond pas : lancez le bac à sable avec `make run`.",
        "en": "The X emulator does not answer: start the sandbox with `make run`.",
    },
    "play_none": {"fr": "Aucun message pour l’instant.", "en": "No messages yet."},
}

# Never posted publicly: a DM reply and the push notices (the rest are public replies).
APP_PRIVATE: frozenset[str] = frozenset({
    "app_ack_dm", "push_confirm_title", "push_confirm_body", "push_request_title",
    "push_request_body", "push_received_title", "push_received_body",
})
