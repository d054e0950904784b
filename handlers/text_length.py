"""How long a text is for X: the weighted length that decides whether a post fits.

X does not count characters. It counts a *weighted length* (twitter-text, configuration v3):

- a code point in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F or U+2032–U+2037 weighs 1
  (Latin, accented Latin, Greek, Cyrillic, Hebrew, Arabic, general punctuation…);
- every other code point weighs 2 (CJK, ``€`` U+20AC, the narrow no-break space U+202F…);
- an emoji sequence (with skin tones, ZWJ families, flags) weighs 2 as a whole;
- a URL, with or without ``https://``, weighs 23 whatever its length (it becomes a t.co link);
- the text is NFC-normalised first; the limit is 280.

``twitter-text-parser`` is a port of X's own twitter-text library that passes its official
conformance suite, so this module delegates to it rather than re-implementing the rule.
"""

from __future__ import annotations

from twitter_text import parse_tweet

MAX_TWEET_LENGTH = 280


def tweet_length(text: str) -> int:
    """The weighted length of ``text`` as X counts it (``"12,99 €"`` is 8: ``€`` weighs 2)."""
    return parse_tweet(text).weightedLength


def fits_in_tweet(text: str) -> bool:
    """True when X would accept ``text`` as a post: not empty, ≤ 280, no invalid code point."""
    result = parse_tweet(text)
    return result.valid and 0 < result.weightedLength <= MAX_TWEET_LENGTH
