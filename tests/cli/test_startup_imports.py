"""What ``streamrec --version`` and ``--help`` import: Typer and light modules, none of the heavy ones.

Each case runs ``python -X importtime -m streamrec ...`` in a fresh interpreter and reads the
modules it imported from standard error. A top-level ``import rich`` (or of the config model, the
daemon client, the web server...) added to any command module makes these fail. How fast start-up
is, is measured by ``bench/bench_startup.py``, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys

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

TYPER_COERCION = ("pydantic", "pydantic_core")
"""Typer converts an option's value (``-c DIR``, ``-o FORMAT``) with pydantic, so a command line
whose root options are parsed (``CMD --help``, every command) loads pydantic, though not the config
model; ``--version`` and ``--help`` before any command are answered before that."""

VERSION_ONLY_FORBIDDEN = ("typer", "click", "streamrec.cli.app")
"""What ``--version`` alone on the line does not even load: it is answered before Typer."""

LOGGING = ("loguru", "asyncio")
"""The logging library (loguru imports asyncio), which ``streamrec.log`` alone imports: the root
lines load neither; a command's line sets up logging, so its ``--help`` loads them."""


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
    loaded = loaded_of(imported(*args), FORBIDDEN + TYPER_COERCION)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", COMMAND_LINES, ids=" ".join)
def test_a_commands_help_imports_no_heavy_module(args: list[str]) -> None:
    """None of FORBIDDEN is imported to print one command's help (pydantic is Typer's)."""
    loaded = loaded_of(imported(*args), FORBIDDEN)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", [["--version"], ["-V"]], ids=" ".join)
def test_version_alone_is_answered_before_typer(args: list[str]) -> None:
    """``--version`` alone imports neither Typer nor click nor the application."""
    loaded = loaded_of(imported(*args), VERSION_ONLY_FORBIDDEN)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


@pytest.mark.parametrize("args", ROOT_LINES, ids=" ".join)
def test_version_and_help_import_no_logging_library(args: list[str]) -> None:
    """The package does not import loguru at its top: the root lines never load it."""
    loaded = loaded_of(imported(*args), LOGGING)
    assert not loaded, f"streamrec {' '.join(args)} imported {', '.join(loaded)}"


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


def test_the_import_timeout_default_is_the_fetchers() -> None:
    """``import m3u --timeout``'s default is written out in ``cli.importing``; it stays equal."""
    assert importing.DEFAULT_TIMEOUT == fetching.DEFAULT_TIMEOUT
