"""The plan: what applying the desired config would change, against what is applied now.

Pure code (no I/O, no clock): ``cli plan`` prints the actions, ``cli apply`` and the daemon carry them
out, tests assert on them. The desired side is a :class:`~streamrec.spec.model.Config`; the applied
side is the :class:`Applied` snapshot recorded by the last ``apply`` (``state/applied.json``).

Every object is keyed ``kind/name`` (``channel/news-1``, ``task/remux``; the settings are
``settings/settings``). Two definitions are the same when their hashes (of the *unredacted*
definition) are equal; the snapshot stores definitions with secrets redacted, so a change that is only
in a secret shows as ``url: (secret changed)`` and never prints the secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from streamrec.core.definitions import canonical_json, definition_hash, normalized
from streamrec.spec.model import OBJECT_KINDS, Config

Op = Literal["add", "change", "remove"]
KIND_ORDER = ("settings", "category", "task", "queue", "channel")
"""The order actions are listed and carried out in: what others refer to comes first."""

SECRET_CHANGED = "(secret changed)"  # noqa: S105 - a label, not a password


@dataclass(frozen=True)
class FieldChange:
    """One changed field of an object, by dotted path (``retention.max_age``)."""

    path: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Action:
    """One thing apply would do to one object."""

    op: Op
    kind: str
    name: str
    changes: tuple[FieldChange, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"op": self.op, "kind": self.kind, "name": self.name}
        if self.op == "change":
            result["changes"] = [c.as_dict() for c in self.changes]
        return result


@dataclass(frozen=True)
class Applied:
    """What was applied last: definitions (redacted) and hashes (of the unredacted definitions)."""

    revision: str | None = None
    definitions: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    hashes: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "definitions": dict(self.definitions),
            "hashes": dict(self.hashes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Applied:
        return cls(
            revision=data.get("revision"),
            definitions=dict(data.get("definitions") or {}),
            hashes=dict(data.get("hashes") or {}),
        )


@dataclass(frozen=True)
class Desired:
    """The desired side of a plan: every object's definition (redacted for display) and hash."""

    revision: str
    definitions: Mapping[str, dict[str, Any]]
    hashes: Mapping[str, str]

    def applied(self) -> Applied:
        """The snapshot to record once this is applied."""
        return Applied(self.revision, self.definitions, self.hashes)


Redactor = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Given ``kind`` and a definition, the definition with secrets hidden."""


def _objects(config: Config) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "settings/settings", normalized(config.settings)
    for section, kind in OBJECT_KINDS.items():
        objects: Mapping[str, Any] = getattr(config, section)
        for name, obj in objects.items():
            yield f"{kind}/{name}", normalized(obj)


def desired(config: Config, redact: Redactor) -> Desired:
    """The definitions and hashes of everything ``config`` declares, and its revision."""
    definitions: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    for key, definition in _objects(config):
        hashes[key] = definition_hash(definition)
        definitions[key] = redact(key.split("/", 1)[0], definition)
    revision = definition_hash({"objects": hashes})[:12]
    return Desired(revision, definitions, hashes)


def _sort_key(key: str) -> tuple[int, str]:
    kind, name = key.split("/", 1)
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), name)


def field_changes(old: Any, new: Any, prefix: str = "") -> list[FieldChange]:
    """The leaf fields that differ between two JSON values, as dotted paths."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in sorted(old.keys() | new.keys()):
            path = f"{prefix}.{key}" if prefix else str(key)
            changes.extend(field_changes(old.get(key), new.get(key), path))
        return changes
    if canonical_json(old) == canonical_json(new):
        return []
    return [FieldChange(prefix or "(value)", old, new)]


def plan(want: Desired, have: Applied) -> list[Action]:
    """The actions that make ``have`` into ``want``: removals, changes, additions, in kind order."""
    actions: list[Action] = []
    for key in sorted(have.hashes.keys() - want.hashes.keys(), key=_sort_key):
        kind, name = key.split("/", 1)
        actions.append(Action("remove", kind, name))
    for key in sorted(want.hashes.keys(), key=_sort_key):
        kind, name = key.split("/", 1)
        if key not in have.hashes:
            actions.append(Action("add", kind, name))
        elif have.hashes[key] != want.hashes[key]:
            changes = field_changes(have.definitions.get(key, {}), want.definitions[key])
            if not changes:
                changes = [FieldChange(SECRET_CHANGED, None, None)]
            actions.append(Action("change", kind, name, tuple(changes)))
    return actions


def removes_everything(want: Desired, have: Applied) -> bool:
    """Whether applying would remove every channel and every task at once (a likely accident).

    An empty directory after a failed ``git checkout`` or a mount that went away looks exactly like
    this; ``apply --allow-empty`` is the explicit way to mean it.
    """

    def counted(keys: Any) -> int:
        return sum(1 for k in keys if k.startswith(("channel/", "task/")))

    return counted(have.hashes) > 0 and counted(want.hashes) == 0


def summary(actions: list[Action]) -> dict[str, list[str]]:
    """``{"added": [...], "changed": [...], "removed": [...]}`` of object keys."""
    names = {"add": "added", "change": "changed", "remove": "removed"}
    result: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
    for action in actions:
        result[names[action.op]].append(action.key)
    return result


def diff_record(actions: list[Action]) -> dict[str, Any]:
    """The ``diff`` of a ``config.applied`` event: keys added/changed/removed and changed fields."""
    return {
        **summary(actions),
        "changes": {a.key: [c.as_dict() for c in a.changes] for a in actions if a.changes},
    }
