"""Which live member of an etcd cluster records which channel, and when a member must fence itself.

``daemon.cluster`` asks these questions once a poll (about every second) with what it read from
etcd and the time; the answers are the same in every daemon that sees the same members. Pure: no
I/O, no clock (``now`` is an argument, monotonic seconds).

- :func:`parse_cluster`: ``etcd://host:port/prefix?ttl=10`` as a :class:`ClusterSpec` (no
  credentials in the URL: they would end up in logs and status).
- :func:`owner_of` / :func:`assignment`: rendezvous hashing (``core.sharding.weight``) over the
  member ids instead of shard numbers, so a member joining or leaving moves only the channels it
  must: the ones it now wins, or the ones it held.
- :func:`plan`: from the declared channels, the live members and the ownership keys, the keys this
  member should take (the channel hashes to it and nobody holds it) and give back (it holds one that
  hashes elsewhere now).
- :func:`read_keys`: one range read of the prefix as the members, the holder of each ownership key
  and the leader.
- :func:`must_fence`: a member that has not renewed its lease for half the TTL stops recording
  before the lease could expire and another member take its channels; :func:`renew_due`, when the
  next renewal is due (a third of the TTL).
- :func:`held_by_log`: the channels a member holds by what its own state log says (the cluster
  tests and ``bench/bench_failover.py`` check failovers with it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from streamrec.core.sharding import ShardError, weight

CLUSTER_ENV = "STREAMREC_CLUSTER"
"""The environment variable holding the cluster URL (wins over ``settings.cluster``)."""
DEFAULT_TTL = 10
"""Seconds of a member's lease unless the URL says ``?ttl=``."""
DEFAULT_PREFIX = "/streamrec"
FENCE_FRACTION = 0.5
"""A member that has not renewed for this fraction of the TTL stops its recorders."""
RENEW_FRACTION = 1 / 3
"""A member renews its lease after this fraction of the TTL."""

_MEMBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}\Z")


@dataclass(frozen=True)
class ClusterSpec:
    """Where the etcd gateway is and under which key prefix the members of one installation meet."""

    host: str
    port: int
    prefix: str = DEFAULT_PREFIX
    ttl: int = DEFAULT_TTL

    def __str__(self) -> str:
        return f"etcd://{self.host}:{self.port}{self.prefix}?ttl={self.ttl}"

    def key(self, *parts: str) -> str:
        """``<prefix>/<part>/...``: every key of the cluster lives under the prefix."""
        return "/".join((self.prefix, *parts))


def parse_cluster(url: str) -> ClusterSpec:
    """``etcd://host:port/prefix?ttl=10`` -> :class:`ClusterSpec` (:class:`ShardError` if bad)."""
    text = url.strip()
    parts = urlsplit(text)
    shown = re.sub(r"//[^/@]*@", "//***@", text)  # never a password in a message
    if parts.scheme != "etcd" or not parts.hostname:
        raise ShardError(
            f"expected a cluster URL like etcd://127.0.0.1:2379/streamrec?ttl=10, got {shown!r}"
        )
    if parts.username or parts.password:
        raise ShardError(
            "a cluster URL cannot hold credentials (they would show in logs and status); "
            "give etcd://host:port/prefix of an etcd that accepts this daemon"
        )
    try:
        port = parts.port or 2379
    except ValueError:
        raise ShardError(f"the cluster URL {shown!r} has a bad port") from None
    prefix = "/" + parts.path.strip("/") if parts.path.strip("/") else DEFAULT_PREFIX
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"ttl"})
    if unknown:
        raise ShardError(f"the cluster URL knows only ?ttl=SECONDS, not {', '.join(unknown)}")
    ttl = DEFAULT_TTL
    if "ttl" in query:
        raw = query["ttl"][-1]
        if not raw.isdigit() or not 2 <= int(raw) <= 3600:
            raise ShardError(f"the cluster TTL must be whole seconds from 2 to 3600, got {raw!r}")
        ttl = int(raw)
    return ClusterSpec(parts.hostname, port, prefix, ttl)


def resolve_cluster(
    flag: str | None, environ: Mapping[str, str], setting: str | None
) -> ClusterSpec | None:
    """The cluster of this daemon: ``--cluster``, else ``STREAMREC_CLUSTER``, else
    ``settings.cluster``, else None (no cluster: alone or ``--shard``)."""
    text = flag or environ.get(CLUSTER_ENV, "").strip() or setting
    return parse_cluster(text) if text else None


def check_member_id(member: str) -> str:
    """``member`` when it can name a member (letters, digits, ``._:@-``), else ShardError."""
    if not _MEMBER_ID.match(member):
        raise ShardError(
            f"a cluster member id is 1-128 letters, digits and ._:@- (starting with a letter "
            f"or digit), got {member!r}"
        )
    return member


def owner_of(name: str, members: Iterable[str]) -> str | None:
    """The member that owns ``name`` among ``members`` (None when there are none)."""
    # ties (astronomically unlikely with 64 bits) go to the smaller id, the same everywhere
    best: tuple[int, str] | None = None
    for member in members:
        score = weight(name, member)
        if best is None or score > best[0] or (score == best[0] and member < best[1]):
            best = (score, member)
    return best[1] if best else None


def assignment(names: Iterable[str], members: Iterable[str]) -> dict[str, str | None]:
    """Every name with the member that owns it."""
    live = sorted(set(members))
    return {name: owner_of(name, live) for name in names}


def leader_of(members: Iterable[str]) -> str | None:
    """Not the election itself (that is the ``leader`` key), only who would win a fresh one."""
    return min(members, default=None)


@dataclass(frozen=True)
class Plan:
    """What one member does with the ownership keys after one look at the cluster."""

    claim: tuple[str, ...] = ()
    """Channels that hash to this member and that no one holds: take their keys."""
    release: tuple[str, ...] = ()
    """Channels this member holds that hash to another live member: stop, then give the key back."""
    waiting: Mapping[str, str] = field(default_factory=dict)
    """Channels that hash to this member but another still holds: the holder gives them back."""


def plan(names: Iterable[str], members: Iterable[str], me: str, owners: Mapping[str, str]) -> Plan:
    """The keys to take and give back, given the declared ``names``, the live ``members`` (this one
    included while registered) and ``owners`` (channel -> member holding its key)."""
    declared = list(names)
    live = sorted(set(members))
    claim, waiting = [], {}
    for name in declared:
        target = owner_of(name, live)
        holder = owners.get(name)
        if target == me and holder is None:
            claim.append(name)
        elif target == me and holder != me and holder is not None:
            waiting[name] = holder
    known = set(declared)
    release = [
        name
        for name, holder in sorted(owners.items())
        if holder == me and (name not in known or owner_of(name, live) != me)
    ]
    return Plan(tuple(claim), tuple(release), waiting)


@dataclass(frozen=True)
class Seen:
    """One range read of the cluster's prefix, as a member reads it."""

    members: tuple[str, ...]
    """The live members (their member keys), sorted."""
    owners: Mapping[str, str]
    """Channel -> the member holding its ownership key; a key of this member's earlier lease is
    another holder (``M (an earlier lease)``), not this member."""
    tokens: Mapping[str, str]
    """Channel -> the ownership key's value (``MEMBER LEASE``), for a delete that compares."""
    leader: str | None
    """The leader key's value, None when nobody leads."""


def read_keys(spec: ClusterSpec, keys: Iterable[tuple[str, str]], me: str, token: str) -> Seen:
    """``(key, value)`` pairs under the prefix as :class:`Seen` by member ``me`` whose keys hold
    ``token``."""
    members_prefix, owners_prefix = spec.key("members") + "/", spec.key("owners") + "/"
    members, owners, tokens, leader = set(), {}, {}, None
    for key, value in keys:
        if key.startswith(members_prefix):
            members.add(key[len(members_prefix) :])
        elif key.startswith(owners_prefix):
            name = key[len(owners_prefix) :]
            tokens[name] = value
            holder = value.split(" ", 1)[0]
            mine = value == token or holder != me
            owners[name] = holder if mine else f"{holder} (an earlier lease)"
        elif key == spec.key("leader"):
            leader = value
    return Seen(tuple(sorted(members)), owners, tokens, leader)


def must_fence(now: float, last_renewal: float, ttl: float) -> bool:
    """Whether a member that last renewed its lease at ``last_renewal`` must stop recording now:
    half the TTL has passed, so the lease may expire before the next renewal could land."""
    return now - last_renewal >= ttl * FENCE_FRACTION


def fence_deadline(last_renewal: float, ttl: float) -> float:
    """When :func:`must_fence` turns true for a renewal at ``last_renewal``."""
    return last_renewal + ttl * FENCE_FRACTION


def renew_due(now: float, last_renewal: float, ttl: float) -> bool:
    """Whether the lease should be renewed now."""
    return now - last_renewal >= ttl * RENEW_FRACTION


MEMBER_ENV = "STREAMREC_MEMBER"
"""The environment variable naming this daemon in the cluster (default: ``HOSTNAME-PID``)."""


def member_id(environ: Mapping[str, str], hostname: str, pid: int) -> str:
    """This daemon's member id: ``STREAMREC_MEMBER``, else the short hostname and the pid (unique
    on one machine, and in a pod, where the hostname is the pod's name)."""
    given = environ.get(MEMBER_ENV, "").strip()
    if given:
        return check_member_id(given)
    short = re.sub(r"[^A-Za-z0-9._-]", "-", hostname.split(".", 1)[0]).strip("-.") or "streamrec"
    return check_member_id(f"{short[:100]}-{pid}")


def held_by_log(events: Iterable[Mapping[str, object]]) -> set[str]:
    """The channels a member holds after ``events``, its state log's events in order: each
    ``channel.owned`` adds one, ``channel.released`` drops it, and ``cluster.fenced`` or
    ``daemon.stopped`` drops them all."""
    held: set[str] = set()
    for event in events:
        kind, channel = event.get("type"), event.get("channel")
        if kind == "channel.owned" and isinstance(channel, str):
            held.add(channel)
        elif kind == "channel.released" and isinstance(channel, str):
            held.discard(channel)
        elif kind in {"cluster.fenced", "daemon.stopped"}:
            held.clear()
    return held
