"""Which daemon owns which channel when several daemons share one config: rendezvous hashing.

The daemon (``streamrec run --shard i/N``, ``STREAMREC_SHARD``, or a StatefulSet's pod ordinal)
calls :func:`resolve_shard` once at start and then asks :meth:`Shard.owns_channel` and
:meth:`Shard.owns_task` for every object of each config it applies. Pure: no I/O, no clock; the
hostname is an argument.

Rendezvous (highest-random-weight) hashing gives every (channel, shard) pair a weight from a stable
hash and hands the channel to the shard with the highest weight. Each channel's weights do not
depend on N, so changing N moves only the channels it must: going from 3 shards to 2 moves exactly
the channels of shard 2, and going from 3 to 4 moves exactly the channels shard 3 now wins. The hash
is BLAKE2b, never Python's ``hash()`` (salted per process, so two daemons would disagree).

Scheduled tasks and queues run on shard 0 unless pinned to another shard, so a nightly queue runs
once per installation, not once per daemon.

This is the static setup: N is fixed and nothing takes over a shard whose daemon died. With etcd
(``core.membership``, ``daemon.cluster``) the live members share the channels by the same
:func:`weight` over their ids, and the elected leader runs the schedules; both satisfy
:class:`Ownership`, and a daemon takes one or the other, never both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from streamrec.errors import StreamrecError

SHARD_ENV = "STREAMREC_SHARD"
"""The environment variable holding ``i/N`` or ``auto/N``."""

_SPEC = re.compile(r"\s*(\d+|auto|ordinal)\s*/\s*(\d+)\s*\Z")
_ORDINAL = re.compile(r"-(\d+)\Z")


class ShardError(StreamrecError):
    """A shard specification cannot be understood, or names a shard outside 0..N-1 (also a cluster
    URL or member id that ``core.membership`` cannot read, or a shard given with a cluster)."""


def weight(name: str, shard: int | str) -> int:
    """The rendezvous weight of ``name`` on ``shard`` (a shard number, or a cluster member's id in
    ``core.membership``): 64 stable bits of BLAKE2b."""
    digest = hashlib.blake2b(
        f"{shard}\x00{name}".encode(), digest_size=8, person=b"streamrec-shard"
    ).digest()
    return int.from_bytes(digest, "big")


def owner(name: str, shards: int) -> int:
    """The shard (0..shards-1) that owns ``name`` when there are ``shards`` of them."""
    if shards < 1:
        raise ShardError(f"the number of shards must be at least 1, got {shards}")
    if shards == 1:
        return 0
    # ties (astronomically unlikely with 64 bits) go to the lower shard, the same everywhere
    return max(range(shards), key=lambda shard: (weight(name, shard), -shard))


def assignment(names: Iterable[str], shards: int) -> dict[str, int]:
    """Every name with the shard that owns it."""
    return {name: owner(name, shards) for name in names}


class Ownership(Protocol):
    """Who decides what this daemon records and schedules: a static :class:`Shard`, or a member
    of an etcd cluster (``daemon.cluster.ClusterMember``)."""

    def owns_channel(self, name: str) -> bool: ...
    def owns_task(self, pinned: int | None = None) -> bool: ...


@dataclass(frozen=True)
class Shard:
    """This daemon's place among ``count`` daemons: it is number ``index`` (from 0)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"the number of shards must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardError(
                f"shard {self.index} does not exist among {self.count} shards "
                f"(shards are numbered 0 to {self.count - 1})"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns_channel(self, name: str) -> bool:
        """Whether this daemon records the channel ``name``."""
        return owner(name, self.count) == self.index

    def owns_task(self, pinned: int | None = None) -> bool:
        """Whether this daemon runs a scheduled task or queue: shard 0's job unless ``pinned``."""
        target = 0 if pinned is None else pinned
        if not 0 <= target < self.count:
            raise ShardError(
                f"a task pinned to shard {target} has no daemon: there are {self.count} shards"
            )
        return target == self.index

    def channels(self, names: Iterable[str]) -> list[str]:
        """The names among ``names`` that this daemon owns, in their order."""
        return [name for name in names if self.owns_channel(name)]


SINGLE = Shard(0, 1)
"""The shard of a daemon that runs alone: it owns everything."""


def ordinal(hostname: str) -> int:
    """The pod ordinal of a StatefulSet hostname: ``streamrec-3`` -> 3."""
    found = _ORDINAL.search(hostname.strip().split(".", 1)[0])
    if not found:
        raise ShardError(
            f"cannot take a shard number from the hostname {hostname!r}: a StatefulSet pod is "
            "named NAME-ORDINAL (like streamrec-2); give --shard i/N instead"
        )
    return int(found.group(1))


def parse_shard(text: str, hostname: str = "") -> Shard:
    """``"i/N"`` -> ``Shard(i, N)``; ``"auto/N"`` takes ``i`` from a StatefulSet ``hostname``."""
    found = _SPEC.match(text)
    if not found:
        raise ShardError(
            f"expected a shard like 0/3 (this daemon's number, from 0, and the number of daemons) "
            f"or auto/3 (the number from a StatefulSet pod name), got {text!r}"
        )
    index_text, count = found.group(1), int(found.group(2))
    index = ordinal(hostname) if index_text in {"auto", "ordinal"} else int(index_text)
    return Shard(index, count)


def resolve_shard(flag: str | None, environ: Mapping[str, str], hostname: str) -> Shard:
    """The shard of this daemon: ``--shard``, else ``STREAMREC_SHARD``, else alone (0/1)."""
    text = flag if flag else environ.get(SHARD_ENV, "").strip()
    if not text:
        return SINGLE
    return parse_shard(text, hostname)


def moved(names: Iterable[str], before: int, after: int) -> dict[str, tuple[int, int]]:
    """The names whose owner changes when the number of shards goes from ``before`` to ``after``."""
    changes = {}
    for name in names:
        old, new = owner(name, before), owner(name, after)
        if old != new:
            changes[name] = (old, new)
    return changes
