"""Git as the daemon's config source (``streamrec run --git URL``): a mixin of the daemon.

The live checkout of ``runtime.gitsync.GitSource`` (a symlink swapped per accepted commit) is the
daemon's config directory; every ``interval`` the repository is fetched in a worker thread, a new
commit that validates (in the worker process of ``daemon.configload``, with its deadline) is
applied with a reconcile, and one that does not is logged as
``config.rejected`` with its commit while the last good commit keeps running. Relative settings
paths resolve against the daemon's working directory, never inside a checkout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from streamrec.core.redact import redact_text
from streamrec.daemon.configload import ConfigLoader
from streamrec.errors import StreamrecError
from streamrec.runtime.gitsync import GitSource


@dataclass(frozen=True)
class GitOptions:
    """``run --git URL [--branch B] [--interval 60s] [--git-subdir DIR]``."""

    url: str
    branch: str | None = None
    interval: float = 60.0
    subdir: str = ""


class GitMode:
    """The git side of the daemon; the daemon provides the attributes declared here."""

    git: GitOptions | None
    git_source: GitSource | None
    environ: Mapping[str, str]
    base: Path | None
    config_dir: Path
    stop_event: asyncio.Event
    _rejected_at_start: tuple[str, list[str]] | None
    _loader: ConfigLoader

    def emit(self, type_: str, /, **fields: Any) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    async def reconcile(
        self, reason: str, allow_empty: bool = False
    ) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    @property
    def _git_state(self) -> Path:
        return Path(self.environ.get("STREAMREC_STATE_DIR") or Path.cwd() / "state").resolve()

    async def _git_start(self) -> None:
        """Follow the repository: the config dir is the live checkout (through its symlink)."""
        assert self.git is not None
        self.base = Path.cwd().resolve()
        source = GitSource(
            self.git.url, self.git.branch, self._git_state / "git", subdir=self.git.subdir
        )
        self.git_source = source
        live = source.live_link / self.git.subdir if self.git.subdir else source.live_link
        self.config_dir = live
        await self._git_sync(initial=True)

    async def _git_sync(self, initial: bool = False) -> None:
        source = self.git_source
        assert source is not None
        try:
            result = await asyncio.to_thread(  # each commit is loaded in the loader's worker
                source.sync, lambda path: self._loader.load_blocking(path, self.environ, self.base)
            )
        except StreamrecError as exc:  # git failed: the live commit keeps running
            logger.warning("git: {}; the live commit keeps running", exc)
            return
        if result.problems and not initial:
            self.emit(
                "config.rejected",
                errors=[str(p) for p in result.problems],
                commit=result.update.commit,
                reason=f"git commit {result.update.commit[:12]}",
            )
        elif result.problems:
            self._rejected_at_start = (result.update.commit, [str(p) for p in result.problems])
        if result.applied and not initial:
            await self.reconcile(f"git commit {result.update.commit[:12]}")

    async def _git_loop(self) -> None:
        assert self.git is not None
        if self._rejected_at_start is not None:
            commit, errors = self._rejected_at_start
            self.emit("config.rejected", errors=errors, commit=commit, reason="git at start")
        while not self.stop_event.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), self.git.interval)
            if not self.stop_event.is_set():
                await self._git_sync()

    def _git_status(self) -> dict[str, Any] | None:
        if self.git_source is None:
            return None
        return {
            "url": redact_text(self.git_source.url),
            "branch": self.git_source.branch,
            "live": self.git_source.live_commit,
            "rejected": self.git_source.rejected,
        }
