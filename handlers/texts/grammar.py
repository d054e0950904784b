"""What the grammar answers when it refuses, in French and English.

Each text fits in one post (280 weighted characters, checked by the tests with the longest
values) and quotes nothing the user wrote: no handle (the bot never @mentions someone who did
not engage) and no raw text (a reply must not repeat abuse or hidden characters). Placeholders
are filled with values the bot formats itself (``Money.format``, integers).
"""

from __future__ import annotations

from handlers.money import Lang

GRAMMAR: dict[str, dict[Lang, str]] = {
    "no_command": {
        "fr": "Je n'ai pas reconnu de commande. Exemple : #envoyer 12,50 € @… merci (le @ du "
              "destinataire). Écrivez #aide pour la liste.",
        "en": "I didn't recognise a command. Example: #send €12.50 @… thanks (the recipient's "
              "@). Write #help for the list.",
    },
    "did_you_mean": {
        "fr": "Vouliez-vous dire {command} ? Écrivez #aide pour la liste des commandes. Rien "
              "n'a été fait.",
        "en": "Did you mean {command}? Write #help for the list of commands. Nothing was "
              "done.",
    },
    "two_commands": {
        "fr": "Un seul hashtag de commande par message, s'il vous plaît (#envoyer, #don, "
              "#demander…). Rien n'a été fait.",
        "en": "One command hashtag per message, please (#send, #donate, #request…). "
              "Nothing was done.",
    },
    "hidden_characters": {
        "fr": "Votre message contient des caractères invisibles ou de contrôle de sens "
              "d'écriture dans la commande. Retapez-la sans copier-coller. Rien n'a été fait.",
        "en": "Your message has invisible or text-direction characters in the command. "
              "Please type it again without copy-paste. Nothing was done.",
    },
    "suspicious_handle": {
        "fr": "Le nom du destinataire, après le @, ne s'écrit qu'avec A-Z, 0-9 et _. Celui-ci "
              "contient d'autres caractères (lettres cyrilliques ?). Rien n'a été fait.",
        "en": "The recipient's name, after the @, has only A-Z, 0-9 and _. This one has other "
              "characters (Cyrillic look-alikes?). Nothing was done.",
    },
    "missing_amount": {
        "fr": "Il manque le montant. Exemple : {example}",
        "en": "The amount is missing. Example: {example}",
    },
    "bad_amount": {
        "fr": "Je n'ai pas compris le montant. Écrivez par exemple 12 €, 12,50 € ou 0,50 €.",
        "en": "I couldn't read the amount. Write for example €12, €12.50 or €0.50.",
    },
    "ambiguous_amount": {
        "fr": "Montant ambigu : ce séparateur marque-t-il les milliers, les centimes, ou "
              "deux nombres ? Réécrivez-le sans doute possible, par ex. 12,50 € ou "
              "1 234,00 €. Rien n'a été fait.",
        "en": "Ambiguous amount: does that separator mark thousands, cents, or two numbers? "
              "Please write it unambiguously, e.g. €12.50 or €1,234.00. Nothing was done.",
    },
    "too_many_decimals": {
        "fr": "Un montant a au plus deux décimales (les centimes), par ex. 12,99 €.",
        "en": "An amount has at most two decimals (the cents), e.g. €12.99.",
    },
    "zero_amount": {
        "fr": "Le montant doit être supérieur à zéro.",
        "en": "The amount must be more than zero.",
    },
    "negative_amount": {
        "fr": "Un montant ne peut pas être négatif. Pour recevoir de l'argent, utilisez "
              "#demander 12 € @… (le @ de la personne).",
        "en": "An amount cannot be negative. To receive money, use #request €12 @… (the "
              "person's @).",
    },
    "other_currency": {
        "fr": "Seuls les euros sont acceptés (12 €, 12 EUR, 12 euros). Rien n'a été fait.",
        "en": "Only euros are accepted (€12, 12 EUR, 12 euros). Nothing was done.",
    },
    "unit_after_amount": {
        "fr": "Je n'ai pas compris « {unit} » après le montant : j'accepte seulement des "
              "euros en chiffres, par ex. 12 €, 12,50 € ou 50 centimes. Rien n'a été fait.",
        "en": "I didn't understand \"{unit}\" after the amount: I only take euros in digits, "
              "e.g. €12, €12.50 or 50 cents written 50 cts. Nothing was done.",
    },
    "exponent": {
        "fr": "Écrivez le montant en chiffres, sans notation scientifique (1e3) : par ex. "
              "12,50 €.",
        "en": "Write the amount in plain digits, not scientific notation (1e3): e.g. €12.50.",
    },
    "non_ascii_digits": {
        "fr": "Écrivez le montant avec les chiffres 0 à 9 (pas de chiffres pleine largeur "
              "ni arabes-indiens), par ex. 12,50 €.",
        "en": "Write the amount with the digits 0 to 9 (no full-width or Arabic-Indic "
              "digits), e.g. €12.50.",
    },
    "two_amounts": {
        "fr": "J'ai trouvé plusieurs montants. Un seul montant par commande, s'il vous plaît. "
              "Rien n'a été fait.",
        "en": "I found more than one amount. One amount per command, please. Nothing was done.",
    },
    "no_recipient": {
        "fr": "Il manque le destinataire : mentionnez son compte X (le @ suivi de son nom) "
              "après la commande. Exemple : {example}",
        "en": "The recipient is missing: mention their X account (the @ then their name) "
              "after the command. Example: {example}",
    },
    "two_recipients": {
        "fr": "Un seul destinataire par commande, s'il vous plaît. Rien n'a été fait.",
        "en": "One recipient per command, please. Nothing was done.",
    },
    "self_recipient": {
        "fr": "Vous ne pouvez pas vous adresser cette commande à vous-même.",
        "en": "You cannot address this command to yourself.",
    },
    "bot_recipient": {
        "fr": "Le bot ne peut pas être le destinataire. Mentionnez la personne après la "
              "commande, par ex. {example}",
        "en": "The bot cannot be the recipient. Mention the person after the command, "
              "e.g. {example}",
    },
    "above_cap": {
        "fr": "Ce montant dépasse le plafond de {cap} par opération. Rien n'a été fait.",
        "en": "This amount is above the {cap} limit per transaction. Nothing was done.",
    },
    "below_minimum": {
        "fr": "Le montant minimum est de {minimum}.",
        "en": "The minimum amount is {minimum}.",
    },
    "dm_only": {
        "fr": "Par discrétion, cette commande ne marche qu'en message privé : envoyez-la-moi "
              "en DM.",
        "en": "For your privacy this command only works by direct message: send it to me "
              "in a DM.",
    },
    "bad_history_count": {
        "fr": "#historique accepte un nombre entre 1 et {maximum}, par ex. #historique 10.",
        "en": "#history takes a number from 1 to {maximum}, e.g. #history 10.",
    },
    "too_long": {
        "fr": "Ce message est trop long pour être une commande.",
        "en": "This message is too long to be a command.",
    },
}

EXAMPLES: dict[str, dict[Lang, str]] = {
    # "@…" stands for the handle: a real example handle would mention a real account.
    "send": {"fr": "#envoyer 12,50 € @… merci", "en": "#send €12.50 @… thanks"},
    "donate": {"fr": "#don 10 € @…", "en": "#donate €10 @…"},
    "request": {"fr": "#demander 12 € @… resto", "en": "#request €12 @… lunch"},
    "withdraw": {"fr": "#retirer 50 €", "en": "#withdraw €50"},
}

