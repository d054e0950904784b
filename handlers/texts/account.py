"""The sign-up and account pages' strings, French and English side by side."""

from __future__ import annotations

from handlers.money import Lang

ACCOUNT: dict[str, dict[Lang, str]] = {
    # -- sign-up ------------------------------------------------------------------------
    "title_signup": {"fr": "Ouvrir votre compte", "en": "Open your account"},
    "signup_lead": {
        "fr": "Ce compte sera lié à votre compte X {who}. Choisissez le code secret qui "
        "confirmera chacun de vos paiements.",
        "en": "This account will be linked to your X account {who}. Choose the secret code "
        "that will confirm each of your payments.",
    },
    "pin_new_label": {"fr": "Code secret (6 chiffres)", "en": "Secret code (6 digits)"},
    "pin_again_label": {"fr": "Le même code, encore", "en": "The same code again"},
    "pin_new_hint": {
        "fr": "Pas de 123456, 000000, 121212 ni autre code courant. Ne le donnez à personne.",
        "en": "No 123456, 000000, 121212 or other common code. Never share it.",
    },
    "terms_title": {"fr": "Conditions d’utilisation", "en": "Terms of use"},
    "terms_items": {
        "fr": "Votre compte est lié à votre identifiant X (pas à votre pseudo).|"
        "Chaque paiement se confirme avec votre code secret, sur un lien à usage unique.|"
        "Sans frais. 250 € au plus par paiement entre particuliers, 500 € vers un compte Pro.|"
        "Vous acceptez de recevoir nos messages privés ; #stop les arrête à tout moment.|"
        "L’argent qui vous attendait est versé sur votre compte dès l’ouverture.|"
        "Environnement de démonstration : aucun argent réel ne circule.",
        "en": "Your account is bound to your X user id (not your handle).|"
        "Each payment is confirmed with your secret code, on a one-time link.|"
        "No fees. At most €250 per payment between people, €500 to a Pro account.|"
        "You agree to receive our direct messages; #stop ends them at any time.|"
        "Money that was waiting for you reaches your account as soon as it opens.|"
        "Sandbox: no real money moves.",
    },
    "terms_accept": {
        "fr": "J’ai lu et j’accepte ces conditions",
        "en": "I have read and accept these terms",
    },
    "terms_required": {
        "fr": "Cochez la case pour accepter les conditions.",
        "en": "Tick the box to accept the terms.",
    },
    "signup_submit": {"fr": "Ouvrir mon compte", "en": "Open my account"},
    "title_welcome": {"fr": "Compte ouvert", "en": "Account open"},
    "title_welcome_back": {"fr": "Compte rouvert", "en": "Account reopened"},
    "welcome_body": {
        "fr": "Bienvenue{who} ! Votre compte est ouvert et lié à votre compte X.",
        "en": "Welcome{who}! Your account is open and linked to your X account.",
    },
    "welcome_back_body": {
        "fr": "Re-bonjour{who} ! Votre compte est de nouveau lié, avec un nouveau code.",
        "en": "Welcome back{who}! Your account is linked again, with a new code.",
    },
    "welcome_claimed": {
        "fr": "{amount} vous attendaient ({count} paiements) : ils sont sur votre compte.",
        "en": "{amount} was waiting for you ({count} payments): it is now in your account.",
    },
    "welcome_claimed_one": {
        "fr": "{amount} vous attendaient (un paiement) : ils sont sur votre compte.",
        "en": "{amount} was waiting for you (one payment): it is now in your account.",
    },
    "welcome_nothing": {
        "fr": "Aucun paiement ne vous attendait. Rechargez par carte pour commencer.",
        "en": "No payment was waiting for you. Top up by card to get started.",
    },
    "go_account": {"fr": "Voir mon compte", "en": "Go to my account"},
    "signup_unknown_body": {
        "fr": "Ce lien d’inscription n’existe pas. Vérifiez que vous l’avez copié en entier.",
        "en": "This sign-up link does not exist. Check that you copied all of it.",
    },
    "signup_expired_body": {
        "fr": "Ce lien d’inscription a expiré. Envoyez #inscription en message privé à "
        "@{bot} pour en recevoir un nouveau.",
        "en": "This sign-up link has expired. Send #signup to @{bot} by DM to get a new one.",
    },
    "signup_used_body": {
        "fr": "Ce lien d’inscription a déjà servi : il ne fonctionne qu’une fois.",
        "en": "This sign-up link has already been used: it works only once.",
    },
    "already_member_body": {
        "fr": "Ce compte X a déjà un compte. Envoyez #compte en message privé à @{bot} pour "
        "le gérer.",
        "en": "This X account already has an account. Send #account to @{bot} by DM to manage it.",
    },
    "sign_in_with_x": {"fr": "Se connecter avec X", "en": "Sign in with X"},
    "title_x_failed": {"fr": "Connexion X impossible", "en": "X sign-in failed"},
    "x_denied_body": {
        "fr": "La connexion avec X a été annulée ou refusée. Rien n’a été créé.",
        "en": "Signing in with X was cancelled or refused. Nothing was created.",
    },
    "x_state_body": {
        "fr": "Cette connexion avec X a expiré ou ne vient pas de ce navigateur. "
        "Recommencez depuis le début.",
        "en": "This X sign-in expired or did not start in this browser. Start again.",
    },
    "x_unavailable_body": {
        "fr": "X ne répond pas pour l’instant. Réessayez dans quelques minutes.",
        "en": "X is not answering right now. Try again in a few minutes.",
    },
    "title_signed_in": {"fr": "Connecté avec X", "en": "Signed in with X"},
    "signed_in_body": {
        "fr": "Vous êtes connecté au compte de @{handle}.",
        "en": "You are signed in to @{handle}'s account.",
    },
    # -- login link -----------------------------------------------------------------------
    "title_login": {"fr": "Accéder à votre compte", "en": "Open your account page"},
    "login_lead": {
        "fr": "Lien de connexion au compte de @{handle}. Il ne sert qu’une fois ; cet appareil "
        "reste ensuite connecté {days} jours (révocable depuis votre compte). Chaque paiement "
        "demande toujours votre code secret.",
        "en": "Sign-in link for @{handle}'s account. It works once; this device then stays "
        "signed in for {days} days (revocable from your account). Every payment still asks "
        "for your secret code.",
    },
    "login_submit": {"fr": "Continuer", "en": "Continue"},
    "login_unknown_body": {
        "fr": "Ce lien de connexion n’existe pas. Vérifiez que vous l’avez copié en entier.",
        "en": "This sign-in link does not exist. Check that you copied all of it.",
    },
    "login_expired_body": {
        "fr": "Ce lien de connexion a expiré. Envoyez #compte en message privé à @{bot} pour "
        "en recevoir un nouveau.",
        "en": "This sign-in link has expired. Send #account to @{bot} by DM to get a new one.",
    },
    "login_used_body": {
        "fr": "Ce lien de connexion a déjà servi. Envoyez #compte à @{bot} pour en recevoir "
        "un nouveau.",
        "en": "This sign-in link has already been used. Send #account to @{bot} to get a new one.",
    },
    "no_account_body": {
        "fr": "Ce compte X n’a pas de compte. Envoyez #inscription en message privé à @{bot} "
        "pour en ouvrir un.",
        "en": "This X account has no account. Send #signup to @{bot} by DM to open one.",
    },
    "title_signed_out": {"fr": "Session terminée", "en": "Signed out"},
    "signed_out_body": {
        "fr": "Vous êtes déconnecté. Envoyez #compte à @{bot} pour revenir.",
        "en": "You are signed out. Send #account to @{bot} to come back.",
    },
    "session_body": {
        "fr": "Votre session a expiré ou vous n’êtes pas connecté. Envoyez #compte en message "
        "privé à @{bot} pour recevoir un lien de connexion.",
        "en": "Your session has expired or you are not signed in. Send #account to @{bot} by "
        "DM to get a sign-in link.",
    },
    "csrf_body": {
        "fr": "Ce formulaire a expiré ou ne vient pas de votre page de compte. Rechargez la "
        "page et recommencez.",
        "en": "This form has expired or did not come from your account page. Reload the page "
        "and try again.",
    },
    # -- the account page -----------------------------------------------------------------
    "title_account": {"fr": "Votre compte", "en": "Your account"},
    "account_of": {"fr": "Compte de @{handle}", "en": "@{handle}'s account"},
    "balance": {"fr": "Solde", "en": "Balance"},
    "session_until": {
        "fr": "Session ouverte jusqu’à {time}.",
        "en": "Session open until {time}.",
    },
    "history": {"fr": "Derniers mouvements", "en": "Recent activity"},
    "history_empty": {"fr": "Aucun mouvement pour l’instant.", "en": "Nothing yet."},
    "cards": {"fr": "Cartes enregistrées", "en": "Saved cards"},
    "cards_none": {"fr": "Aucune carte enregistrée.", "en": "No saved card."},
    "card_line": {
        "fr": "{brand} •••• {last4} (exp. {month:02d}/{year})",
        "en": "{brand} •••• {last4} (exp. {month:02d}/{year})",
    },
    "add_card": {"fr": "Ajouter une carte", "en": "Add a card"},
    "card_number": {"fr": "Numéro de carte", "en": "Card number"},
    "card_exp_month": {"fr": "Mois d’expiration", "en": "Expiry month"},
    "card_exp_year": {"fr": "Année d’expiration", "en": "Expiry year"},
    "card_cvc": {"fr": "Cryptogramme (CVC)", "en": "Security code (CVC)"},
    "card_submit": {"fr": "Enregistrer la carte", "en": "Save the card"},
    "card_hint": {
        "fr": "Démonstration : carte de test 4242 4242 4242 4242, refusée : 4000 0000 0000 0002.",
        "en": "Sandbox: test card 4242 4242 4242 4242, declined: 4000 0000 0000 0002.",
    },
    "topup": {"fr": "Recharger", "en": "Top up"},
    "topup_amount": {"fr": "Montant (€)", "en": "Amount (€)"},
    "topup_card": {"fr": "Carte", "en": "Card"},
    "topup_submit": {"fr": "Recharger mon compte", "en": "Top up my account"},
    "topup_need_card": {
        "fr": "Enregistrez d’abord une carte.",
        "en": "Save a card first.",
    },
    "change_pin": {"fr": "Changer de code secret", "en": "Change your secret code"},
    "old_pin": {"fr": "Code actuel", "en": "Current code"},
    "new_pin": {"fr": "Nouveau code (6 chiffres)", "en": "New code (6 digits)"},
    "pin_submit": {"fr": "Changer le code", "en": "Change the code"},
    "unlink": {"fr": "Délier mon compte X", "en": "Unlink my X account"},
    "unlink_explain": {
        "fr": "Le compte est fermé et votre consentement aux messages privés retiré. Il faut "
        "un solde à zéro. Vous pourrez revenir avec #inscription.",
        "en": "The account is closed and your consent to DMs withdrawn. The balance must be "
        "zero. You can come back with #signup.",
    },
    "unlink_submit": {"fr": "Délier le compte", "en": "Unlink the account"},
    "logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "donations": {"fr": "Dons reçus", "en": "Donations received"},
    "donations_none": {"fr": "Aucun don pour l’instant.", "en": "No donation yet."},
    "donations_csv": {"fr": "Télécharger (CSV)", "en": "Download (CSV)"},
    "pro_badge": {"fr": "Compte Pro", "en": "Pro account"},
    # -- results ----------------------------------------------------------------------------
    "done_pin_changed": {
        "fr": "Votre code secret est changé.",
        "en": "Your secret code has been changed.",
    },
    "done_card_added": {"fr": "Carte enregistrée.", "en": "Card saved."},
    "topup_done": {
        "fr": "Recharge de {amount} effectuée. Sans frais : tout est sur votre compte.",
        "en": "Top-up of {amount} done. No fees: all of it is in your account.",
    },
    "topup_declined": {
        "fr": "Recharge de {amount} refusée par la banque : {reason} Rien n’a été débité.",
        "en": "Top-up of {amount} declined by the bank: {reason} Nothing was charged.",
    },
    "card_reason_generic_decline": {
        "fr": "la carte a été refusée.",
        "en": "the card was declined.",
    },
    "card_reason_insufficient_funds": {
        "fr": "provision insuffisante sur la carte.",
        "en": "insufficient funds on the card.",
    },
    "card_reason_incorrect_cvc": {
        "fr": "le cryptogramme est incorrect.",
        "en": "the security code is incorrect.",
    },
    "card_refused": {
        "fr": "Carte refusée : {reason}",
        "en": "Card refused: {reason}",
    },
    "card_reason_invalid_number": {
        "fr": "ce numéro n’en est pas un.",
        "en": "this is not a card number.",
    },
    "card_reason_incorrect_number": {
        "fr": "le numéro est incorrect (vérifiez les chiffres).",
        "en": "the number is incorrect (check the digits).",
    },
    "card_reason_invalid_expiry_month": {
        "fr": "le mois d’expiration est invalide.",
        "en": "the expiry month is invalid.",
    },
    "card_reason_invalid_expiry_year": {
        "fr": "l’année d’expiration est invalide.",
        "en": "the expiry year is invalid.",
    },
    "card_reason_expired_card": {"fr": "la carte a expiré.", "en": "the card has expired."},
    "card_reason_invalid_cvc": {
        "fr": "le cryptogramme est invalide.",
        "en": "the security code is invalid.",
    },
    "card_reason_card_not_supported": {
        "fr": "cette carte n’est pas acceptée ici.",
        "en": "this card is not accepted here.",
    },
    "topup_amount_invalid": {
        "fr": "Montant invalide : écrivez par exemple 20 ou 20,50.",
        "en": "Invalid amount: write for example 20 or 20.50.",
    },
    "topup_amount_too_small": {
        "fr": "Le montant minimum d’une recharge est {amount}.",
        "en": "A top-up is at least {amount}.",
    },
    "topup_amount_too_large": {
        "fr": "Le montant maximum d’une recharge est {amount}.",
        "en": "A top-up is at most {amount}.",
    },
    "topup_unknown_card": {
        "fr": "Cette carte n’est pas enregistrée sur votre compte.",
        "en": "This card is not saved on your account.",
    },
    "topup_unavailable": {
        "fr": "Le service de paiement ne répond pas comme prévu. Rien n’a été crédité ; réessayez.",
        "en": "The payment service did not answer as expected. Nothing was credited; try again.",
    },
    "pin_wrong": {
        "fr": "Code erroné. Encore {left} essais avant blocage.",
        "en": "Wrong code. {left} attempts left before a lock.",
    },
    "pin_wrong_one": {
        "fr": "Code erroné. Encore un essai avant blocage.",
        "en": "Wrong code. One attempt left before a lock.",
    },
    "pin_locked": {
        "fr": "Trop de codes erronés : votre compte est bloqué jusqu’au {until} et votre "
        "session fermée. Nous vous avons prévenu par message privé.",
        "en": "Too many wrong codes: your account is locked until {until} and your "
        "session closed. We have alerted you by DM.",
    },
    "title_unlinked": {"fr": "Compte délié", "en": "Account unlinked"},
    "unlinked_body": {
        "fr": "Votre compte X n’est plus lié et vous ne recevrez plus nos messages privés. "
        "Pour revenir, envoyez #inscription à @{bot}.",
        "en": "Your X account is no longer linked and you will get no more DMs from us. "
        "To come back, send #signup to @{bot}.",
    },
    "unlink_balance": {
        "fr": "Impossible de délier : il reste {amount} sur votre compte. Envoyez-les à "
        "quelqu’un (#envoyer {amount_short} @ami) ou faites-en don à un compte Pro, puis "
        "revenez.",
        "en": "Cannot unlink: {amount} is still in your account. Send it to someone "
        "(#send {amount_short} @friend) or donate it to a Pro account, then come back.",
    },
    "unlink_held": {
        "fr": "Impossible de délier : {amount} que vous avez envoyés attendent encore leur "
        "destinataire et peuvent vous revenir. Annulez-les (#annuler) ou attendez.",
        "en": "Cannot unlink: {amount} you sent is still waiting for its recipient and may "
        "come back to you. Cancel it (#cancel) or wait.",
    },
    # -- PIN rules (handlers.pins.PinProblem → "pin_<problem>") ------------------------------
    "pin_format": {
        "fr": "Le code secret doit compter exactement 6 chiffres (0 à 9), sans espace.",
        "en": "The secret code must be exactly 6 digits (0 to 9), with no spaces.",
    },
    "pin_all_same": {
        "fr": "Six fois le même chiffre se devine trop vite : choisissez un autre code.",
        "en": "The same digit six times is too easy to guess: choose another code.",
    },
    "pin_sequence": {
        "fr": "Une suite de chiffres (comme 123456 ou 987654) se devine trop vite : "
        "choisissez un autre code.",
        "en": "A run of digits (like 123456 or 987654) is too easy to guess: "
        "choose another code.",
    },
    "pin_repeated": {
        "fr": "Un motif répété (comme 121212 ou 123123) se devine trop vite : "
        "choisissez un autre code.",
        "en": "A repeated pattern (like 121212 or 123123) is too easy to guess: "
        "choose another code.",
    },
    "pin_common": {
        "fr": "Ce code fait partie des plus utilisés, on l’essaierait en premier : "
        "choisissez-en un autre.",
        "en": "This code is one of the most used ones, so it would be tried first: "
        "choose another one.",
    },
    "pin_mismatch": {
        "fr": "Les deux codes saisis ne sont pas identiques.",
        "en": "The two codes you typed do not match.",
    },
    "pin_same_as_old": {
        "fr": "Le nouveau code doit être différent de l’ancien.",
        "en": "The new code must differ from the old one.",
    },
}
