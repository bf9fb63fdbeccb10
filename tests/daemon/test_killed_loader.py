"""A SIGKILLed daemon leaves no config loader behind (``daemon.configload``'s worker follows it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from daemonkit import alive


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.timeout(60)
def test_the_loader_and_its_forkserver_end_with_a_killed_daemon(daemon) -> None:  # type: ignore[no-untyped-def]
    d = daemon()
    d.write("tasks.yaml", 'tasks:\n  a:\n    command: "true"\n')
    d.start()
    servers = [
        p for p in children(d.proc.pid) if "forkserver" in Path(f"/proc/{p}/cmdline").read_text()
    ]
    assert len(servers) == 1, "the daemon loads its config through one forkserver"
    loader = servers + children(servers[0])
    assert len(loader) == 2, "the forkserver and the worker it started"
    d.kill()
    deadline = time.monotonic() + 15
    while any(alive(p) for p in loader) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in loader if alive(p)], "the loader outlived its daemon"
