"""Daemon commands: ``run`` (the long-running reconciler) and ``stop``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer

from streamrec.cli.app import app, console, environ, fail, globals_, setup_logging
from streamrec.cli.client import daemon_client
from streamrec.daemon.service import Daemon
from streamrec.errors import ConfigError, DaemonError
from streamrec.spec.loading import load_config
from streamrec.state.location import state_root


@app.command()
def run(
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the config dir (network file systems).")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Accept a config that removes every channel and task."),
    ] = False,
) -> None:
    """Run the daemon: apply the config, watch it, record, schedule; SIGHUP reloads."""
    setup_logging(globals_.log_format, globals_.verbosity + 1)  # a daemon says what it does
    daemon = Daemon(globals_.config_dir, environ=environ(), poll=poll, allow_empty=allow_empty)
    try:
        code = asyncio.run(daemon.run())
    except DaemonError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


def _state_root() -> Path:
    env = environ()
    try:
        loaded = load_config(globals_.config_dir, env)
    except ConfigError:
        loaded = None
    return state_root(globals_.config_dir, loaded, env)


@app.command()
def stop(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the daemon to exit.")] = 15.0,
) -> None:
    """Ask the running daemon to stop cleanly, and wait until it has."""
    root = _state_root()
    client = daemon_client(root)
    if client is None:
        raise fail(f"no daemon is running for {root}")
    pid = client.info.get("pid")
    client.request("POST", "/api/shutdown")
    client.close()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if daemon_client(root) is None:
            console.print(f"daemon (pid {pid}) stopped", markup=False)
            return
        time.sleep(0.1)
    raise fail(f"daemon (pid {pid}) still running after {wait:.0f}s")
