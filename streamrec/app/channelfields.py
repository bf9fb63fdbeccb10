"""A playlist entry as a channel's fields, written literally: an entry in, values out (no I/O).

``import m3u`` (``cli.importing``) writes :func:`channel_fields` of each entry and compares them with
what an earlier import wrote (``core.reimport``). Every value from the playlist passes
:func:`~streamrec.spec.interpolate.escape`, so the file loads as the playlist's own text and reads no
environment variable. The fields an import owns are ``core.reimport``'s ``MANAGED``; the others (``enabled``,
``schedule``, ``segment``, ...) are the user's and a re-import never touches them.

- ``url``, ``category`` (the slug of the first ``group-title``), ``import_key`` (the entry's
  identity, :attr:`~streamrec.core.m3u.Entry.key`);
- ``description``: the title, with the decorations taken out of the name (``720p``, ``Not 24/7``)
  in brackets after it;
- ``resolver``: only when it is not ``direct`` (a page URL that streamlink or yt-dlp resolves);
- ``input_args``: the entry's HTTP headers as ffmpeg input options: ``-user_agent``, ``-referer``
  and, for the others, one ``-headers`` value of ``Name: value`` lines each ending in CRLF. A
  header whose name or value holds a control character (a line break would add headers of its
  own) is left out and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from streamrec.core.m3u import Entry, slugify
from streamrec.core.reimport import KEY_FIELD
from streamrec.spec.interpolate import escape

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_OWN_OPTION = {"user-agent": "-user_agent", "referer": "-referer"}


@dataclass(frozen=True)
class Fields:
    """The managed fields of one channel (escaped, as written) and what was left out, and why."""

    values: dict[str, Any]
    notes: tuple[str, ...] = ()


def category_of(entry: Entry) -> tuple[str, str] | None:
    """The category slug of the entry's first group, and the group's text; None without one."""
    group = entry.group.split(";")[0].strip() if entry.group else ""
    return (slugify(group), group) if group else None


def _headers(entry: Entry) -> dict[str, str]:
    headers = dict(getattr(entry, "headers", {}) or {})
    if not headers:  # a parser without headers: the #EXTVLCOPT options it always had
        for option, name in (("http-user-agent", "User-Agent"), ("http-referrer", "Referer")):
            if value := entry.options.get(option):
                headers[name] = value
    return headers


def header_args(headers: dict[str, str]) -> tuple[list[str], list[str]]:
    """ffmpeg input options sending ``headers``, and a note for each header left out."""
    args: list[str] = []
    lines: list[str] = []
    notes: list[str] = []
    for name, value in headers.items():
        if not _TOKEN.match(name) or _CONTROL.search(value):
            notes.append(f"header {name[:40]!r} has a control character or is not a name: left out")
            continue
        own = _OWN_OPTION.get(name.lower())
        if own:
            args += [own, escape(value)]
        else:
            lines.append(f"{name}: {escape(value)}\r\n")
    if lines:
        args += ["-headers", "".join(lines)]
    return args, notes


def description_of(entry: Entry) -> str:
    """The title, then the decorations taken out of the name, in brackets."""
    tags = [t for t in getattr(entry, "tags", ()) if t and t not in entry.title]
    return entry.title + "".join(f" [{tag}]" for tag in tags)


def channel_fields(entry: Entry, category: str | None) -> Fields:
    """The managed fields of ``entry`` as they are written (every playlist value escaped)."""
    values: dict[str, Any] = {"url": escape(entry.url)}
    if category:
        values["category"] = escape(category)
    values["description"] = escape(description_of(entry))
    resolver = getattr(entry, "resolver", "direct") or "direct"
    if resolver != "direct":
        values["resolver"] = resolver
    args, notes = header_args(_headers(entry))
    if args:
        values["input_args"] = args
    values[KEY_FIELD] = escape(entry_key(entry))
    return Fields(values, tuple(notes))


def entry_key(entry: Entry) -> str:
    """The entry's identity: the parser's :attr:`~streamrec.core.m3u.Entry.key`."""
    key: str = getattr(entry, "key", "") or ""
    if key:
        return key
    if entry.tvg_id:
        return f"tvg-id:{entry.tvg_id}"
    return f"url:{entry.url}"


def comment_of(entry: Entry) -> str | None:
    """The comment line above a new channel: its ``tvg-name``, ``tvg-id`` and ``tvg-logo``."""
    parts = [
        f"tvg-{key}: {value}" for key, value in (("id", entry.tvg_id), ("logo", entry.tvg_logo))
    ]
    if entry.tvg_name and entry.tvg_name != entry.title:
        parts.insert(0, f"tvg-name: {entry.tvg_name}")
    kept = [part for part in parts if not part.endswith(": None")]
    return ", ".join(kept) if kept else None
