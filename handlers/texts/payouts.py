"""Money out and the wind-down: the DMs, the bank-account and withdrawal pages, the return
reasons in plain words. French and English side by side."""

from __future__ import annotations

from handlers.money import Lang

PAYOUTS: dict[str, dict[Lang, str]] = {
    # -- DMs (a link only ever travels as the {link} placeholder) ---------------------------
    "iban_added_dm": {
        "fr": "Un compte bancaire ({masked}) a été enregistré sur votre compte tweetpay. Si ce "
        "n’est pas vous, changez votre code secret tout de suite et annulez les retraits en "
        "attente sur votre page de compte (#compte) : aucun virement ne partira vers lui avant "
        "le {until}.",
        "en": "A bank account ({masked}) was saved on your tweetpay account. If this was not "
        "you, change your secret code now and cancel any waiting withdrawal on your account "
        "page (#account): no transfer goes to it before {until}.",
    },
    "withdraw_link_dm": {
        "fr": "Retrait de {amount} vers {masked} : confirmez avec votre code secret sur ce lien "
        "(valable {minutes} min) : {link}",
        "en": "Withdrawal of {amount} to {masked}: confirm with your secret code on this link "
        "(valid {minutes} min): {link}",
    },
    "withdraw_no_bank_dm": {
        "fr": "Ajoutez d’abord votre IBAN sur votre page de compte (#compte), puis recommencez.",
        "en": "Add your IBAN on your account page first (#account), then try again.",
    },
    "withdraw_refused": {
        "fr": "Retrait impossible : {reason}.", "en": "Withdrawal refused: {reason}.",
    },
    "withdraw_returned_dm": {
        "fr": "Votre retrait de {amount} vers {masked} nous est revenu : {reason}. L’argent est "
        "de nouveau sur votre compte tweetpay.",
        "en": "Your withdrawal of {amount} to {masked} came back: {reason}. The money is back "
        "in your tweetpay account.",
    },
    "wind_down_refused": {
        "fr": "Le service ferme : plus de nouveaux paiements, demandes ni rechargements. Vous "
        "pouvez retirer votre solde vers votre banque depuis votre page de compte.",
        "en": "The service is closing: no new payments, requests or top-ups. You can withdraw "
        "your balance to your bank from your account page.",
    },
    "wind_down_dm": {
        "fr": "Le service tweetpay ferme. Il vous reste {amount} : retirez-les vers votre "
        "banque depuis votre page de compte (#compte), où vous pouvez aussi télécharger votre "
        "relevé.",
        "en": "The tweetpay service is closing. You still hold {amount}: withdraw it to your "
        "bank from your account page (#account), where you can also download your statement.",
    },
    # -- the same notices by Web Push, for a holder with the app (no DM spent) -------------
    "push_iban_added_title": {"fr": "Nouveau compte bancaire", "en": "New bank account"},
    "push_iban_added_body": {
        "fr": "{masked} a été enregistré. Pas vous ? Changez votre code secret et annulez les "
        "retraits en attente.",
        "en": "{masked} was saved. Not you? Change your secret code and cancel any waiting "
        "withdrawal."},
    "push_returned_title": {"fr": "Retrait revenu", "en": "Withdrawal came back"},
    "push_returned_body": {"fr": "{amount} vers {masked} : {reason}. L’argent est de nouveau "
                           "sur votre compte.", "en": "{amount} to {masked}: {reason}. The money "
                           "is back in your account."},
    "push_wind_down_title": {"fr": "Le service ferme", "en": "The service is closing"},
    "push_wind_down_body": {"fr": "Retirez vos {amount} vers votre banque.",
                            "en": "Withdraw your {amount} to your bank."},
    # -- return reasons (ISO 20022) and refusals, in plain words ----------------------------
    "return_reason_AC01": {"fr": "le numéro de compte (IBAN) est erroné",
                           "en": "the account number (IBAN) is wrong"},
    "return_reason_AC04": {"fr": "ce compte bancaire est clos",
                           "en": "this bank account is closed"},
    "return_reason_AM04": {"fr": "la banque l’a refusé faute de provision",
                           "en": "the bank refused it for insufficient funds"},
    "return_reason_MS03": {"fr": "la banque n’a pas donné de raison",
                           "en": "the bank gave no reason"},
    "return_reason_refused": {"fr": "le prestataire de paiement a refusé le virement",
                              "en": "the payment provider refused the transfer"},
    "payout_refusal_amount_too_small": {"fr": "le minimum est {limit}",
                                        "en": "the minimum is {limit}"},
    "payout_refusal_amount_too_large": {"fr": "{limit} au plus par retrait",
                                        "en": "at most {limit} per withdrawal"},
    "payout_refusal_daily_limit": {"fr": "{limit} au plus sur 24 heures",
                                   "en": "at most {limit} in 24 hours"},
    "payout_refusal_insufficient_funds": {"fr": "votre solde ne suffit pas",
                                          "en": "your balance is too low"},
    "payout_refusal_empty_balance": {"fr": "votre solde est nul", "en": "your balance is zero"},
    "payout_refusal_no_bank_account": {"fr": "aucun compte bancaire n’est enregistré",
                                       "en": "no bank account is saved"},
    "payout_refusal_account_inactive": {"fr": "votre compte n’est pas actif",
                                        "en": "your account is not active"},
    "payout_refusal_bank_account_changed": {
        "fr": "le compte bancaire a changé depuis la demande",
        "en": "the bank account changed since the request"},
    # -- the bank page ----------------------------------------------------------------------
    "title_bank": {"fr": "Virer vers ma banque", "en": "Send to my bank"},
    "bank_link": {"fr": "Virer mon argent vers ma banque", "en": "Send my money to my bank"},
    "bank_current": {"fr": "Compte bancaire", "en": "Bank account"},
    "bank_none": {"fr": "Aucun compte bancaire enregistré.", "en": "No bank account saved."},
    "bank_holder": {"fr": "Titulaire", "en": "Holder"},
    "bank_bic": {"fr": "BIC", "en": "BIC"},
    "bank_usable_from": {"fr": "Premier virement possible le {until} (délai de sécurité).",
                         "en": "First transfer possible on {until} (security delay)."},
    "vop_match": {"fr": "La banque confirme le nom du titulaire.",
                  "en": "The bank confirms the holder’s name."},
    "vop_close_match": {"fr": "Nom proche : la banque connaît ce compte au nom de « {name} ».",
                        "en": "Close match: the bank knows this account as “{name}”."},
    "vop_no_match": {
        "fr": "Le nom ne correspond pas au titulaire connu de la banque. Un virement vers ce "
        "compte pourrait atteindre quelqu’un d’autre.",
        "en": "The name does not match the holder the bank knows. A transfer to this account "
        "could reach someone else."},
    "bank_add": {"fr": "Ajouter ou changer de compte bancaire",
                 "en": "Add or change the bank account"},
    "bank_iban": {"fr": "IBAN", "en": "IBAN"},
    "bank_name": {"fr": "Nom du titulaire du compte", "en": "Account holder’s name"},
    "bank_hint": {
        "fr": "Pour votre sécurité, un nouveau compte ne reçoit son premier virement qu’après "
        "{delay}, et nous vous prévenons par message privé.",
        "en": "For your safety, a new account receives its first transfer only after {delay}, "
        "and we tell you by direct message."},
    "bank_submit": {"fr": "Enregistrer ce compte", "en": "Save this account"},
    "bank_saved": {"fr": "Compte bancaire enregistré.", "en": "Bank account saved."},
    "iban_error_iban_empty": {"fr": "Saisissez votre IBAN.", "en": "Enter your IBAN."},
    "iban_error_iban_country": {"fr": "Ce code pays d’IBAN n’existe pas.",
                                "en": "This IBAN country code does not exist."},
    "iban_error_iban_length": {"fr": "Cet IBAN n’a pas la bonne longueur pour son pays.",
                               "en": "This IBAN has the wrong length for its country."},
    "iban_error_iban_checksum": {"fr": "Cet IBAN contient une faute de frappe (clé invalide).",
                                 "en": "This IBAN has a typo (its check digits are wrong)."},
    "iban_error_iban_format": {"fr": "Cet IBAN n’a pas le bon format.",
                               "en": "This IBAN is not in the right format."},
    "iban_error_iban_not_sepa": {"fr": "Ce pays ne reçoit pas les virements SEPA.",
                                 "en": "This country does not receive SEPA transfers."},
    "iban_error_name_empty": {"fr": "Saisissez le nom du titulaire.",
                              "en": "Enter the holder’s name."},
    "iban_error_name_too_long": {"fr": "Le nom fait 70 caractères au plus.",
                                 "en": "The name is at most 70 characters."},
    "iban_error_name_control": {"fr": "Le nom contient des caractères invisibles ou de contrôle.",
                                "en": "The name contains invisible or control characters."},
    "withdraw_title": {"fr": "Retirer vers ma banque", "en": "Withdraw to my bank"},
    "withdraw_all": {"fr": "Tout mon solde ({amount})", "en": "My whole balance ({amount})"},
    "withdraw_instant": {"fr": "Virement instantané (quelques secondes)",
                         "en": "Instant transfer (seconds)"},
    "withdraw_standard": {"fr": "Virement standard (jour ouvré suivant)",
                          "en": "Standard transfer (next business day)"},
    "scheme_instant": {"fr": "Instantané", "en": "Instant"},
    "scheme_standard": {"fr": "Standard", "en": "Standard"},
    "withdraw_need_bank": {"fr": "Enregistrez d’abord un compte bancaire ci-dessous.",
                           "en": "Save a bank account below first."},
    "withdraw_amount_invalid": {"fr": "Montant illisible : écrivez par exemple 20 ou 20,50.",
                                "en": "Unreadable amount: write for example 20 or 20.50."},
    "withdrawals": {"fr": "Mes retraits", "en": "My withdrawals"},
    "withdrawals_none": {"fr": "Aucun retrait pour l’instant.", "en": "No withdrawal yet."},
    "wstatus_confirmed": {"fr": "En attente d’envoi", "en": "Waiting to be sent"},
    "wstatus_submitting": {"fr": "Envoi en cours", "en": "Being sent"},
    "wstatus_submitted": {"fr": "En route vers votre banque", "en": "On its way to your bank"},
    "wstatus_settled": {"fr": "Arrivé sur votre compte bancaire",
                        "en": "Arrived in your bank account"},
    "wstatus_returned": {"fr": "Revenu sur votre compte tweetpay",
                         "en": "Came back to your tweetpay account"},
    "wstatus_failed": {"fr": "Refusé, rien n’a été débité",
                       "en": "Refused, nothing was taken"},
    "wstatus_cancelled": {"fr": "Annulé, l’argent est revenu sur votre compte tweetpay",
                          "en": "Cancelled, the money is back in your tweetpay account"},
    "withdraw_cancel": {"fr": "Annuler ce retrait", "en": "Cancel this withdrawal"},
    "withdraw_cancelled": {"fr": "Retrait annulé : l’argent est de nouveau sur votre compte.",
                           "en": "Withdrawal cancelled: the money is back in your account."},
    "withdraw_not_cancelled": {"fr": "Ce retrait est déjà parti : il ne peut plus être annulé.",
                               "en": "This withdrawal has already left: it cannot be cancelled."},
    "statement_csv": {"fr": "Télécharger mon relevé complet (CSV)",
                      "en": "Download my full statement (CSV)"},
    "wind_down_banner": {
        "fr": "Le service ferme : retirez votre solde vers votre banque. Les paiements et "
        "rechargements sont arrêtés.",
        "en": "The service is closing: withdraw your balance to your bank. Payments and "
        "top-ups have stopped."},
    # -- the withdrawal confirmation page (/w/<token>) ----------------------------------------
    "title_withdraw_confirm": {"fr": "Confirmer le retrait", "en": "Confirm the withdrawal"},
    "withdraw_lead": {"fr": "Vous allez virer cet argent vers votre compte bancaire.",
                      "en": "You are about to send this money to your bank account."},
    "withdraw_scheme": {"fr": "Type de virement", "en": "Transfer type"},
    "withdraw_ack": {"fr": "J’ai lu le résultat de la vérification du nom et je confirme ce "
                     "compte.", "en": "I have read the name check result and confirm this "
                     "account."},
    "withdraw_ack_needed": {"fr": "Cochez la case pour confirmer le compte bancaire.",
                            "en": "Tick the box to confirm the bank account."},
    "withdraw_confirm_submit": {"fr": "Retirer {amount}", "en": "Withdraw {amount}"},
    "title_withdraw_done": {"fr": "Retrait confirmé", "en": "Withdrawal confirmed"},
    "withdraw_done_instant": {"fr": "{amount} part vers {masked}. Il arrive en quelques "
                              "secondes.", "en": "{amount} is on its way to {masked}. It "
                              "arrives within seconds."},
    "withdraw_done_standard": {"fr": "{amount} part vers {masked}. Il arrive le jour ouvré "
                               "suivant.", "en": "{amount} is on its way to {masked}. It "
                               "arrives the next business day."},
    "withdraw_done_later": {"fr": "{amount} partira vers {masked} le {until}, à la fin du délai "
                            "de sécurité de ce nouveau compte.", "en": "{amount} will leave for "
                            "{masked} on {until}, when this new account’s security delay ends."},
    "title_withdraw_failed": {"fr": "Retrait impossible", "en": "Withdrawal failed"},
    "withdraw_failed": {"fr": "Retrait non effectué : {reason}. Rien n’a été débité.",
                        "en": "Withdrawal not made: {reason}. Nothing was taken."},
    "withdraw_dead_link": {"fr": "Ce lien de retrait ne sert plus (déjà utilisé, expiré ou "
                           "inconnu). Demandez un nouveau retrait.", "en": "This withdrawal "
                           "link no longer works (used, expired or unknown). Ask for a new "
                           "withdrawal."},
    "withdraw_mismatch": {"fr": "Le retrait a changé depuis l’affichage de la page : "
                          "rechargez-la.", "en": "The withdrawal changed since the page was "
                          "shown: reload it."},
    "back_to_bank": {"fr": "Retour à mes retraits", "en": "Back to my withdrawals"},
}
