"""User text made safe to print on one line: control and format characters shown as escapes.

Called by the CLI for every user-supplied value it puts in a table or a line (names, descriptions,
URLs, file names, categories) and by the log sink (``cli.app``) for the message of every log
record, so that a value holding a newline cannot forge a second log line, an ANSI sequence cannot
recolour or erase the terminal, and a right-to-left override (U+202E) cannot reorder what follows.
Pure.

What is escaped, the way Python writes it in a string literal:

- newline, carriage return and tab as ``\\n``, ``\\r``, ``\\t`` (a backslash already in the text
  is left as it is);
- every other control character (category Cc: C0, DEL, C1) as ``\\xHH``;
- format characters (category Cf: bidi overrides and isolates, zero-width joiners, soft hyphen,
  byte order mark), line and paragraph separators (Zl, Zp), surrogates and unassigned code points
  as ``\\uHHHH`` (or ``\\UHHHHHHHH``).

Markup is a separate matter: the CLI prints with rich's markup and emoji codes off, so ``[vip]``
and ``:thumbs_up:`` are shown as written.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
_cache: dict[str, str] = {}


def _escape_char(char: str) -> str:
    cached = _cache.get(char)
    if cached is not None:
        return cached
    code = ord(char)
    if char in _NAMED:
        shown = _NAMED[char]
    elif unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        shown = char
    elif code < 0x100:
        shown = f"\\x{code:02x}"
    elif code < 0x10000:
        shown = f"\\u{code:04x}"
    else:
        shown = f"\\U{code:08x}"
    if len(_cache) < 4096:
        _cache[char] = shown
    return shown


def printable(text: str) -> str:
    """``text`` with each control, format or separator character written as an escape."""
    if text.isprintable() and text.isascii():
        return text  # the common case, and fast
    return "".join(_escape_char(char) for char in text)


def printable_or(value: object, empty: str = "") -> str:
    """``printable(str(value))``, or ``empty`` for None and the empty string."""
    if value is None or value == "":
        return empty
    return printable(str(value))
