"""``history``: recent events of the state log, filtered by object, type, time and sequence.

``--since`` takes a duration back from now (``10m``, ``2h``, ``1d``) or an ISO 8601 timestamp
(without an offset it is UTC, as the log writes); ``--after-seq N`` keeps the events after
sequence number ``N``. ``-o json`` prints one event object a line (JSON Lines, for ``jq``), ``-o
yaml`` a list. Everything passes the loaded config's redactor; text lines are made printable.
"""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from streamrec.cli.app import app, console, fail, globals_, load, open_journal
from streamrec.cli.completion import object_names
from streamrec.cli.output import Output, OutputOption, emit
from streamrec.core.printable import printable
from streamrec.core.timestamps import parse_ts


def since_cutoff(text: str, now: datetime) -> datetime:
    """The moment ``--since`` names: ``now`` minus a duration, or an ISO 8601 timestamp.

    Raises ValueError saying both forms when ``text`` is neither.
    """
    from streamrec.spec.units import parse_duration

    moment = parse_ts(text.strip())
    if moment is not None:
        return moment
    try:
        return now - timedelta(seconds=parse_duration(text, allow_zero=True))
    except ValueError:
        raise ValueError(
            f"--since takes a duration (10m, 2h, 1d) or an ISO 8601 time "
            f"(2026-01-31T12:00:00Z), got {text!r}"
        ) from None


def matches(event: dict[str, Any], objects: list[str], types: list[str]) -> bool:
    """Whether ``event`` is of one of ``types`` (globs) and about one of ``objects``."""
    if types and not any(fnmatch.fnmatchcase(str(event.get("type")), t) for t in types):
        return False
    if not objects:
        return True
    names = {
        f"{kind}/{event[kind]}"
        for kind in ("channel", "task", "queue")
        if isinstance(event.get(kind), str)
    }
    bare = {n.split("/", 1)[1] for n in names}
    return any(o in names or o in bare for o in objects)


def _after(event: dict[str, Any], cutoff: datetime | None) -> bool:
    if cutoff is None:
        return True
    when = parse_ts(event.get("ts"))
    return when is not None and when >= cutoff


@app.command()
def history(
    object_: Annotated[
        list[str] | None,
        typer.Option(
            "--object",
            "-O",
            metavar="NAME",
            help="Only events of this object (NAME or kind/NAME).",
            autocompletion=object_names,
        ),
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type", "-t", metavar="TYPE", help="Only events of this type (glob: 'recording.*')."
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", metavar="N", help="The last N events.")
    ] = 50,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION|TIME",
            help="Only events of the last DURATION (10m, 2h, 1d) or since an ISO 8601 TIME.",
        ),
    ] = None,
    after_seq: Annotated[
        int, typer.Option("--after-seq", metavar="N", help="Only events after sequence number N.")
    ] = 0,
    all_: Annotated[
        bool, typer.Option("--all", help="Also search compacted history (archive/).")
    ] = False,
    output: OutputOption = Output.text,
) -> None:
    """Recent events of the state log, oldest first."""
    from streamrec.runtime.clock import SYSTEM_CLOCK

    try:
        cutoff = None if since is None else since_cutoff(since, SYSTEM_CLOCK.now())
    except ValueError as exc:
        raise fail(str(exc)) from None
    journal = open_journal(load())
    selected: deque[dict[str, Any]] = deque(maxlen=max(1, limit))
    for event in journal.read(after_seq, include_archive=all_):
        if _after(event, cutoff) and matches(event, object_ or [], type_ or []):
            selected.append(event)
    events: list[dict[str, Any]] = globals_.redactor.value(list(selected))
    if output is Output.yaml:
        emit(events, output)
        return
    if output is Output.json:
        for event in events:
            typer.echo(json.dumps(event, ensure_ascii=False))
        return
    for event in events:
        rest = {k: v for k, v in event.items() if k not in {"seq", "ts", "type"}}
        fields = " ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in rest.items())
        line = f"{event['seq']:>6} {event['ts']} {event['type']} {fields}"
        console.print(printable(line))
