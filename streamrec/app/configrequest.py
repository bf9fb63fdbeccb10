"""What a config check or save asks for: the JSON body of ``POST /api/config/check|save``, read strictly.

``web.configroutes`` decodes the body (UTF-8 JSON, within its size limit) and hands the value to
:func:`parse_request`; ``app.configadmin`` works on the :class:`ConfigRequest` it returns. A body
is one of two shapes (the dashboard's YAML editor and its forms):

- ``{"files": {"channels.yaml": "<the whole new text>", ...}}``: whole files replaced (a new file
  may be named: relative to the config directory, ``.yaml``/``.yml``, no dot-names);
- ``{"ops": [{"op": "upsert", "section": "channels", "name": "radio", "value": {...},
  "unset": ["field", ...]}, {"op": "remove", "section": ..., "name": ...}], "file": "new.yaml"}``:
  entries changed through ``spec.editing`` (``file`` is where new entries go).

Both may carry ``"message"``, the summary line of a git commit. Anything else (an unknown key, a
wrong type, both shapes or neither) is a :class:`BadRequest` naming what is wrong. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from streamrec.spec.editing import Op, Remove, Upsert

SECTIONS = ("channels", "categories", "tasks", "queues")
"""The sections whose entries a form may change (``settings`` is edited as a whole file)."""
MAX_FILES = 100
MAX_OPS = 5000
MAX_MESSAGE = 500


class BadRequest(ValueError):
    """A body that is not a config check or save request; the message says what is wrong."""


@dataclass(frozen=True)
class ConfigRequest:
    """One check or save: whole files, or ops with the file for new entries."""

    files: Mapping[str, str] | None = None
    """Path relative to the config directory -> the whole new text."""
    ops: tuple[Op, ...] = ()
    file: str | None = None
    """Where new entries of ``ops`` go (relative to the config directory); else ``channels.yaml``."""
    message: str | None = None
    """The summary line a git commit gets instead of the one made from the plan."""


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else "a string")


def relative_path(where: str, value: Any) -> str:
    """A config file's name as a request gives it: relative, inside, ``.yaml``/``.yml``, no dot-names."""
    text = _string(where, value)
    path = PurePosixPath(text)
    if not text or "\\" in text or "\0" in text or path.is_absolute() or ".." in path.parts:
        raise BadRequest(f"{where}: {text!r} must be a path relative to the config directory")
    if path.suffix not in {".yaml", ".yml"} or any(p.startswith(".") for p in path.parts):
        raise BadRequest(f"{where}: {text!r}: config files end in .yaml or .yml, no dot-names")
    return str(path)


def _op(index: int, data: Any) -> Op:
    where = f"ops[{index}]"
    if not isinstance(data, dict):
        raise BadRequest(f"{where} must be an object, not {_kind(data)}")
    kind = data.get("op")
    if kind not in {"upsert", "remove"}:
        raise BadRequest(f"{where}.op must be 'upsert' or 'remove', not {kind!r}")
    if kind == "remove":
        _check_keys(where, data, {"op", "section", "name"})
    else:
        _check_keys(where, data, {"op", "section", "name", "value", "unset"})
    section = data.get("section")
    if section not in SECTIONS:
        raise BadRequest(f"{where}.section must be one of {', '.join(SECTIONS)}, not {section!r}")
    name = _string(f"{where}.name", data.get("name"))
    if not name:
        raise BadRequest(f"{where}.name must not be empty")
    if kind == "remove":
        return Remove(section, name)
    value = data.get("value", {})
    if not isinstance(value, dict):
        raise BadRequest(f"{where}.value must be an object of fields, not {_kind(value)}")
    unset = data.get("unset", [])
    if not isinstance(unset, list) or not all(isinstance(f, str) and f for f in unset):
        raise BadRequest(f"{where}.unset must be a list of field names")
    return Upsert(section, name, value, unset=tuple(unset))


def parse_request(data: Any) -> ConfigRequest:
    """The :class:`ConfigRequest` of a decoded JSON body; :class:`BadRequest` when it is not one."""
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be a JSON object, not {_kind(data)}")
    _check_keys("the body", data, {"files", "ops", "file", "message"})
    if ("files" in data) == ("ops" in data):
        raise BadRequest("the body needs exactly one of 'files' (whole texts) or 'ops' (edits)")
    message = data.get("message")
    if message is not None:
        message = _string("message", message).strip()
        if len(message) > MAX_MESSAGE or "\0" in message:
            raise BadRequest(f"message: at most {MAX_MESSAGE} characters, no NUL")
    if "files" in data:
        if "file" in data:
            raise BadRequest("'file' (where new entries go) belongs to 'ops', not 'files'")
        files = data["files"]
        if not isinstance(files, dict) or not files:
            raise BadRequest("files must be an object of path -> whole new text, not empty")
        if len(files) > MAX_FILES:
            raise BadRequest(f"files: at most {MAX_FILES} files at once")
        texts: dict[str, str] = {}
        for key, text in files.items():
            path = relative_path(f"files[{key!r}]", key)
            if path in texts:
                raise BadRequest(f"files: {path!r} is named twice")
            texts[path] = _string(f"files[{key!r}]", text)
        return ConfigRequest(files=texts, message=message or None)
    ops = data["ops"]
    if not isinstance(ops, list) or not ops:
        raise BadRequest("ops must be a non-empty list of edits")
    if len(ops) > MAX_OPS:
        raise BadRequest(f"ops: at most {MAX_OPS} edits at once")
    file = data.get("file")
    target = None if file is None else relative_path("file", file)
    return ConfigRequest(
        ops=tuple(_op(i, op) for i, op in enumerate(ops)), file=target, message=message or None
    )
