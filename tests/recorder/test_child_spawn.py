"""How an ffmpeg child is spawned: the parent-death signal without Python code between fork and
exec (``runtime.child``), so spawning can use ``vfork`` and does not hold up the event loop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamrec.runtime import child as child_module
from streamrec.runtime.child import SETPRIV, with_parent_death


def test_setpriv_sets_the_signal_and_execs_the_program() -> None:
    argv = with_parent_death(["/usr/bin/ffmpeg", "-i", "x"], "/usr/bin/setpriv", lambda _: "found")
    assert argv == ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--", "/usr/bin/ffmpeg", "-i", "x"]


def test_without_setpriv_or_program_the_preexec_path_stays() -> None:
    assert with_parent_death(["ffmpeg"], None, lambda _: "found") is None
    # a program that is not found fails to spawn as itself (RecorderError), not as setpriv
    assert with_parent_death(["no-such-ffmpeg"], "/usr/bin/setpriv", lambda _: None) is None


def test_spawn_uses_no_preexec_fn_when_setpriv_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``preexec_fn`` forces fork (page tables copied while the loop waits): reverting to it
    for every spawn fails here."""
    import asyncio

    seen: dict[str, object] = {}
    real = asyncio.create_subprocess_exec

    async def spy(*argv: str, **kwargs: object) -> asyncio.subprocess.Process:
        seen["argv"], seen["preexec_fn"] = argv, kwargs.get("preexec_fn")
        return await real(*argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)

    async def main() -> None:
        child = await child_module.FfmpegChild.spawn(
            lambda seg, prog: ["/bin/true"], label="t", setpriv="/usr/bin/setpriv"
        )
        await child.wait()

    if not Path("/usr/bin/setpriv").exists():
        pytest.skip("util-linux setpriv not installed")
    asyncio.run(main())
    assert seen["preexec_fn"] is None
    assert list(seen["argv"])[:4] == ["/usr/bin/setpriv", "--pdeathsig", "TERM", "--"]  # type: ignore[call-overload]


HELPER = """
import asyncio, sys
from streamrec.runtime.child import FfmpegChild
async def main():
    child = await FfmpegChild.spawn(lambda s, p: ["sleep", "60"], label="t")
    print(child.pid, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


@pytest.mark.skipif(SETPRIV is None, reason="util-linux setpriv not installed")
def test_a_killed_parent_takes_its_child_along() -> None:
    parent = subprocess.Popen([sys.executable, "-c", HELPER], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] != b"sleep":
        assert time.monotonic() < deadline, "setpriv did not exec the program"
        time.sleep(0.01)  # setpriv is still exec'ing it
    parent.kill()
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return  # gone (reaped by init)
        if state == "Z":
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the child outlived its killed parent")
