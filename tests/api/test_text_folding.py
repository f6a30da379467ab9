"""Folding keys (search, quote checks, quote hashes): the ASCII fast paths agree with the
full Unicode path, which the stored keys and hashes were made with."""

from __future__ import annotations

import random
import unicodedata

from app.text import _QUOTES, _WS, fold, fold_quote, quote_hash


def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WS.sub(" ", stripped.translate(_QUOTES).casefold()).strip()


def _fold_quote_unicode(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFC", text).translate(_QUOTES)).strip()


def test_ascii_fast_paths_match_the_unicode_path() -> None:
    rng = random.Random(7)
    alphabet = [chr(i) for i in range(128)]
    weights = [5 if c.isspace() else 1 for c in alphabet]  # runs of mixed white space
    for _ in range(20_000):
        text = "".join(rng.choices(alphabet, weights, k=rng.randint(0, 25)))
        assert fold(text) == _fold_unicode(text), repr(text)
        assert fold_quote(text) == _fold_quote_unicode(text), repr(text)


def test_folding_outside_ascii() -> None:
    assert fold("  Al-Sharaa\u00a0Élysée ") == "al-sharaa elysee"
    assert fold_quote("“Iraq’s\u2028 ties”") == '"Iraq\'s ties"'
    assert quote_hash("Iraq and  Syria") == quote_hash(" Iraq and Syria ")
