"""Recording file names: a channel's filename template rendered safely inside ``recordings_dir``.

Called by the recorder (``runtime.recorder``) each time ffmpeg closes a file, to give that file its
final name, and by ``streamrec channel command`` to show where files go. Pure: the start time and
the zone are arguments.

Every field that comes from a name someone typed (channel, category) is made safe on its own before
the template is rendered, so no name can escape ``recordings_dir`` or land in another channel's files:

- ``/``, ``\\``, NUL, control and format characters (bidi overrides) and ``:*?"<>|`` become ``_``;
- leading dots and spaces, trailing dots and spaces are removed (no ``..``, no hidden files);
- a name Windows reserves for a device (``CON``, ``nul``, ``COM1``, ``lpt9.txt``, ...:
  :data:`WINDOWS_RESERVED`, in any case, with or without an extension) counts as changed;
- a name longer than :data:`MAX_FIELD_BYTES` bytes of UTF-8 is cut;
- a name that had to be changed at all gets ``-`` and 8 hex digits of a hash of the original, so two
  different names never end up the same (``a/b`` and ``a_b`` stay apart);
- unicode letters are kept (normalised to NFC).

A channel without a category renders ``{category}`` as :data:`NO_CATEGORY` (``uncategorized``).
The rendered path is checked once more as a whole: relative, no empty, ``.`` or ``..`` component.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
from datetime import datetime, tzinfo
from pathlib import PurePosixPath

NO_CATEGORY = "uncategorized"
"""What ``{category}`` renders to for a channel without a category."""
MAX_FIELD_BYTES = 96
"""The longest a rendered channel or category name may be, in bytes of UTF-8."""
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"{port}{digit}" for port in ("com", "lpt") for digit in (*"123456789", "¹", "²", "³")}
)
"""Device names Windows will not open as files, whatever their extension (lower-case)."""
_REPLACED = set('/\\:*?"<>|')
_HASH_LEN = 8


def _unsafe(ch: str) -> bool:
    return ch in _REPLACED or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def safe_component(name: str, max_bytes: int = MAX_FIELD_BYTES) -> str:
    """``name`` as one safe path component; changed names carry a hash of the original."""
    text = unicodedata.normalize("NFC", name)
    cleaned = "".join("_" if _unsafe(ch) else ch for ch in text)
    cleaned = cleaned.lstrip(". ").rstrip(". ")
    reserved = cleaned.split(".", 1)[0].rstrip(" ").casefold() in WINDOWS_RESERVED
    if cleaned == name and cleaned and not reserved and len(cleaned.encode("utf-8")) <= max_bytes:
        return cleaned
    if reserved:  # "con.txt-1a2b3c4d" would still be CON to Windows: "con_txt-1a2b3c4d" is not
        cleaned = cleaned.replace(".", "_", 1)
    digest = hashlib.sha256(name.encode("utf-8", errors="surrogatepass")).hexdigest()[:_HASH_LEN]
    head = _cut(cleaned, max_bytes - _HASH_LEN - 1).rstrip(". ")
    return f"{head}-{digest}" if head else f"_-{digest}"


def render_filename(
    template: str,
    *,
    channel: str,
    category: str | None,
    start: datetime,
    zone: tzinfo,
    ext: str,
    index: int = 0,
) -> PurePosixPath:
    """The relative path of a recording file, for a template validated by ``spec.units``.

    ``start`` must be timezone-aware; it is shown in ``zone`` (the settings time zone).
    Raises ``ValueError`` if the result would not be a plain relative path.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    values = {
        "channel": safe_component(channel),
        "category": safe_component(category) if category else NO_CATEGORY,
        "start": start.astimezone(zone),
        "ext": safe_component(ext),
        "index": index,
    }
    rendered = string.Formatter().vformat(template, (), values)
    path = PurePosixPath(rendered)
    parts = rendered.split("/")
    if path.is_absolute() or any(p in ("", ".", "..") or "\x00" in p for p in parts):
        raise ValueError(f"filename template {template!r} renders to an unsafe path {rendered!r}")
    return path


def with_counter(path: PurePosixPath, counter: int) -> PurePosixPath:
    """``a/b.ts`` -> ``a/b-2.ts``: the name used when ``path`` is taken already."""
    return path.with_name(f"{path.stem}-{counter}{path.suffix}")


EXTENSIONS = {"ts": "ts", "mkv": "mkv", "mp4": "mp4"}
"""The file extension of each recording format (mp4 is written fragmented)."""
