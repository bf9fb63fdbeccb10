"""Rendezvous sharding: stable owners, even spread, minimal moves, and the ways to name a shard."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from streamrec.core.sharding import (
    SINGLE,
    Shard,
    ShardError,
    assignment,
    moved,
    ordinal,
    owner,
    parse_shard,
    resolve_shard,
)

NAMES = [f"channel-{i}" for i in range(6000)]


def test_going_from_three_shards_to_two_moves_only_the_channels_of_the_removed_shard():
    """Every channel that moves belonged to shard 2; every channel of shards 0 and 1 stays put."""
    before = assignment(NAMES, 3)
    after = assignment(NAMES, 2)
    changes = moved(NAMES, 3, 2)
    assert changes, "some channels must move"
    assert all(old == 2 for old, _ in changes.values())
    assert set(changes) == {name for name, shard in before.items() if shard == 2}
    assert all(after[name] == shard for name, shard in before.items() if shard != 2)


def test_adding_a_fourth_shard_moves_only_what_the_new_shard_takes():
    """From 3 to 4 shards every moved channel goes to shard 3, about a quarter of them."""
    changes = moved(NAMES, 3, 4)
    assert all(new == 3 for _, new in changes.values())
    assert abs(len(changes) / len(NAMES) - 0.25) < 0.03


@pytest.mark.parametrize("shards", [2, 3, 5, 8])
def test_the_spread_is_even(shards):
    """Each of N shards owns within 10 % of an N-th of 6000 channels."""
    counts = Counter(assignment(NAMES, shards).values())
    assert set(counts) == set(range(shards))
    expected = len(NAMES) / shards
    assert all(abs(count - expected) / expected < 0.10 for count in counts.values())


def test_owners_are_the_same_in_another_process():
    """The hash is stable across processes (never Python's salted hash())."""
    code = (
        "from streamrec.core.sharding import owner;"
        "print(','.join(str(owner(f'channel-{i}', 7)) for i in range(200)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert other == ",".join(str(owner(f"channel-{i}", 7)) for i in range(200))


def test_one_shard_owns_everything_and_shards_split_the_channels_between_them():
    """A lone daemon owns every channel; with 3 shards each channel has exactly one owner."""
    assert SINGLE.channels(NAMES[:50]) == NAMES[:50]
    shards = [Shard(i, 3) for i in range(3)]
    for name in NAMES[:300]:
        assert sum(shard.owns_channel(name) for shard in shards) == 1


def test_scheduled_tasks_run_on_shard_zero_unless_pinned():
    """Unpinned tasks belong to shard 0; a pinned task to its shard; a pin past N is an error."""
    assert Shard(0, 3).owns_task() and not Shard(1, 3).owns_task()
    assert Shard(2, 3).owns_task(pinned=2) and not Shard(0, 3).owns_task(pinned=2)
    with pytest.raises(ShardError, match="pinned to shard 3 has no daemon"):
        Shard(0, 3).owns_task(pinned=3)


def test_shards_are_named_i_slash_n_or_taken_from_a_statefulset_hostname():
    """'1/3', ' 2 / 4 ', 'auto/3' with hostname streamrec-2, and the ordinal of pod names parse."""
    assert parse_shard("1/3") == Shard(1, 3)
    assert parse_shard(" 2 / 4 ") == Shard(2, 4)
    assert parse_shard("auto/3", hostname="streamrec-2") == Shard(2, 3)
    assert ordinal("recorder-web-11.streamrec.default.svc.cluster.local") == 11
    assert str(Shard(1, 3)) == "1/3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3/3", "shard 3 does not exist among 3 shards"),
        ("1/0", "at least 1"),
        ("one/3", "expected a shard like 0/3"),
        ("1", "expected a shard like 0/3"),
    ],
)
def test_bad_shard_specifications_say_what_is_expected(text, message):
    """Out-of-range, zero and malformed shards are ShardErrors that say what to write."""
    with pytest.raises(ShardError, match=message):
        parse_shard(text)


def test_a_hostname_without_an_ordinal_is_a_clear_error():
    """auto/N on a host that is not a StatefulSet pod explains the expected name."""
    with pytest.raises(ShardError, match="NAME-ORDINAL"):
        parse_shard("auto/3", hostname="laptop")


def test_the_flag_wins_over_the_environment_and_no_setting_means_alone():
    """--shard beats STREAMREC_SHARD; neither gives the single shard 0/1."""
    env = {"STREAMREC_SHARD": "auto/2"}
    assert resolve_shard("0/5", env, "streamrec-1") == Shard(0, 5)
    assert resolve_shard(None, env, "streamrec-1") == Shard(1, 2)
    assert resolve_shard(None, {}, "streamrec-1") == SINGLE
    assert owner("anything", 1) == 0
