"""The repository explains itself: no file points the reader at a document kept outside it.

A comment that says "see section 6 of the design notes" or "the target in the tracker" is lost on
anyone who has only this checkout, so the point is written where it is needed instead. Every text
file git knows (tracked, or new and not ignored) is read; a line naming such a document fails the
test with its file and line number.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each pattern, and what it points at that the repository does not hold.
OUTSIDE = {
    r"§\s*[0-9]": "a numbered section of some document",
    r"\b[Ii]ssues? #?[0-9]": "an issue tracker's numbers",
}
PATTERNS = {re.compile(pattern): what for pattern, what in OUTSIDE.items()}
MARKDOWN_NAME = re.compile(r"\b[A-Za-z0-9_-]+\.md\b")
"""A Markdown document named in a line: fine when the repository holds a file of that name."""


def repository_files() -> list[Path]:
    """Tracked files, plus new ones git does not ignore (so a new file is checked before commit)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing says which files belong to the repository")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    names = sorted({name for name in listed.decode().split("\0") if name})
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_references(text: str, held: frozenset[str]) -> list[tuple[int, str, str]]:
    """``(line number, line, what it points at)`` for each line naming an outside document;
    ``held`` are the names of the repository's own files."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        kinds = [what for pattern, what in PATTERNS.items() if pattern.search(line)]
        if any(name not in held for name in MARKDOWN_NAME.findall(line)):
            kinds.append("a Markdown document that is not in the repository")
        if kinds:
            found.append((number, line, ", ".join(kinds)))
    return found


def test_the_patterns_find_what_they_are_for_and_leave_ordinary_prose_alone() -> None:
    """Each kind of reference is found; words such as "design" or "an issue" are not."""
    found = outside_references(
        "see the notes, §6\nsee NOTES.md\nTarget (issue 2)\nIssues #12\n"
        "the design is simple\nan issue with the source\nsee README.md\n",
        frozenset({"README.md"}),
    )
    assert [n for n, _, _ in found] == [1, 2, 3, 4]


def test_no_file_refers_to_a_document_outside_the_repository() -> None:
    """Every line naming an outside document is listed as ``path:line: text``."""
    this = Path(__file__).resolve()
    files = repository_files()
    held = frozenset(path.name for path in files)
    wrong = []
    for path in files:
        text = None if path.resolve() == this else text_of(path)
        for number, line, what in outside_references(text or "", held):
            wrong.append(f"{path.relative_to(ROOT)}:{number}: ({what}) {line.strip()}")
    assert not wrong, "say what is meant instead of pointing outside the repository:\n" + "\n".join(
        wrong
    )
