"""Names from titles: Unicode-aware slugs that are safe file and directory names everywhere.

``core.m3u`` names each playlist entry with :func:`name_and_tags` (and ``import m3u`` its
categories with :func:`slugify`); the names become channel names in the config and, through
``core.filenames``, recording directories and file names. Pure: text in, text out.

How a title becomes a name:

- decoration symbols are dropped before anything else: emoji, arrows, stars, enclosed letters
  such as Ⓖ or 🅨 (Unicode symbol categories ``So``, ``Sk``, ``Sm`` and the enclosed alphanumerics
  blocks; the enclosed letters are kept as tags, the rest are noise);
- the text is NFKC-normalised (full-width ``ＢＳ`` is ``BS``, ``²`` is ``2``);
- quality and status decorations become tags instead of parts of the name (:func:`split_tags`):
  ``720p``, ``1080i``, ``4K``, ``HD``, ``FHD``, ``UHD``, ``SD`` as words or in brackets, and
  ``[Not 24/7]``, ``[Geo-blocked]``, ``(backup)``, ``[offline]``: the same channel at another
  quality is the same name, not a new one;
- letters and digits of every script are kept (``str.isalnum``), with the combining marks that
  follow them (the vowel signs of Devanagari or Thai, Hebrew points); Latin letters lose their
  accents (``Canlı`` is ``canli``, ``Straße`` is ``strasse``: what people type), other scripts
  keep theirs (``Беларусь 1`` is ``беларусь-1``, ``BS朝日`` is ``bs朝日``, ``כאן 11`` is
  ``כאן-11``); everything is case-folded where the script has case;
- ``+`` next to a letter or digit is ``plus`` (``Canal+`` is ``canal-plus``, not ``canal``);
  every other character separates words, written ``-``;
- the result is at most :data:`MAX_CHARS` characters and :data:`MAX_BYTES` bytes of UTF-8, cut
  between characters (never between a letter and its marks), with no ``-`` at either end, and
  never a name Windows reserves (``con``, ``nul``, ``com1``, ...: those get ``-channel``).

So a slug holds only letters, digits, marks and ``-``: no ``/ \\ : * ? " < > |``, no control or
formatting character, no dot, never ``.`` or ``..``, no trailing dot or space. It is already NFC,
and :func:`slugify` of a slug is the slug itself.
"""

from __future__ import annotations

import re
import unicodedata

from streamrec.core.filenames import MAX_FIELD_BYTES, WINDOWS_RESERVED

MAX_CHARS = 64
"""The longest a slug is, in characters."""
MAX_BYTES = MAX_FIELD_BYTES
"""The longest a slug is, in bytes of UTF-8: what ``core.filenames`` keeps unchanged."""
FALLBACK = "channel"
"""The slug of a text without a letter or digit."""

_SYMBOLS = frozenset({"So", "Sk", "Sm"})
_ENCLOSED = ((0x2460, 0x24FF), (0x2776, 0x2793), (0x3248, 0x32FF), (0x1F100, 0x1F1FF))
"""Circled and parenthesised digits and letters (①, Ⓖ, ㉑, 🅖): markers, whatever NFKC makes of them."""
_FOLD = str.maketrans({"ı": "i", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d"})
_PLUS = re.compile(r"(?<=[^\W_])\+|\+(?=[^\W_])")

_QUALITY = r"(?:[0-9]{3,4}[pPiI](?:[0-9]{2})?|[48][kK]|[fFuU]?[hH][dD]|[sS][dD]|[uU][hH][dD])"
_STATUS = frozenset(
    {"not 24/7", "24/7", "geo-blocked", "geoblocked", "geo blocked", "backup", "offline"}
)
"""Status notes in brackets (compared case-folded): tags, not parts of a name."""
_BRACKETS = re.compile(r"\(([^()\[\]]*)\)|\[([^()\[\]]*)\]")
_WORD_TAG = re.compile(rf"(?<![^\W_]){_QUALITY}(?![^\W_])")
_QUALITY_ONLY = re.compile(rf"{_QUALITY}\Z")


def _enclosed(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ENCLOSED)


def _markers(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with decoration symbols made spaces, and its enclosed letters (``Ⓖ``) as tags."""
    kept: list[str] = []
    markers: list[str] = []
    for char in text:
        if _enclosed(char):
            kept.append(" ")
            if char not in markers and unicodedata.normalize("NFKC", char).isalpha():
                markers.append(char)
        elif unicodedata.category(char) in _SYMBOLS and char != "+":  # "+" can be a word
            kept.append(" ")
        else:
            kept.append(char)
    return "".join(kept), tuple(markers)


def _is_tag(text: str) -> bool:
    text = " ".join(text.split())
    return bool(text) and (_QUALITY_ONLY.match(text) is not None or text.casefold() in _STATUS)


def split_tags(title: str) -> tuple[str, tuple[str, ...]]:
    """The title without its decorations, and those decorations in order: its enclosed letters
    (``Ⓖ``) first, then quality and status tags.

    ``AXN (720p) [Not 24/7]`` is ``("AXN", ("720p", "Not 24/7"))``. A title that is nothing but
    quality and status (``HD``) keeps them, with no tags: a name needs something to be made of.
    """
    plain, markers = _markers(title)
    text = unicodedata.normalize("NFKC", plain)
    found: list[tuple[int, str]] = []

    def bracket(match: re.Match[str]) -> str:
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        parts = [" ".join(part.split()) for part in inner.split(",")]
        if not all(_is_tag(part) for part in parts):
            return match.group(0)
        found.extend((match.start(), part) for part in parts)
        return " " * len(match.group(0))  # same length: later positions stay comparable

    def word(match: re.Match[str]) -> str:
        found.append((match.start(), match.group(0)))
        return " "

    without = _WORD_TAG.sub(word, _BRACKETS.sub(bracket, text))
    if not any(char.isalnum() for char in without):
        return " ".join(text.split()), markers
    tags = tuple(tag for _, tag in sorted(found, key=lambda item: item[0]))
    return " ".join(without.split()), markers + tags


def _fold_latin(char: str) -> str | None:
    """A Latin letter without its accents (``ş`` is ``s``), or None for any other character."""
    if not unicodedata.name(char, "").startswith("LATIN "):
        return None
    folded = unicodedata.normalize("NFKD", char.lower().translate(_FOLD))
    base = "".join(c for c in folded if not unicodedata.combining(c))
    return base if base.isascii() and base.isalnum() else None


def _words(text: str) -> str:
    """Letters, digits and their marks, case-folded; runs of anything else as one ``-``.

    The marks after a Latin letter that lost its accents go with them: ``a`` and a combining
    acute is ``a``, as ``á`` is.
    """
    out: list[str] = []
    marks = False  # whether a mark here belongs to a letter that keeps its marks
    for char in text:
        if char.isalnum():
            folded = _fold_latin(char)
            out.append(char.casefold() if folded is None else folded)
            marks = folded is None
        elif unicodedata.category(char).startswith("M"):
            if marks:
                out.append(char)
        else:
            if out and out[-1] != "-":
                out.append("-")
            marks = False
    return unicodedata.normalize("NFC", "".join(out).casefold()).strip("-")


def _cut(slug: str) -> str:
    """``slug`` within :data:`MAX_CHARS` and :data:`MAX_BYTES`, cut before a letter, not a mark."""
    end = min(len(slug), MAX_CHARS)
    while end and len(slug[:end].encode("utf-8")) > MAX_BYTES:
        end -= 1
    while 0 < end < len(slug) and unicodedata.category(slug[end]).startswith("M"):
        end -= 1
    return slug[:end].rstrip("-")


def slugify(text: str, fallback: str = FALLBACK) -> str:
    """``text`` as a slug (decoration symbols dropped, tags kept in); ``fallback`` if nothing is left.

    ``fallback`` must itself be a slug.
    """
    plain, _ = _markers(text)
    plain = _PLUS.sub(" plus ", unicodedata.normalize("NFKC", plain))
    slug = _cut(_words(plain))
    if not slug:
        return fallback
    if slug in WINDOWS_RESERVED:
        return f"{slug}-{FALLBACK}"
    return slug


def name_and_tags(title: str, fallback: str = FALLBACK) -> tuple[str, tuple[str, ...]]:
    """The slug of ``title`` without its decorations, and the decorations (:func:`split_tags`)."""
    plain, tags = split_tags(title)
    return slugify(plain, fallback), tags


def is_slug(name: str) -> bool:
    """Whether ``name`` is what :func:`slugify` makes of it: a name this module could propose."""
    return bool(name) and slugify(name, fallback="") == name
