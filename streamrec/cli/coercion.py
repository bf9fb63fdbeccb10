"""Option values converted without pydantic when they are plain, as Typer would convert them.

Typer converts every option's value (``-c DIR``, ``-o FORMAT``, ``--tail N``) through a pydantic
``TypeAdapter`` built on first use, and importing pydantic and building the adapters cost more
than the rest of a command's start-up. :func:`quicken` gives each parameter of a command tree a
:class:`QuickParam`, which converts the common plain cases itself, with the result Typer's
adapter gives:

- a string option: the string;
- a whole number without bounds: ``"12"`` (ASCII digits, an optional ``-``) is 12, an int stays;
- a choice (an ``Enum`` or a ``Literal``): the choice the value names, by Typer's own matching;
- a path: ``Path(value)`` of a non-empty string, then checked by Typer's own path checks
  (``exists``, ``dir_okay``...).

Anything else (a value outside these cases, a bad value, bounds, a custom parser, a date, a file,
several values) goes to Typer's pydantic adapter, built then: what it returns or the error it
raises is what the command line gives, word for word, so the quick path changes no result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from typer._click.core import Command, Context
from typer._coercion import RuntimeParam, build_runtime_param
from typer._param_types import choice_coercion_annotation, coerce_cli_choice, coerce_cli_path
from typer.core import _TyperParameter

__all__ = ["QuickParam", "quicken"]

_MISS = object()
"""What a quick conversion answers when the value is not one of its plain cases."""


def _whole(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return 0 < len(digits) <= 18 and digits.isascii() and digits.isdigit()


@dataclass(frozen=True)
class QuickParam(RuntimeParam):
    """A parameter's conversion: the plain cases here, every other one by Typer's adapter."""

    def _quick(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        annotation, info = self.annotation, self.parameter_info
        if param.multiple or param.nargs != 1 or info.parser is not None:
            return _MISS
        if annotation is bool:
            return value if type(value) is bool else _MISS
        if annotation is str:
            return value if type(value) is str else _MISS
        if annotation is int:
            if info.min is not None or info.max is not None or info.clamp:
                return _MISS
            if type(value) is int:
                return value
            return int(value) if type(value) is str and _whole(value) else _MISS
        choice = choice_coercion_annotation(annotation, info)
        if choice is not None:
            choices, case_sensitive = choice
            if not isinstance(value, (str, Enum)):
                return _MISS
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive, ctx=ctx)
        if isinstance(annotation, type) and issubclass(annotation, Path):
            if info.path_type is not None:  # converted to str or bytes: Typer's adapter
                return _MISS
            if type(value) is str and value:
                value = annotation(value)
            if not isinstance(value, annotation):
                return _MISS
            return coerce_cli_path(value, info, path_type=annotation, param=param, ctx=ctx)
        return _MISS

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            quick = self._quick(value, param, ctx)
        except Exception:  # Typer's adapter raises the error the command line shows
            quick = _MISS
        if quick is not _MISS:
            return quick
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)


def quicken(command: Command, help_names: Sequence[str] = ("-h", "--help")) -> None:
    """Every Typer parameter of ``command`` and its subcommands converted by :class:`QuickParam`
    (a file parameter, which Typer opens, keeps Typer's own conversion). The help option, which
    click makes on first use, is made now (named ``help_names``, unless the command names its
    own), so that it is converted quickly too."""
    names = list(command.context_settings.get("help_option_names", help_names))
    help_option = command.get_help_option(Context(command, help_option_names=names))
    for param in [*command.params, help_option]:
        if not isinstance(param, _TyperParameter):
            continue
        descriptor = param.type_descriptor
        if descriptor.file_annotation is None:
            param._runtime_param = QuickParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
    for sub in (getattr(command, "commands", None) or {}).values():
        quicken(sub, names)
