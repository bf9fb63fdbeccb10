"""Fixtures for the state-log tests: a state directory, captured warnings, child writer processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from streamrec.state.journal import Journal


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A state directory that does not exist yet (the journal creates it)."""
    return tmp_path / "state"


@pytest.fixture
def journal(root: Path) -> Iterator[Journal]:
    """A journal with the default policy, closed after the test."""
    with Journal(root) as opened:
        yield opened


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    """The messages loguru logs at WARNING or above while the test runs."""
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m.record["message"])), level="WARNING")
    yield messages
    logger.remove(sink)


class Children:
    """Start fresh Python interpreters running test-supplied code (real, separate processes)."""

    @staticmethod
    def run(code: str, *args: str, timeout: float = 50) -> subprocess.CompletedProcess[str]:
        """Run dedented ``code`` with ``args`` as ``sys.argv[1:]`` and wait for it."""
        return subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    @staticmethod
    def start(code: str, *args: str) -> subprocess.Popen[str]:
        """Start dedented ``code``; its stdout and stderr are pipes."""
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def children() -> Children:
    """Helpers to run child Python processes."""
    return Children()
