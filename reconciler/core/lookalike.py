"""Names that look like other names: an email, a host or a workspace name a reviewer
reads as one thing and the API takes as another (``cleo@ex\u0430mple.com`` with a Cyrillic
``\u0430``).

Each word of a name (a domain label, an email's local part, a word of a workspace
name) is checked on its own, as browsers check a domain's labels: a word may be
Greek or Han, but one word of two scripts, a non-Latin word every letter of which has
a Latin look-alike, or a character that stands for another (fullwidth ``\uff45``, a
ligature) is named, with what it looks like. Unicode's confusables and scripts
(TR39) come from ``confusable_homoglyphs``; pure ASCII never loads them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_WORD = re.compile(r"[^\W_]+")


def lookalike(name: str) -> str | None:
    """Why ``name`` may not be what it looks like, in a clause a sentence can end with
    (None: it is what it looks like)."""
    if name.isascii():
        return None
    from confusable_homoglyphs import confusables

    normal = unicodedata.normalize("NFKC", name)
    if normal != unicodedata.normalize("NFC", name):
        stands = next(c for c in name if unicodedata.normalize("NFKC", c) != c)
        return f"{_said(stands)} stands for {unicodedata.normalize('NFKC', stands)!r}"
    for word in _WORD.findall(normal):
        if word.isascii():
            continue
        foreign = _foreign(word, confusables)
        if confusables.is_mixed_script(word, allowed_aliases=["COMMON", "INHERITED"]):
            scripts = " and ".join(sorted(_scripts(word)))
            first = foreign[:1]
            looks = "".join(f"; {_said(f['character'])} looks like {_latin(f)!r}" for f in first)
            return f"{word!r} mixes {scripts} letters{looks}"
        letters = {c for c in word if c.isalpha()}
        if foreign and {f["character"] for f in foreign} >= letters:
            script = next(iter(_scripts(word)))
            latin = _spelled(word, foreign)
            return f"{word!r} is all {script} letters that look like Latin {latin!r}"
    return None


def _foreign(word: str, confusables: Any) -> list[dict[str, Any]]:
    """The letters of ``word`` that are not Latin and look like a Latin one."""
    found = confusables.is_confusable(word, greedy=True, preferred_aliases=["LATIN"])
    return [f for f in found or () if f["alias"] not in ("COMMON", "INHERITED")]


def _latin(found: dict[str, Any]) -> str:
    return str(found["homoglyphs"][0]["c"])


def _spelled(word: str, found: list[dict[str, Any]]) -> str:
    """``word`` as a reader sees it: each look-alike read as its Latin letter."""
    latin = {f["character"]: _latin(f) for f in found}
    return "".join(latin.get(c, c) for c in word)


def _scripts(word: str) -> set[str]:
    from confusable_homoglyphs import categories

    return {
        categories.alias(c).capitalize()
        for c in word
        if categories.alias(c) not in ("COMMON", "INHERITED")
    }


def _said(character: str) -> str:
    """A character by its code point and name: ``U+0430 CYRILLIC SMALL LETTER A``."""
    return f"U+{ord(character):04X} {unicodedata.name(character, 'unnamed')}"
