"""``docs/architecture.md`` lists every module of the package, and names only modules that exist.

The page has one table per layer whose first column is ``module``; each row names one or more
modules in backticks, as dotted names below ``streamrec`` (``spec.yamlio``; a package by its own
name, ``spec.editing``, for its ``__init__.py``; ``streamrec`` for the package root). The tree is
read from the files on disk, so a module added, moved or removed shows up here by name.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from streamrec.core.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "streamrec"
PAGE = ROOT / "docs" / "architecture.md"

TICKED = re.compile(r"`([^`\n]+)`")
# File names look dotted too (`daemon.json`, `app.js`); they are not modules.
FILE_NAME = re.compile(r"\.(?:css|html|js|json|jsonl|md|py|sock|ya?ml)$")
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# A dotted name in prose that starts at a subpackage: `daemon.webapi`, `web.routes.Actions`.
DOTTED = re.compile(r"^(?:streamrec\.)?(?:app|cli|core|daemon|runtime|spec|state|web)(?:\.\w+)+$")


def tree_modules() -> set[str]:
    """Every module on disk as a dotted name below ``streamrec``; ``__init__`` as its package."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        names.add(".".join(parts) or "streamrec")
    return names


def short(name: str) -> str:
    """``streamrec.spec.yamlio`` and ``spec.yamlio`` are the same module; the root stays."""
    return name.removeprefix("streamrec.") if name != "streamrec" else name


def page_modules(text: str) -> set[str]:
    """The modules named in the first column of the page's module tables."""
    names: set[str] = set()
    in_table = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_table = False
        elif cells[0] == "module":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            names |= {short(name) for name in TICKED.findall(cells[0])}
    return names


@cache
def top_level_names(path: Path) -> dict[str, ast.AST]:
    """What a module defines or imports at its top level, each with its node."""
    names: dict[str, ast.AST] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names.update(defined_by(node))
    return names


def defined_by(node: ast.AST) -> dict[str, ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name: node}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0]: node for a in node.names}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    found: dict[str, ast.AST] = {}
    for target in targets:
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                found[name.id] = node
            elif isinstance(name, ast.Attribute) and isinstance(name.value, ast.Name):
                found[name.attr] = node  # self.x = ... inside a method
    if isinstance(node, (ast.If, ast.Try)):
        for child in ast.iter_child_nodes(node):
            found.update(defined_by(child))
    return found


def class_names(node: ast.ClassDef) -> set[str]:
    """What a class defines: its methods and fields, and what its methods assign to ``self``."""
    names = set()
    for child in node.body:
        names |= set(defined_by(child))
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(child):
                names |= set(defined_by(inner)) if isinstance(inner, ast.Assign) else set()
    return names


def resolves(dotted: str) -> bool:
    """Whether a dotted name is a module, or a name (and a class member) a module defines."""
    parts = short(dotted).split(".")
    for cut in range(len(parts), 0, -1):
        base = PACKAGE.joinpath(*parts[:cut])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not module.is_file():
            continue
        rest = parts[cut:]
        if not rest:
            return True
        node = top_level_names(module).get(rest[0])
        if node is None:
            return False
        if len(rest) == 1 or not isinstance(node, ast.ClassDef):
            return True  # an imported or assigned name's members are not followed
        return rest[1] in class_names(node)
    return False


def test_the_table_reader_takes_first_cells_of_module_tables_only() -> None:
    """Names in the first column of a ``module`` table count; other tables and columns do not."""
    text = (
        "| module | role |\n|---|---|\n| `spec.a`, `streamrec.spec.b` | uses `core.c` |\n\n"
        "| route | answers |\n|---|---|\n| `web.d` | x |\n"
    )
    assert page_modules(text) == {"spec.a", "spec.b"}


def test_the_page_lists_every_module_and_no_module_that_is_gone() -> None:
    """Every module on disk has a row in a module table, and every row names a module on disk."""
    listed, present = page_modules(PAGE.read_text(encoding="utf-8")), tree_modules()
    missing, gone = sorted(present - listed), sorted(listed - present)
    assert not missing and not gone, (
        "docs/architecture.md is out of date with streamrec/:\n"
        + (f"  modules without a row: {', '.join(missing)}\n" if missing else "")
        + (f"  rows naming modules that do not exist: {', '.join(gone)}\n" if gone else "")
    )


def test_every_dotted_name_in_the_page_exists() -> None:
    """A module, function or class the prose names (``daemon.webapi``, ``cli.app.load``) exists."""
    wrong = sorted(
        {
            name
            for name in TICKED.findall(FENCED.sub("", PAGE.read_text(encoding="utf-8")))
            if DOTTED.match(name)
            and not FILE_NAME.search(name)
            and name not in EVENT_TYPES
            and not resolves(name)
        }
    )
    assert not wrong, (
        f"docs/architecture.md names what streamrec/ does not have: {', '.join(wrong)}"
    )
