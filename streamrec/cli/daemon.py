"""Daemon commands: ``run`` (the long-running reconciler) and ``stop``.

The daemon (its web server, scheduler and watcher), the config model and the daemon client are
imported when a command runs, so ``streamrec --help`` does not load them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from streamrec.cli.app import (
    app,
    console,
    environ,
    fail,
    globals_,
    set_log_redactor,
    setup_logging,
)
from streamrec.errors import ConfigError, StreamrecError

if TYPE_CHECKING:
    from streamrec.daemon.sources import ConfigSource


@app.command()
def run(
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the config dir (network file systems).")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Accept a config that removes every channel and task."),
    ] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            metavar="I/N",
            help="This daemon's share of the channels: i/N, or auto/N from a StatefulSet pod "
            "name ($STREAMREC_SHARD).",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Share the channels with the daemons of an etcd cluster: "
            "etcd://host:port/prefix?ttl=10 ($STREAMREC_CLUSTER, settings.cluster); "
            "not with --shard.",
        ),
    ] = None,
    git: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Follow a git repository as the config ($STREAMREC_GIT_URL).",
            envvar="STREAMREC_GIT_URL",
        ),
    ] = None,
    branch: Annotated[
        str | None,
        typer.Option(
            metavar="BRANCH",
            help="The branch to follow (default: the remote's HEAD).",
            envvar="STREAMREC_GIT_BRANCH",
        ),
    ] = None,
    interval: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="How often to fetch the repository.",
            envvar="STREAMREC_GIT_INTERVAL",
        ),
    ] = "60s",
    git_subdir: Annotated[
        str,
        typer.Option(
            "--git-subdir", metavar="DIR", help="The config directory inside the repository."
        ),
    ] = "",
) -> None:
    """Run the daemon: apply the config, watch it, record, schedule; SIGHUP reloads."""
    import asyncio
    import socket

    from streamrec.core.membership import CLUSTER_ENV, parse_cluster
    from streamrec.core.sharding import SINGLE, ShardError, resolve_shard
    from streamrec.daemon.configload import ConfigLoader
    from streamrec.daemon.gitmode import GitConfigSource, GitOptions
    from streamrec.daemon.service import Daemon
    from streamrec.daemon.sources import DirectorySource
    from streamrec.runtime.clock import SYSTEM_CLOCK
    from streamrec.spec.units import parse_duration

    setup_logging(globals_.log_format, globals_.verbosity + 1)  # a daemon says what it does
    env = environ()
    loader = ConfigLoader()
    source: ConfigSource = DirectorySource(globals_.config_dir, poll=poll)
    try:
        shard_of = resolve_shard(shard, env, socket.gethostname())
        wanted = cluster or env.get(CLUSTER_ENV, "").strip()
        if wanted:
            parse_cluster(wanted)  # a bad URL is an error before anything starts
            if shard_of != SINGLE:
                raise ShardError(
                    f"--shard {shard_of} (or STREAMREC_SHARD) and --cluster (or STREAMREC_CLUSTER) "
                    "cannot be combined: the cluster decides who records what; drop the shard"
                )
        if git:
            options = GitOptions(git, branch, parse_duration(interval), git_subdir)
            source = GitConfigSource(options, environ=env, loader=loader)
    except (StreamrecError, ValueError) as exc:
        loader.close()
        raise fail(str(exc)) from None
    daemon = Daemon(
        source,
        environ=env,
        allow_empty=allow_empty,
        shard=shard_of,
        cluster=cluster,
        loader=loader,
        clock=SYSTEM_CLOCK,
        on_secrets=set_log_redactor,
    )
    try:
        code = asyncio.run(daemon.run())
    except StreamrecError as exc:
        raise fail(str(exc)) from None
    globals_.exit_at_once = True  # everything is closed and written: see cli.main
    raise typer.Exit(code)


def _state_root() -> Path:
    from streamrec.spec.loading import load_config
    from streamrec.state.location import state_root

    env = environ()
    try:
        loaded = load_config(globals_.config_dir, env)
    except ConfigError:
        loaded = None
    return state_root(globals_.config_dir, loaded, env)


@app.command()
def stop(
    wait: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds to wait for the daemon to exit.")
    ] = 15.0,
) -> None:
    """Ask the running daemon to stop cleanly, and wait until it has."""
    from streamrec.cli.client import daemon_client

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
