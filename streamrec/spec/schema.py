"""The JSON Schema of config files, for editors (``streamrec schema > streamrec.schema.json``).

A file that starts with ``# yaml-language-server: $schema=../streamrec.schema.json`` then gets
completion and checking in any editor speaking the YAML language server protocol. The schema is
generated from the pydantic model, so it never drifts from what ``validate`` accepts: value syntax
(durations, sizes, times of day, date-times) is written as the patterns of ``spec.syntax``, which
``validate`` checks too, never as a JSON Schema ``format`` (editors and validators disagree on what
``date-time`` admits). The checks beyond the schema (references, cycles, an empty window, a cron
expression's fields, a time zone's name) are only in ``validate``.
"""

from __future__ import annotations

from typing import Any

from streamrec.spec.model import Config

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _any_of(node: Any) -> Any:
    """pydantic writes tagged unions as ``oneOf``; ``once`` is also a string, so use ``anyOf``."""
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_any_of(v) for v in node]
    return node


def config_schema() -> dict[str, Any]:
    """The JSON Schema of one config file (every section optional; files are merged)."""
    schema = _any_of(Config.model_json_schema(mode="validation"))
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
