"""``status``: where every declared object stands, from the fold of the state log.

``status`` lists every declared object with its state from the fold of the log; a config that does not
load still gets its state shown (with the problems counted), since the log is what happened. Its
tables go through ``cli.output`` (box tables on a terminal, plain columns in a pipe or with ``-o
plain``, more columns with ``-o wide``, data with ``-o json|yaml``). It passes the loaded config's
redactor (``globals_.redactor``) in text and data alike, and prints user text escaped. Tasks and
queues the Python API ran in the state directory follow, in tables of their own (``api``).
``history`` lives in ``cli.history``.

The config model, the fold of the log and the daemon client are imported when ``status`` runs, not
for ``--help``; httpx only when a daemon's socket is there to be asked (``cli.client``). The config
is read back from the config cache (``app.configcache``) while it is unchanged, as for
``validate`` and ``plan``, so the YAML reader is not imported then. Its lines are written at once
(``cli.output.write``), so rich is imported only to draw a box table on a terminal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from streamrec.cli.app import (
    app,
    console,
    environ,
    err_console,
    fail,
    globals_,
    open_journal,
    redactor_of_brief,
)
from streamrec.cli.app import state_paths as _state_paths
from streamrec.cli.output import Output, OutputOption, Table, emit, print_table, write
from streamrec.core.printable import printable, printable_or
from streamrec.core.timestamps import parse_ts as _parse_ts
from streamrec.errors import ConfigError, DaemonError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from streamrec.app.configcache import Cached
    from streamrec.spec.loading import LoadedConfig


def _ago(value: Any, now: datetime) -> str:
    from streamrec.spec.units import format_duration

    when = _parse_ts(value)
    if when is None:
        return "-"
    seconds = max(0.0, (now - when).total_seconds())
    return f"{format_duration(round(seconds)) if seconds >= 1 else '0s'} ago"


def _until(value: Any, now: datetime) -> str:
    from streamrec.spec.units import format_duration

    when = _parse_ts(value)
    if when is None:
        return "-"
    seconds = (when - now).total_seconds()
    return "now" if seconds < 1 else f"in {format_duration(round(seconds))}"


def _daemon_status(loaded: LoadedConfig) -> dict[str, Any] | None:
    from streamrec.cli.client import daemon_client

    client = daemon_client(_state_paths(loaded).root)
    if client is None:
        return None
    try:
        return client.request("GET", "/api/live")
    except DaemonError:
        return None
    finally:
        client.close()


def status_data(loaded: LoadedConfig, now: datetime, revision: str) -> dict[str, Any]:
    """Every declared object with its state, as one JSON-able dict (the ``-o json`` output);
    ``revision`` is that of ``loaded`` (from the config cache, or its desired side)."""
    from streamrec.state.applied import read_applied
    from streamrec.state.report import build_status

    paths = _state_paths(loaded)
    return build_status(
        loaded.config,
        open_journal(loaded).state(),
        now,
        live=_daemon_status(loaded),
        directory=str(loaded.directory),
        revision=revision,
        applied_revision=read_applied(paths.applied).revision,
    )


def _channel_table(channels: dict[str, Any], now: datetime) -> Table:
    from streamrec.spec.units import format_duration, format_size

    table = Table(title="Channels")
    for column in ("channel", "state", "since", "file", "bytes", "bitrate"):
        table.add_column(column)
    table.add_column("last segment", wide=True)
    table.add_column("gaps 24h", wide=True)
    clustered = any("owner" in entry for entry in channels.values())
    if clustered:
        table.add_column("owner")  # the etcd member that records it (daemon.cluster)
    for name, entry in sorted(channels.items()):
        last = entry.get("last_segment") or {}
        live = entry.get("live") or {}  # the file being written now: its own name, size, rate
        bitrate = live.get("bitrate_bps") if live else entry.get("bitrate")
        size = live.get("bytes") if live else entry.get("bytes")
        gaps = entry["gaps_24h"]
        gap_text = "-"
        if gaps:
            total = sum(
                (
                    (_parse_ts(g.get("end")) or now) - (_parse_ts(g.get("start")) or now)
                ).total_seconds()
                for g in gaps
            )
            gap_text = f"{len(gaps)} ({format_duration(round(total)) if total >= 1 else '<1s'})"
        table.add_row(
            printable(name),
            printable(str(entry.get("state"))),
            _ago(entry.get("since"), now),
            printable_or(live.get("name") or entry.get("file"), "-"),
            format_size(int(size)) if size else "-",
            f"{bitrate / 1000:.0f} kb/s" if isinstance(bitrate, (int, float)) else "-",
            _ago(last.get("end"), now) if last else "-",
            gap_text,
            *([printable_or(entry.get("owner"), "-")] if clustered else []),
        )
    return table


def _run_table(title: str, runs: dict[str, Any], now: datetime) -> Table:
    tasks = title.lower().endswith("tasks")  # "Tasks", or the Python API's "API tasks"
    table = Table(title=title)
    for column in ("task" if tasks else "queue", "status", "since", "run"):
        table.add_column(column)
    table.add_column("exit", wide=True)
    table.add_column("schedule" if tasks else "tasks", wide=True)
    table.add_column("next")
    for name, entry in sorted(runs.items()):
        last = entry.get("schedule") if tasks else ", ".join(entry.get("tasks", []))
        table.add_row(
            printable(name),
            printable(str(entry.get("status"))),
            _ago(entry.get("since"), now),
            str(entry.get("run") or "-"),
            "-" if entry.get("exit_code") is None else str(entry["exit_code"]),
            "-"
            if last in (None, "")
            else printable(last if isinstance(last, str) else json.dumps(last)),
            _until(entry.get("next_fire"), now),
        )
    return table


def _last_applied(error: ConfigError) -> LoadedConfig:
    """The last applied config, for status when the config on disk does not load."""
    from streamrec.app.statedir import config_paths
    from streamrec.spec.loading import LoadedConfig
    from streamrec.spec.model import Config
    from streamrec.state.applied import read_applied

    paths = config_paths(globals_.config_dir, None, environ(), create=False)
    applied = read_applied(paths.applied)
    first = printable(globals_.redactor.text(str(error.problems[0]))) if error.problems else "?"
    err_console.print(
        f"warning: the config in {globals_.config_dir} does not load ({len(error.problems)} "
        f"problem{'s' if len(error.problems) != 1 else ''}; first: {first}); "
        "showing the last applied config",
        markup=False,
    )
    if applied.revision is None:
        raise fail("nothing was applied yet; fix the config (streamrec validate)")
    sections: dict[str, Any] = {"channels": {}, "tasks": {}, "queues": {}, "categories": {}}
    plural = {"channel": "channels", "task": "tasks", "queue": "queues", "category": "categories"}
    settings: dict[str, Any] = {}
    for key, definition in applied.definitions.items():
        kind, _, name = key.partition("/")
        if kind == "settings":
            settings = definition
        elif kind in plural:
            sections[plural[kind]][name] = definition
    config = Config.model_validate({"settings": settings, **sections})
    return LoadedConfig(config=config, directory=globals_.config_dir, files=())


def _loaded() -> Cached:
    """The config directory loaded, or read back from the config cache (``app.configcache``)
    while its files and the variables it interpolates are the same; ConfigError when it does not
    load (a config that does not load is never cached)."""
    from streamrec.app.configcache import load_cached
    from streamrec.cli.config import desired_of
    from streamrec.spec.loading import load_config

    def fresh(env: Mapping[str, str]) -> LoadedConfig:
        return load_config(globals_.config_dir, env)

    return load_cached(globals_.config_dir, environ(), fresh, desired_of)


@app.command()
def status(output: OutputOption = Output.text) -> None:
    """Every declared channel, task and queue with its state from the state log."""
    from streamrec.runtime.clock import SYSTEM_CLOCK
    from streamrec.spec.units import format_duration

    try:
        cached = _loaded()
        loaded, revision = cached.loaded, cached.brief.revision
        globals_.redactor = redactor_of_brief(cached.brief)
    except ConfigError as exc:
        from streamrec.cli.config import desired_of

        loaded = _last_applied(exc)
        revision = desired_of(loaded).revision
    now = SYSTEM_CLOCK.now()
    data = globals_.redactor.value(status_data(loaded, now, revision))
    if output.structured:
        emit(data, output)
        return
    cfg = data["config"]
    applied = cfg["applied"] or {}
    line = f"Config {cfg['directory']}: revision {cfg['revision']}"
    if cfg["applied_revision"] is None:
        line += " (never applied: run `streamrec apply`)"
    elif cfg["pending"]:
        line += f"; applied {cfg['applied_revision']} (unapplied changes: run `streamrec plan`)"
    else:
        line += f", applied {_ago(applied.get('ts'), now)}"
    if applied.get("git"):
        line += f"; git {str(applied['git'].get('commit', ''))[:12]}"
    lines = [printable(line)]
    daemon = data["daemon"]
    if daemon.get("running"):
        lines.append(
            f"Daemon running: pid {daemon.get('pid')}, version {daemon.get('version')}, "
            f"up {format_duration(round(daemon.get('uptime') or 0) or 1)}, "
            f"revision {daemon.get('revision')}"
        )
    elif daemon.get("state"):
        since = _ago(daemon.get("stopped_at") or daemon.get("started_at"), now)
        lines.append(f"Daemon not running (last {daemon.get('state')} {since})")
    else:
        lines.append("Daemon not running (start it with `streamrec run`)")
    cluster = data.get("cluster")
    if cluster:
        lines.append(printable(
            f"Cluster {cluster.get('cluster')}: member {cluster.get('member')}"
            f"{' (leader)' if cluster.get('leader') else ''}, "
            f"members {', '.join(cluster.get('members') or []) or '-'}"
        ))  # fmt: skip
        for item in (cluster.get("handovers") or [])[-5:]:
            lines.append(printable(
                f"  {_ago(item.get('ts'), now)}: {item.get('channel')} "
                f"{item.get('from') or '-'} -> {item.get('to') or '-'} ({item.get('reason')})"
            ))  # fmt: skip
    if cfg["rejected"]:
        rejected = cfg["rejected"]
        lines.append(
            f"Last rejected config ({_ago(rejected.get('ts'), now)}); "
            "the last good config keeps running:"
        )
        lines += [f"  {printable(str(error))}" for error in (rejected.get("errors") or [])[:10]]
    write(console, lines)  # one write, no markup (cli.output); rich only for a box table
    for table in (
        _channel_table(data["channels"], now) if data["channels"] else None,
        _run_table("Tasks", data["tasks"], now) if data["tasks"] else None,
        _run_table("Queues", data["queues"], now) if data["queues"] else None,
        _run_table("API tasks", data["api"]["tasks"], now) if data["api"]["tasks"] else None,
        _run_table("API queues", data["api"]["queues"], now) if data["api"]["queues"] else None,
    ):
        if table is not None:
            write(console, "")
            print_table(table, output, console)
