"""The limits that bound reading a config directory, in one frozen record.

``spec.sources`` (file and directory sizes, file types) and ``spec.yamlio`` (alias expansion,
nesting depth, scalar length) enforce them; ``spec.loading.load_config`` takes a :class:`Limits`
so that tests can lower them, and everyone else uses :data:`DEFAULT_LIMITS`. Each limit crossed is
one located problem that names the limit and its value, and reading the file stops there: no
limit may be found out by hanging, by exhausting memory or by a ``RecursionError``.

The defaults are far above any real config (a 10,000-channel directory is ~2 MB, nested ~6 deep)
and far below what makes the loader slow.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 2**20


@dataclass(frozen=True)
class Limits:
    """How much one config directory may ask of the loader."""

    file_bytes: int = 8 * MIB
    """Bytes per file; a file is read only up to this (plus one byte to see that it is larger)."""
    total_bytes: int = 64 * MIB
    """Bytes of all the files of the directory together."""
    alias_nodes: int = 1_000_000
    """Nodes that aliases may bring in per file, each alias counting the expanded size of its
    anchored node (a guard against "billion laughs" alias bombs)."""
    depth: int = 64
    """Nesting of mappings and sequences."""
    scalar_chars: int = 1 * MIB
    """Characters of one scalar (a key or a value)."""


DEFAULT_LIMITS = Limits()
"""The limits every command and the daemon use."""


def size_text(count: int) -> str:
    """``8 MiB`` for whole mebibytes, else the number of bytes."""
    if count >= MIB and count % MIB == 0:
        return f"{count // MIB} MiB"
    return f"{count:,} bytes"
