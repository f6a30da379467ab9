"""Text normalisation: folding for search keys and quote checks, slugs, and strict text rules."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WS = re.compile(r"\s+")
_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "«": '"',
        "»": '"',
    }
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]")
_NON_SLUG = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Case- and accent-insensitive key: NFKD, marks dropped, casefolded, spaces collapsed."""
    if text.isascii():  # nothing to decompose or translate (a fast path for bulk imports)
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WS.sub(" ", stripped.translate(_QUOTES).casefold()).strip()


def fold_quote(text: str) -> str:
    """Key for verbatim checks: NFC, typographic quote marks made plain, white space folded."""
    if text.isascii():  # already NFC, and no typographic quote marks
        return " ".join(text.split())
    return _WS.sub(" ", unicodedata.normalize("NFC", text).translate(_QUOTES)).strip()


def slugify(name: str) -> str:
    """A stable slug for a name; non-Latin names get a short hash so they still have one."""
    ascii_form = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_form.lower()).strip("-")[:120]
    if slug:
        return slug
    return "actor-" + hashlib.sha256(fold(name).encode()).hexdigest()[:12]


def quote_hash(quote: str) -> str:
    return hashlib.sha256(fold_quote(quote).encode()).hexdigest()


def check_text(value: str, *, single_line: bool) -> str:
    """NFC-normalise and refuse NUL, lone surrogates and control characters."""
    ascii_only = value.isascii()  # then no surrogates, and already NFC
    if not ascii_only:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text contains an unpaired surrogate") from None
    if _CONTROL.search(value):
        raise ValueError("text contains a control character")
    if single_line and (_LINE_BREAKS.search(value) or "\t" in value):
        raise ValueError("text may not contain line breaks or tabs")
    return value if ascii_only else unicodedata.normalize("NFC", value)
