"""daemon.cluster.ClusterMember against an in-memory etcd, with time as an argument: fencing at half
the TTL (before any await), keys taken only when free and given back only after the recorder
stopped, an earlier lease's keys not taken for this one's, a clean leave."""

from __future__ import annotations

import contextlib
from typing import Any

from streamrec.core.clock import FakeClock
from streamrec.core.membership import ClusterSpec, owner_of
from streamrec.runtime.etcd import EtcdUnavailable, KeyValue

SPEC = ClusterSpec("127.0.0.1", 2379, "/t", 4)


class MemoryEtcd:
    """Enough of ``runtime.etcd.Etcd`` in memory: leases, keys, create-if-absent, compare-delete."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, int]] = {}
        self.leases: set[int] = set()
        self.next = 100
        self.down = False
        self.log: list[str] = []

    def _check(self) -> None:
        if self.down:
            raise EtcdUnavailable("etcd down")

    async def grant(self, ttl: int) -> int:
        self._check()
        self.next += 1
        self.leases.add(self.next)
        return self.next

    async def keepalive(self, lease: int) -> int:
        self._check()
        return 4 if lease in self.leases else -1

    async def revoke(self, lease: int) -> None:
        self._check()
        self.expire(lease)

    def expire(self, lease: int) -> None:
        self.leases.discard(lease)
        self.keys = {k: v for k, v in self.keys.items() if v[1] != lease}

    async def put(self, key: str, value: str, lease: int) -> None:
        self._check()
        self.keys[key] = (value, lease)

    async def create(self, key: str, value: str, lease: int) -> bool:
        self._check()
        if key in self.keys:
            return False
        self.keys[key] = (value, lease)
        self.log.append(f"create {key}")
        return True

    async def delete_if(self, key: str, value: str) -> bool:
        self._check()
        if self.keys.get(key, ("",))[0] != value:
            return False
        del self.keys[key]
        self.log.append(f"delete {key}")
        return True

    async def scan(self, prefix: str) -> list[KeyValue]:
        self._check()
        return [KeyValue(k, v, lease) for k, (v, lease) in sorted(self.keys.items())]

    def close(self) -> None:
        pass


class Rig:
    """One member with recorders that are only a set of names and a log of what happened."""

    def __init__(self, store: MemoryEtcd, names: list[str], me: str = "a") -> None:
        from streamrec.daemon.cluster import ClusterMember

        self.time = 1000.0
        self.recording: set[str] = set()
        self.events: list[Any] = []
        self.halted: list[str] = []
        self.store = store

        async def evaluate(name: str) -> None:
            if self.member.owns_channel(name):
                self.recording.add(name)
            elif name in self.recording:
                self.recording.discard(name)
                store.log.append(f"stopped {name}")

        self.member = ClusterMember(
            SPEC, me, store=store, names=lambda: names, evaluate=evaluate,  # type: ignore[arg-type]
            running=lambda n: n in self.recording, healthy=lambda: None,
            emit=lambda e: self.events.append(e) or {}, clock=FakeClock(),
            monotonic=lambda: self.time, halt=lambda ns, _r: self.halted.extend(ns),
        )  # fmt: skip


NAMES = [f"ch{i}" for i in range(8)]


async def test_alone_it_takes_every_free_key_and_records() -> None:
    rig = Rig(MemoryEtcd(), NAMES)
    await rig.member.step()
    assert rig.recording == set(NAMES) and rig.member.leader
    assert {e.type for e in rig.events} >= {"cluster.joined", "cluster.leader", "channel.owned"}


async def test_a_key_held_by_another_is_not_taken_and_a_moved_one_stops_before_its_key_goes() -> (
    None
):
    store = MemoryEtcd()
    rig = Rig(store, NAMES)
    await rig.member.step()
    lease = await store.grant(4)
    await store.put("/t/members/b", "b", lease)
    await rig.member.step()
    moved = [n for n in NAMES if owner_of(n, ["a", "b"]) == "b"]
    assert moved and rig.recording == set(NAMES) - set(moved)
    for name in moved:  # stopped first, then the key deleted
        assert store.log.index(f"stopped {name}") < store.log.index(f"delete /t/owners/{name}")
    released = [e for e in rig.events if e.type == "channel.released"]
    assert {e.channel for e in released} == set(moved) and all(e.to == "b" for e in released)


async def test_half_the_ttl_without_renewal_fences_at_once() -> None:
    store = MemoryEtcd()
    rig = Rig(store, NAMES)
    await rig.member.step()
    store.down = True
    rig.time += 1.5  # a renewal is due but fails
    with contextlib.suppress(EtcdUnavailable):
        await rig.member._lease_step()
    assert rig.recording == set(NAMES)
    rig.time += 0.5  # half the TTL (4 s) since the last good renewal
    assert rig.member.hold("ch0") is not None  # a recorder asking now is told to stop
    await rig.member._lease_step()
    assert rig.recording == set() and rig.member.lease is None and not rig.member.leader
    assert sorted(rig.halted) == sorted(NAMES)
    (fenced,) = [e for e in rig.events if e.type == "cluster.fenced"]
    assert sorted(fenced.stopped) == sorted(NAMES)


async def test_after_a_fence_the_earlier_leases_keys_wait_until_they_expire() -> None:
    store = MemoryEtcd()
    rig = Rig(store, NAMES)
    await rig.member.step()
    old = rig.member.lease
    store.down = True
    rig.time += 2.0
    await rig.member._lease_step()  # fenced; the revoke failed, the old keys live on
    store.down = False
    await rig.member.step()  # a new lease: the old keys are another's until they expire
    assert rig.member.lease != old and rig.recording == set()
    assert old is not None
    store.expire(old)
    await rig.member.step()
    assert rig.recording == set(NAMES)


async def test_leave_revokes_the_lease() -> None:
    store = MemoryEtcd()
    rig = Rig(store, NAMES)
    await rig.member.step()
    await rig.member.leave()
    assert store.keys == {} and rig.member.lease is None
