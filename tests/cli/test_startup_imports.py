"""What ``streamrec --version``, ``--help``, ``status`` and ``validate`` import: none of the heavy
modules they do not need.

Each case runs ``python -X importtime -m streamrec ...`` in a fresh interpreter and reads the
modules it imported from standard error. A top-level ``import rich`` (or of the config model, the
daemon client, the web server...) added to any command module makes these fail, and so does a
command line whose option values are converted by pydantic again (``cli.coercion``), ``validate``
reading more than the plain brief of a cached config (``app.configcache``), or ``status`` without
a daemon importing the daemon client or the web server. How fast start-up is, is measured by
``bench/bench_startup.py``, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamrec.cli import importing
from streamrec.runtime import fetching

FORBIDDEN = (
    "apscheduler",
    "croniter",
    "httpx",
    "rich",
    "ruamel",
    "starlette",
    "uvicorn",
    "watchfiles",
    "streamrec.app",
    "streamrec.daemon",
    "streamrec.runtime.ffmpeg",
    "streamrec.spec.loading",
    "streamrec.spec.model",
    "streamrec.state",
    "streamrec.web",
)
"""Modules (with everything under them) that neither ``--version`` nor any ``--help`` loads."""

PYDANTIC = ("pydantic", "pydantic_core")
"""Typer converts option values with pydantic, but ``cli.coercion`` converts the plain ones
(``-c DIR``, ``-o FORMAT``, ``-q``) without it: no ``--help`` loads it, nor a ``validate`` whose
config is cached."""

MODEL = ("streamrec.spec.model", "streamrec.spec.loading", "streamrec.core.planning")
"""The config model, its loader and the planner, which a cached ``validate`` does not need."""

DAEMON_SIDE = (
    "apscheduler",
    "httpx",
    "rich",
    "starlette",
    "uvicorn",
    "watchfiles",
    "streamrec.daemon",
    "streamrec.web",
)
"""What ``status`` with no daemon running does not load: no client, no server, no box table."""

SMALL_CONFIG = {
    "main.yaml": """
        settings: {timezone: UTC, state_dir: state, recordings_dir: recordings}
        channels:
          news: {url: "rtmp://127.0.0.1/live/news"}
        tasks:
          report: {command: "true", schedule: "0 3 * * *"}
        """,
}

VERSION_ONLY_FORBIDDEN = ("typer", "click", "streamrec.cli.app")
"""What ``--version`` alone on the line does not even load: it is answered before Typer."""

LOGGING = ("loguru", "asyncio")
"""The logging library (loguru imports asyncio), which ``streamrec.log`` alone imports, on the
first line logged: the root lines load neither, nor does a command's ``--help``, a cached
``validate`` or ``status``, whose log is set up only once streamrec logs (``streamrec.log``)."""


def imported(*args: str) -> set[str]:
    """The modules ``python -m streamrec ARGS`` imports, read from ``-X importtime``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "streamrec", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    assert "streamrec.cli" in names, "the -X importtime lines were not found"
    return names


def loaded_of(names: set[str], forbidden: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that are one of ``forbidden`` or under one."""
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))


ROOT_LINES = [["--version"], ["-V"], ["--help"], ["-h"]]

COMMAND_LINES = [
    ["validate", "--help"],
    ["status", "-h"],
    ["channel", "list", "--help"],
    ["import", "m3u", "--help"],
    ["task", "run", "--help"],
    ["run", "--help"],
    ["record", "--help"],
]


@pytest.mark.parametrize("args", ROOT_LINES, ids=" ".join)
def test_version_and_help_import_no_heavy_module(args: list[str]) -> None:
    """Neither FORBIDDEN nor pydantic is imported to print the version or the command list."""
    loaded = loaded_of(imported(*args), FORBIDDEN + PYDANTIC)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", COMMAND_LINES, ids=" ".join)
def test_a_commands_help_imports_no_heavy_module(args: list[str]) -> None:
    """Neither FORBIDDEN nor pydantic is imported to print one command's help."""
    loaded = loaded_of(imported(*args), FORBIDDEN + PYDANTIC)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", [["--version"], ["-V"]], ids=" ".join)
def test_version_alone_is_answered_before_typer(args: list[str]) -> None:
    """``--version`` alone imports neither Typer nor click nor the application."""
    loaded = loaded_of(imported(*args), VERSION_ONLY_FORBIDDEN)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", ROOT_LINES + COMMAND_LINES, ids=" ".join)
def test_version_and_help_import_no_logging_library(args: list[str]) -> None:
    """The package does not import loguru at its top, and the log's set-up waits for
    ``streamrec.log``: no help line loads it."""
    loaded = loaded_of(imported(*args), LOGGING)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


def test_validate_of_a_cached_config_imports_no_model(write_config, tmp_path, monkeypatch):
    """Once a config was validated, validating it again reads the plain brief of its cache entry:
    no pydantic, no YAML parser, no config model or planner, no rich, no daemon side, no log."""
    directory = write_config(SMALL_CONFIG)
    monkeypatch.chdir(tmp_path)
    first = subprocess.run(
        [sys.executable, "-m", "streamrec", "-q", "-c", str(directory), "validate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    names = imported("-q", "-c", str(directory), "validate")
    loaded = loaded_of(names, PYDANTIC + MODEL + DAEMON_SIDE + LOGGING + ("ruamel",))
    assert not loaded, f"a cached validate imported {', '.join(loaded)}"


def test_status_without_a_daemon_imports_no_daemon_side(write_config, tmp_path, monkeypatch):
    """``status`` with no daemon running reads the state log: no daemon client (httpx), no web
    server, no scheduler or watcher, no rich (its tables are plain columns in a pipe), and once
    the config is cached, no YAML reader and, as nothing is logged, no logging library."""
    directory = write_config(SMALL_CONFIG)
    monkeypatch.chdir(tmp_path)
    loaded = loaded_of(imported("-q", "-c", str(directory), "status"), DAEMON_SIDE)
    assert not loaded, f"status imported {', '.join(loaded)}"
    again = loaded_of(
        imported("-q", "-c", str(directory), "status"), (*DAEMON_SIDE, *LOGGING, "ruamel")
    )
    assert not again, f"status of a cached config imported {', '.join(again)}"
    assert not (Path(tmp_path) / "state" / "daemon.sock").exists()


def test_the_fast_version_prints_what_the_option_prints() -> None:
    """``--version`` alone (answered before Typer) and after another option (by Typer's option
    callback) print the same line and exit 0."""

    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run(
            [sys.executable, "-m", "streamrec", *args], capture_output=True, text=True, check=False
        )
        return done.returncode, done.stdout, done.stderr

    fast, slow = run("--version"), run("-q", "--version")
    assert fast == slow
    assert fast[0] == 0 and fast[1].startswith("streamrec ")


def test_a_typer_without_the_private_conversion_classes_still_runs(tmp_path: Path) -> None:
    """The quick conversion of ``cli.coercion`` builds on Typer's private classes; with a Typer
    that lacks them (``cli.coercion`` failing to import, as it would there), every command still
    parses and runs, converted by Typer itself."""
    code = (
        "import runpy, sys; sys.modules['streamrec.cli.coercion'] = None; "
        "sys.argv = ['streamrec', 'history', '--help']; "
        "runpy.run_module('streamrec', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "--since" in done.stdout


def test_the_import_timeout_default_is_the_fetchers() -> None:
    """``import m3u --timeout``'s default is written out in ``cli.importing``; it stays equal."""
    assert importing.DEFAULT_TIMEOUT == fetching.DEFAULT_TIMEOUT
