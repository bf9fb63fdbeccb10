"""Opening a state directory: its paths, its journal, and where a running daemon is found.

Every front end opens the state directory here: ``cli.app`` (``state_paths``, ``open_journal``),
``daemon.service`` (the daemon's directory and log), ``streamrec.api`` (a ``state_dir=`` given to
``Task``/``Queue``) and ``cli.client`` (:func:`socket_path`, :func:`info_path`, to find a running
daemon). Where the directory *is* for a config is ``state.location.state_root``; this module only
opens it: the directories made private (``StatePaths.ensure``) and the log with the config's fsync
policy and the injected clock stamping its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from streamrec.core.clock import Clock
from streamrec.spec.loading import LoadedConfig
from streamrec.state.journal import FsyncPolicy, Journal
from streamrec.state.location import state_root
from streamrec.state.paths import StatePaths

SOCKET_NAME = "daemon.sock"
"""The running daemon's control socket, in the state directory."""
INFO_NAME = "daemon.json"
"""How commands find the running daemon (pid, socket, listen address), in the state directory."""


def socket_path(root: Path) -> Path:
    """The control socket of the daemon of state directory ``root``."""
    return root / SOCKET_NAME


def info_path(root: Path) -> Path:
    """The ``daemon.json`` of the daemon of state directory ``root``."""
    return root / INFO_NAME


def open_paths(root: Path) -> StatePaths:
    """The paths of the state directory ``root``, created private when missing."""
    return StatePaths.at(root).ensure()


def config_paths(
    config_dir: Path,
    loaded: LoadedConfig | None,
    environ: Mapping[str, str],
    *,
    create: bool = True,
) -> StatePaths:
    """The state directory of a config (``state.location``'s rule), created when missing unless
    ``create`` is false (a command that only reads what is there)."""
    root = state_root(config_dir, loaded, environ)
    return open_paths(root) if create else StatePaths.at(root)


def open_journal(paths: StatePaths, *, clock: Clock, fsync: FsyncPolicy = "always") -> Journal:
    """The state log of ``paths``, with the fsync policy, its events stamped by ``clock``."""
    return Journal(paths.root, fsync=fsync, clock=clock)
