"""The config read, checked and saved over the HTTP API: where a save goes, and what it tells.

``daemon.service`` makes one :class:`ConfigAdmin` and ``web.configroutes`` serves it as
``GET /api/config``, ``GET /api/config/schema``, ``POST /api/config/check`` and ``POST
/api/config/save``. Every answer is redacted with the daemon's redactor (``Reads.redact``) and,
for a change, with the secrets of the new config too, so no secret of either leaves.

Where a save goes (:meth:`ConfigAdmin.mode`):

- ``directory``: the changed files replaced atomically (``app.configwrite``: temporary files
  beside them, fsync, rename; never through a link that leads out of the config directory), then
  the daemon reconciles at once;
- ``git`` (``streamrec run --git``): a commit pushed to the followed branch
  (``runtime.gitpush``, through ``daemon.gitmode``), which the daemon then fetches at once; a change
  someone else's push conflicts with is answered 409 with the paths and a patch, nothing pushed;
- ``read-only`` (the directory is not writable, is on a read-only mount, or
  ``STREAMREC_CONFIG_READ_ONLY=1``, e.g. a ConfigMap): nothing is written; the answer is a 409
  with the patch and the new texts, to be applied where the config is kept.

A change that does not validate is 422 with its located problems and writes nothing (see
``app.configchecks``). Each save and each offered patch is one ``config.changed`` event with the
actor's role and label, the redacted diff and a one-line summary.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from streamrec.app.configchecks import Checked, Load, check, plan_lines, summary
from streamrec.app.configrequest import ConfigRequest
from streamrec.app.configwrite import write_changes
from streamrec.core import planning
from streamrec.core.events import ConfigChanged, Event
from streamrec.core.redact import Redactor
from streamrec.errors import Problem, StreamrecError
from streamrec.runtime.gitpush import PushOutcome
from streamrec.spec.limits import DEFAULT_LIMITS, Limits
from streamrec.spec.sources import config_files, read_bounded

READ_ONLY_VARIABLE = "STREAMREC_CONFIG_READ_ONLY"
"""Set to 1 to make the API's config read-only (a ConfigMap; tests, which run as root)."""
MAX_EVENT_DIFF = 64 * 1024
"""The most characters of a diff a ``config.changed`` event keeps."""


class GitTarget(Protocol):
    """What a save in git mode needs of the daemon's git source (``daemon.gitmode``)."""

    def info(self) -> dict[str, Any]:
        """``{"branch", "commit", "url"}`` of the followed branch (credentials hidden)."""
        ...

    def push(self, files: Mapping[str, str], *, author: str, message: str) -> PushOutcome:
        """Commit and push (blocking: called in a worker thread)."""
        ...

    def sync_now(self) -> None:
        """Fetch and apply the new commit now rather than at the next interval."""
        ...


@dataclass(frozen=True)
class Answer:
    """An HTTP status and its JSON body (redacted)."""

    status: int
    body: dict[str, Any]


def read_only_reason(directory: Path, environ: Mapping[str, str]) -> str | None:
    """Why the config directory cannot be written by the API, or None when it can."""
    if environ.get(READ_ONLY_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}:
        return f"{READ_ONLY_VARIABLE} is set"
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return "the config directory is mounted read-only"
    except OSError:
        return "the config directory cannot be examined"
    if not os.access(directory, os.W_OK):
        return "the config directory is not writable by the daemon's user"
    return None


def problem_data(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.path or None,
        "line": problem.line,
        "col": problem.col,
        "message": problem.message,
    }


class ConfigAdmin:
    """The config API's side of the daemon (module docstring)."""

    def __init__(
        self,
        *,
        config_dir: Callable[[], Path],
        environ: Mapping[str, str],
        load: Load,
        applied: Callable[[], planning.Applied],
        redact: Callable[[Any], Any],
        emit: Callable[[Event], object],
        reconcile: Callable[[str], Awaitable[dict[str, Any]]],
        git: GitTarget | None = None,
        limits: Limits = DEFAULT_LIMITS,
        allow_empty: bool = False,
    ) -> None:
        self._config_dir = config_dir
        self._environ = environ
        self._load = load
        self._applied = applied
        self._redact = redact
        self._emit = emit
        self._reconcile = reconcile
        self._git = git
        self._limits = limits
        self._allow_empty = allow_empty
        """The daemon runs with ``--allow-empty``: a change may remove every channel and task."""
        self._saving = asyncio.Lock()

    def mode(self) -> tuple[str, str | None]:
        """``directory``, ``git`` or ``read-only``, and why it is read-only."""
        why = read_only_reason(self._config_dir(), self._environ)
        if why is not None and (self._git is None or READ_ONLY_VARIABLE in why):
            return "read-only", why
        return ("git" if self._git is not None else "directory"), None

    async def read(self) -> dict[str, Any]:
        """``GET /api/config``: the mode, every file's redacted text, the git branch."""
        mode, why = self.mode()
        files = await asyncio.to_thread(self._files)
        git = await asyncio.to_thread(self._git.info) if self._git is not None else None
        answer: dict[str, Any] = self._redact(
            {"mode": mode, "why": why, "files": files, "git": git}
        )
        return answer

    def _files(self) -> list[dict[str, Any]]:
        directory = self._config_dir()
        found = []
        for file in config_files(directory) if directory.is_dir() else []:
            entry: dict[str, Any] = {"path": os.path.relpath(file, directory)}
            data = read_bounded(file, self._limits.file_bytes)
            text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else ""
            text = text.removeprefix("\ufeff")
            shown = self._redact(text)
            entry.update(text=shown, secrets=shown != text)
            if isinstance(data, str):
                entry["error"] = data
            found.append(entry)
        return found

    async def _checked(self, request: ConfigRequest) -> tuple[Checked, Callable[[str], str]]:
        """The checked change, and the redaction of its output (old and new secrets)."""
        checked = await check(
            self._config_dir(), request, environ=self._environ, hide=self._redact,
            load=self._load, applied=self._applied(), limits=self._limits,
            allow_empty=self._allow_empty,
        )  # fmt: skip
        loaded = checked.loaded
        fresh = Redactor.of(loaded.secrets, self._environ, loaded.config) if loaded else Redactor()

        def hide(text: str) -> str:
            return fresh.text(self._redact(text))

        return checked, hide

    def _report(self, checked: Checked, hide: Callable[[str], str]) -> dict[str, Any]:
        return {
            "ok": checked.ok,
            "problems": [problem_data(p) for p in checked.problems],
            "changes": [{"path": c.path, "diff": hide(c.diff())} for c in checked.changes],
            "plan": [hide(line) for line in plan_lines(checked.actions)],
            "mode": self.mode()[0],
        }

    async def check(self, request: ConfigRequest) -> Answer:
        """``POST /api/config/check``: problems, diffs and plan; nothing written."""
        checked, hide = await self._checked(request)
        return Answer(200, self._redact(self._report(checked, hide)))

    async def save(self, request: ConfigRequest, role: str, who: str | None) -> Answer:
        """``POST /api/config/save``: checked again, then saved where :meth:`mode` says."""
        async with self._saving:
            checked, hide = await self._checked(request)
            report = self._report(checked, hide)
            if not checked.ok:
                return Answer(422, self._redact(report))
            del report["ok"], report["problems"]
            if not checked.changes:
                nothing = {"saved_to": None, **report, "message": "nothing to save"}
                return Answer(200, self._redact(nothing))
            title = hide(request.message or summary(checked.actions, checked.changes))
            diff = hide("".join(c.diff() for c in checked.changes))
            event = _Event(role, who, [c.path for c in checked.changes], diff, title)
            mode, why = self.mode()
            if mode == "read-only":
                answer = await self._patch(checked, hide, event, why or "read-only")
            elif mode == "git":
                answer = await self._push(checked, report, event)
            else:
                answer = await self._write(checked, report, event)
            return Answer(answer.status, self._redact(answer.body))

    async def _patch(
        self, checked: Checked, hide: Callable[[str], str], event: _Event, why: str
    ) -> Answer:
        self._emit(event.made("patch"))
        return Answer(
            409,
            {
                "saved_to": "patch",
                "error": f"the config is read-only ({why}): nothing was written; apply the patch "
                "where the config is kept",
                "patch": event.diff,
                "files": {c.path: hide(c.after) for c in checked.changes},
            },
        )

    async def _write(self, checked: Checked, report: dict[str, Any], event: _Event) -> Answer:
        await asyncio.to_thread(write_changes, self._config_dir(), checked.changes)
        self._emit(event.made("directory"))
        done = await self._reconcile("config saved over the HTTP API")
        outcome = {k: done.get(k) for k in ("ok", "revision", "errors") if k in done}
        return Answer(200, {"saved_to": "directory", **report, "reconcile": outcome})

    async def _push(self, checked: Checked, report: dict[str, Any], event: _Event) -> Answer:
        assert self._git is not None
        message = event.summary + "\n\n" + "\n".join(report["plan"] or ["(no change to apply)"])
        files = {c.path: c.after for c in checked.changes}
        author = event.who or event.role
        try:
            pushed = await asyncio.to_thread(
                self._git.push, files, author=author, message=message + "\n"
            )
        except StreamrecError as exc:
            return Answer(502, {"error": f"{exc}; nothing was saved", "saved_to": None})
        if pushed.commit is None:
            self._emit(event.made("patch"))
            if pushed.conflict:
                paths = ", ".join(pushed.conflict)
                error = f"someone else changed {paths} since; nothing was pushed: reload and retry"
            else:
                error = (
                    "on top of the newer branch the config would not be valid; nothing was pushed"
                )
            body = {"error": error, "conflict": list(pushed.conflict), "patch": event.diff}
            return Answer(409, {**body, "problems": list(pushed.problems), "saved_to": "patch"})
        self._emit(event.made("git", pushed.commit))
        self._git.sync_now()
        return Answer(
            200, {"saved_to": "git", "commit": pushed.commit, "rebased": pushed.rebased, **report}
        )


@dataclass(frozen=True)
class _Event:
    """The ``config.changed`` of one save, before it is known where it went."""

    role: str
    who: str | None
    files: list[str]
    diff: str
    summary: str

    def made(self, saved_to: str, commit: str | None = None) -> ConfigChanged:
        diff = self.diff
        if len(diff) > MAX_EVENT_DIFF:
            diff = diff[:MAX_EVENT_DIFF] + f"\n... (diff cut at {MAX_EVENT_DIFF // 1024} KiB)\n"
        return ConfigChanged(
            role=self.role, files=self.files, diff=diff, saved_to=saved_to, who=self.who,
            commit=commit, summary=self.summary,
        )  # fmt: skip
