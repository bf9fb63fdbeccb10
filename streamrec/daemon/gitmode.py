"""Git as the daemon's config source (``streamrec run --git URL``): one kind of ``ConfigSource``.

The live checkout of ``runtime.gitsync.GitSource`` (a symlink swapped per accepted commit) is the
daemon's config directory; every ``interval`` the repository is fetched in a worker thread, a new
commit that validates (in the worker process of ``daemon.configload``, with its deadline) is
applied with a reconcile, and one that does not is logged as
``config.rejected`` with its commit while the last good commit keeps running; :meth:`sync_now`
(after the config API pushed a commit, :meth:`GitConfigSource.push`, through
``runtime.gitpush``) fetches at once instead of at the next interval. Relative settings
paths resolve against the daemon's working directory, never inside a checkout, and the state
directory is ``$STREAMREC_STATE_DIR`` or ``state/`` there. ``cli.daemon`` makes a
:class:`GitConfigSource` from the ``run --git`` options and hands it to ``daemon.service.Daemon``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.app.configchecks import located
from streamrec.core.events import ConfigRejected, Emit
from streamrec.core.redact import redact_text
from streamrec.daemon.configload import ConfigLoader
from streamrec.daemon.sources import Reconcile
from streamrec.errors import ConfigError, StreamrecError
from streamrec.log import logger
from streamrec.runtime.gitpush import GitPush, PushOutcome
from streamrec.runtime.gitsync import GitSource, GitSyncError


@dataclass(frozen=True)
class GitOptions:
    """``run --git URL [--branch B] [--interval 60s] [--git-subdir DIR]``."""

    url: str
    branch: str | None = None
    interval: float = 60.0
    subdir: str = ""


def git_state_root(environ: Mapping[str, str]) -> Path:
    """The state directory of a daemon following git: never inside a checkout."""
    return Path(environ.get("STREAMREC_STATE_DIR") or Path.cwd() / "state").resolve()


class GitConfigSource:
    """A config repository followed by fetching it (module docstring)."""

    def __init__(
        self, options: GitOptions, *, environ: Mapping[str, str], loader: ConfigLoader
    ) -> None:
        self.options = options
        self._environ = environ
        self._loader = loader
        self._base = Path.cwd().resolve()
        workdir = git_state_root(environ) / "git"
        self._source = GitSource(options.url, options.branch, workdir, subdir=options.subdir)
        self._pusher = GitPush(options.url, workdir, subdir=options.subdir)
        self._wake = asyncio.Event()
        live = self._source.live_link
        self._live = live / options.subdir if options.subdir else live
        self._rejected_at_start: tuple[str, list[str]] | None = None

    @property
    def config_dir(self) -> Path:
        """The live checkout (through its symlink)."""
        return self._live

    @property
    def base(self) -> Path | None:
        """The daemon's working directory: relative settings paths resolve there."""
        return self._base

    def state_root(self, environ: Mapping[str, str]) -> Path | None:
        return git_state_root(environ)

    async def prepare(self) -> None:
        """Fetch the repository and check out the newest commit that validates."""
        await self._sync(None, None, initial=True)

    async def _sync(
        self, reconcile: Reconcile | None, emit: Emit | None, initial: bool = False
    ) -> None:
        try:
            result = await asyncio.to_thread(  # each commit is loaded in the loader's worker
                self._source.sync,
                lambda path: self._loader.load_blocking(path, self._environ, self._base),
            )
        except StreamrecError as exc:  # git failed: the live commit keeps running
            logger.warning("git: {}; the live commit keeps running", exc)
            return
        commit = result.update.commit
        if result.problems and emit is not None:
            emit(
                ConfigRejected(
                    errors=[str(p) for p in result.problems],
                    commit=commit,
                    reason=f"git commit {commit[:12]}",
                )
            )
        elif result.problems:
            self._rejected_at_start = (commit, [str(p) for p in result.problems])
        if result.applied and reconcile is not None and not initial:
            await reconcile(f"git commit {commit[:12]}")

    async def follow(self, reconcile: Reconcile, emit: Emit, stop: asyncio.Event) -> None:
        """Say what was rejected at start, then fetch every ``interval`` until ``stop``."""
        if self._rejected_at_start is not None:
            commit, errors = self._rejected_at_start
            emit(ConfigRejected(errors=errors, commit=commit, reason="git at start"))
        while not stop.is_set():
            await self._pause(stop)
            self._wake.clear()
            if not stop.is_set():
                await self._sync(reconcile, emit)

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until ``stop``, :meth:`sync_now` or the interval, whichever comes first."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self.options.interval, return_when="FIRST_COMPLETED")
        finally:
            for wait in waits:
                wait.cancel()

    def sync_now(self) -> None:
        """Fetch (and apply a new commit) now, not at the next interval (on the event loop)."""
        self._wake.set()

    def info(self) -> dict[str, Any]:
        """The followed branch, the live commit and the URL with its credentials hidden."""
        branch = self._source.followed or self._source.branch
        return {
            "branch": branch,
            "commit": self._source.live_commit,
            "url": redact_text(self.options.url),
        }

    def push(self, files: Mapping[str, str], *, author: str, message: str) -> PushOutcome:
        """Commit ``files`` (relative to the config directory) on the live commit and push them
        to the followed branch (blocking: in a worker thread); rebased onto a newer branch only
        when that still validates."""
        branch = self._source.followed or self._source.branch
        if branch is None:
            raise GitSyncError("the followed branch is not known yet (no fetch succeeded)")

        def recheck(directory: Path) -> Sequence[str]:
            try:
                self._loader.load_blocking(directory, self._environ, self._base)
            except ConfigError as exc:  # named relative to the config dir, as a check names them
                return [str(located(p, directory)) for p in exc.problems]
            return []

        return self._pusher.push(
            files, branch=branch, base=self._source.live_commit, author=author,
            message=message, recheck=recheck,
        )  # fmt: skip

    def status(self) -> dict[str, Any] | None:
        """The repository, branch, live commit and the last rejected one (``/api/live``)."""
        return {
            "url": redact_text(self._source.url),
            "branch": self._source.branch,
            "live": self._source.live_commit,
            "rejected": self._source.rejected,
        }
