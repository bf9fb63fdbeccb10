"""One file's text edited, and the result checked against what the edit means.

:func:`edit_text` is called by ``spec.editing.editor`` for each file an edit touches (and by tests
on plain text). It reads the text as the loader does (``spec.yamlio``), works out what it should
mean after the ops (:func:`~streamrec.spec.editing.ops.intended`), then tries the ways of making
the edit in order: splices of the original text (``spec.editing.splicing``), which keep every
other byte, then ruamel's full round trip (``spec.editing.roundtrip``), which keeps comments and
order but may reformat. A result is taken only when it reads back as meant; when neither way gives
one, nothing is guessed (:class:`~streamrec.spec.editing.ops.EditError`). A byte order mark and
CRLF line ends are taken off before and put back after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamrec.errors import ConfigError
from streamrec.spec.editing.ops import EditError, Op, TryAnotherWay, intended, plain
from streamrec.spec.editing.roundtrip import round_trip
from streamrec.spec.editing.spans import documents, indent_step
from streamrec.spec.editing.splicing import splice
from streamrec.spec.yamlio import read_documents


def meaning(path: str, text: str) -> list[Any]:
    """The plain documents of ``text`` as the loader reads them (an empty section as ``{}``)."""
    docs_read, problems = read_documents(path, text)
    if problems:
        raise ConfigError(problems)
    docs = [plain(doc) for doc, _ in docs_read if doc is not None]
    for doc in docs:
        if isinstance(doc, dict):
            doc.update({k: {} for k, v in doc.items() if v is None})
    return docs


def _round_trip(text: str, ops: Sequence[Op]) -> str:
    step = indent_step(documents(text)[0]) if text.strip() else 2
    return round_trip(text, ops, step)


def edit_text(text: str, ops: Sequence[Op], path: str = "<text>") -> str:
    """``text`` with ``ops`` applied, every other byte kept where a splice can do it."""
    crlf = "\r\n" in text and "\n" not in text.replace("\r\n", "")
    bom = text.startswith("\ufeff")
    body = (
        text.removeprefix("\ufeff").replace("\r\n", "\n") if crlf else text.removeprefix("\ufeff")
    )
    want = intended(path, meaning(path, body), ops)
    result = None
    for method in (splice, _round_trip):
        try:
            candidate = method(body, ops)
        except TryAnotherWay:
            continue
        try:
            if meaning(path, candidate) == want:
                result = candidate
                break
        except ConfigError:
            continue
    if result is None:
        raise EditError(
            f"{path}: cannot make this edit without changing other entries; edit by hand"
        )
    if crlf:
        result = result.replace("\n", "\r\n")
    return ("\ufeff" if bom else "") + result
