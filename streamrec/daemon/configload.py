"""Loading and planning a config in a worker process, with a deadline: never on the daemon's loop.

``daemon.service`` (at start) and ``daemon.reconciler`` (on every reconcile) await
:meth:`ConfigLoader.load`; ``daemon.gitmode`` validates each commit with
:meth:`ConfigLoader.load_blocking`. Reading, validating and planning a directory is pure CPU work
that a hostile or broken file could stretch (``spec.limits`` bounds it, but a 8 MiB file still takes
seconds); on the event loop that would stall the API, segment finishing, ffmpeg supervision and
SIGTERM. So it runs in one long-lived worker process (a ``ProcessPoolExecutor`` of one, started by
a forkserver that has imported the loader already, so a reconcile pays only for pickling the
result). A new worker is started and answers a first no-op job before a load is handed to it, so the
deadline counts the load alone. A load that takes longer than :data:`LOAD_DEADLINE` is given up: the worker is killed, the
executor is replaced on the next load, and :class:`SlowConfigError` is raised, which the daemon logs
as ``config.rejected`` with the reason :data:`SLOW_REASON` while the last good config keeps
running. A worker that dies (killed, out of memory) is replaced the same way.
The worker exits when the daemon does, also when the daemon is killed (it waits on the daemon's
pidfd), and the forkserver with it: a SIGKILLed daemon leaves no loader behind.

The worker function is a seam: tests pass a slow one with a small deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import pickle
import select
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from streamrec.app.applying import desired_of
from streamrec.core import planning
from streamrec.errors import ConfigError, Problem
from streamrec.log import logger
from streamrec.runtime.processes import process_exists
from streamrec.spec.loading import LoadedConfig, load_config

LOAD_DEADLINE = 20.0
"""Seconds a load and plan may take in the worker before the config is rejected as too slow."""
STARTUP_TIMEOUT = 120.0
"""Seconds a new worker may take to start (not counted in the deadline; a worker that cannot start
at all fails the load as a broken worker)."""
SLOW_REASON = "too slow to load"
"""The ``reason`` of the ``config.rejected`` event when the deadline passed."""


@dataclass(frozen=True)
class Planned:
    """A loaded config and its desired state: what the worker sends back."""

    loaded: LoadedConfig
    want: planning.Desired


@dataclass(frozen=True)
class Refused:
    """The worker's answer for a config that does not load: every located problem."""

    problems: tuple[Problem, ...]


Job = Callable[[Path, Mapping[str, str], Path | None], "Planned | Refused"]
"""What runs in the worker: ``(directory, environ, base_dir)`` -> the outcome."""


class SlowConfigError(ConfigError):
    """Loading did not finish within the deadline; the worker was killed."""


def load_and_plan(
    directory: Path, environ: Mapping[str, str], base: Path | None
) -> Planned | Refused:
    """Load ``directory`` and compute its desired state (runs in the worker process)."""
    try:
        loaded = load_config(directory, environ, base_dir=base)
    except ConfigError as exc:
        return Refused(tuple(exc.problems))
    return Planned(loaded, desired_of(loaded))


class ConfigLoader:
    """One worker process for loads, replaced when it is killed or dies."""

    def __init__(
        self,
        job: Job = load_and_plan,
        deadline: float = LOAD_DEADLINE,
        method: str = "forkserver",
    ) -> None:
        self.job = job
        self.deadline = deadline
        self._context = multiprocessing.get_context(method)
        if method == "forkserver":
            self._context.set_forkserver_preload([__name__])
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    async def load(self, directory: Path, environ: Mapping[str, str], base: Path | None) -> Planned:
        """The loaded and planned config; :class:`ConfigError` with every problem otherwise."""
        try:
            # starting a worker waits for the forkserver's imports: in a thread, not on the loop
            future = await asyncio.to_thread(self._submit, directory, environ, base)
            outcome = await asyncio.wait_for(asyncio.wrap_future(future), self.deadline)
        except asyncio.TimeoutError:
            await asyncio.to_thread(self._kill, "the load passed its deadline")
            raise self._slow(directory) from None
        except (BrokenProcessPool, pickle.PicklingError, OSError) as exc:
            await asyncio.to_thread(self._kill, f"the worker failed ({exc})")
            raise self._failed(directory, exc) from None
        return _unpack(outcome)

    def load_blocking(
        self, directory: Path, environ: Mapping[str, str], base: Path | None
    ) -> LoadedConfig:
        """:meth:`load` for a worker thread (``run --git`` validates commits in one)."""
        try:
            outcome = self._submit(directory, environ, base).result(self.deadline)
        except concurrent.futures.TimeoutError:
            self._kill("the load passed its deadline")
            raise self._slow(directory) from None
        except (BrokenProcessPool, pickle.PicklingError, OSError) as exc:
            self._kill(f"the worker failed ({exc})")
            raise self._failed(directory, exc) from None
        return _unpack(outcome).loaded

    def _submit(
        self, directory: Path, environ: Mapping[str, str], base: Path | None
    ) -> concurrent.futures.Future[Planned | Refused]:
        with self._lock:
            if self._executor is None:
                executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=self._context,
                    initializer=_follow, initargs=(os.getpid(),),
                )  # fmt: skip
                # start the worker before the clock of the deadline runs: on a loaded machine
                # starting it (forkserver, imports) takes seconds that are not the config's fault
                try:
                    executor.submit(_ready).result(STARTUP_TIMEOUT)
                except concurrent.futures.TimeoutError:
                    _stop(executor)
                    raise BrokenProcessPool(
                        f"the worker did not start within {STARTUP_TIMEOUT:g} s"
                    ) from None
                self._executor = executor
            return self._executor.submit(self.job, directory, dict(environ), base)

    def _slow(self, directory: Path) -> SlowConfigError:
        return SlowConfigError(
            [
                Problem(
                    str(directory),
                    0,
                    0,
                    f"loading the config took longer than {self.deadline:g} s; the loader was "
                    "stopped and the last good config keeps running",
                )
            ]
        )

    def _failed(self, directory: Path, exc: BaseException) -> ConfigError:
        return ConfigError(
            [
                Problem(
                    str(directory),
                    0,
                    0,
                    f"the config loader process failed ({exc or type(exc).__name__}); it is "
                    "started again for the next load, the last good config keeps running",
                )
            ]
        )

    def _kill(self, why: str) -> None:
        """Kill the worker and forget its executor (the next load starts a fresh one)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        if why:
            logger.warning("config loader: {}; killing its worker", why)
        _stop(executor)

    def close(self) -> None:
        """Stop the worker (at daemon shutdown); a load after this starts a new one."""
        self._kill("")


def _stop(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill the executor's worker, busy or not, and shut it down."""
    # the executor has no public way to kill a busy worker: its process table is the one way
    for process in list((executor._processes or {}).values()):
        process.kill()
    executor.shutdown(wait=True, cancel_futures=True)  # quick: its worker is gone


def _follow(daemon: int) -> None:
    """In the worker: exit when the daemon does, also when it was killed. Nothing else would end
    it then: its job queue's pipe stays open in the worker itself, and the forkserver lives as
    long as any worker it started."""

    def wait() -> None:
        try:
            handle = os.pidfd_open(daemon)
        except (AttributeError, OSError):  # no pidfds here: look once a second
            while process_exists(daemon):
                time.sleep(1.0)
        else:
            select.select([handle], [], [])
        os._exit(0)

    threading.Thread(target=wait, name="streamrec-follow-daemon", daemon=True).start()


def _ready() -> bool:
    """The first job of a new worker: proves it started."""
    return True


def _unpack(outcome: Planned | Refused) -> Planned:
    if isinstance(outcome, Refused):
        raise ConfigError(list(outcome.problems))
    return outcome
