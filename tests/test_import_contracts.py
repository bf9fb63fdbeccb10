"""The import-linter contracts in ``pyproject.toml`` cover every top-level part of ``streamrec``.

``lint-imports`` checks the contracts; these tests check that the contracts still name everything,
so a new subpackage or module cannot slip past the layers or the one-importer rules.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path
from typing import Any

import streamrec

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter depends on tomli there
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# The only imports of these libraries the package may make, each from its one module.
ALLOWED = {
    "streamrec.runtime.scheduling -> apscheduler",
    "streamrec.runtime.watching -> watchfiles",
}


def contracts() -> list[dict[str, Any]]:
    with PYPROJECT.open("rb") as file:
        found: list[dict[str, Any]] = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    return found


def top_level() -> set[str]:
    """Every top-level subpackage and module of streamrec, as a dotted name."""
    return {f"streamrec.{module.name}" for module in pkgutil.iter_modules(streamrec.__path__)}


def layered() -> list[str]:
    """Every module named in the layers contract, once per layer that names it."""
    (layers,) = [c for c in contracts() if c["type"] == "layers"]
    names = []
    for layer in layers["layers"]:
        names += [name.strip(" ()") for name in re.split(r"[|:]", layer)]
    return names


def one_importer_contract() -> dict[str, Any]:
    (contract,) = [c for c in contracts() if "only runtime.scheduling" in c["name"].lower()]
    return contract


def covers(source: str, module: str) -> bool:
    return module == source or module.startswith(f"{source}.")


def test_every_top_level_part_of_streamrec_is_in_exactly_one_layer() -> None:
    """A subpackage or module missing from the layers, or in two of them, is named."""
    names = layered()
    missing = sorted(top_level() - set(names))
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not missing, f"in no layer of pyproject.toml's layers contract: {', '.join(missing)}"
    assert not twice, f"in more than one layer: {', '.join(twice)}"


def test_the_layers_name_only_modules_that_exist() -> None:
    """A layer naming a module that was renamed or removed is named."""
    gone = sorted(set(layered()) - top_level())
    assert not gone, f"the layers contract names modules that do not exist: {', '.join(gone)}"


def test_only_the_scheduling_and_watching_modules_may_import_their_libraries() -> None:
    """The one-importer contract covers every top-level part and exempts only the two modules."""
    contract = one_importer_contract()
    assert contract["type"] == "forbidden"
    assert {"apscheduler", "watchfiles"} <= set(contract["forbidden_modules"])
    sources = contract["source_modules"]
    uncovered = sorted(
        m for m in top_level() | {"streamrec"} if not any(covers(s, m) for s in sources)
    )
    assert not uncovered, f"not covered by {contract['name']!r}: {', '.join(uncovered)}"
    exempt = set(contract.get("ignore_imports", [])) - ALLOWED
    assert not exempt, f"exempted from {contract['name']!r} beyond the two: {sorted(exempt)}"
