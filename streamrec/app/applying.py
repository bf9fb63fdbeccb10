"""Making a config current: the one ``apply_config`` behind ``streamrec apply`` and the daemon.

``cli.config.apply`` (no daemon running) calls :func:`apply_config` with what ``applied.json``
says is current; the daemon's reconcile (``daemon.reconciler``) calls it with what it runs and a
``carry_out`` that starts, restarts and stops what changed. Either way:

1. A config that would remove every channel and task at once is refused with :func:`refusal`
   (one wording) unless ``allow_empty``; nothing is carried out or written. The caller says so:
   the CLI exits 1, the daemon logs ``config.rejected``.
2. The plan against ``running`` is carried out (the daemon) or taken as it is (the CLI). The
   outcomes say what changed since ``applied.json`` (:func:`since_applied`): a daemon starting on
   the config it ran before adds every object again, yet reports them ``unchanged`` (what a
   recorder did, ``started`` or ``waiting``, stays), so its log line and ``config.applied`` agree
   with the ``diff``.
3. When the revision differs from ``applied.json``, or a rejection is outstanding (a fix back to
   the applied revision must still clear it), ``applied.json`` is written and ``config.applied``
   logged with one payload: ``revision``, ``git``, ``diff`` (against ``applied.json``),
   ``outcomes`` (what was touched), ``took_ms`` and ``reason``.

:func:`desired_of` is the desired side of a plan for a loaded config (``plan``, ``status``,
``validate`` and the daemon's loader use it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streamrec.core import planning
from streamrec.core.events import ConfigApplied
from streamrec.core.redact import Redactor
from streamrec.runtime.gitinfo import git_info
from streamrec.runtime.tasks.values import EventLog
from streamrec.spec.loading import LoadedConfig
from streamrec.state.applied import read_applied, write_applied
from streamrec.state.paths import StatePaths

CarryOut = Callable[[list[planning.Action]], Awaitable[Mapping[str, str]]]
"""Carries out a plan's actions; the outcome per object key (``unchanged`` for untouched ones)."""

OUTCOME_OF_OP = {"add": "added", "change": "updated", "remove": "removed"}
"""The outcome of an action when nothing runs it (``streamrec apply`` without a daemon)."""
CONFIG_OUTCOMES = frozenset({"added", "updated", "changed"})
"""Outcomes that say the config of an object changed (not what its recorder did)."""


@dataclass(frozen=True)
class ApplyResult:
    """What one apply did: refused (``ok`` false, ``errors``), or carried out and maybe recorded."""

    ok: bool
    revision: str
    actions: tuple[planning.Action, ...] = ()
    outcomes: Mapping[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    took_ms: float = 0.0
    seq: int | None = None
    """The seq of the ``config.applied`` written, or None when nothing needed recording."""

    @property
    def touched(self) -> dict[str, str]:
        """The outcomes of the objects that were touched."""
        return {k: v for k, v in self.outcomes.items() if v != "unchanged"}


def desired_of(loaded: LoadedConfig) -> planning.Desired:
    """The desired side of a plan for a loaded config, secrets redacted (one redactor, its
    patterns prepared once, for every object)."""
    return planning.desired(loaded.config, Redactor.of(loaded.secrets).definition)


def since_applied(outcomes: Mapping[str, str], since: list[planning.Action]) -> dict[str, str]:
    """``outcomes`` as changes since ``applied.json`` (``since`` is the plan against it): a config
    change it does not hold is ``unchanged`` (the object was only added again at start), and an
    object added again that it holds as changed is ``updated``."""
    ops = {action.key: action.op for action in since}
    settled: dict[str, str] = {}
    for key, outcome in outcomes.items():
        if outcome in CONFIG_OUTCOMES and key not in ops:
            outcome = "unchanged"
        elif outcome == "added" and ops.get(key) == "change":
            outcome = "updated"
        settled[key] = outcome
    return settled


def refusal(directory: Path) -> str:
    """Why a config that removes every channel and task at once is not applied."""
    return (
        f"{directory}: this config removes every channel and task at once (an empty or "
        "half-checked-out config directory?); refused, the last applied config stays current. "
        "Run `streamrec apply --allow-empty` if you mean it."
    )


async def apply_config(
    want: planning.Desired,
    *,
    running: planning.Applied,
    paths: StatePaths,
    log: EventLog,
    directory: Path,
    reason: str,
    allow_empty: bool = False,
    carry_out: CarryOut | None = None,
    started: float | None = None,
) -> ApplyResult:
    """Make ``want`` current against ``running`` (see the module docstring); ``took_ms`` counts
    from ``started`` (the loop time the caller began, e.g. before loading), else from now."""
    loop = asyncio.get_running_loop()
    started = loop.time() if started is None else started
    if planning.removes_everything(want, running) and not allow_empty:
        return ApplyResult(False, want.revision, errors=(refusal(directory),))
    actions = planning.plan(want, running)
    previous = read_applied(paths.applied)
    since = planning.plan(want, previous)
    if carry_out is not None:
        outcomes = since_applied(await carry_out(actions), since)
    else:
        outcomes = {a.key: OUTCOME_OF_OP[a.op] for a in actions}
    took_ms = round((loop.time() - started) * 1000, 1)
    result = ApplyResult(True, want.revision, tuple(actions), outcomes, took_ms=took_ms)
    rejected = (log.shared_state().get("config") or {}).get("rejected")
    if previous.revision == want.revision and not rejected:
        return result
    git = git_info(directory)
    write_applied(paths.applied, want.applied(), {"git": git})
    event = log.append(
        ConfigApplied(
            revision=want.revision,
            git=git,
            diff=planning.diff_record(since),
            outcomes=result.touched,
            took_ms=took_ms,
            reason=reason,
        )
    )
    seq = event.get("seq")
    return ApplyResult(
        True,
        want.revision,
        result.actions,
        outcomes,
        took_ms=took_ms,
        seq=seq if isinstance(seq, int) else None,
    )
