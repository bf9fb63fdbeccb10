"""``${VAR}`` and ``${VAR:-default}`` in config values, from the environment and ``.env``.

Called by ``spec.loading`` on each document before validation. Task ``command`` values are left
alone: they are shell text, and the shell expands them at run time from the task's environment.
``$${VAR}`` writes a literal ``${VAR}``; :func:`escape` turns any text into the value that loads
as exactly that text (``streamrec import m3u`` writes every imported value through it). The environment wins over ``.env`` (as with Docker
Compose). Values taken from variables whose names look secret (``*KEY*``, ``*TOKEN*``, ``*SECRET*``,
``*PASS*``, ``*AUTH*``, ``*CRED*``) are collected so that they can be redacted wherever printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from streamrec.errors import Problem
from streamrec.spec.secretnames import is_secret_variable
from streamrec.spec.yamlio import Pos, YMap, YSeq

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?")


def escape(text: str) -> str:
    """The config value that interpolates to exactly ``text``, reading no variable.

    Every ``${`` becomes ``$${``: the reference pattern starts only at ``${``, so nothing else
    in ``text`` can be read as a reference, and each ``$${`` loads back as ``${``.
    """
    return text.replace("${", "$${")


def read_env_file(directory: Path) -> dict[str, str]:
    """The variables of ``DIR/.env`` (empty when there is none)."""
    path = directory / ".env"
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


class Interpolator:
    """Replaces references in every string value of a document, in place."""

    def __init__(self, path: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ
        self.problems: list[Problem] = []
        self.secrets: set[str] = set()

    def substitute(self, text: str, pos: Pos) -> str:
        if "$" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            value = None if name is None else self.environ.get(name, match.group(2))
            if value is None:
                message = (
                    f"invalid variable reference {match.group(0)!r} "
                    "(write ${NAME} or ${NAME:-default}; $${ for a literal ${)"
                    if name is None
                    else f"environment variable {name} is not set "
                    f"(set it, add it to .env, or write ${{{name}:-default}})"
                )
                self.problems.append(Problem(self.path, *pos, message))
                return match.group(0)
            if is_secret_variable(str(name)) and value:
                self.secrets.add(value)
            return value

        return _REFERENCE.sub(replace, text)

    def walk(self, node: Any, skip_commands: bool = False) -> None:
        """Interpolate every string under ``node``; under ``tasks``, skip each ``command``."""
        if isinstance(node, YMap):
            for key in list(node):
                value = node[key]
                if skip_commands and key == "command":
                    continue
                if isinstance(value, str):
                    node[key] = self.substitute(value, node.value_pos[key])
                else:
                    self.walk(value)
        elif isinstance(node, YSeq):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    node[index] = self.substitute(value, node.item_pos[index])
                else:
                    self.walk(value)

    def document(self, document: YMap) -> None:
        """Interpolate one top-level document."""
        for section, body in document.items():
            if section == "tasks" and isinstance(body, YMap):
                for task in body.values():
                    self.walk(task, skip_commands=True)
            elif isinstance(body, str):
                document[section] = self.substitute(body, document.value_pos[section])
            else:
                self.walk(body)
