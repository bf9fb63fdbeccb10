"""The daemon: ``streamrec run``. Makes reality follow the config, and survives.

``cli.daemon`` makes one :class:`Daemon` with a config source (``daemon.sources``: a watched
directory, or ``daemon.gitmode``'s repository) and calls :meth:`Daemon.run`. The daemon only
composes its collaborators and runs the loop:

1. Raise the open-file soft limit to the hard one (``runtime.fdlimit``, logged once), watch
   children by pidfd rather than a thread each (``runtime.childwatch``), load the config once
   (the state directory may be named in it), take the state directory's daemon lock
   (``daemon.lock``: one daemon per state dir), open the state log (``app.statedir``), run
   start-up recovery (``daemon.recovery``), log ``daemon.started``; from then on, give the C
   allocator's free memory back once a minute (``runtime.heaptrim``) and fold what the log
   gained every few seconds (``ReadModel.keep_up``).
2. Compose (:meth:`Daemon._compose`): the task runner (``app.runner``), recording
   (``app.recording``), the schedules (``daemon.schedules``), the channels (``daemon.channels``),
   the reconciler (``daemon.reconciler``), the control side (``daemon.actions``) and the read model
   (``daemon.webapi``), each handed what it uses (in an etcd cluster, a ``daemon.cluster`` member
   decides what this daemon records and schedules instead of the static shard), and the config
   API (``app.configadmin``: it loads a change's copy in the same loader worker and saves to the
   directory or, with ``--git``, as a pushed commit); serve them on the control socket and TCP
   (``daemon.serving``, with ``web.configroutes``). In a cluster, :meth:`Daemon._shutdown` stops
   the member's looks first and revokes its lease only once the recorders stopped.
3. Reconcile at start (or log the config that did not load as rejected), catch up on runs missed
   while no daemon ran (``daemon.catchup``), then follow the source: every change, SIGHUP and
   ``streamrec apply`` reconcile; a save made during start-up is caught by a fingerprint.
4. On SIGTERM/SIGINT (or ``streamrec stop``): stop scheduling, stop recorders (files finalized) and
   running tasks within a bounded grace, log ``daemon.stopped``, exit — all within ~8 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamrec.app.configadmin import ConfigAdmin
from streamrec.app.recording import Recording
from streamrec.app.runner import runner_for
from streamrec.app.statedir import open_journal, open_paths
from streamrec.core import planning
from streamrec.core.clock import Clock
from streamrec.core.events import DaemonStarted, DaemonStopped, Event
from streamrec.core.membership import ClusterSpec, member_id, resolve_cluster
from streamrec.core.redact import Redactor
from streamrec.core.sharding import SINGLE, Ownership, Shard, ShardError
from streamrec.daemon.actions import Control
from streamrec.daemon.catchup import catch_up
from streamrec.daemon.channels import ChannelSet, MakeRecorder, requests_of
from streamrec.daemon.cluster import ClusterMember
from streamrec.daemon.configload import ConfigLoader
from streamrec.daemon.gitmode import GitConfigSource
from streamrec.daemon.lock import DaemonLock, last_alive
from streamrec.daemon.reconciler import Current, Reconciler, config_redactor
from streamrec.daemon.recovery import recover
from streamrec.daemon.schedules import Schedules
from streamrec.daemon.serving import Listeners
from streamrec.daemon.sources import ConfigSource, DirectorySource, fingerprint
from streamrec.daemon.statekeeper import Restorer, StateKeeper
from streamrec.daemon.tokens import read_tokens
from streamrec.daemon.webapi import ReadModel
from streamrec.errors import ConfigError, DaemonError, StateError
from streamrec.log import logger
from streamrec.runtime.childwatch import pidfd_watching
from streamrec.runtime.etcd import Etcd
from streamrec.runtime.fdlimit import FdLimit, raise_fd_limit
from streamrec.runtime.fencewatch import FenceWatch
from streamrec.runtime.heaptrim import Trim, libc_trim, trim_every
from streamrec.runtime.pause import stopped_within
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Channel, Config
from streamrec.state.journal import Journal
from streamrec.state.location import state_root
from streamrec.state.paths import StatePaths
from streamrec.version import __version__
from streamrec.web.access import Tokens
from streamrec.web.configroutes import config_routes

SHUTDOWN_BUDGET = 8.0
"""Seconds from SIGTERM to exit (container runtimes SIGKILL at 10)."""
WATCH_SETTLE = 0.3
"""Seconds for the watch to be in place before start-up checks for missed changes."""
STOP_STEP = 1.5
"""Seconds per step of a recorder's stop ladder in the daemon (shorter than in the foreground)."""
KEEP_UP = 5.0
"""Seconds between two catch-ups of the read model with the log (``ReadModel.keep_up``)."""
RECORDER_KEEPS = 4
"""Finished files each recorder keeps in memory (``Recorder.files``). The daemon reads none of
them (the fold of the state log is its catalog): 1,000, the foreground default, would be about
0.6 MB per channel after 1,000 files."""
TASK_STOP_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL for a task the daemon stops."""


@dataclass(frozen=True)
class _Parts:
    """The collaborators of one running daemon."""

    journal: Journal
    keeper: StateKeeper
    runner: TaskRunner
    schedules: Schedules
    channels: ChannelSet
    reconciler: Reconciler
    control: Control
    listeners: Listeners
    reads: ReadModel
    cluster: ClusterMember | None = None


class Daemon:
    """One running reconciler for one config source (module docstring)."""

    def __init__(
        self,
        source: ConfigSource | Path,
        *,
        environ: Mapping[str, str] | None = None,
        poll: bool = False,
        changes: AsyncIterator[Any] | None = None,
        allow_empty: bool = False,
        misfire_grace: float = 60.0,
        shard: Shard = SINGLE,
        cluster: str | None = None,
        loader: ConfigLoader | None = None,
        clock: Clock,
        on_secrets: Callable[[Redactor], None] | None = None,
        raise_fds: Callable[[], FdLimit] = raise_fd_limit,
        trim_heap: Trim = libc_trim,
    ) -> None:
        if isinstance(source, Path):
            source = DirectorySource(source, poll=poll, changes=changes)
        self.source = source
        self.environ = dict(os.environ if environ is None else environ)
        self.allow_empty = allow_empty
        self.misfire_grace = misfire_grace
        self.shard = shard
        self.cluster = cluster
        """``run --cluster``; else ``STREAMREC_CLUSTER``, else ``settings.cluster`` (``daemon.cluster``)."""
        self.cluster_spec: ClusterSpec | None = None
        self.loader = loader or ConfigLoader()
        """Loads and plans the config in a worker process with a deadline (never on the loop)."""
        self.clock = clock
        self.on_secrets = on_secrets
        """Told the redactor of each config carried out (the CLI's log sink redacts with it)."""
        self.started_at = clock.time()
        self.raise_fds = raise_fds
        """Raises the open-file soft limit at start (``runtime.fdlimit``; a seam for tests)."""
        self.trim_heap = trim_heap
        """Gives the C allocator's free memory back once a minute (``runtime.heaptrim``)."""
        self.tokens = Tokens()
        """The API tokens (``daemon.tokens``), read when :meth:`run` starts."""
        self._parts: _Parts | None = None
        self._background: set[asyncio.Task[Any]] = set()

    async def run(self) -> int:
        """Run until asked to stop; the exit code (0 clean)."""
        limit = self.raise_fds()
        (logger.warning if limit.problem else logger.info)(limit.describe())
        with pidfd_watching() as pidfd:
            if not pidfd:
                logger.info("no pidfds here: each ffmpeg is waited for by a thread of its own")
            return await self._serve()

    async def _serve(self) -> int:
        try:
            self.tokens = read_tokens(self.environ)  # a bad tokens file: no start at all
            await self.source.prepare()
            directory = self.source.config_dir
            try:
                planned = await self.loader.load(directory, self.environ, self.source.base)
                initial, error = planned.loaded, None
            except ConfigError as exc:
                initial, error = None, exc
            setting = initial.config.settings.cluster if initial else None
            self.cluster_spec = resolve_cluster(self.cluster, self.environ, setting)
            if self.cluster_spec is not None and self.shard != SINGLE:
                raise ShardError(
                    f"--shard {self.shard} and the cluster {self.cluster_spec} cannot be combined: "
                    "the cluster decides who records what; drop --shard (and STREAMREC_SHARD)"
                )
            root = self.source.state_root(self.environ)
            paths = open_paths(root or state_root(directory, initial, self.environ))
            lock = DaemonLock(paths)
            lock.acquire()
            try:
                return await self._run(paths, lock, initial, error)
            finally:
                lock.release()
        finally:
            self.loader.close()

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]:
        """Reconcile now (what the API's ``POST /api/reconcile`` does)."""
        return await self._running().reconciler.reconcile(reason, allow_empty)

    def request_shutdown(self, reason: str) -> None:
        """Begin a clean stop (what SIGTERM and ``streamrec stop`` do)."""
        self._running().control.request_shutdown(reason)

    def _running(self) -> _Parts:
        if self._parts is None:
            raise DaemonError("the daemon is not running yet; call it once run() has started")
        return self._parts

    async def _run(
        self, paths: StatePaths, lock: DaemonLock, initial: LoadedConfig | None, error: Any
    ) -> int:
        parts = self._parts = self._compose(paths, lock, initial)
        reconciler, control, schedules = parts.reconciler, parts.control, parts.schedules
        alive = last_alive(parts.journal)
        await recover(paths, parts.journal)
        parts.journal.append(DaemonStarted(pid=os.getpid(), version=__version__))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            name = f"signal {signal.Signals(sig).name}"
            loop.add_signal_handler(sig, control.request_shutdown, name)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: self._spawn(reconciler.reconcile("SIGHUP"), "reconcile")
        )
        await parts.listeners.start(initial.config.settings if initial else None)
        self._spawn(parts.keeper.run(control.stop_event), "state keeper")
        self._spawn(trim_every(control.stop_event, self.trim_heap), "heap trim")
        self._spawn(self._keep_up(parts.reads, control.stop_event), "read model")
        schedules.scheduler.start()
        if parts.cluster is not None:
            parts.cluster.start(control.stop_event)
        if error is not None:
            reconciler.seen = fingerprint(self.source.config_dir)
            reconciler.reject([str(p) for p in error.problems], "at start")
        else:
            await reconciler.reconcile("start")
            current = reconciler.current
            if current.loaded is not None:
                config = current.loaded.config
                catch_up(
                    config, alive, clock=self.clock, grace=self.misfire_grace, emit=self._emit,
                    fire=schedules.fire,
                    schedules=lambda key: key in current.applied.hashes
                    and schedules.owns_key(config, key),
                )  # fmt: skip
        watcher = asyncio.create_task(
            self.source.follow(reconciler.reconcile, self._emit, control.stop_event),
            name="watch config",
        )
        await asyncio.sleep(WATCH_SETTLE)
        if fingerprint(self.source.config_dir) != reconciler.seen:
            # saved after the last reconcile read the files and not (yet) seen by the watch
            await reconciler.reconcile("changed during start-up")
        await control.stop_event.wait()
        watcher.cancel()
        await self._shutdown(parts, loop.time())
        return 0

    @staticmethod
    async def _keep_up(reads: ReadModel, stop: asyncio.Event) -> None:
        """The read model follows the log every :data:`KEEP_UP` seconds (``ReadModel.keep_up``)."""
        while not await stopped_within(stop, KEEP_UP):
            try:
                reads.keep_up()
            except StateError as exc:  # the state keeper reports and repairs; try again later
                logger.debug("read model: cannot follow the log now ({})", exc)

    def _emit(self, event: Event, /) -> dict[str, Any]:
        """Append to the state log (every component's events pass here)."""
        parts = self._running()
        written = parts.keeper.append(event)
        parts.channels.observe(written)
        return written

    def _compose(self, paths: StatePaths, lock: DaemonLock, initial: LoadedConfig | None) -> _Parts:
        source, clock, emit = self.source, self.clock, self._emit
        start = initial or LoadedConfig(Config(), source.config_dir, (), base=source.base)
        settings = start.config.settings
        journal = open_journal(paths, clock=clock, fsync=settings.state_fsync)
        keeper = StateKeeper(paths, journal, self._restorers(lock))
        # the socket answers and the runner holds the starting tasks before the start reconcile
        # has loaded: everything hides the starting config's secrets from the first moment
        tokens = frozenset(self.tokens.secrets)
        redactor = config_redactor(start, tokens, self.environ)
        if self.on_secrets is not None:
            self.on_secrets(redactor)
        runner = runner_for(
            start, layout=paths, journal=keeper, clock=clock, environ=self.environ,
            stop_grace=TASK_STOP_GRACE, redactor=redactor,
        )  # fmt: skip
        folded = journal.state()
        recording = Recording(
            start, emit=emit, runner=runner, state=folded, clock=clock, stop_step=STOP_STEP,
            keep_files=RECORDER_KEEPS,
        )  # fmt: skip
        member = self._member(keeper, paths) if self.cluster_spec is not None else None
        owner: Ownership = member if member is not None else self.shard
        schedules = Schedules(
            zone=settings.timezone, runner=runner, emit=emit, spawn=self._spawn, shard=owner,
            clock=clock, grace=self.misfire_grace, windows=lambda name: self._running().channels.evaluate(name),
        )  # fmt: skip
        channels = ChannelSet(
            make_recorder=self._recorders(recording, member), set_timer=schedules.scheduler.at,
            cancel_timer=schedules.scheduler.remove, pids_dir=paths.pids, emit=emit,
            zone=settings.timezone, max_concurrent=settings.max_concurrent_recordings,
            owns=owner.owns_channel, clock=clock, requests=requests_of(folded, clock.now()),
        )  # fmt: skip
        current = Current(redactor=redactor)
        reads = ReadModel(
            paths=paths, journal=journal, environ=self.environ, current=current, channels=channels,
            recording=recording, live=lambda: self._running().control.status(), source=source,
            started_at=self.started_at, clock=clock,
            cluster=member.view if member is not None else lambda: None,
        )  # fmt: skip
        reconciler = Reconciler(
            source=source, loader=self.loader, environ=self.environ, paths=paths, log=keeper,
            recording=recording, runner=runner, schedules=schedules, channels=channels,
            counts=reads, current=current, allow_empty=self.allow_empty,
            on_secrets=self.on_secrets, secrets=tokens,
        )  # fmt: skip
        control = Control(
            reconcile=reconciler.reconcile, runner=runner, scheduler=schedules.scheduler,
            channels=channels, keeper=keeper, current=current, recording=recording,
            source=source, shard=self.shard, clock=clock, started_at=self.started_at,
            cluster=member.view if member is not None else lambda: None,
        )  # fmt: skip
        admin = ConfigAdmin(
            config_dir=lambda: source.config_dir, environ=self.environ, load=self._load_copy,
            applied=lambda: current.applied, redact=reads.redact, emit=emit,
            reconcile=reconciler.reconcile, allow_empty=self.allow_empty,
            git=source if isinstance(source, GitConfigSource) else None,
        )  # fmt: skip
        listeners = Listeners(
            paths.root, actions=control, reads=reads, environ=self.environ,
            config_routes=lambda guard: config_routes(admin, guard),
            config_dir=source.config_dir, started_at=self.started_at, tokens=self.tokens,
        )  # fmt: skip
        return _Parts(
            journal, keeper, runner, schedules, channels, reconciler, control, listeners, reads,
            member,
        )  # fmt: skip

    @staticmethod
    def _recorders(recording: Recording, member: ClusterMember | None) -> MakeRecorder:
        """``recording.make_recorder``; in a cluster each recorder also asks the member before
        every start of ffmpeg (``ClusterMember.hold``)."""
        if member is None:
            return recording.make_recorder

        def make(name: str, channel: Channel) -> Recorder:
            recorder = recording.make_recorder(name, channel)
            recorder.hold_when(lambda: member.hold(name))
            return recorder

        return make

    def _member(self, keeper: StateKeeper, paths: StatePaths) -> ClusterMember:
        """This daemon's membership of the cluster (``daemon.cluster``); parts made later are
        reached through :meth:`_running`."""
        spec = self.cluster_spec
        assert spec is not None
        me = member_id(self.environ, socket.gethostname(), os.getpid())

        def names() -> list[str]:
            return [n for n, c in self._running().channels.channels.items() if c.enabled]

        def halt(names: list[str], reason: str) -> None:
            for name in names:
                running = self._running().channels.running.get(name)
                if running is not None:
                    running.recorder.stop(f"fenced: {reason}")

        def leader_changed() -> None:
            """Schedule (or unschedule) every task and queue; a new leader runs the ``once``
            tasks its own log has not seen run."""
            parts = self._running()
            loaded = parts.reconciler.current.loaded
            if loaded is not None:
                parts.schedules.configure(loaded.config)
                parts.schedules.run_once_tasks()

        return ClusterMember(
            spec, me, store=Etcd(spec.host, spec.port, timeout=min(2.0, spec.ttl / 4)),
            lease_store=Etcd(spec.host, spec.port, timeout=min(2.0, spec.ttl / 4)),
            names=names, evaluate=lambda name: self._running().channels.evaluate(name),
            running=lambda name: name in self._running().channels.running,
            healthy=keeper.problem, emit=self._emit, clock=self.clock, on_leader=leader_changed,
            watch=FenceWatch(paths.root / "fence-deadline", paths.pids), halt=halt,
        )  # fmt: skip

    async def _load_copy(self, directory: Path) -> tuple[LoadedConfig, planning.Desired]:
        """Load and plan a changed copy of the config (the config API's check), in the worker;
        relative settings paths resolve as for the real config directory."""
        base = self.source.base or self.source.config_dir.resolve().parent
        planned = await self.loader.load(directory, self.environ, base)
        return planned.loaded, planned.want

    def _restorers(self, lock: DaemonLock) -> list[Restorer]:
        """What the state keeper rewrites when the state dir was recreated (parts made later)."""
        return [
            lock.reacquire,
            lambda: self._running().listeners.write_info(),
            lambda: self._running().channels.write_pid_files(),
            lambda: self._running().reconciler.write_applied(),
            lambda: self._running().listeners.rebind_socket(),
        ]

    async def _shutdown(self, parts: _Parts, started: float) -> None:
        loop = asyncio.get_running_loop()
        reason = parts.control.stop_reason
        if parts.cluster is not None:
            await parts.cluster.halt()  # no key taken or given back from here on
        parts.schedules.scheduler.shutdown()
        budget = SHUTDOWN_BUDGET - 1.5
        stops = [
            parts.channels.stop_all(f"daemon stopping ({reason})"),
            parts.runner.stop_all(f"daemon stopping ({reason})", grace=TASK_STOP_GRACE),
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*stops, return_exceptions=True), budget)
        except asyncio.TimeoutError:
            logger.error("shutdown: recorders or tasks did not stop within {:.0f}s", budget)
        if parts.cluster is not None:
            await parts.cluster.leave()  # the recorders stopped: the others may take over now
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await parts.listeners.stop()
        took = loop.time() - started
        parts.keeper.append(DaemonStopped(reason=reason, took=round(took, 3)))
        parts.journal.close()
        logger.info("stopped in {:.1f}s", took)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task
