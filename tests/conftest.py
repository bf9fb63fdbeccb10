"""Fixtures shared by every test folder: config directories written from text, and the CLI."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from loguru import logger
from media import FFMPEG
from typer.testing import CliRunner

import streamrec.log  # noqa: F401  (quiets the library's logging, as for any API user)
from streamrec.runtime.testsource import HlsTestSource

logger.enable("streamrec")  # the tests read streamrec's warnings, as the CLI shows them

# Property tests draw the same examples on every run, so a run is reproducible and a red one is
# red again; HYPOTHESIS_PROFILE=explore draws new ones (a search for bugs, not a check).
settings.register_profile("check", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "check"))


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test's config cache (``app.configcache``) in a directory of its own, never the
    user's ``~/.cache`` (daemons and commands the tests start inherit it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write ``{relative path: YAML text}`` (dedented) into a fresh config directory."""

    def write(files: dict[str, str | bytes], name: str = "config") -> Path:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        for relative, content in files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return directory

    return write


class Cli:
    """Runs ``streamrec`` commands in-process against one config directory."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.directory = directory
        self.runner = CliRunner()
        monkeypatch.chdir(directory.parent)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        from streamrec.cli.app import app  # imported late: only CLI tests need the whole CLI

        result = self.runner.invoke(
            app, ["--config", str(self.directory), *args], env=env, catch_exceptions=False
        )
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Cli]:
    """A runner of CLI commands for a given config directory (the cwd is its parent)."""
    return lambda directory: Cli(directory, monkeypatch)


@pytest.fixture
def hls(tmp_path: Path) -> Iterator[HlsTestSource]:
    """A live HLS source (1 s segments) on 127.0.0.1, stopped after the test."""
    source = HlsTestSource(FFMPEG, tmp_path / "source")
    source.start()
    yield source
    source.close()
