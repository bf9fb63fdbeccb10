"""Normalized definitions of config objects and their hashes.

A definition is what an object *is*, as plain JSON (``model_dump(mode="json")``): durations as
``1h30m``, sizes as ``5GB``, channel defaults already merged in. Two definitions are the same object
exactly when their hashes are equal. Planning diffs definitions; the task runner records the hash
of the definition each run was made for (so "completed for its current definition" can be asked);
the daemon touches only objects whose hash changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from streamrec.core.redact import Redactor


def normalized(obj: BaseModel) -> dict[str, Any]:
    """The JSON form of a config object, as used in plans, hashes and the applied snapshot."""
    return obj.model_dump(mode="json")


def canonical_json(value: Any) -> str:
    """One stable text for a JSON value: sorted keys, no whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def definition_hash(obj: BaseModel | dict[str, Any]) -> str:
    """A short stable hash of an object's normalized definition (16 hex digits)."""
    value = normalized(obj) if isinstance(obj, BaseModel) else obj
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:16]


def redact_definition(
    kind: str, definition: dict[str, Any], secrets: Iterable[str] | Redactor = ()
) -> dict[str, Any]:
    """A normalized definition with its secrets masked (for plans, snapshots and status).

    Every string is redacted as by :meth:`~streamrec.core.redact.Redactor.text` (URLs, known
    secrets); a task's ``env`` values are masked outright when the variable's name looks secret.
    Pass a :class:`~streamrec.core.redact.Redactor` made once to redact many definitions; parts
    with nothing to hide are shared with ``definition``.
    """
    redactor = secrets if isinstance(secrets, Redactor) else Redactor.of(secrets)
    return redactor.definition(kind, definition)
