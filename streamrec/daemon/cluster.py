"""The daemon as one member of an etcd cluster: lease, ownership keys, leader, fencing, hand-overs.

``daemon.service`` makes one :class:`ClusterMember` when a cluster is configured (``run
--cluster``, ``STREAMREC_CLUSTER`` or ``settings.cluster``; ``core.membership``) and hands it to
the channels (``owns=member.owns_channel``) and the schedules (``member.owns_task``) in place of
the static ``core.sharding.Shard``. Two loops run: :meth:`ClusterMember.keep_lease` (every
0.25 s, on a connection of its own, so a slow look never delays a renewal) does 1 and 2, and
:meth:`ClusterMember.run` looks at etcd about once a second for 3 to 5:

1. **Fence.** When the last good renewal is half a TTL old (``core.membership.must_fence``;
   the loop was blocked, the process stopped, etcd unreachable or the state log not writable), every
   recorder is stopped (files finished) and the ownership keys are forgotten before the lease could
   expire and let another member start the same channels; ``cluster.fenced`` is logged and the
   member registers again with a new lease. While the daemon cannot run at all (SIGSTOP, a
   frozen loop), ``runtime.fencewatch``'s watchdog process stops its ffmpeg at the same deadline.
2. **Lease.** Registered: the member key ``<prefix>/members/<id>`` under a lease of the TTL,
   renewed every third of it while the daemon is healthy (the state log can be written).
3. **Look.** One range read of the prefix: the live members (``cluster.members`` when they
   changed), the ownership keys ``<prefix>/owners/<channel>`` and the leader key.
4. **Leader.** ``<prefix>/leader`` created only if absent, under this member's lease: the leader
   runs the scheduled tasks and queues (``cluster.leader``; the service schedules them again).
5. **Ownership.** ``core.membership.plan``: a channel this member holds that hashes elsewhere now is
   stopped first (finished file) and its key then deleted (``channel.released``); a channel that
   hashes here and that nobody holds is taken with a create-if-absent transaction under this
   member's lease (``channel.owned``), then started; the time between the previous holder's last
   sighting and the take is a ``recording.gap`` naming the hand-over. A key held that vanished
   (expired) stops its recorder at once.

A channel is recorded only while this member holds its key, so two members never record one
channel at once: a new owner can take a key only once the old one deleted it (after stopping) or
its lease expired (it fenced itself half a TTL before that). On a clean stop the lease is revoked,
so the others take over within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.events import (
    ChannelOwned,
    ChannelReleased,
    ClusterFenced,
    ClusterJoined,
    ClusterLeader,
    ClusterMembers,
    Emit,
    RecordingGap,
)
from streamrec.core.membership import (
    ClusterSpec,
    fence_deadline,
    must_fence,
    owner_of,
    plan,
    read_keys,
    renew_due,
)
from streamrec.core.timestamps import format_ts
from streamrec.log import logger
from streamrec.runtime.etcd import Etcd, EtcdUnavailable, KeyValue
from streamrec.runtime.fencewatch import FenceWatch
from streamrec.runtime.pause import stopped_within

POLL = 1.0
"""Seconds between two looks at the cluster."""
KEEPALIVE_EVERY = 0.25
"""Seconds between two looks of the lease loop (renewal due? fence due?)."""

Evaluate = Callable[[str], Coroutine[Any, Any, Any]]
"""Look at one channel again (start or stop its recorder as its ownership now says)."""


@dataclass
class _Sighting:
    """The last time a channel's key was seen held by another member."""

    holder: str
    at: Any  # a datetime from the daemon's clock


class ClusterMember:
    """This daemon's membership of one etcd cluster (module docstring)."""

    def __init__(
        self,
        spec: ClusterSpec,
        member: str,
        *,
        store: Etcd,
        lease_store: Etcd | None = None,
        names: Callable[[], list[str]],
        evaluate: Evaluate,
        running: Callable[[str], bool],
        healthy: Callable[[], str | None],
        emit: Emit,
        clock: Clock,
        on_leader: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        watch: FenceWatch | None = None,
        halt: Callable[[list[str], str], None] = lambda _names, _reason: None,
    ) -> None:
        self.spec, self.member, self.store = spec, member, store
        self.lease_store = lease_store or store
        """The lease's own connection: renewals never wait behind a look at the cluster."""
        self._lock = asyncio.Lock()
        """Held by a look's actions and by fencing: they never interleave."""
        self._keeper: asyncio.Task[None] | None = None
        self._fencing = False
        """While a fence stops the recorders, no new lease is taken."""
        self._names, self._evaluate, self._running = names, evaluate, running
        self._healthy, self._emit, self._clock = healthy, emit, clock
        self._on_leader, self._monotonic = on_leader, monotonic
        self._watch = watch
        self._halt = halt
        """Tell these channels' recorders to stop, at once and without waiting (fencing)."""
        """The watchdog that stops this daemon's ffmpeg when the daemon cannot (``runtime.fencewatch``)."""
        self.lease: int | None = None
        self.last_renewal = 0.0
        self.members: tuple[str, ...] = ()
        self.owners: dict[str, str] = {}
        """Every ownership key seen at the last look: channel -> member holding it."""
        self.held: set[str] = set()
        self.leader = False
        self.handovers = 0
        self._seen: dict[str, _Sighting] = {}
        self._task: asyncio.Task[None] | None = None
        self._unhealthy_said = False

    # --- what the channels and the schedules ask ----------------------------------------------

    def owns_channel(self, name: str) -> bool:
        """Whether this member may record ``name`` now: it holds the channel's key."""
        return name in self.held

    def hold(self, name: str) -> str | None:
        """Why a recorder of ``name`` may not record on now, or None (its recorder asks before
        each start of ffmpeg: a daemon resumed past its fence stops before starting again)."""
        if self.lease is None or must_fence(self._monotonic(), self.last_renewal, self.spec.ttl):
            return "fenced: the lease was not renewed in time"
        if name not in self.held:
            return "its ownership key is not held"
        return None

    def owns_task(self, pinned: int | None = None) -> bool:
        """Whether this member runs scheduled tasks and queues: it is the leader (a shard pin
        means nothing in a cluster)."""
        return self.leader

    def __str__(self) -> str:
        return f"{self.member} in {self.spec}"

    @property
    def token(self) -> str:
        """The value of this member's keys: its id and its lease (another lease is not it)."""
        return f"{self.member} {self.lease:x}" if self.lease is not None else self.member

    def lease_age(self) -> float | None:
        """Seconds since the last good renewal (None while not registered)."""
        return self._monotonic() - self.last_renewal if self.lease is not None else None

    def view(self) -> dict[str, Any]:
        """What status shows of the cluster, as seen by this member."""
        age = self.lease_age()
        return {
            "cluster": str(self.spec),
            "member": self.member,
            "registered": self.lease is not None,
            "leader": self.leader,
            "members": list(self.members),
            "owners": dict(sorted(self.owners.items())),
            "owned": sorted(self.held),
            "lease_age": round(age, 3) if age is not None else None,
            "ttl": self.spec.ttl,
            "handover_count": self.handovers,
        }

    # --- the loop ---------------------------------------------------------------------------

    def start(self, stop: asyncio.Event) -> None:
        """Run :meth:`run` and the lease loop in the background until ``stop`` or :meth:`halt`."""
        self._task = asyncio.create_task(self.run(stop), name="cluster member")
        self._keeper = asyncio.create_task(self.keep_lease(stop), name="cluster lease")

    async def keep_lease(self, stop: asyncio.Event) -> None:
        """Renew the lease when due and fence when it was not renewed in time, on its own
        connection and loop, so a slow look (recorders stopping) never delays a renewal."""
        while not stop.is_set():
            try:
                await self._lease_step()
            except asyncio.CancelledError:
                raise
            except EtcdUnavailable as exc:
                logger.warning("cluster: {} (fencing in {:.1f}s unless it answers)", exc,
                               self._fence_in())  # fmt: skip
            except Exception:
                logger.exception("cluster: the lease loop failed once")
            await stopped_within(stop, KEEPALIVE_EVERY)

    async def _lease_step(self) -> None:
        if self.lease is None:
            return
        if must_fence(self._monotonic(), self.last_renewal, self.spec.ttl):
            # not behind the lock: a look stuck on etcd must not delay the fence
            age = self._monotonic() - self.last_renewal
            await self.fence(f"lease not renewed for {age:.1f}s (TTL {self.spec.ttl}s)")
        elif renew_due(self._monotonic(), self.last_renewal, self.spec.ttl):
            await self._renew()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set (module docstring)."""
        while not stop.is_set():
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad poll end the membership
                logger.exception("cluster: one look at etcd failed")
            await stopped_within(stop, POLL)

    async def halt(self) -> None:
        """Stop looking (shutdown): no key is taken or given back after this; the lease is still
        renewed until :meth:`leave`."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def leave(self) -> None:
        """After the recorders stopped: revoke the lease, so every key goes at once."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._keeper
            self._keeper = None
        self.held.clear()
        lease, self.lease = self.lease, None
        if lease is not None:
            try:
                await self.store.revoke(lease)
            except EtcdUnavailable as exc:
                logger.warning(
                    "cluster: could not revoke the lease ({}); it expires by itself", exc
                )
        self.store.close()
        self.lease_store.close()
        if self._watch is not None:
            self._watch.close()

    async def step(self) -> None:
        """One look: register when not, read the prefix, then leader and ownership (module
        docstring); fencing and renewals are the lease loop's (:meth:`keep_lease`)."""
        async with self._lock:
            try:
                if self.lease is None and not self._fencing:
                    await self._register()
                if self.lease is None:
                    return
                keys = await self.store.scan(self.spec.prefix + "/")
            except EtcdUnavailable as exc:
                logger.warning("cluster: {}", exc)
                return
            if must_fence(self._monotonic(), self.last_renewal, self.spec.ttl):
                return  # the lease loop fences next
            await self._act(keys)

    def _fence_in(self) -> float:
        if self.lease is None:
            return 0.0
        return max(0.0, self.last_renewal + self.spec.ttl / 2 - self._monotonic())

    async def _register(self) -> None:
        problem = self._healthy()
        if problem:
            self._say_unhealthy(problem)
            return
        sent = self._monotonic()
        lease = await self.store.grant(self.spec.ttl)
        await self.store.put(self.spec.key("members", self.member), self.member, lease)
        self.lease, self.last_renewal = lease, sent
        if self._watch is not None:
            self._watch.start(fence_deadline(sent, self.spec.ttl))
        keys = await self.store.scan(self.spec.key("members") + "/")
        self.members = tuple(sorted(kv.value for kv in keys))
        self._emit(ClusterJoined(member=self.member, cluster=str(self.spec),
                                 members=list(self.members)))  # fmt: skip
        logger.info("cluster: joined {} as {} ({} members)", self.spec, self.member,
                    len(self.members))  # fmt: skip

    async def _renew(self) -> None:
        problem = self._healthy()
        if problem:
            self._say_unhealthy(problem)
            return  # not renewed: an unhealthy member fences itself and lets the others record
        self._unhealthy_said = False
        sent = self._monotonic()
        assert self.lease is not None
        left = await self.lease_store.keepalive(self.lease)
        if left <= 0:
            await self.fence("the lease expired in etcd")
            return
        self.last_renewal = sent
        if self._watch is not None:
            self._watch.move(fence_deadline(sent, self.spec.ttl))

    def _say_unhealthy(self, problem: str) -> None:
        if not self._unhealthy_said:
            logger.warning("cluster: not renewing the lease: {}", problem)
            self._unhealthy_said = True

    async def fence(self, reason: str) -> None:
        """Stop every recorder now (files finished), forget the keys and the lease (first, before
        any await: a look in flight sees the lease gone and takes nothing)."""
        stopped = sorted(self.held)
        was_leader = self.leader
        lease, self.lease = self.lease, None
        if lease is None:
            return
        self._fencing = True
        try:
            await self._fence(lease, stopped, was_leader, reason)
        finally:
            self._fencing = False

    async def _fence(self, lease: int, stopped: list[str], was_leader: bool, reason: str) -> None:
        self.held.clear()
        self.leader = False
        self._halt(stopped, reason)  # before any await: no recorder may start ffmpeg again
        for name in stopped:
            await self._evaluate(name)
        self._emit(ClusterFenced(member=self.member, reason=reason, stopped=stopped))
        logger.warning("cluster: fenced ({}): stopped {} recorder(s); joining again", reason,
                       len(stopped))  # fmt: skip
        if was_leader:
            self._on_leader()
        with contextlib.suppress(EtcdUnavailable):
            await self.lease_store.revoke(lease)  # its keys go now rather than at its expiry

    async def _act(self, keys: list[KeyValue]) -> None:
        seen = read_keys(self.spec, ((kv.key, kv.value) for kv in keys), self.member, self.token)
        owners, tokens = dict(seen.owners), seen.tokens
        self._note_members(seen.members)
        self.owners = owners
        await self._lead(seen.leader)
        now = self._clock.now()
        for name in sorted(self.held - {n for n, t in tokens.items() if t == self.token}):
            self.held.discard(name)  # the key is gone (expired or deleted): stop at once
            await self._evaluate(name)
            self._emit(ChannelReleased(channel=name, member=self.member,
                                       reason="its ownership key vanished"))  # fmt: skip
        decided = plan(self._names(), self.members, self.member, owners)
        for name in decided.release:
            await self._release(name, tokens.get(name, self.token))
        for name in decided.claim:
            await self._claim(name, now)
        for name, holder in owners.items():
            if holder != self.member:
                self._seen[name] = _Sighting(holder, now)

    def _note_members(self, members: tuple[str, ...]) -> None:
        if members == self.members:
            return
        joined = sorted(set(members) - set(self.members))
        left = sorted(set(self.members) - set(members))
        self.members = members
        self._emit(ClusterMembers(members=list(members), joined=joined, left=left))
        logger.info("cluster: members {} (joined {}, left {})", list(members), joined, left)

    async def _lead(self, value: str | None) -> None:
        was = self.leader
        lease = self.lease
        if lease is None:
            return
        if value is None:
            won = await self.store.create(self.spec.key("leader"), self.token, lease)
            self.leader = won and self.lease == lease
        else:
            self.leader = value == self.token
        if self.leader != was:
            self._emit(ClusterLeader(member=self.member, leader=self.leader))
            logger.info("cluster: {} the leader", "now" if self.leader else "no longer")
            self._on_leader()

    async def _release(self, name: str, token: str) -> None:
        self.held.discard(name)
        await self._evaluate(name)  # the recorder stops (file finished) before the key goes
        to = owner_of(name, self.members)
        rebalanced = to is not None and to != self.member
        reason = f"rebalanced: it hashes to {to} now" if rebalanced else "no longer declared"
        with contextlib.suppress(EtcdUnavailable):  # else it goes with the lease
            await self.store.delete_if(self.spec.key("owners", name), token)
        self.handovers += 1
        self._emit(ChannelReleased(channel=name, member=self.member, reason=reason,
                                   to=to if rebalanced else None))  # fmt: skip

    async def _claim(self, name: str, now: Any) -> None:
        lease = self.lease
        if lease is None:
            return  # fenced meanwhile
        if not await self.store.create(self.spec.key("owners", name), self.token, lease):
            return  # someone was faster: the next look says who
        if self.lease != lease:
            return  # fenced while asking: the key goes with the old lease
        self.held.add(name)
        seen = self._seen.pop(name, None)
        previous = seen.holder.split(" ", 1)[0] if seen else None
        if seen is None:
            reason = "it hashes to this member"
        elif previous in self.members:
            reason = f"hand-over from {previous} (rebalanced)"
        else:
            reason = f"failover: {previous} lost its lease"
        self.handovers += seen is not None
        self._emit(ChannelOwned(channel=name, member=self.member, reason=reason,
                                previous=previous))  # fmt: skip
        await self._evaluate(name)
        if seen is not None and self._running(name):
            self._emit(RecordingGap(channel=name, start=format_ts(seen.at),
                                    end=format_ts(self._clock.now()), cause=reason))  # fmt: skip
        logger.bind(channel=name).info("cluster: channel {!r} owned ({})", name, reason)
