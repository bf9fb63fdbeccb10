"""The daemon: ``streamrec run``. Makes reality follow the config directory, and survives.

Lifecycle of :meth:`Daemon.run`:

1. Take the state directory's daemon lock (one daemon per state dir; a second one gets a clear
   ``DaemonError``), open the state log, run startup recovery (``daemon.recovery``), log
   ``daemon.started``, serve the control API on ``state/daemon.sock``.
2. Reconcile: load the directory as one snapshot, validate, plan against what *this* daemon runs now,
   and touch only what changed (``daemon.channels`` for recorders; the task runner and the scheduler for
   tasks and queues). A config that does not load is logged as ``config.rejected`` with its located
   errors and the last good config keeps running; one that would remove every channel and task at
   once is refused the same way unless allowed. ``schedule: once`` tasks run after each apply.
3. Reconcile again on every change below the config directory (``runtime.watching``), on SIGHUP, and
   when ``streamrec apply`` asks over the socket.
4. On SIGTERM/SIGINT (or ``streamrec stop``): stop scheduling, stop recorders (files finalized) and
   running tasks within a bounded grace, log ``daemon.stopped``, exit — all within ~8 s.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from loguru import logger

from streamrec.core import planning
from streamrec.core.redact import redact_text
from streamrec.core.sharding import SINGLE, Shard
from streamrec.daemon.catchup import catch_up
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.configload import SLOW_REASON, ConfigLoader, Planned, SlowConfigError
from streamrec.daemon.control import Control
from streamrec.daemon.gitmode import GitMode, GitOptions
from streamrec.daemon.recovery import recover
from streamrec.daemon.statekeeper import StateKeeper
from streamrec.daemon.webapi import WebApi
from streamrec.errors import ConfigError, DaemonError, StreamrecError, TaskError
from streamrec.runtime.clock import SYSTEM_CLOCK
from streamrec.runtime.ffmpeg import find_ffmpeg
from streamrec.runtime.gitinfo import git_info
from streamrec.runtime.gitsync import GitSource
from streamrec.runtime.graph import run_graph, run_once_tasks, run_queue
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.scheduling import Scheduler
from streamrec.runtime.storage import Storage, files_from_state
from streamrec.runtime.tasks import TaskRunner
from streamrec.runtime.watching import watch_config
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Channel, Config, Http, Queue, Task
from streamrec.spec.sources import config_files
from streamrec.state.applied import read_applied, write_applied
from streamrec.state.journal import Journal
from streamrec.state.location import state_root
from streamrec.state.paths import StatePaths
from streamrec.state.private import open_private, write_private
from streamrec.version import __version__
from streamrec.web.control import create_app
from streamrec.web.server import ApiServer, SocketError

SHUTDOWN_BUDGET = 8.0
"""Seconds from SIGTERM to exit (container runtimes SIGKILL at 10)."""
WATCH_SETTLE = 0.3
"""Seconds for the directory watch to be in place before start-up checks for missed changes."""
SOCKET_NAME = "daemon.sock"
INFO_NAME = "daemon.json"


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Names, sizes and mtimes of the config files: equal when nothing was saved in between."""
    found = []
    for path in config_files(directory):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class DaemonLock:
    """One daemon per state directory: an exclusive ``flock`` held for the daemon's life."""

    def __init__(self, paths: StatePaths) -> None:
        self.path = paths.locks / "daemon.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = os.fdopen(open_private(self.path, os.O_RDWR | os.O_CREAT), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise DaemonError(
                f"another streamrec daemon (pid {owner}) owns {self.path.parent.parent}; "
                "stop it first (streamrec stop) or use another state directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def reacquire(self) -> None:
        """Lock the lock file again when the state dir was recreated (the one held is gone)."""
        held = self._handle
        with contextlib.suppress(OSError):
            if held is not None and os.fstat(held.fileno()).st_ino == self.path.stat().st_ino:
                return
        self._handle = None
        try:
            self.acquire()
        finally:
            if held is not None:
                held.close()

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class Daemon(GitMode, Control, WebApi):
    """One running reconciler for one config directory."""

    def __init__(
        self,
        config_dir: Path,
        *,
        environ: Mapping[str, str] | None = None,
        poll: bool = False,
        allow_empty: bool = False,
        changes: AsyncIterator[Any] | None = None,
        misfire_grace: float = 60.0,
        shard: Shard = SINGLE,
        git: GitOptions | None = None,
        loader: ConfigLoader | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.environ = dict(os.environ if environ is None else environ)
        self.poll = poll
        self.allow_empty = allow_empty
        self._changes = changes
        self.shard = shard
        self.git = git
        self._loader = loader or ConfigLoader()
        """Loads and plans the config in a worker process with a deadline (never on the loop)."""
        self.git_source: GitSource | None = None
        self._rejected_at_start: tuple[str, list[str]] | None = None
        self.base: Path | None = None
        """The base of relative settings paths when the config comes from git (the cwd)."""
        self.misfire_grace = misfire_grace
        self.loaded: LoadedConfig | None = None
        self.current = planning.Applied()
        self.started_at = time.time()
        self.stop_event = asyncio.Event()
        self.stop_reason = "stopped"
        self._reconcile_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self.paths: StatePaths
        self.journal: Journal
        self.runner: TaskRunner
        self.scheduler: Scheduler
        self.channels: ChannelSet
        self.storage: Storage
        self.ffmpeg = ""
        self._servers: list[ApiServer] = []
        self._info: dict[str, Any] = {}
        self.keeper: StateKeeper

    # --- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until asked to stop; the exit code (0 clean)."""
        try:
            if self.git is not None:
                await self._git_start()
            initial: LoadedConfig | None = (await self._load()).loaded
            initial_error: ConfigError | None = None
        except ConfigError as exc:
            initial, initial_error = None, exc
        root = self._git_state if self.git is not None else None
        self.paths = StatePaths.at(
            root or state_root(self.config_dir, initial, self.environ)
        ).ensure()
        lock = self.daemon_lock = DaemonLock(self.paths)
        lock.acquire()
        try:
            return await self._run(initial, initial_error)
        finally:
            lock.release()
            self._loader.close()

    async def _run(self, initial: LoadedConfig | None, error: ConfigError | None) -> int:
        settings = initial.config.settings if initial else Config().settings
        self.journal = Journal(self.paths.root, fsync=settings.state_fsync)
        self.keeper = StateKeeper(
            self.paths,
            self.journal,
            [
                self.daemon_lock.reacquire,
                self._write_info,
                lambda: self.channels.write_pid_files(),
                self._write_applied,
                self._rebind_socket,
            ],
        )
        last_alive = _last_alive(self.journal)
        await recover(self.paths, self.journal)
        self.journal.append("daemon.started", pid=os.getpid(), version=__version__)
        self._build(initial)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(
                sig, self.request_shutdown, f"signal {signal.Signals(sig).name}"
            )
        loop.add_signal_handler(signal.SIGHUP, self._spawn_reconcile, "SIGHUP")
        await self._serve(initial)
        self._spawn(self.keeper.run(self.stop_event), "state keeper")
        self.scheduler.start()
        seen = fingerprint(self.config_dir)
        if error is not None:
            self._reject([str(p) for p in error.problems], "at start")
        else:
            await self.reconcile("start")
            assert self.loaded is not None
            catch_up(
                self.loaded.config,
                last_alive,
                clock=SYSTEM_CLOCK,
                grace=self.misfire_grace,
                emit=self.emit,
                fire=self.fire,
                schedules=lambda key: key in self.current.hashes and self.owns(*key.split("/", 1)),
            )
        watcher = asyncio.create_task(
            self._git_loop() if self.git is not None else self._watch(), name="watch config"
        )
        await asyncio.sleep(WATCH_SETTLE)
        if fingerprint(self.config_dir) != seen:  # saved while we started: not seen by the watch
            await self.reconcile("changed during start-up")
        await self.stop_event.wait()
        watcher.cancel()
        await self._shutdown()
        return 0

    def _build(self, initial: LoadedConfig | None) -> None:
        config = initial.config if initial else Config()
        settings = config.settings
        base = initial.base_dir if initial else self.config_dir.resolve().parent
        self.runner = TaskRunner(
            {},
            layout=self.paths,
            journal=self.keeper,
            base_dir=base,
            max_parallel=settings.max_parallel_tasks,
            environ=self.environ,
            stop_grace=2.0,
        )
        self.scheduler = Scheduler(
            settings.timezone, self.fire, self._missed, grace=self.misfire_grace
        )
        recordings = (
            initial.resolve_path(settings.recordings_dir) if initial else base / "recordings"
        )
        recordings.mkdir(parents=True, exist_ok=True)
        self.storage = Storage(
            recordings,
            min_free_space=settings.min_free_space,
            on_low_space=settings.on_low_space,
            emit=self.emit,
            files=files_from_state(self.journal.state().get("recordings") or {}),
        )
        self.channels = ChannelSet(
            make_recorder=self._make_recorder,
            set_timer=self.scheduler.at,
            cancel_timer=self.scheduler.remove,
            pids_dir=self.paths.pids,
            emit=self.emit,
            zone=settings.timezone,
            max_concurrent=settings.max_concurrent_recordings,
            owns=self.shard.owns_channel,
        )

    def emit(self, type_: str, /, **fields: Any) -> dict[str, Any]:
        """Append to the state log (every component's events pass here)."""
        event = self.keeper.append(type_, **fields)
        self.channels.observe(event)
        return event

    async def _serve(self, initial: LoadedConfig | None) -> None:
        socket_path = self.paths.root / SOCKET_NAME
        if len(str(socket_path).encode()) > 100:
            logger.warning("state dir path too long for a Unix socket; control API disabled")
            return
        app = self._socket_app = create_app(
            self, token=self.environ.get("STREAMREC_API_TOKEN"), local=True
        )
        server = ApiServer(app, uds=socket_path)
        try:
            await server.start()
        except SocketError as exc:  # fail closed: no socket is better than one others can use
            logger.error("{}; the daemon runs without it (stop it with SIGTERM)", exc)
        else:
            self._servers.append(server)
        info = {
            "pid": os.getpid(),
            "version": __version__,
            "socket": str(socket_path),
            "config": str(self.config_dir.resolve()),
            "started_at": datetime.fromtimestamp(self.started_at, timezone.utc).isoformat(),
        }
        listen = self.environ.get("STREAMREC_HTTP_LISTEN") or (
            initial.config.settings.http.listen if initial else None
        )
        if listen and listen.lower() not in {"off", "none", "no"}:
            where = Http(listen=listen).listen or listen
            allowed = initial.config.settings.http.allowed_hosts if initial else ()
            tcp_app = create_app(
                self,
                token=self.environ.get("STREAMREC_API_TOKEN"),
                local=False,
                listen=where,
                allowed_hosts=allowed,
            )
            tcp = ApiServer(tcp_app, listen=where)
            try:
                await tcp.start()
            except (OSError, SystemExit) as exc:  # uvicorn exits on a bind error
                logger.error(
                    "HTTP on {} not available ({}); the socket API still runs", listen, exc
                )
            else:
                self._servers.append(tcp)
                info["listen"] = listen
        self._info = info
        self._write_info()

    def _write_info(self) -> None:
        """``daemon.json``: how ``streamrec`` commands find this daemon (written again if lost)."""
        if self._info:
            write_private(self.paths.root / INFO_NAME, json.dumps(self._info).encode())

    def _write_applied(self) -> None:
        """``applied.json`` from what runs (after the state dir was recreated)."""
        if self.current.revision is not None:
            write_applied(self.paths.applied, self.current, {"git": git_info(self.config_dir)})

    async def _rebind_socket(self) -> None:
        """Serve the control socket again: the state dir was recreated and the old one is gone."""
        for index, server in enumerate(self._servers):
            if server.uds is not None:
                await server.stop()
                del self._servers[index]
                fresh = ApiServer(self._socket_app, uds=server.uds)
                await fresh.start()
                self._servers.insert(index, fresh)

    async def _watch(self) -> None:
        changes = self._changes or watch_config(self.config_dir, self.stop_event, poll=self.poll)
        async for batch in changes:
            logger.debug("config changed: {}", sorted(batch)[:5] if batch else batch)
            await self.reconcile("config changed")

    def request_shutdown(self, reason: str) -> None:
        """Begin a clean stop (signal handlers and the API call this)."""
        if not self.stop_event.is_set():
            logger.info("stopping: {}", reason)
            self.stop_reason = reason
            self.stop_event.set()

    async def _shutdown(self) -> None:
        started = time.monotonic()
        self.scheduler.shutdown()
        budget = SHUTDOWN_BUDGET - 1.5
        stops = [
            self.channels.stop_all(f"daemon stopping ({self.stop_reason})"),
            self.runner.stop_all(f"daemon stopping ({self.stop_reason})", grace=2.0),
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*stops, return_exceptions=True), budget)
        except asyncio.TimeoutError:
            logger.error("shutdown: recorders or tasks did not stop within {:.0f}s", budget)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for server in self._servers:
            await server.stop()
        (self.paths.root / INFO_NAME).unlink(missing_ok=True)
        took = time.monotonic() - started
        self.keeper.append("daemon.stopped", reason=self.stop_reason, took=round(took, 3))
        self.journal.close()
        logger.info("stopped in {:.1f}s", took)

    async def _load(self) -> Planned:
        return await self._loader.load(self.config_dir, self.environ, self.base)

    def owns(self, kind: str, name: str) -> bool:
        """Whether this daemon (its shard) schedules the task or queue ``name``."""
        assert self.loaded is not None
        objects = self.loaded.config.tasks if kind == "task" else self.loaded.config.queues
        obj = objects.get(name)
        return obj is not None and self._schedules(obj)

    def _set_schedule(self, key: str, obj: Task | Queue) -> None:
        """(Re)schedule ``obj`` under ``key`` when this daemon owns its schedule, else unschedule."""
        schedule = obj.schedule
        if schedule is not None and schedule != "once" and self._schedules(obj):
            self.scheduler.schedule(key, schedule, obj.jitter)
        else:
            self.scheduler.remove(key)

    def _schedules(self, obj: Task | Queue) -> bool:
        """Whether this daemon schedules ``obj``: it has a time schedule and this shard owns it."""
        if obj.schedule is None or obj.schedule == "once":
            return False
        pinned = obj.shard
        if pinned is not None and pinned >= self.shard.count:
            logger.warning(
                "pinned to shard {} but there are {} shards: not scheduled",
                pinned,
                self.shard.count,
            )
            return False
        return self.shard.owns_task(pinned)

    # --- reconciling -------------------------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _spawn_reconcile(self, reason: str) -> None:
        self._spawn(self.reconcile(reason), f"reconcile ({reason})")

    def _reject(self, errors: list[str], reason: str) -> dict[str, Any]:
        errors = [redact_text(e, self.loaded.secrets if self.loaded else ()) for e in errors]
        self.emit("config.rejected", errors=errors, reason=reason)
        self.on_rejected(errors)
        for line in errors[:20]:
            logger.error("config rejected: {}", line)
        logger.error("config rejected ({}); the last good config keeps running", reason)
        return {"ok": False, "errors": errors, "outcomes": {}}

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]:
        """Load, validate, diff and carry out one snapshot of the config directory."""
        async with self._reconcile_lock:
            started = time.monotonic()
            try:
                planned = await self._load()
            except SlowConfigError as exc:
                return self._reject([str(p) for p in exc.problems], SLOW_REASON)
            except ConfigError as exc:
                return self._reject([str(p) for p in exc.problems], reason)
            loaded, want = planned.loaded, planned.want
            if planning.removes_everything(want, self.current) and not (
                allow_empty or self.allow_empty
            ):
                return self._reject(
                    [
                        f"{self.config_dir}: the new config removes every channel and task at once "
                        "(an empty or half-checked-out directory?); refused. "
                        "Run `streamrec apply --allow-empty` if you mean it."
                    ],
                    reason,
                )
            actions = planning.plan(want, self.current)
            outcomes = await self._carry_out(loaded, actions)
            took = time.monotonic() - started
            touched = {k: v for k, v in outcomes.items() if v != "unchanged"}
            previous = read_applied(self.paths.applied)
            rejected = (self.journal.state().get("config") or {}).get("rejected")
            if previous.revision != want.revision or rejected:
                # a fix back to the applied revision must still clear an outstanding rejection
                git = git_info(self.config_dir)
                write_applied(self.paths.applied, want.applied(), {"git": git})
                self.emit(
                    "config.applied",
                    revision=want.revision,
                    git=git,
                    diff=planning.diff_record(planning.plan(want, previous)),
                    outcomes=touched,
                    took_ms=round(took * 1000, 1),
                    reason=reason,
                )
            self.current = want.applied()
            self.loaded = loaded
            logger.info(
                "reconciled revision {} ({}) in {:.0f} ms: {}",
                want.revision,
                reason,
                took * 1000,
                ", ".join(f"{k} {v}" for k, v in touched.items()) or "nothing to do",
            )
            if self.shard.index == 0:  # once tasks belong to shard 0, like unpinned schedules
                self._spawn(self._run_once_tasks(), "once tasks")
            self.on_reconciled(took, outcomes)
            return {
                "ok": True,
                "revision": want.revision,
                "outcomes": outcomes,
                "took_ms": round(took * 1000, 1),
            }

    async def _carry_out(
        self, loaded: LoadedConfig, actions: list[planning.Action]
    ) -> dict[str, str]:
        config = loaded.config
        settings = config.settings
        changed = {a.key: a.op for a in actions}
        settings_changed = "settings/settings" in changed
        outcomes: dict[str, str] = {key: "unchanged" for key in self.current.hashes}
        if settings_changed:
            self.ffmpeg = ""  # found again for the next recorder
            self.scheduler.set_zone(settings.timezone)
            self.channels.zone = self.scheduler.zone
            self.channels.max_concurrent = settings.max_concurrent_recordings
            self.storage.min_free_space = settings.min_free_space
            self.storage.on_low_space = settings.on_low_space
            outcomes["settings/settings"] = "changed"
        self.runner.update(config.tasks, config.queues, settings.max_parallel_tasks)
        self.loaded = loaded
        for action in actions:
            if action.kind == "channel" and action.op == "remove":
                outcomes[action.key] = await self.channels.remove(action.name)
            elif action.kind in {"task", "queue"}:
                key = action.key
                if action.op == "remove":
                    self.scheduler.remove(key)
                    outcomes[key] = "removed"
                else:
                    obj = (config.tasks if action.kind == "task" else config.queues)[action.name]
                    self._set_schedule(key, obj)
                    outcomes[key] = "added" if action.op == "add" else "updated"
            elif action.kind == "category":
                outcomes[action.key] = {"add": "added", "remove": "removed"}.get(
                    action.op, "updated"
                )
        if settings_changed:  # recorders depend on settings: reschedule every task, restart all
            for name, task in config.tasks.items():
                self._set_schedule(f"task/{name}", task)
            for name, queue in config.queues.items():
                self._set_schedule(f"queue/{name}", queue)
        for name, channel in config.channels.items():
            key = f"channel/{name}"
            if key in changed or settings_changed or name not in self.channels.channels:
                outcomes[key] = await self.channels.set(name, channel)
        return outcomes

    def _make_recorder(self, name: str, channel: Channel) -> Recorder:
        assert self.loaded is not None
        settings = self.loaded.config.settings
        if not self.ffmpeg:
            self.ffmpeg = find_ffmpeg(settings.ffmpeg).path
        return Recorder(
            name,
            channel,
            recordings_dir=self.loaded.resolve_path(settings.recordings_dir),
            ffmpeg=self.ffmpeg,
            emit=self.emit,
            storage=self.storage,
            timezone_name=settings.timezone,
            secrets=self.loaded.secrets,
            run_hook=self._run_hook,
            stop_step=1.5,
        )

    async def _run_hook(self, task: str, context: Mapping[str, str]) -> str:
        """A channel hook: the task with its dependencies, for this one file."""
        results = await run_graph(self.runner, [task], trigger="hook", context=context)
        ok = all(r.status == "completed" for r in results.values())
        return "completed" if ok else "failed"

    async def _run_once_tasks(self) -> None:
        try:
            await run_once_tasks(self.runner)
        except StreamrecError:
            logger.exception("once tasks failed")

    # --- schedules ---------------------------------------------------------------------------

    def fire(self, key: str, when: datetime) -> None:
        """A schedule or window timer fired for ``key`` (``task/x``, ``queue/x``, ``window/x``)."""
        kind, _, name = key.partition("/")
        if kind == "window":
            self._spawn(self.channels.evaluate(name), f"window {name}")
        elif kind == "task":
            self._spawn(self._scheduled_task(name), f"scheduled {name}")
        elif kind == "queue":
            self._spawn(self._scheduled_queue(name), f"scheduled queue {name}")

    async def _scheduled_task(self, name: str, trigger: str = "schedule") -> None:
        try:
            await self.runner.run(name, trigger=trigger)  # type: ignore[arg-type]
        except TaskError as exc:  # logged by the runner as task.skipped
            logger.warning("scheduled run of {!r}: {}", name, exc)

    async def _scheduled_queue(self, name: str) -> None:
        try:
            await run_queue(self.runner, name, trigger="schedule")
        except TaskError as exc:
            logger.warning("scheduled run of queue {!r}: {}", name, exc)

    def _missed(self, key: str, when: datetime) -> None:
        kind, _, name = key.partition("/")
        self.emit(
            "schedule.missed",
            kind=kind,
            name=name,
            fire_time=when.isoformat(),
            reason=f"fired more than {self.misfire_grace:.0f}s late (event loop blocked or "
            "machine suspended)",
        )


def _last_alive(journal: Journal) -> datetime | None:
    """When the previous daemon was last known alive: its clean stop, else the log's last event."""
    daemon = journal.state().get("daemon") or {}
    stamp = daemon.get("stopped_at") if daemon.get("state") == "stopped" else None
    if stamp is None:
        tail = collections.deque(journal.read(max(0, journal.last_seq - 1)), maxlen=1)
        stamp = tail[0].get("ts") if tail else None
    if not isinstance(stamp, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return None
