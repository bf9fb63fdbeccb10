"""Git as the config source: keep a checkout of a config repository, apply only commits that validate.

The daemon (``streamrec run --git URL [--branch B] [--interval 60s]``) owns one :class:`GitSource`
and calls :meth:`GitSource.sync` every interval (in a worker thread: it runs ``git`` and waits for
it). Everything goes through the git CLI, each call with a timeout; failures become
:class:`GitSyncError` with the URL's credentials hidden.

Layout of the work directory (under the state directory, e.g. ``state/git``)::

    repo.git/           a bare clone, fetched into; one branch followed
    checkouts/<sha>/    a worktree of one commit: the live one, and a candidate while it is checked
    live -> checkouts/<sha>    the last commit that validated (swapped atomically, like a ConfigMap)

:meth:`GitSource.update` fetches and, when the branch moved to a commit not yet decided on, checks it
out beside the live one and returns it (``changed=True``). The caller validates that directory and
calls :meth:`accept` (``live`` now points there, older checkouts go) or :meth:`reject` (the candidate
goes, the live commit keeps running, and the same commit is not offered again). :meth:`sync` does
all of that with a validation function. A restarted daemon finds ``live`` on disk, so it starts from
the last good commit even when the remote cannot be reached.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from streamrec.core.redact import redact_text
from streamrec.errors import ConfigError, Problem, StreamrecError
from streamrec.log import logger

T = TypeVar("T")
NETWORK_TIMEOUT = 120.0
LOCAL_TIMEOUT = 30.0


class GitSyncError(StreamrecError):
    """git could not clone, fetch or check out the config repository; the live commit keeps running."""


@dataclass(frozen=True)
class GitUpdate:
    """The newest commit of the followed branch, and whether it still has to be decided on."""

    commit: str
    changed: bool
    path: Path
    """The config directory of ``commit`` (the checkout, or its ``subdir``)."""


@dataclass(frozen=True)
class SyncResult(Generic[T]):
    """What one :meth:`GitSource.sync` did."""

    update: GitUpdate
    applied: bool
    """A new commit validated and is live now."""
    value: T | None = None
    """What the validation function returned for an applied commit."""
    problems: tuple[Problem, ...] = ()
    """Why a new commit was rejected."""


def git_env() -> dict[str, str]:
    """The environment of every git call: never a prompt, SSH in batch mode, C locale."""
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # never wait for a password nobody will type
        "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        "LC_ALL": "C",
    }


def run_git(
    git: Sequence[str],
    args: Sequence[str],
    *,
    timeout: float,
    what: str,
    shown: Callable[[str], str] = redact_text,
    cwd: Path | None = None,
    check: bool = True,
    then: str = "the live commit keeps running, trying again at the next interval",
) -> subprocess.CompletedProcess[str]:
    """Run ``git`` with the argument list ``args`` (no shell) within ``timeout``.

    A failure (with ``check``), a missing git or a timeout is :class:`GitSyncError` saying ``what``
    failed, its last line of stderr passed through ``shown`` (which hides the URL's credentials);
    a timeout says what happens ``then``.
    """
    try:
        done = subprocess.run(
            [*git, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=git_env(),
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError:
        raise GitSyncError(
            f"{git[0]} is not installed: following a config repository needs the git CLI"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitSyncError(f"{what} did not finish within {timeout:g}s; {then}") from None
    if check and done.returncode != 0:
        raise GitSyncError(shown(f"{what} failed: {last_line(done)}"))
    return done


def last_line(done: subprocess.CompletedProcess[str]) -> str:
    """The last line git wrote to stderr (``fatal:`` taken off), or its exit status."""
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("fatal: ") if lines else f"exit status {done.returncode}"


class GitSource:
    """A config repository followed by one daemon (see the module docstring)."""

    def __init__(
        self,
        url: str,
        branch: str | None,
        workdir: Path,
        *,
        subdir: str = "",
        git: Sequence[str] = ("git",),
        timeout: float = NETWORK_TIMEOUT,
    ) -> None:
        if url.startswith("-"):
            raise GitSyncError(f"not a repository URL: {url!r}")
        self.url = url
        self.branch = branch
        self.workdir = Path(workdir)
        self.subdir = subdir.strip("/")
        self.git = list(git)
        self.timeout = timeout
        self.rejected: str | None = None
        """The newest commit rejected by this process (not offered again)."""
        self.followed: str | None = branch
        """The branch followed (the remote's default one once fetched, when none was given)."""

    @property
    def repo(self) -> Path:
        return self.workdir / "repo.git"

    @property
    def live_link(self) -> Path:
        return self.workdir / "live"

    @property
    def live_commit(self) -> str | None:
        """The commit that last validated, as recorded on disk (survives restarts)."""
        if not self.live_link.is_symlink() or not self.live_link.exists():
            return None
        return self.live_link.readlink().name

    @property
    def live_path(self) -> Path | None:
        """The config directory of the live commit, if any commit ever validated."""
        commit = self.live_commit
        return self.config_dir(commit) if commit else None

    def config_dir(self, commit: str) -> Path:
        """Where the config of ``commit`` is (or will be) checked out."""
        checkout = self.workdir / "checkouts" / commit
        return checkout / self.subdir if self.subdir else checkout

    def _shown(self, text: str) -> str:
        return redact_text(text.replace(self.url, redact_text(self.url)))

    def _run(self, *args: str, timeout: float = LOCAL_TIMEOUT, what: str = "") -> str:
        action = what or f"git {args[0] if args[0] not in {'-C', '--git-dir'} else args[2]}"
        return run_git(
            self.git, args, timeout=timeout, what=action, shown=self._shown
        ).stdout.strip()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One process at a time works in the work directory (private: 0700, like the state dir)."""
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.workdir.stat().st_mode & 0o077:
            self.workdir.chmod(0o700)  # made before, or under a umask that kept group/other bits
        with (self.workdir / "lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _fetch(self) -> str:
        """Clone or fetch; the commit the followed branch is at."""
        shown = self._shown(self.url)
        if not (self.repo / "HEAD").exists():
            shutil.rmtree(self.repo, ignore_errors=True)
            args = ["clone", "--bare", "--quiet", "--no-tags"]
            if self.branch:
                args += ["--single-branch", "--branch", self.branch]
            self._run(
                *args,
                "--",
                self.url,
                str(self.repo),
                timeout=self.timeout,
                what=f"git clone of {shown}",
            )
        git_dir = ("--git-dir", str(self.repo))
        if self._run(*git_dir, "config", "--get", "remote.origin.url", what="git config") != (
            self.url
        ):
            self._run(*git_dir, "remote", "set-url", "origin", "--", self.url, what="git remote")
        branch = self.branch or self._run(*git_dir, "symbolic-ref", "--short", "HEAD")
        self.followed = branch
        self._run(
            *git_dir,
            "fetch",
            "--quiet",
            "--prune",
            "--no-tags",
            "origin",
            f"+refs/heads/{branch}:refs/heads/{branch}",
            timeout=self.timeout,
            what=f"git fetch of branch {branch} from {shown}",
        )
        return self._run(*git_dir, "rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}")

    def update(self) -> GitUpdate:
        """Fetch; check out a commit not yet decided on. Raises :class:`GitSyncError`."""
        with self._locked():
            commit = self._fetch()
            if commit in {self.live_commit, self.rejected}:
                return GitUpdate(commit, False, self.live_path or self.config_dir(commit))
            checkout = self.workdir / "checkouts" / commit
            if not (checkout / ".git").exists():
                self._remove_checkout(checkout)
                checkout.parent.mkdir(parents=True, exist_ok=True)
                self._run(
                    "--git-dir",
                    str(self.repo),
                    "worktree",
                    "add",
                    "--detach",
                    "--force",
                    str(checkout),
                    commit,
                    what=f"git checkout of {commit[:12]}",
                )
            return GitUpdate(commit, True, self.config_dir(commit))

    def accept(self, commit: str) -> Path:
        """Make ``commit`` the live one; the older checkouts are removed. Its config directory."""
        with self._locked():
            link = self.workdir / "live.new"
            link.unlink(missing_ok=True)
            link.symlink_to(Path("checkouts") / commit)
            link.replace(self.live_link)
            if self.rejected == commit:
                self.rejected = None
            self._prune(keep={commit})
            logger.info("git: commit {} is live", commit[:12])
            return self.config_dir(commit)

    def reject(self, commit: str, problems: Sequence[Problem | str] = ()) -> None:
        """Record that ``commit`` did not validate; the live commit keeps running."""
        with self._locked():
            self.rejected = commit
            live = self.live_commit
            self._prune(keep={live} if live else set())
        live_text = live[:12] if live else "none yet"
        logger.warning(
            "git: commit {} was rejected ({} problems); the live commit stays {}",
            commit[:12],
            len(problems),
            live_text,
        )
        for problem in problems:
            logger.warning("git: {}", problem)

    def sync(self, validate: Callable[[Path], T]) -> SyncResult[T]:
        """Update, and when a new commit arrived, validate it and accept or reject it.

        ``validate`` gets the commit's config directory and raises :class:`ConfigError` for a
        config that must not go live (``spec.loading.load_config`` does exactly that).
        """
        update = self.update()
        if not update.changed:
            return SyncResult(update, applied=False)
        try:
            value = validate(update.path)
        except ConfigError as exc:
            self.reject(update.commit, exc.problems)
            return SyncResult(update, applied=False, problems=tuple(exc.problems))
        self.accept(update.commit)
        return SyncResult(update, applied=True, value=value)

    def _remove_checkout(self, checkout: Path) -> None:
        if checkout.exists():
            with contextlib.suppress(GitSyncError):
                self._run(
                    "--git-dir", str(self.repo), "worktree", "remove", "--force", str(checkout)
                )
            shutil.rmtree(checkout, ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        checkouts = self.workdir / "checkouts"
        for checkout in sorted(checkouts.iterdir()) if checkouts.is_dir() else []:
            if checkout.name not in keep:
                self._remove_checkout(checkout)
        with contextlib.suppress(GitSyncError):
            self._run("--git-dir", str(self.repo), "worktree", "prune")
