"""The root command group: global options anywhere, exit codes that never collide, completion.

:class:`RootGroup` is the click group the Typer application builds (``cls=`` in ``cli.app``). Its
:meth:`~RootGroup.main` is what both the console script and a test's ``CliRunner`` call:

- the words are first rewritten by :func:`~streamrec.cli.argv.hoist_globals`, so ``-c DIR``,
  ``--log-format``, ``-v`` and ``-q`` work after the subcommand too;
- a usage error (unknown option or command, missing or bad argument) exits
  :data:`EXIT_USAGE` (64, sysexits' ``EX_USAGE``), never 2, which is reserved for
  ``plan --detailed-exitcode``. :data:`EXIT_CODES` is the table ``--help`` and the README show;
- a shell asking for completions (``_STREAMREC_COMPLETE`` set, click's ``bash_complete`` or
  Typer's ``complete_bash`` order) is answered by Typer's completion classes and the process
  exits. The words before the cursor are hoisted the same way, so ``record -c DIR <TAB>``
  completes the channels of ``DIR``. The script for a shell comes from :func:`completion_script`
  (``streamrec completion SHELL``);
- an argument given a metavar is shown by it alone (``TASK``, ``FILE...``), not followed by its
  Python type (``TASK <str>``) nor wrapped in braces: :class:`HumanArgument`;
- option values are converted without importing pydantic in the plain cases
  (``cli.coercion``, built on Typer's private conversion classes of Typer 0.29; with a Typer
  that has other ones, Typer converts every value itself, only slower to start).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any

import typer
from typer._click.core import Command, Context
from typer._click.exceptions import ClickException, UsageError
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script
from typer.completion import shell_complete
from typer.core import TyperArgument, TyperGroup

from streamrec.cli.argv import hoist_globals

PROG = "streamrec"
COMPLETE_VAR = "_STREAMREC_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130

EXIT_CODES = (
    "Exit codes: 0 success; 1 error (a bad config, a failed run, a refused request); "
    "2 changes to apply (only plan --detailed-exitcode); 64 usage error (unknown command or "
    "option, bad argument); 130 interrupted."
)


def _instruction(value: str) -> tuple[str, str] | None:
    """(what, shell) of a completion request: ``bash_complete`` and ``complete_bash`` alike."""
    first, _, second = value.partition("_")
    if first in SHELLS:
        return second, first
    if second in SHELLS:
        return first, second
    return None


def completion_script(shell: str) -> str:
    """The script that makes ``shell`` complete ``streamrec`` (Typer's own templates)."""
    completion_init()
    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell)


class HumanArgument(TyperArgument):
    """An argument whose help shows its metavar only (no ``<str>``, no ``{}`` in the usage)."""

    def display_type_rich(self, ctx: Context) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)

    def _usage_display_name(self) -> str:
        if not self.metavar:
            return super()._usage_display_name()
        return self.metavar if self.required else f"[{self.metavar}]"


def _human_arguments(command: Command) -> None:
    """Every argument with a metavar, in ``command`` and below, shown as :class:`HumanArgument`."""
    for param in command.params:
        if type(param) is TyperArgument and param.metavar:
            param.__class__ = HumanArgument  # same fields; only the two help methods differ
    for sub in (getattr(command, "commands", None) or {}).values():
        _human_arguments(sub)


class RootGroup(TyperGroup):
    """The ``streamrec`` group; see the module docstring."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _human_arguments(self)
        _quicken(self)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        if extra.get("resilient_parsing"):  # completing: the words before the cursor, hoisted too
            args = hoist_globals(args, self)
        return super().make_context(info_name, args, parent, **extra)

    def _main_shell_completion(
        self,
        ctx_args: MutableMapping[str, Any],
        prog_name: str,
        complete_var: str | None = None,
    ) -> None:
        var = complete_var or COMPLETE_VAR
        value = os.environ.get(var)
        if not value:
            return
        request = _instruction(value)
        if request is None:
            typer.echo(f"unknown completion request {value!r}", err=True)
            sys.exit(EXIT_USAGE)
        completion_init()
        what, shell = request
        sys.exit(shell_complete(self, ctx_args, prog_name, var, f"{what}_{shell}"))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        words = hoist_globals(sys.argv[1:] if args is None else args, self)
        try:
            result = super().main(
                words,
                prog_name or PROG,
                complete_var or COMPLETE_VAR,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
        except UsageError as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(EXIT_USAGE)
        except ClickException as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            typer.echo("Aborted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else EXIT_OK)


def _quicken(group: TyperGroup) -> None:
    """``cli.coercion.quicken`` where this Typer has the private classes it builds on."""
    try:
        from streamrec.cli.coercion import quicken  # absent in another Typer
    except ImportError:
        return
    try:
        quicken(group)
    except AttributeError:  # parameters shaped otherwise: Typer's own conversion serves
        return
