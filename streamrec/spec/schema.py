"""The JSON Schema of config files, for editors (``streamrec schema > streamrec.schema.json``).

A file that starts with ``# yaml-language-server: $schema=../streamrec.schema.json`` then gets
completion and checking in any editor speaking the YAML language server protocol. The schema is
generated from the pydantic model, so it never drifts from what ``validate`` accepts: value syntax
(durations, sizes, times of day, date-times) is written as the patterns of ``spec.syntax``, which
``validate`` checks too, never as a JSON Schema ``format`` (editors and validators disagree on what
``date-time`` admits). A value holding a variable reference (``${NAME}``) is accepted wherever a
value is: what it stands for is known only with the environment. The checks beyond the schema
(references between objects, cycles, an empty window, a cron expression's fields, a time zone's
name, a URL's form) are only in ``validate``.
"""

from __future__ import annotations

from typing import Any

from streamrec.spec import syntax
from streamrec.spec.model import Config

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
REFERENCE_SCHEMA = {
    "type": "string",
    "pattern": syntax.REFERENCE,
    "description": "Read from a variable: ${NAME} or ${NAME:-default} (the environment or .env)",
}
_SUBSCHEMA_MAPS = ("properties", "$defs", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMAS = ("items", "additionalProperties", "not")
_META = ("title", "description", "default", "examples")


def _any_of(node: Any) -> Any:
    """pydantic writes tagged unions as ``oneOf``; ``once`` is also a string, so use ``anyOf``."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


def _rejects_some_strings(node: dict[str, Any]) -> bool:
    """A scalar schema that a string value read from a variable might not match as written."""
    kind = node.get("type")
    return (
        kind in ("integer", "number", "boolean")
        or "enum" in node
        or "const" in node
        or (kind == "string" and "pattern" in node)
    )


def _flat_any_of(branches: list[Any]) -> list[Any]:
    """Branches that are bare ``anyOf`` lists spliced into this one, each distinct branch once
    (so a duration is ``anyOf: [its text, a number, a reference]``, not nested lists)."""
    flat: list[Any] = []
    for branch in branches:
        spliced = (
            branch["anyOf"] if isinstance(branch, dict) and branch.keys() == {"anyOf"} else [branch]
        )
        flat.extend(b for b in spliced if b not in flat)
    return flat


def _or_reference(node: Any) -> Any:
    """Every scalar also admits a string holding ``${NAME}``: the loader interpolates every value
    (but task commands) before validating, so such text is judged only with the environment."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _or_reference(sub) for name, sub in value.items()}
        elif key == "anyOf" and isinstance(value, list):
            out[key] = _flat_any_of([_or_reference(sub) for sub in value])
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [_or_reference(sub) for sub in value]
        elif key in _SUBSCHEMAS:
            out[key] = _or_reference(value)
        else:
            out[key] = value
    if _rejects_some_strings(out):
        meta = {k: out.pop(k) for k in _META if k in out}
        return {"anyOf": [out, REFERENCE_SCHEMA], **meta}
    return out


def config_schema() -> dict[str, Any]:
    """The JSON Schema of one config file (every section optional; files are merged)."""
    schema = _or_reference(_any_of(Config.model_json_schema(mode="validation")))
    for key in ("required", "title", "description"):  # the model's, replaced by the file's
        schema.pop(key, None)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "streamrec config file",
        "description": (
            "One file of a streamrec config directory; all *.yaml files of the directory are "
            "merged. See the README's config reference."
        ),
        **schema,
    }
