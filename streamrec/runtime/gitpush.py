"""A config change made through the HTTP API as a git commit, pushed to the followed branch.

``daemon.gitmode`` owns one :class:`GitPush` beside its ``runtime.gitsync.GitSource`` and
``app.configadmin`` calls :meth:`GitPush.push` (in a worker thread) when the daemon runs
``--git``. The change is committed in a scratch clone of its own (``push/`` in the git work
directory, private like the rest of it), never in a checkout the daemon runs:

1. fetch the followed branch; check out the commit the change was made against (the live one,
   else the branch's head) and write the files;
2. commit with the given author (``streamrec@localhost``) and message, hooks and signing off;
3. rebase onto the fetched head when it moved, and push; a rejected push (someone pushed in the
   meantime) is fetched, rebased and pushed again, a few times at most.

A rebase that does not apply cleanly is aborted and answered as a :class:`PushOutcome` with the
conflicting paths and nothing pushed. Every git call is an argument list (no shell) with a timeout
and ``GIT_TERMINAL_PROMPT=0`` (``runtime.gitsync.run_git``); the URL's credentials never appear
in an outcome or an error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from streamrec.core.redact import redact_text
from streamrec.runtime.gitsync import (
    LOCAL_TIMEOUT,
    NETWORK_TIMEOUT,
    GitSyncError,
    last_line,
    run_git,
)

EMAIL = "streamrec@localhost"
ATTEMPTS = 3
"""Pushes tried when others keep pushing first."""
Recheck = Callable[[Path], Sequence[str]]
"""The problems of a config directory after a rebase (empty: valid)."""


@dataclass(frozen=True)
class PushOutcome:
    """What one push did: the commit pushed, or why nothing was."""

    commit: str | None
    conflict: tuple[str, ...] = ()
    """Config files (relative to the config directory) that someone else changed too."""
    problems: tuple[str, ...] = ()
    """Why the change rebased onto the newer branch would not be a valid config."""
    rebased: bool = False


class GitPush:
    """Commits pushed to one branch of one repository (module docstring)."""

    def __init__(
        self,
        url: str,
        workdir: Path,
        *,
        subdir: str = "",
        git: Sequence[str] = ("git",),
        timeout: float = NETWORK_TIMEOUT,
    ) -> None:
        if url.startswith("-"):
            raise GitSyncError(f"not a repository URL: {url!r}")
        self.url = url
        self.workdir = Path(workdir)
        self.subdir = subdir.strip("/")
        self.git = list(git)
        self.timeout = timeout

    @property
    def clone(self) -> Path:
        return self.workdir / "push"

    def _shown(self, text: str) -> str:
        return redact_text(text.replace(self.url, redact_text(self.url)))

    def _git(self, *args: str, what: str, network: bool = False, check: bool = True) -> str:
        timeout = self.timeout if network else LOCAL_TIMEOUT
        done = run_git(
            self.git,
            ["-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
            timeout=timeout,
            what=what,
            shown=self._shown,
            cwd=self.clone,
            check=check,
            then="nothing was pushed",
        )
        if not check and done.returncode != 0:
            raise _Failed(self._shown(done.stderr), self._shown(last_line(done)))
        return done.stdout.strip()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (self.workdir / "push.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _prepare(self, branch: str) -> str:
        """The scratch clone, fetched; the head of ``branch`` there."""
        if not (self.clone / ".git").is_dir():
            shutil.rmtree(self.clone, ignore_errors=True)
            self.clone.mkdir(mode=0o700)
            self._git("init", "--quiet", what="git init of the scratch clone")
            self._git("remote", "add", "origin", "--", self.url, what="git remote")
        else:
            self._git("remote", "set-url", "origin", "--", self.url, what="git remote")
            if any((self.clone / ".git" / d).exists() for d in ("rebase-merge", "rebase-apply")):
                with contextlib.suppress(GitSyncError):  # left by a push that was killed
                    self._git("rebase", "--abort", what="git rebase --abort")
        self._fetch(branch)
        return self._git(
            "rev-parse",
            "--verify",
            f"refs/remotes/origin/{branch}^{{commit}}",
            what="git rev-parse",
        )

    def _fetch(self, branch: str) -> None:
        self._git(
            "fetch", "--quiet", "--no-tags", "origin",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
            what=f"git fetch of branch {branch} from {self._shown(self.url)}", network=True,
        )  # fmt: skip

    def _has(self, commit: str) -> bool:
        try:
            self._git("cat-file", "-e", f"{commit}^{{commit}}", what="git cat-file", check=False)
        except _Failed:
            return False
        return True

    def push(
        self,
        files: Mapping[str, str],
        *,
        branch: str,
        base: str | None,
        author: str,
        message: str,
        recheck: Recheck | None = None,
    ) -> PushOutcome:
        """Commit ``files`` (relative to the config directory -> text) on ``base`` and push them
        onto ``branch``. Raises :class:`GitSyncError` when git cannot be run or reached."""
        with self._locked():
            tip = self._prepare(branch)
            start = base if base and self._has(base) else tip
            self._git("checkout", "--quiet", "--force", "--detach", start, what="git checkout")
            self._git("clean", "--quiet", "-d", "--force", "-x", what="git clean")
            paths = [self._write(name, text) for name, text in files.items()]
            self._git("add", "--", *paths, what="git add")
            name = "".join(c for c in author if c not in "<>\n\r") or "streamrec"
            self._git(
                "-c", f"user.name={name}", "-c", f"user.email={EMAIL}",
                "commit", "--quiet", "--no-verify", "-m", message,
                what="git commit",
            )  # fmt: skip
            rebased = False
            for attempt in range(ATTEMPTS):
                if attempt:
                    self._fetch(branch)
                    tip = self._git(
                        "rev-parse", f"refs/remotes/origin/{branch}", what="git rev-parse"
                    )
                if self._git("rev-parse", "HEAD^", what="git rev-parse") != tip:
                    conflict = self._rebase(tip)
                    if conflict is not None:
                        return PushOutcome(None, conflict=conflict)
                    rebased = True
                    problems = tuple(recheck(self._config_dir())) if recheck else ()
                    if problems:
                        return PushOutcome(None, problems=problems, rebased=True)
                try:
                    self._git(
                        "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}",
                        what="git push", network=True, check=False,
                    )  # fmt: skip
                except _Failed as failed:
                    if not _rejected(failed.stderr) or attempt == ATTEMPTS - 1:
                        where = self._shown(self.url)
                        raise GitSyncError(f"git push to {where} failed: {failed.last}") from None
                    continue
                commit = self._git("rev-parse", "HEAD", what="git rev-parse")
                return PushOutcome(commit, rebased=rebased)
        raise GitSyncError("git push kept being rejected")  # pragma: no cover - the loop returns

    def _config_dir(self) -> Path:
        return self.clone / self.subdir if self.subdir else self.clone

    def _write(self, name: str, text: str) -> str:
        """Write one file of the change in the clone; its path in the repository."""
        relative = f"{self.subdir}/{name}" if self.subdir else name
        path = self.clone / relative
        root = os.path.realpath(self.clone) + os.sep
        if not os.path.realpath(path).startswith(root) or ".git" in Path(relative).parts:
            raise GitSyncError(f"{name} leads out of the repository's config directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return relative

    def _rebase(self, tip: str) -> tuple[str, ...] | None:
        """Rebase the change onto ``tip``; the conflicting config files when it does not apply."""
        try:
            self._git(
                "-c", "user.name=streamrec", "-c", f"user.email={EMAIL}",
                "rebase", "--quiet", tip, what="git rebase", check=False,
            )  # fmt: skip
        except _Failed:
            listed = self._git("diff", "--name-only", "--diff-filter=U", what="git diff")
            with contextlib.suppress(GitSyncError):
                self._git("rebase", "--abort", what="git rebase --abort")
            prefix = f"{self.subdir}/" if self.subdir else ""
            paths = [p.removeprefix(prefix) for p in listed.splitlines() if p.strip()]
            return tuple(paths) or ("(unknown)",)
        return None


class _Failed(Exception):
    """A git call that may fail as part of the plan: its stderr and last line, redacted."""

    def __init__(self, stderr: str, last: str) -> None:
        super().__init__(last)
        self.stderr = stderr
        self.last = last


def _rejected(detail: str) -> bool:
    """Whether a push failed because the branch moved (someone else pushed first)."""
    words = ("rejected", "non-fast-forward", "fetch first", "stale info", "cannot lock ref")
    return any(word in detail for word in words)
