"""Config commands: ``validate``, ``schema``, ``plan``, ``apply``.

Each loads the config directory through :func:`streamrec.cli.app.load` (every problem printed as
``file:line:col: message``, exit 1) and works on the pure plan from ``core.planning``; ``validate
-o json|yaml`` prints the problems as data instead (``{"valid": false, "problems": [...]}``, each
with ``file``, ``line``, ``column`` and ``message``). ``plan`` exits 0 whether or not there are
changes, like terraform; ``plan --detailed-exitcode`` exits 2 when there are. ``status`` and
``history`` live in ``cli.status``.

What they print for people is built as lines and written at once (``cli.output.write``), with no
markup: a plan of 20,000 objects is one write. The model, the planner, the state log and the daemon
client are imported inside the commands, so ``streamrec --help`` does not load them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streamrec.cli.app import (
    app,
    console,
    environ,
    err_console,
    fail,
    globals_,
    load,
    open_journal,
    print_problems,
    redactor_of_brief,
)
from streamrec.cli.app import state_paths as _state_paths
from streamrec.cli.output import Output, OutputOption, emit, shows_colour, style, write
from streamrec.cli.rootgroup import EXIT_CHANGES
from streamrec.core.printable import printable
from streamrec.errors import ConfigError, Problem

if TYPE_CHECKING:
    from streamrec.app.configcache import Cached
    from streamrec.cli.client import DaemonClient
    from streamrec.core import planning
    from streamrec.spec.loading import LoadedConfig

__all__ = ["desired_of", "print_actions"]


def problem_data(problem: Problem) -> dict[str, Any]:
    """One located problem as data (``-o json``): its message redacted."""
    return {
        "file": problem.path,
        "line": problem.line,
        "column": problem.col,
        "message": globals_.redactor.text(problem.message),
    }


def desired_of(loaded: LoadedConfig) -> planning.Desired:
    """The desired side of a plan for a loaded config (``app.applying.desired_of``)."""
    from streamrec.app.applying import desired_of as desired

    return desired(loaded)


def _load_or_report(output: Output, brief_only: bool = False) -> Cached:
    """The loaded config and its desired side (``app.configcache``: reused while the files and
    the variables they interpolate stay the same; with ``brief_only``, a cache hit reads only the
    plain brief ``validate`` prints, importing neither pydantic nor the model); a config that does
    not load is reported, as data for -o json/yaml, and exits 1."""
    from streamrec.app.configcache import load_cached

    def fresh(env: Mapping[str, str]) -> LoadedConfig:
        from streamrec.spec.loading import load_config

        try:
            return load_config(globals_.config_dir, env)
        except ConfigError as exc:
            if output.structured:
                emit({"valid": False, "problems": [problem_data(p) for p in exc.problems]}, output)
                raise typer.Exit(1) from None
            print_problems(exc)
            count = len(exc.problems)
            directory = globals_.config_dir
            raise fail(f"{count} problem{'s' if count != 1 else ''} in {directory}") from None

    cached = load_cached(globals_.config_dir, environ(), fresh, desired_of, brief_only)
    globals_.redactor = redactor_of_brief(cached.brief)
    return cached


@app.command()
def validate(output: OutputOption = Output.text) -> None:
    """Load and check every file of the config directory; exit 0 when valid, 1 when not."""
    cached = _load_or_report(output, brief_only=True)
    if (short := globals_.redactor.short_secrets_warning()) is not None:
        err_console.print(f"warning: {short}", markup=False)
    counts = cached.brief.counts
    revision = cached.brief.revision
    if output.structured:
        emit({"valid": True, "revision": revision, **counts}, output)
        return
    parts = ", ".join(f"{n} {k}" for k, n in counts.items())
    write(console, printable(f"valid: {globals_.config_dir} ({parts}; revision {revision})"))


@app.command()
def schema(
    indent: Annotated[int, typer.Option(metavar="N", help="Indentation of the JSON.")] = 2,
) -> None:
    """Print the JSON Schema of the config files (for editors: yaml-language-server)."""
    from streamrec.spec.schema import config_schema

    typer.echo(json.dumps(config_schema(), indent=indent or None, ensure_ascii=False))


def action_lines(actions: list[planning.Action], colour: bool = False) -> list[str]:
    """The lines of a plan's actions (``core.planlines``), two spaces in.

    With ``colour`` on a console that shows colours, each object's line is green (add), yellow
    (change) or red (remove).
    """
    from streamrec.core import planlines

    styles = {"add": "green", "change": "yellow", "remove": "red"}
    if colour and shows_colour(console):
        return planlines.action_lines(actions, "  ", lambda line, op: style(line, styles[op]))
    return planlines.action_lines(actions, "  ")


def print_actions(actions: list[planning.Action]) -> None:
    """The actions of a plan, one object a line, changed fields below each change."""
    if actions:
        write(console, action_lines(actions, colour=True))


def _counts(actions: list[planning.Action]) -> str:
    from streamrec.core.planning import summary as summarise

    summary = summarise(actions)
    return (
        f"{len(summary['added'])} to add, {len(summary['changed'])} to change, "
        f"{len(summary['removed'])} to remove"
    )


@app.command()
def plan(
    output: OutputOption = Output.text,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 2 when there are changes (0 none, 1 error)."
        ),
    ] = False,
) -> None:
    """Show what `apply` would change; exit 0 (with --detailed-exitcode: 2 when it would change
    something), 1 on error."""
    from streamrec.core import planning
    from streamrec.state.applied import read_applied

    cached = _load_or_report(output)
    want = cached.desired
    have = read_applied(_state_paths(cached.summary.settings).applied)
    actions = planning.plan(want, have)
    empty = planning.removes_everything(want, have)
    if output.structured:
        emit(
            {
                "revision": want.revision,
                "applied_revision": have.revision,
                "actions": [a.as_dict() for a in actions],
                "removes_everything": empty,
            },
            output,
        )
    elif not actions:
        write(console, f"No changes: revision {want.revision} is applied.")
    else:
        base = f"applied revision {have.revision}" if have.revision else "nothing applied yet"
        lines = [f"Plan for revision {want.revision} (against {base}):"]
        lines += action_lines(actions, colour=True)
        lines.append(f"{_counts(actions)}.")
        write(console, lines)
        if empty:
            err_console.print(
                "warning: this removes every channel and task; `apply` will refuse it "
                "unless given --allow-empty",
                markup=False,
            )
    if actions and detailed_exitcode:
        raise typer.Exit(EXIT_CHANGES)


@app.command()
def apply(
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Apply even if it removes every channel and task."),
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Make the config current: record it in the state log (and tell a running daemon)."""
    import asyncio

    from streamrec.app.applying import apply_config
    from streamrec.cli.client import daemon_client
    from streamrec.state.applied import read_applied

    loaded = load()
    paths = _state_paths(loaded)
    client = daemon_client(paths.root)
    if client is not None:
        _apply_through(client, allow_empty, output)
        return
    with open_journal(loaded) as journal:
        applied = asyncio.run(
            apply_config(
                desired_of(loaded),
                running=read_applied(paths.applied),
                paths=paths,
                log=journal,
                directory=loaded.directory,
                reason="streamrec apply",
                allow_empty=allow_empty,
            )
        )
    if not applied.ok:
        raise fail(applied.errors[0])
    want, actions = applied, list(applied.actions)
    result: dict[str, Any] = {"revision": want.revision, "actions": [a.as_dict() for a in actions]}
    if applied.seq is not None:
        result["seq"] = applied.seq
    if not output.structured:
        if actions:
            write(
                console,
                [
                    *action_lines(actions, colour=True),
                    f"Applied revision {want.revision}: {_counts(actions)}.",
                ],
            )
        else:
            write(console, f"No changes: revision {want.revision} is applied.")
    once = _run_once_tasks(loaded)
    if output.structured:
        emit({**result, "once": once}, output)
    if any(status != "completed" for status in once.values()):
        raise typer.Exit(1)


def _run_once_tasks(loaded: LoadedConfig) -> dict[str, str]:
    """Without a daemon, apply runs the ``schedule: once`` tasks due for their new definitions."""
    from streamrec.cli.tasks import TaskSession
    from streamrec.core.lifecycle import once_due
    from streamrec.runtime.tasks.graph import run_once_tasks

    with open_journal(loaded) as journal:
        due = once_due(loaded.config.tasks, journal.state().get("tasks", {}))
    if not due:
        return {}
    session = TaskSession(loaded)
    results = session.run(run_once_tasks(session.runner))
    return {name: result.status for name, result in results.items()}


def _apply_through(client: DaemonClient, allow_empty: bool, output: Output) -> None:
    """Ask the running daemon to reconcile now, and print what it did to each object."""
    try:
        params = {"allow_empty": "true"} if allow_empty else {}
        result = client.request("POST", "/api/reconcile", **params)
    finally:
        client.close()
    if output.structured:
        emit(result, output)
    if not result.get("ok"):
        if not output.structured:
            for line in result.get("errors", []):
                err_console.print(printable(globals_.redactor.text(str(line))))
        raise fail("the daemon rejected the config; the last good config keeps running")
    if output.structured:
        return
    outcomes = result.get("outcomes", {})
    lines = [
        printable(f"  {key}: {outcome}")
        for key, outcome in sorted(outcomes.items())
        if outcome != "unchanged"
    ]
    unchanged = sum(1 for o in outcomes.values() if o == "unchanged")
    pid = client.info.get("pid")
    lines.append(
        f"Applied revision {result.get('revision')} in the running daemon (pid {pid}) "
        f"in {result.get('took_ms')} ms; {unchanged} unchanged."
    )
    write(console, lines)
