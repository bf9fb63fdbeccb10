"""Editing config files in place: add, update and remove channels, categories and settings.

Called by ``streamrec channel add/remove``, ``category add`` and ``import m3u`` (``cli.channels``)
and by the container entrypoint (``docker/entrypoint.py``), through the names exported here. The
one place that *writes* YAML (``spec.yamlio`` is the one that reads it).

An edit keeps every byte it does not have to change: it finds the spans to touch from the
positions of ruamel's parser events and splices freshly rendered text (in the file's own
indentation, quote style and flow or block style) into the original. The result is read back and
compared with what the edit meant; only when a splice cannot express the edit (an entry behind an
alias, an explicit document end) does it fall back to a full round trip, checked the same way.
Nothing is written unless the whole directory still validates.

The modules, in the order an edit passes them:

- ``ops``: what an edit is (:class:`Upsert`, :class:`Remove`, :class:`FileChange`,
  :class:`EditError`) and what a file should mean after it.
- ``spans``: where the declarations stand in a file's text (nodes with character spans).
- ``roundtrip``: the only module using ruamel's round-trip API: new text in the file's style, and
  the full round trip.
- ``splicing``: adding, changing and removing entries as splices of the original text.
- ``text``: :func:`edit_text`, one file's text edited one way or the other and checked.
- ``editor``: :class:`ConfigEdit`, one directory's edits read within the loader's limits, checked
  together with ``load_config`` and written atomically.
"""

from __future__ import annotations

from streamrec.spec.editing.editor import DEFAULT_FILE, ConfigEdit
from streamrec.spec.editing.ops import EditError, FileChange, Op, Remove, Upsert
from streamrec.spec.editing.text import edit_text

__all__ = [
    "DEFAULT_FILE",
    "ConfigEdit",
    "EditError",
    "FileChange",
    "Op",
    "Remove",
    "Upsert",
    "edit_text",
]
