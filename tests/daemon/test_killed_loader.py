"""A SIGKILLed daemon leaves no config loader behind (``daemon.configload``'s worker follows it)."""

from __future__ import annotations

import time

import pytest
from daemonkit import alive, children


@pytest.mark.timeout(60)
def test_the_loader_and_its_forkserver_end_with_a_killed_daemon(daemon) -> None:  # type: ignore[no-untyped-def]
    d = daemon()
    d.write("tasks.yaml", 'tasks:\n  a:\n    command: "true"\n')
    d.start()
    servers = children(d.proc.pid, marker="forkserver")
    assert len(servers) == 1, "the daemon loads its config through one forkserver"
    loader = servers + children(servers[0])
    assert len(loader) == 2, "the forkserver and the worker it started"
    d.kill()
    deadline = time.monotonic() + 15
    while any(alive(p) for p in loader) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in loader if alive(p)], "the loader outlived its daemon"
