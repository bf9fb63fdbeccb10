"""What importing a playlist again changes: added, changed, unchanged and removed channels. Pure.

``import m3u`` (``cli.importing``) reads the channels an earlier import of the same file wrote
(each carries its entry's identity as ``import_key``) and the playlist's entries with their fields
(``app.channelfields``), and :func:`plan_import` says what to do:

- a channel's identity is its entry's key (``tvg-id``, else the stream URL, else the title),
  never its position: an entry whose key was imported before keeps that channel and its name,
  however the playlist was reordered, and however many entries of the same title it holds;
- a new entry gets the parser's proposed name, made unique against every declared name;
- two entries with one URL (or one URL key) are one channel: the later is reported as a
  duplicate; two entries under one ``tvg-id`` with their own URLs (the HD and SD variants of a
  channel) are two channels, each matched first by key and URL together, so neither moves onto
  the other's stream when one of them goes;
- an earlier channel without ``import_key`` (written before imports recorded it) is found by its URL;
- an entry whose URL another file declares already is skipped, with a note (one ``tvg-id`` in
  two playlists is often two providers' streams of one programme, so a key alone does not skip);
- channels whose entries left the playlist are ``removed``: kept unless the import prunes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamrec.core.m3u import unique_name

KEY_FIELD = "import_key"
MANAGED = ("url", "category", "description", "resolver", "input_args", KEY_FIELD)
"""The channel fields an import writes and a re-import keeps up to date; the others are the user's."""


@dataclass(frozen=True)
class Incoming:
    """One playlist entry as the import would write it."""

    key: str
    name: str
    """The parser's proposed name (used only for a new channel)."""
    fields: dict[str, Any]
    """The managed fields, as written (escaped), ``import_key`` among them."""
    line: int
    comment: str | None = None


@dataclass(frozen=True)
class Change:
    """A channel whose managed fields differ: each changed field's old and new value (None: absent)."""

    name: str
    fields: dict[str, Any]
    diffs: dict[str, tuple[Any, Any]]


@dataclass(frozen=True)
class ImportPlan:
    """What an import does to the channels of its file."""

    added: list[tuple[str, Incoming]] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)
    """Entries left out, by playlist line: duplicates and channels declared in another file."""

    @property
    def channels(self) -> int:
        """How many entries of the playlist the file holds after the import."""
        return len(self.added) + len(self.changed) + len(self.unchanged)

    def as_data(self) -> dict[str, Any]:
        """The plan as JSON-ready data (names and changed field names; no values)."""
        return {
            "added": [name for name, _ in self.added],
            "changed": {c.name: sorted(c.diffs) for c in self.changed},
            "unchanged": len(self.unchanged),
            "removed": list(self.removed),
        }


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return list(old) == list(new)
    return bool(old == new)


def plan_import(
    old: Mapping[str, Mapping[str, Any]],
    entries: Sequence[Incoming],
    taken: Collection[str] = (),
    elsewhere: Mapping[str, str] | None = None,
) -> ImportPlan:
    """The plan for ``entries`` over ``old`` (the import file's channels: name -> raw body).

    ``taken`` holds every name declared in the config (new names avoid them); ``elsewhere`` maps
    ``url:URL`` of the channels declared in other files to where they are.
    """
    elsewhere = elsewhere or {}
    plan = ImportPlan()
    kept = _deduplicated(entries, elsewhere, plan.notes, old)
    matches = _match(old, kept)
    names = set(taken) | set(old)
    for index, entry in enumerate(kept):
        name = matches.get(index)
        if name is None:
            new_name = unique_name(entry.name, names)
            names.add(new_name)
            plan.added.append((new_name, entry))
            continue
        body = old[name]
        diffs = {
            f: (body.get(f), entry.fields.get(f))
            for f in MANAGED
            if not _same(body.get(f), entry.fields.get(f))
        }
        if diffs:
            plan.changed.append(Change(name, dict(entry.fields), diffs))
        else:
            plan.unchanged.append(name)
    matched = set(matches.values())
    plan.removed.extend(name for name in old if name not in matched and _imported(old[name]))
    return plan


def _deduplicated(
    entries: Sequence[Incoming],
    elsewhere: Mapping[str, str],
    notes: list[tuple[int, str]],
    old: Mapping[str, Mapping[str, Any]],
) -> list[Incoming]:
    """The entries that become channels: one per URL (and per URL key), none whose URL another
    file declares.

    Of the entries of one stream, the one an earlier import wrote as it stands is kept (so
    reordering a playlist never swaps which title of a stream wins), else the first."""
    alias: dict[str, str] = {}
    groups: dict[str, list[Incoming]] = {}
    for entry in entries:
        url = str(entry.fields.get("url"))
        ids = [f"url:{url}"] + ([entry.key] if entry.key.startswith("url:") else [])
        group = next((alias[i] for i in ids if i in alias), ids[0])
        groups.setdefault(group, []).append(entry)
        for i in ids:
            alias.setdefault(i, group)
    written = {_fingerprint(body) for body in old.values()}
    kept = []
    for group_entries in groups.values():
        chosen = next(
            (e for e in group_entries if _fingerprint(e.fields) in written), group_entries[0]
        )
        notes.extend(
            (e.line, f"same stream as line {chosen.line}: one channel, this one skipped")
            for e in group_entries
            if e is not chosen
        )
        if where := elsewhere.get(f"url:{chosen.fields.get('url')}"):
            notes.append((chosen.line, f"same URL as {where}: skipped"))
            continue
        kept.append(chosen)
    return kept


def _fingerprint(body: Mapping[str, Any]) -> tuple[Any, ...]:
    """The managed fields of a channel body or an entry, comparable across both."""
    return tuple(_hashable(_plain(body.get(f))) for f in MANAGED)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def _match(old: Mapping[str, Mapping[str, Any]], entries: Sequence[Incoming]) -> dict[int, str]:
    """Which old channel each entry is (by index): one with the same key and URL, else the first
    with the same key, else (a channel written without a key) the first with the same URL."""
    rules: list[tuple[Any, Any]] = [
        (lambda b: (b.get(KEY_FIELD), b.get("url")), lambda e: (e.key, e.fields.get("url"))),
        (lambda b: b.get(KEY_FIELD), lambda e: e.key),
        (lambda b: None if b.get(KEY_FIELD) else b.get("url"), lambda e: e.fields.get("url")),
    ]
    taken: set[str] = set()
    matches: dict[int, str] = {}
    for of_body, of_entry in rules:
        index: dict[Any, list[str]] = {}
        for name, body in old.items():
            if name not in taken and (found := of_body(body)) not in {None, (None, None)}:
                index.setdefault(_hashable(found), []).append(name)
        for position, entry in enumerate(entries):
            if position in matches:
                continue
            candidates = index.get(_hashable(of_entry(entry)), [])
            while candidates and candidates[0] in taken:
                candidates.pop(0)
            if candidates:
                matches[position] = candidates.pop(0)
                taken.add(matches[position])
    return matches


def _hashable(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return str(value) if not isinstance(value, (str, type(None))) else value


def _imported(body: Mapping[str, Any]) -> bool:
    """Whether an old channel came from an import (it carries ``import_key``)."""
    return bool(body.get(KEY_FIELD))


def describe(change: Change) -> str:
    """``kanal-34: url, input_args`` (the field names; values may hold secrets)."""
    return f"{change.name}: {', '.join(sorted(change.diffs))}"
