"""Reconciling: one snapshot of the config made what the daemon runs, touching only what changed.

``daemon.service`` makes one :class:`Reconciler` and calls :meth:`Reconciler.reconcile` at start,
on every change its config source reports, on SIGHUP and when ``POST /api/reconcile`` asks
(through ``daemon.actions``). One reconcile at a time:

1. Load and plan in the loader's worker process (``daemon.configload``, with its deadline). A config
   that does not load, or loads too slowly, is rejected: ``config.rejected`` with its located
   errors (secrets redacted), and the last good config keeps running.
2. ``app.applying.apply_config`` against what this daemon runs (not ``applied.json``: after a
   restart everything is started once), with :meth:`Reconciler._carry_out` doing the work: the
   recording, task runner, schedules and channels get the new config through one method each, then each
   changed channel is set or removed (``daemon.channels``), each changed task or queue scheduled
   again. A settings change restarts every recorder and reschedules everything.
3. The ``once`` tasks run, and the read model counts the reconcile (``on_reconciled``) or the
   rejection (``on_rejected``).

:class:`Current` is what runs now; the control side and the read model are handed it to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamrec.app.applying import apply_config
from streamrec.app.recording import Recording
from streamrec.core import planning
from streamrec.core.events import ConfigRejected
from streamrec.core.redact import Redactor
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.configload import SLOW_REASON, ConfigLoader, SlowConfigError
from streamrec.daemon.schedules import Schedules
from streamrec.daemon.sources import ConfigSource, fingerprint
from streamrec.errors import ConfigError
from streamrec.log import logger
from streamrec.runtime.gitinfo import git_info
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.runtime.tasks.values import EventLog
from streamrec.spec.loading import LoadedConfig
from streamrec.state.applied import write_applied
from streamrec.state.paths import StatePaths


@dataclass
class Current:
    """What the daemon runs now: the loaded config (None until one loaded) and its snapshot.

    Written only by the :class:`Reconciler`; the control side and the read model read it."""

    loaded: LoadedConfig | None = None
    applied: planning.Applied = field(default_factory=planning.Applied)
    redactor: Redactor = field(default_factory=Redactor)
    """What every output of the daemon hides (:func:`config_redactor`): the secrets of the loaded
    config, or before the first reconcile of the config the daemon started with (the socket answers
    and the task runner holds the starting tasks before the start reconcile has loaded)."""


class Outcomes(Protocol):
    """Who counts reconciles (the read model, for ``/metrics``)."""

    def on_reconciled(self, took: float, outcomes: dict[str, str]) -> None: ...
    def on_rejected(self, errors: list[str]) -> None: ...


def config_redactor(
    loaded: LoadedConfig, secrets: frozenset[str], environ: Mapping[str, str]
) -> Redactor:
    """What the daemon hides while it runs ``loaded``: its secrets (``.env`` and interpolated
    values, URL passwords, credential headers), ``secrets`` (the API tokens) and the environment's."""
    return Redactor.of(loaded.secrets | secrets, environ, loaded.config)


class Reconciler:
    """Makes what the daemon runs follow the config (module docstring)."""

    def __init__(
        self,
        *,
        source: ConfigSource,
        loader: ConfigLoader,
        environ: Mapping[str, str],
        paths: StatePaths,
        log: EventLog,
        recording: Recording,
        runner: TaskRunner,
        schedules: Schedules,
        channels: ChannelSet,
        counts: Outcomes,
        current: Current,
        allow_empty: bool = False,
        on_secrets: Callable[[Redactor], None] | None = None,
        secrets: frozenset[str] = frozenset(),
    ) -> None:
        self.current = current
        self._secrets = secrets
        """Secrets no config holds (the API tokens): hidden in task output and logs too."""
        self.seen: tuple[tuple[str, int, int], ...] | None = None
        """The config files' fingerprint when the last reconcile began to read them."""
        self._on_secrets = on_secrets
        """Told the redactor of each config carried out (the CLI's log sink redacts with it)."""
        self._source = source
        self._loader = loader
        self._environ = environ
        self._paths = paths
        self._log = log
        self._recording = recording
        self._runner = runner
        self._schedules = schedules
        self._channels = channels
        self._counts = counts
        self._allow_empty = allow_empty
        self._lock = asyncio.Lock()

    def reject(self, errors: list[str], reason: str) -> dict[str, Any]:
        """Log a config as rejected (secrets redacted); the last good config keeps running."""
        errors = [self.current.redactor.text(e) for e in errors]
        self._log.append(ConfigRejected(errors=errors, reason=reason))
        self._counts.on_rejected(errors)
        log = logger.bind(event="config.rejected")
        for line in errors[:20]:
            log.error("config rejected: {}", line)
        log.error("config rejected ({}); the last good config keeps running", reason)
        return {"ok": False, "errors": errors, "outcomes": {}}

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]:
        """Load, validate, diff and carry out one snapshot of the config directory."""
        async with self._lock:
            started = asyncio.get_running_loop().time()
            directory = self._source.config_dir
            # taken before reading, so a later save differs; a stat per file, off the loop
            self.seen = await asyncio.to_thread(fingerprint, directory)
            try:
                planned = await self._loader.load(directory, self._environ, self._source.base)
            except SlowConfigError as exc:
                return self.reject([str(p) for p in exc.problems], SLOW_REASON)
            except ConfigError as exc:
                return self.reject([str(p) for p in exc.problems], reason)
            loaded, want = planned.loaded, planned.want

            async def carry_out(actions: list[planning.Action]) -> dict[str, str]:
                return await self._carry_out(loaded, actions)

            result = await apply_config(
                want,
                running=self.current.applied,
                paths=self._paths,
                log=self._log,
                directory=directory,
                reason=reason,
                allow_empty=allow_empty or self._allow_empty,
                carry_out=carry_out,
                started=started,
            )
            if not result.ok:
                return self.reject(list(result.errors), reason)
            self.current.applied = want.applied()
            self.current.loaded = loaded
            logged = {"event": "config.applied"} if result.seq is not None else {}
            logger.bind(revision=want.revision, **logged).info(
                "reconciled revision {} ({}) in {:.0f} ms: {}",
                want.revision,
                reason,
                result.took_ms,
                ", ".join(f"{k} {v}" for k, v in result.touched.items()) or "nothing to do",
            )
            self._schedules.run_once_tasks()
            self._counts.on_reconciled(result.took_ms / 1000, dict(result.outcomes))
            return {
                "ok": True,
                "revision": want.revision,
                "outcomes": dict(result.outcomes),
                "took_ms": result.took_ms,
            }

    async def _carry_out(
        self, loaded: LoadedConfig, actions: list[planning.Action]
    ) -> dict[str, str]:
        config = loaded.config
        settings = config.settings
        changed = {a.key: a.op for a in actions}
        settings_changed = "settings/settings" in changed
        outcomes: dict[str, str] = {key: "unchanged" for key in self.current.applied.hashes}
        self.current.loaded = loaded
        redactor = self.current.redactor = config_redactor(loaded, self._secrets, self._environ)
        if self._on_secrets is not None:
            self._on_secrets(redactor)
        self._recording.configure(loaded)
        self._runner.update(config.tasks, config.queues, settings.max_parallel_tasks, redactor)
        if settings_changed:  # recorders depend on settings: reschedule every task, restart all
            self._schedules.configure(config)
            self._channels.configure(settings.timezone, settings.max_concurrent_recordings)
            outcomes["settings/settings"] = "changed"
        for action in actions:
            if action.kind == "channel" and action.op == "remove":
                outcomes[action.key] = await self._channels.remove(action.name)
            elif action.kind in {"task", "queue"}:
                key = action.key
                if action.op == "remove":
                    self._schedules.remove(key)
                    outcomes[key] = "removed"
                else:
                    obj = (config.tasks if action.kind == "task" else config.queues)[action.name]
                    self._schedules.set(key, obj)
                    outcomes[key] = "added" if action.op == "add" else "updated"
            elif action.kind == "category":
                outcomes[action.key] = {"add": "added", "remove": "removed"}.get(
                    action.op, "updated"
                )
        for name, channel in config.channels.items():
            key = f"channel/{name}"
            if key in changed or settings_changed or name not in self._channels.channels:
                outcomes[key] = await self._channels.set(name, channel)
        return outcomes

    def write_applied(self) -> None:
        """``applied.json`` from what runs (after the state dir was recreated)."""
        applied = self.current.applied
        if applied.revision is not None:
            git = git_info(self._source.config_dir)
            write_applied(self._paths.applied, applied, {"git": git})
