"""Every environment variable the code names is in the one table of docs/deploy.md, and back.

The code is the package, the container's entrypoint and the image's files; a `STREAMREC_*` name
anywhere in them (read with ``environ.get``, a Typer ``envvar=``, set for a task) and any other
name read with ``environ.get``/``getenv``/``envvar=`` must have a row in "Environment variables".
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deploy.md"
CODE = [
    *sorted((ROOT / "streamrec").rglob("*.py")),
    *sorted((ROOT / "docker").rglob("*.py")),
    ROOT / "Dockerfile",
    ROOT / "compose.yaml",
]
STREAMREC_NAME = re.compile(r"\b_?STREAMREC_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
READ = re.compile(
    r"""(?:environ\.get|environ\[|env\.get|getenv|envvar=)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def code_names() -> dict[str, Path]:
    """Each variable named by the code, with one file naming it."""
    found: dict[str, Path] = {}
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        for name in {*STREAMREC_NAME.findall(text), *READ.findall(text)}:
            found.setdefault(name, path)
    return found


def table_names() -> set[str]:
    """The names in the first column of the table under "## Environment variables"."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Environment variables\n", 1)
    assert len(section) == 2, f"{DOC} has no 'Environment variables' section"
    body = section[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in body.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names.update(re.findall(r"`([A-Z_][A-Z0-9_]*)`", first))
    return names


def test_the_scan_finds_the_variables_it_must() -> None:
    """The scan itself works: it sees names read in each of the ways the code reads them."""
    names = code_names()
    for name in (
        "STREAMREC_STATE_DIR",  # environ.get in state.location
        "STREAMREC_CONFIG",  # envvar= in cli.app
        "STREAMREC_BOOTSTRAP",  # the entrypoint
        "STREAMREC_TASK",  # set for a task
        "CHANNEL_URL",  # env.get in the entrypoint
        "GIT_SSH_COMMAND",  # os.environ.get in runtime.gitsync
    ):
        assert name in names, name


def test_every_variable_the_code_names_has_a_row() -> None:
    missing = {name: str(path.relative_to(ROOT)) for name, path in code_names().items()}
    for name in table_names():
        missing.pop(name, None)
    assert not missing, (
        "environment variables without a row in the table of docs/deploy.md "
        f"('Environment variables'): {missing}"
    )


def test_every_row_names_a_variable_the_code_names() -> None:
    gone = table_names() - code_names().keys() - {"TZ"}
    assert not gone, (
        f"rows of docs/deploy.md naming variables nothing reads or sets: {sorted(gone)}"
    )
