"""The open-file soft limit raised to the hard one at daemon start (``runtime.fdlimit``)."""

from __future__ import annotations

from streamrec.runtime.fdlimit import WANTED_CAP, raise_fd_limit, target

INF = -1


class FakeLimits:
    """``resource`` as far as the fd limit goes: records what was set, may refuse."""

    RLIMIT_NOFILE = 7
    RLIM_INFINITY = INF

    def __init__(self, soft: int, hard: int, refuse: bool = False) -> None:
        self.limits = (soft, hard)
        self.refuse = refuse
        self.set_calls: list[tuple[int, int]] = []

    def getrlimit(self, resource: int, /) -> tuple[int, int]:
        assert resource == self.RLIMIT_NOFILE
        return self.limits

    def setrlimit(self, resource: int, limits: tuple[int, int], /) -> None:
        assert resource == self.RLIMIT_NOFILE
        self.set_calls.append(limits)
        if self.refuse:
            raise ValueError("not allowed to raise the soft limit")
        self.limits = limits


def test_soft_limit_is_raised_to_the_hard_limit() -> None:
    limits = FakeLimits(1024, 524288)
    result = raise_fd_limit(limits)
    assert limits.set_calls == [(524288, 524288)]
    assert (result.before, result.after, result.problem) == (1024, 524288, None)
    assert "raised from 1024 to 524288" in result.describe()


def test_nothing_is_set_when_soft_is_already_hard() -> None:
    limits = FakeLimits(4096, 4096)
    result = raise_fd_limit(limits)
    assert limits.set_calls == []
    assert result.after == 4096
    assert "already" in result.describe()


def test_unlimited_hard_limit_is_capped() -> None:
    assert target(1024, INF, INF) == WANTED_CAP
    limits = FakeLimits(1024, INF)
    assert raise_fd_limit(limits).after == WANTED_CAP
    assert limits.set_calls == [(WANTED_CAP, INF)]


def test_a_refusal_is_reported_not_raised() -> None:
    limits = FakeLimits(1024, 4096, refuse=True)
    result = raise_fd_limit(limits)
    assert result.after == 1024
    assert result.problem is not None and "not allowed" in result.problem
    assert "stays 1024" in result.describe()


def test_the_real_module_works() -> None:
    result = raise_fd_limit()
    assert result.after >= result.before
