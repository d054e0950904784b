"""Real-looking tweets and DMs with the exact command or error the grammar must give.

Shared by the table test (``test_grammar_corpus.py``) and the benchmark (``benchmarks.grammar``).
Entities are built the way X sends them: offsets from the text, ids for known accounts; a DM case
with ``ids=False`` carries mentions without ids (the grammar returns an ``UnresolvedRecipient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.commands import (
    Cancel,
    Command,
    Donate,
    Help,
    Recipient,
    RequestMoney,
    SendMoney,
    ShowAccount,
    ShowBalance,
    ShowHistory,
    SignUp,
    Stop,
    UnresolvedRecipient,
)
from handlers.entities import extract_entities
from handlers.money import Money

BOT_ID = 1
USERS = {"smoney": 1, "bob": 2, "alice": 3, "carol": 4, "restos_du_coeur": 5, "b": 6,
         "cagnotte_lea": 7, "dave_99": 8, "Eve": 9}
IDS = {name.casefold(): uid for name, uid in USERS.items()}


@dataclass(frozen=True)
class Err:
    code: str
    lang: str = "fr"


@dataclass(frozen=True)
class Case:
    text: str
    expect: Command | Err
    channel: str = "tweet"
    author: int = 3  # alice
    ids: bool = True

    def entities(self) -> dict[str, Any]:
        api = extract_entities(self.text).to_api()
        for mention in api.get("mentions", []):
            uid = IDS.get(mention["username"].casefold())
            if self.ids and uid is not None:
                mention["id"] = str(uid)
        return api


def _who(handle: str, resolved: bool = True) -> Recipient | UnresolvedRecipient:
    if not resolved:
        return UnresolvedRecipient(handle)
    return Recipient(IDS[handle.casefold()], handle)


def S(cents: int, to: str, memo: str = "", lang: str = "fr", resolved: bool = True) -> SendMoney:
    return SendMoney(Money(cents), _who(to, resolved), memo, lang)  # type: ignore[arg-type]


def D(cents: int, to: str, memo: str = "", lang: str = "fr") -> Donate:
    return Donate(Money(cents), _who(to), memo, lang)  # type: ignore[arg-type]


def R(cents: int, payer: str, memo: str = "", lang: str = "fr") -> RequestMoney:
    return RequestMoney(Money(cents), _who(payer), memo, lang)  # type: ignore[arg-type]


def E(code: str, lang: str = "fr") -> Err:
    return Err(code, lang)


T, DM = "tweet", "dm"
C = Case
CORPUS: list[Case] = [
    # --- send, French, every accepted amount form -------------------------------------------
    C("@Smoney #envoyer 12,99€ @bob merci pour le resto", S(1299, "bob", "merci pour le resto")),
    C("@Smoney #envoyer 12,99 € @bob", S(1299, "bob")),
    C("@Smoney #envoyer 12.99€ @bob", S(1299, "bob")),
    C("@Smoney #envoyer €12,99 @bob", S(1299, "bob")),
    C("@Smoney #envoyer € 12.99 @bob", S(1299, "bob")),
    C("@Smoney #envoyer 12€99 @bob", S(1299, "bob")),
    C("@Smoney #envoyer 12€ @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12 EUR @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12 euros @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12,5 € @bob", S(1250, "bob")),
    C("@Smoney #envoyer 0,50€ @bob un café", S(50, "bob", "un café")),
    C("@Smoney #envoyer 12 @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12\u00a0€ @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12\u202f€ @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12eur @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12 Euros @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12 euro @bob", S(1200, "bob")),
    C("@Smoney #envoyer EUR 12 @bob", S(1200, "bob")),
    C("@Smoney #envoyer 250€ @bob", S(25000, "bob")),
    C("@Smoney #envoyer 250,00 € @bob loyer", S(25000, "bob", "loyer")),
    C("@Smoney #envoyer 0,01€ @bob", S(1, "bob")),
    C("@Smoney #envoyer 007€ @bob", S(700, "bob")),
    C("@Smoney #envoyer 12€5 @bob", S(1250, "bob")),
    C("@Smoney #envoyer 12,99€. @bob", S(1299, "bob")),
    C("@Smoney #envoyer 12,99€, @bob", S(1299, "bob")),
    # word order
    C("@Smoney #envoyer @bob 12€", S(1200, "bob")),
    C("@Smoney #envoyer @bob 12,99 € merci !", S(1299, "bob", "merci !")),
    C("@Smoney #envoyer @bob pour le resto 12€", S(1200, "bob", "pour le resto")),
    C("@Smoney merci pour hier ! #envoyer 20€ @bob", S(2000, "bob", "merci pour hier !")),
    C("#envoyer 12€ @bob @Smoney", S(1200, "bob")),
    C("#envoyer 12€ à @bob via @Smoney", S(1200, "bob", "à via")),
    C("@smoney #ENVOYER 5€ @bob", S(500, "bob")),
    C("@Smoney #Envoyer 5€ @Bob", S(500, "Bob")),
    C("@Smoney #envoi 5€ @bob", S(500, "bob")),
    C("@Smoney #payer 5€ @bob", S(500, "bob")),
    C("@Smoney #Payer 5 € @bob cinéma 🎬", S(500, "bob", "cinéma 🎬")),
    C("@Smoney #envoyer 12 euros @bob pour 2 pizzas", S(1200, "bob", "pour 2 pizzas")),
    C("@Smoney #envoyer 12€ @bob #merci", S(1200, "bob", "#merci")),
    C("@Smoney #envoyer 12€ @bob\nmerci\tbeaucoup", S(1200, "bob", "merci beaucoup")),
    C("@Smoney #envoyer 12€ @bob    plein   d'espaces  ", S(1200, "bob", "plein d'espaces")),
    C("@Smoney #envoyer 12€ @bob @bob", S(1200, "bob")),
    C("@Smoney #envoyer 12€ @dave_99 merci", S(1200, "dave_99", "merci")),
    C("@Smoney #envoyer 12€ @Eve", S(1200, "Eve")),
    C("@Smoney ＃envoyer 12€ @bob", S(1200, "bob")),
    C("@Smoney #ｅｎｖｏｙｅｒ 12€ @bob", S(1200, "bob")),
    # --- send, English ------------------------------------------------------------------------
    C("@Smoney #send €12.99 @bob thanks for lunch", S(1299, "bob", "thanks for lunch", "en")),
    C("@Smoney #send 12.99 @bob", S(1299, "bob", "", "en")),
    C("@Smoney #pay €5 @bob", S(500, "bob", "", "en")),
    C("@Smoney #PAY 5 EUR @bob coffee", S(500, "bob", "coffee", "en")),
    C("@Smoney #send @bob €20 for the tickets", S(2000, "bob", "for the tickets", "en")),
    C("@Smoney #Send €0.50 @bob", S(50, "bob", "", "en")),
    C("@Smoney #send 1,234.56 € @bob", E("above_cap", "en")),
    C("@Smoney #send €1,234.56 @bob", E("above_cap", "en")),
    C("Thanks! @Smoney #send €7 @bob", S(700, "bob", "Thanks!", "en")),
    # --- reply chains: leading @handles are context -----------------------------------------
    C("@alice @Smoney #envoyer 12€ @bob", S(1200, "bob")),
    C("@bob @Smoney #envoyer 12€ @carol", S(1200, "carol")),
    C("@bob @carol @Smoney #envoyer 12€", E("no_recipient")),
    C("@bob @Smoney #send €12", E("no_recipient", "en")),
    C("@carol @dave_99 @Smoney #envoyer @bob 3€", S(300, "bob")),
    C("@bob @Smoney #envoyer 12€ @bob", S(1200, "bob")),
    C("@bob @Smoney #payer 8€ @carol merci @bob", E("two_recipients")),
    C("@Smoney @bob #send €9 @carol", S(900, "carol", "", "en")),
    # --- large amounts and separators (cap 250 € / 500 €) ------------------------------------
    C("@Smoney #envoyer 1 234,56 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1\u202f234,56 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1\u00a0234,56 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1.234,56 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1 234 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1,234,567 @bob", E("above_cap")),
    # The cap is the payee's (handlers.decide): the grammar refuses only above 500 €.
    C("@Smoney #envoyer 250,01 € @bob", S(25_001, "bob")),
    C("@Smoney #envoyer 500,01 € @bob", E("above_cap")),
    C("@Smoney #envoyer 99999999999999999999999 € @bob", E("above_cap")),
    C("@Smoney #envoyer 1.234 € @bob", E("ambiguous_amount")),
    C("@Smoney #envoyer 1,234 € @bob", E("ambiguous_amount")),
    C("@Smoney #envoyer 12,500 @bob", E("ambiguous_amount")),
    C("@Smoney #send 1.500 @bob", E("ambiguous_amount", "en")),
    C("@Smoney #envoyer 12 150 @bob", E("ambiguous_amount")),
    C("@Smoney #envoyer 12,999 € @bob", E("ambiguous_amount")),
    C("@Smoney #envoyer 0,125 € @bob", E("too_many_decimals")),
    C("@Smoney #envoyer 12,9999 € @bob", E("too_many_decimals")),
    C("@Smoney #envoyer 1234,567 € @bob", E("too_many_decimals")),
    C("@Smoney #envoyer 1.234,567 € @bob", E("too_many_decimals")),
    C("@Smoney #send 12.345 € @bob", E("ambiguous_amount", "en")),
    C("@Smoney #envoyer 1,23,456 € @bob", E("bad_amount")),
    C("@Smoney #envoyer 1.2.3 € @bob", E("bad_amount")),
    C("@Smoney #envoyer 1,234.56,7 € @bob", E("bad_amount")),
    C("@Smoney #envoyer ,50€ @bob", E("bad_amount")),
    C("@Smoney #envoyer 12€/mois @bob", E("bad_amount")),
    C("@Smoney #envoyer douze euros @bob", E("missing_amount")),
    C("@Smoney #envoyer €12€ @bob", E("bad_amount")),
    # --- refusals with their own reason -------------------------------------------------------
    C("@Smoney #envoyer 0€ @bob", E("zero_amount")),
    C("@Smoney #envoyer 0,00 € @bob", E("zero_amount")),
    C("@Smoney #send €0 @bob", E("zero_amount", "en")),
    C("@Smoney #envoyer -12€ @bob", E("negative_amount")),
    C("@Smoney #envoyer −12 € @bob", E("negative_amount")),
    C("@Smoney #envoyer €-5 @bob", E("negative_amount")),
    C("@Smoney #send -€5 @bob", E("negative_amount", "en")),
    C("@Smoney #envoyer 12$ @bob", E("other_currency")),
    C("@Smoney #envoyer $12 @bob", E("other_currency")),
    C("@Smoney #send £12 @bob", E("other_currency", "en")),
    C("@Smoney #send 12 USD @bob", E("other_currency", "en")),
    C("@Smoney #send 12 GBP @bob", E("other_currency", "en")),
    C("@Smoney #send 12 dollars @bob", E("other_currency", "en")),
    C("@Smoney #envoyer 12 CHF @bob", E("other_currency")),
    # A unit after the number: cents are read exactly, anything else is refused by name.
    C("@Smoney #envoyer 5 centimes @bob", S(5, "bob")),
    C("@Smoney #envoyer 50 cts @bob", S(50, "bob")),
    C("@Smoney #envoyer 5 ct @bob", S(5, "bob")),
    C("@Smoney #envoyer @bob 150centimes merci", S(150, "bob", "merci")),
    C("@Smoney #envoyer 0,5 ct @bob", E("bad_amount")),
    C("@Smoney #envoyer 5 % @bob", E("unit_after_amount")),
    C("@Smoney #envoyer @bob 5%", E("unit_after_amount")),
    C("@Smoney #envoyer 5 k€ @bob", E("unit_after_amount")),
    C("@Smoney #envoyer @bob 5k€", E("unit_after_amount")),
    C("@Smoney #send 5 K @bob", E("unit_after_amount", "en")),
    C("@Smoney #envoyer 5 mille € @bob", E("unit_after_amount")),
    C("@Smoney #envoyer 5 M€ @bob", E("unit_after_amount")),
    C("@Smoney #envoyer 5 $ @bob", E("other_currency")),
    C("@Smoney #send 5 CAD @bob", E("unit_after_amount", "en")),
    C("@Smoney #envoyer 5 BTC @bob", E("unit_after_amount")),
    C("@Smoney #send @bob 5 sats", E("unit_after_amount", "en")),
    C("@Smoney #envoyer @bob 5 balles pour le resto", E("unit_after_amount")),
    C("@Smoney #envoyer 5€ @bob 100% merci", S(500, "bob", "100% merci")),
    C("@Smoney #envoyer 1e3 @bob", E("exponent")),
    C("@Smoney #envoyer 1E2€ @bob", E("exponent")),
    C("@Smoney #send 2.5e1 @bob", E("exponent", "en")),
    C("@Smoney #envoyer 12€ 13€ @bob", E("two_amounts")),
    C("@Smoney #envoyer 12 15 @bob", E("two_amounts")),
    C("@Smoney #envoyer 12€ @bob dont 5€ pour toi", E("two_amounts")),
    C("@Smoney 30€ hier, #envoyer 12€ @bob", E("two_amounts")),
    C("@Smoney #send €12 @bob and €5 tip", E("two_amounts", "en")),
    C("@Smoney #envoyer @bob merci pour les 12€ et les 3€", E("two_amounts")),
    C("@Smoney #envoyer 12€ @bob @carol", E("two_recipients")),
    C("@Smoney #send €12 @bob @carol", E("two_recipients", "en")),
    C("@Smoney #envoyer 12€", E("no_recipient")),
    C("@Smoney #envoyer 12€ à bob", E("no_recipient")),
    C("@Smoney #envoyer 12€ @alice", E("self_recipient")),
    C("@Smoney #send €12 @Alice", E("self_recipient", "en")),
    C("@Smoney #envoyer 12€ @Smoney", E("bot_recipient")),
    C("@Smoney #send €12 @smoney", E("bot_recipient", "en")),
    C("@Smoney #envoyer @bob", E("missing_amount")),
    C("@Smoney #send @bob thanks", E("missing_amount", "en")),
    C("@Smoney #envoyer @bob pour 2 pizzas", E("missing_amount")),
    C("@Smoney #envoyer", E("missing_amount")),
    C("@Smoney #envoyer 300€ @bob", S(30_000, "bob")),
    C("@Smoney #send €501 @bob", E("above_cap", "en")),
    C("@Smoney #envoyer #don 12€ @bob", E("two_commands")),
    C("@Smoney #send #pay €12 @bob", E("two_commands", "en")),
    # non-ASCII digits: refused on purpose
    C("@Smoney #envoyer １２€ @bob", E("non_ascii_digits")),
    C("@Smoney #envoyer ١٢€ @bob", E("non_ascii_digits")),
    C("@Smoney #envoyer ۱۲ € @bob", E("non_ascii_digits")),
    C("@Smoney #send €१२ @bob", E("non_ascii_digits", "en")),
    # --- donate ---------------------------------------------------------------------------------
    C("@Smoney #don 20€ @restos_du_coeur", D(2000, "restos_du_coeur")),
    C("@Smoney #don 500€ @restos_du_coeur", D(50000, "restos_du_coeur")),
    C("@Smoney #don 500,01€ @restos_du_coeur", E("above_cap")),
    C("@Smoney #donner 15 € @cagnotte_lea pour Léa", D(1500, "cagnotte_lea", "pour Léa")),
    C("@Smoney #Don @restos_du_coeur 10€", D(1000, "restos_du_coeur")),
    C("@Smoney #donate €25 @restos_du_coeur keep it up", D(2500, "restos_du_coeur",
                                                          "keep it up", "en")),
    C("@Smoney #DONATE 300 EUR @cagnotte_lea", D(30000, "cagnotte_lea", "", "en")),
    C("@Smoney #don 10€", E("no_recipient")),
    C("@Smoney #donate @restos_du_coeur", E("missing_amount", "en")),
    C("@Smoney #don 10€ @Smoney", E("bot_recipient")),
    # --- request --------------------------------------------------------------------------------
    C("@Smoney #demander 12€ @bob resto de samedi", R(1200, "bob", "resto de samedi")),
    C("@Smoney #demander @bob 7,50 €", R(750, "bob")),
    C("@Smoney #Demander 45 € @carol place de concert", R(4500, "carol", "place de concert")),
    C("@Smoney #request €12 @bob lunch", R(1200, "bob", "lunch", "en")),
    C("@Smoney #request 12.50 EUR @carol", R(1250, "carol", "", "en")),
    C("@Smoney #demander 300€ @bob", R(30_000, "bob")),
    C("@Smoney #demander 501€ @bob", E("above_cap")),
    C("@Smoney #demander 12€ @alice", E("self_recipient")),
    C("@Smoney #request @bob", E("missing_amount", "en")),
    # --- other commands -------------------------------------------------------------------------
    C("@Smoney #solde", E("dm_only")),
    C("@Smoney #balance", E("dm_only", "en")),
    C("@Smoney #solde stp", E("dm_only")),
    C("#solde", ShowBalance("fr"), DM),
    C("#balance", ShowBalance("en"), DM),
    C("#Solde ?", ShowBalance("fr"), DM),
    C("@Smoney #historique", E("dm_only")),
    C("#historique", ShowHistory("fr"), DM),
    C("#historique 10", ShowHistory("fr", 10), DM),
    C("#history 3", ShowHistory("en", 3), DM),
    C("#history", ShowHistory("en"), DM),
    C("#historique 0", E("bad_history_count"), DM),
    C("#historique 500", E("bad_history_count"), DM),
    C("#history -2", E("bad_history_count", "en"), DM),
    C("#historique 2,5", E("bad_history_count"), DM),
    C("#historique stp", ShowHistory("fr"), DM),
    C("@Smoney #annuler", Cancel("fr")),
    C("@Smoney #annuler TP-7K2Q", Cancel("fr", "TP-7K2Q")),
    C("@Smoney #annuler le paiement à bob", Cancel("fr")),
    C("@Smoney #cancel 8F3A9", Cancel("en", "8F3A9")),
    C("#cancel", Cancel("en"), DM),
    C("@Smoney #aide", Help("fr")),
    C("@Smoney #help", Help("en")),
    C("#AIDE", Help("fr"), DM),
    C("@Smoney #inscription", SignUp("fr")),
    C("#signup", SignUp("en"), DM),
    C("@Smoney #compte", ShowAccount("fr")),
    C("#account", ShowAccount("en"), DM),
    C("@Smoney #stop", Stop("fr")),
    C("@Smoney #stop please", Stop("en")),
    C("#STOP merci", Stop("fr"), DM),
    # --- DMs ------------------------------------------------------------------------------------
    C("#envoyer 12,99€ @bob merci", S(1299, "bob", "merci"), DM),
    C("#send €12.99 @bob", S(1299, "bob", "", "en"), DM),
    C("#envoyer 12€ @bob", S(1200, "bob", resolved=False), DM, ids=False),
    C("#envoyer 12€ @Smoney", E("bot_recipient"), DM, ids=False),
    C("#envoyer 12€ @alice", E("self_recipient"), DM, ids=False),
    C("#envoyer 12€ @inconnu_42", S(1200, "inconnu_42", resolved=False), DM),
    C("#don 10€ @restos_du_coeur", D(1000, "restos_du_coeur"), DM),
    C("#demander 5€ @carol", R(500, "carol"), DM),
    C("bonjour, #envoyer 5 € @bob stp", S(500, "bob", "bonjour, stp"), DM),
    # --- not a command --------------------------------------------------------------------------
    C("@Smoney bonjour !", E("no_command")),
    C("@Smoney hello there, how does this work?", E("no_command", "en")),
    C("@Smoney envoyer 12€ @bob", E("no_command")),
    C("@Smoney #envoyé 12€ @bob", E("did_you_mean")),
    C("@Smoney #merci", E("no_command")),
    C("", E("no_command")),
    C("   ", E("no_command")),
    C("@Smoney", E("no_command")),
    C("@Smoney #123", E("no_command")),
    C("@Smoney https://example.com/#envoyer 12€ @bob", E("no_command")),
    C("@Smoney #\u0435nvoyer 12€ @bob", E("did_you_mean")),  # Cyrillic е in the tag
    # --- hostile input --------------------------------------------------------------------------
    C("@Smoney #env\u200boyer 12€ @bob", E("hidden_characters")),
    C("@Smoney #env\u200doyer 12€ @bob", E("hidden_characters")),
    C("@Smoney #\u200benvoyer 12€ @bob", E("hidden_characters")),
    C("@Smoney \u200b#envoyer 12€ @bob", E("hidden_characters")),
    C("@Smoney #envoyer\ufeff 12€ @bob", E("hidden_characters")),
    C("@Smoney #envoyer \u200b12€ @bob", E("hidden_characters")),
    C("@Smoney #envoyer 12€ @bob \u202e!icrem", E("hidden_characters")),
    C("@Smoney #envoyer \u202d21€ @bob", E("hidden_characters")),
    C("@Smoney #send \u2067€12\u2069 @bob", E("hidden_characters", "en")),
    C("@Smoney #envoyer 12€ @b\u043eb", E("suspicious_handle")),  # Cyrillic о after "@b"
    C("@Smoney #envoyer 12€ @\u0432\u043eb", E("suspicious_handle")),
    C("@Smoney #send €12 @bob\u200b", E("suspicious_handle", "en")),
    C("@Smoney #envoyer 12€ @bobé", E("suspicious_handle")),
    C("@Smoney #envoyer 12€ @bob merci\u200b\u200c beaucoup", S(1200, "bob", "merci beaucoup")),
    C("@Smoney #envoyer 12€ @bob \x07bip\x00", S(1200, "bob", "bip")),
    C("@Smoney #envoyer 12€ @bob <script>alert(1)</script>",
      S(1200, "bob", "<script>alert(1)</script>")),
    C("@Smoney #envoyer 12€ @bob <b>merci</b> &amp; <img src=x onerror=alert(1)>",
      S(1200, "bob", "<b>merci</b> &amp; <img src=x onerror=alert(1)>")),
    C("@Smoney #envoyer 12€ @bob '; DROP TABLE users; --",
      S(1200, "bob", "'; DROP TABLE users; --")),
    C("@Smoney #envoyer 12€ @bob " + "x" * 300, S(1200, "bob", "x" * 140)),
    C("#envoyer 12€ @bob " + "merci " * 1600, S(1200, "bob", ("merci " * 24)[:140].rstrip()),
      DM),
    C("#envoyer 12€ @bob " + "a" * 9990, E("too_long"), DM),
    C("@Smoney #envoyer 12€ @bob e\u0301te\u0301", S(1200, "bob", "été")),
]
