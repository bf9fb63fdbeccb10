"""Recording, assembled once: ffmpeg found once, storage with its low-space policy, hooks, recorders.

The daemon (one :class:`Recording` for its life, handed to ``daemon.channels.ChannelSet`` as
``make_recorder``) and ``streamrec record``/``demo`` (one for one foreground recording) build their
recorders here, so both record with the same storage rules, the same hook runner and the same
settings. ``doctor`` and ``recordings delete`` open the recordings catalog with
:func:`open_storage`, and ``channel command`` prints ``runtime.channelargv.channel_argv``.

A :class:`Recording` follows the config through :meth:`Recording.configure`, called with each
config the caller makes current: a settings change finds ffmpeg again (on the next recorder) and
carries ``min_free_space``/``on_low_space`` into the storage; recorders made afterwards take the new
recordings directory, time zone and secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from streamrec.core.clock import Clock
from streamrec.core.events import Emit
from streamrec.core.redact import args_secrets
from streamrec.runtime.ffmpeg import find_ffmpeg
from streamrec.runtime.finishing import KEEP_FILES
from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage, files_from_state
from streamrec.runtime.tasks.graph import run_graph
from streamrec.runtime.tasks.runner import TaskRunner
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Channel, Settings


def recordings_dir_of(loaded: LoadedConfig) -> Path:
    """Where a loaded config's files are recorded (``settings.recordings_dir``, resolved)."""
    return loaded.resolve_path(loaded.config.settings.recordings_dir)


def open_storage(
    loaded: LoadedConfig,
    *,
    emit: Emit,
    clock: Clock,
    state: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> Storage:
    """The catalog of recorded files of a config: the files the fold ``state`` lists, its
    low-space policy, deletions logged through ``emit``. ``root`` overrides the directory."""
    settings = loaded.config.settings
    return Storage(
        root or recordings_dir_of(loaded),
        min_free_space=settings.min_free_space,
        on_low_space=settings.on_low_space,
        emit=emit,
        files=files_from_state((state or {}).get("recordings") or {}),
        clock=clock,
    )


class Recording:
    """Makes the recorders of one config: ``make_recorder(name, channel)`` (module docstring)."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        emit: Emit,
        runner: TaskRunner,
        clock: Clock,
        state: Mapping[str, Any] | None = None,
        stop_step: float = 3.0,
        find: Callable[[str | None], str] = lambda setting: find_ffmpeg(setting).path,
        keep_files: int = KEEP_FILES,
    ) -> None:
        self._loaded = loaded
        self._keep_files = keep_files
        """How many finished files each recorder keeps in memory (``Recorder.files``): the
        foreground ``record`` prints them; the daemon reads its files from the state log."""
        self._emit = emit
        self._runner = runner
        self._clock = clock
        self._stop_step = stop_step
        self._find = find
        self._ffmpeg = ""
        recordings = recordings_dir_of(loaded)
        recordings.mkdir(parents=True, exist_ok=True)
        self.storage = open_storage(loaded, emit=emit, state=state, clock=clock)

    @property
    def ffmpeg(self) -> str:
        """The ffmpeg found for the current settings ("" until a recorder needed it)."""
        return self._ffmpeg

    def find_ffmpeg(self) -> str:
        """The ffmpeg of the current settings, found once (again after a settings change)."""
        if not self._ffmpeg:
            self._ffmpeg = self._find(self._loaded.config.settings.ffmpeg)
        return self._ffmpeg

    def configure(self, loaded: LoadedConfig) -> bool:
        """Make ``loaded`` the config of the recorders made from now on; True when its settings
        differ from the previous ones (ffmpeg is then found again, the storage policy updated)."""
        before: Settings = self._loaded.config.settings
        self._loaded = loaded
        settings = loaded.config.settings
        if settings == before:
            return False
        self._ffmpeg = ""
        self.storage.min_free_space = settings.min_free_space
        self.storage.on_low_space = settings.on_low_space
        return True

    def make_recorder(self, name: str, channel: Channel) -> Recorder:
        """A recorder for channel ``name``, with this config's settings, storage and hooks."""
        loaded = self._loaded
        settings = loaded.config.settings
        return Recorder(
            name,
            channel,
            recordings_dir=recordings_dir_of(loaded),
            ffmpeg=self.find_ffmpeg(),
            emit=self._emit,
            storage=self.storage,
            timezone_name=settings.timezone,
            secrets=loaded.secrets | args_secrets(channel.input_args),
            run_hook=self.run_hook,
            stop_step=self._stop_step,
            clock=self._clock.time,
            keep_files=self._keep_files,
        )

    async def run_hook(self, task: str, context: Mapping[str, str]) -> str:
        """A channel hook: the task with its dependencies, for this one file."""
        results = await run_graph(self._runner, [task], trigger="hook", context=context)
        ok = all(r.status == "completed" for r in results.values())
        return "completed" if ok else "failed"
