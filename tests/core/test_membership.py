"""core.membership: the cluster URL, ownership over member ids, the plan of keys, fencing time."""

from __future__ import annotations

import pytest

from streamrec.core.membership import (
    ClusterSpec,
    assignment,
    held_by_log,
    member_id,
    must_fence,
    owner_of,
    parse_cluster,
    plan,
    read_keys,
    renew_due,
    resolve_cluster,
)
from streamrec.core.sharding import ShardError

NAMES = [f"channel-{i}" for i in range(400)]


def test_the_url_gives_host_port_prefix_and_ttl() -> None:
    assert parse_cluster("etcd://10.0.0.5:2379/rec?ttl=3") == ClusterSpec(
        "10.0.0.5", 2379, "/rec", 3
    )
    assert parse_cluster("etcd://etcd") == ClusterSpec("etcd", 2379, "/streamrec", 10)
    assert str(parse_cluster("etcd://h:1/a/b")) == "etcd://h:1/a/b?ttl=10"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://h:2379", "etcd://"),
        ("etcd://user:secret@h:2379", "credentials"),
        ("http://user:secret@h:2379", "etcd://"),
        ("etcd://user:secret@h:99999", "port"),
        ("etcd://h:2379?ttl=1", "TTL"),
        ("etcd://h:2379?ttl=x", "TTL"),
        ("etcd://h:2379?tll=3", "ttl"),
        ("etcd://h:99999", "port"),
    ],
)
def test_a_bad_url_says_what_is_expected_and_never_echoes_a_password(url: str, says: str) -> None:
    with pytest.raises(ShardError) as caught:
        parse_cluster(url)
    assert says in str(caught.value)
    assert "secret" not in str(caught.value)


def test_the_flag_wins_over_the_environment_which_wins_over_the_setting() -> None:
    env = {"STREAMREC_CLUSTER": "etcd://env:1"}
    assert resolve_cluster("etcd://flag:1", env, "etcd://set:1").host == "flag"  # type: ignore[union-attr]
    assert resolve_cluster(None, env, "etcd://set:1").host == "env"  # type: ignore[union-attr]
    assert resolve_cluster(None, {}, "etcd://set:1").host == "set"  # type: ignore[union-attr]
    assert resolve_cluster(None, {}, None) is None


def test_member_ids() -> None:
    assert member_id({"STREAMREC_MEMBER": "rec-a"}, "host", 1) == "rec-a"
    assert member_id({}, "pod-7.svc.cluster", 1) == "pod-7-1"
    with pytest.raises(ShardError):
        member_id({"STREAMREC_MEMBER": "a b"}, "host", 1)


def test_a_joining_member_takes_about_its_share_and_only_from_the_others() -> None:
    before = assignment(NAMES, ["a", "b", "c"])
    after = assignment(NAMES, ["a", "b", "c", "d"])
    moved = [n for n in NAMES if before[n] != after[n]]
    assert all(after[n] == "d" for n in moved)
    assert 0.15 * len(NAMES) < len(moved) < 0.35 * len(NAMES)


def test_a_leaving_member_gives_up_only_its_own_channels() -> None:
    before = assignment(NAMES, ["a", "b", "c"])
    after = assignment(NAMES, ["a", "c"])
    assert all(before[n] == "b" for n in NAMES if before[n] != after[n])
    assert owner_of("x", []) is None


def test_the_plan_takes_free_keys_gives_back_moved_ones_and_waits_for_held_ones() -> None:
    members = ["a", "b"]
    mine = [n for n in NAMES[:40] if owner_of(n, members) == "a"]
    theirs = [n for n in NAMES[:40] if owner_of(n, members) == "b"]
    owners = {mine[0]: "b", mine[1]: "a", theirs[0]: "a", "gone": "a"}
    decided = plan(NAMES[:40], members, "a", owners)
    assert mine[0] not in decided.claim and decided.waiting == {mine[0]: "b"}
    assert mine[1] not in decided.claim  # held already
    assert set(decided.claim) == set(mine[2:])
    assert set(decided.release) == {theirs[0], "gone"}


def test_fencing_comes_at_half_the_ttl_and_renewal_at_a_third() -> None:
    assert not must_fence(104.9, 100.0, 10)
    assert must_fence(105.0, 100.0, 10)
    assert not renew_due(103.0, 100.0, 10)
    assert renew_due(103.4, 100.0, 10)


def test_one_read_of_the_prefix_gives_members_holders_and_the_leader() -> None:
    spec = ClusterSpec("h", 1, "/p")
    keys = [
        ("/p/members/a", "a"),
        ("/p/members/b", "b"),
        ("/p/owners/news", "a 1f"),
        ("/p/owners/old", "a 0e"),  # this member's earlier lease: not this member's key
        ("/p/owners/radio", "b 2a"),
        ("/p/leader", "b 2a"),
        ("/other/members/c", "c"),
    ]
    seen = read_keys(spec, keys, "a", "a 1f")
    assert seen.members == ("a", "b")
    assert seen.owners == {"news": "a", "old": "a (an earlier lease)", "radio": "b"}
    assert seen.tokens["old"] == "a 0e" and seen.leader == "b 2a"


def test_the_channels_held_follow_the_members_own_log() -> None:
    """Owned adds, released drops, a fence or a stop drops everything; other events change nothing."""
    log = [
        {"type": "channel.owned", "channel": "a"},
        {"type": "channel.owned", "channel": "b"},
        {"type": "recording.started", "channel": "a"},
        {"type": "channel.released", "channel": "b"},
    ]
    assert held_by_log(log) == {"a"}
    assert held_by_log([*log, {"type": "cluster.fenced"}]) == set()
    restarted = [*log, {"type": "daemon.stopped"}, {"type": "channel.owned", "channel": "c"}]
    assert held_by_log(restarted) == {"c"}
