"""The read side of the daemon's HTTP API: status, events, recordings, logs, thumbnails, metrics.

``daemon.service`` makes one :class:`ReadModel` and serves it as the ``web.routes.Reads`` of both
API listeners. Kept apart from the reconciler so that the HTTP surface can grow without touching
the lifecycle code: the reconciler calls only two hooks here, :meth:`ReadModel.on_reconciled` at
the end of each reconcile and :meth:`ReadModel.on_rejected` for each rejected config.

Everything read comes from the state log (the fold, through ``Journal.view()``, and the newest
events, through a ``web.eventfeed.EventFeed``) and from the daemon's live objects; the only state kept
here is what no log holds: reconcile counts and durations, and durations of task runs finished since
the daemon started (for ``/metrics``). Files are served only when the state log names them: a
download must be a recording of the fold and a regular file inside the recordings directory, opened
once without following links (``web.downloads``), and played only then (``web.playback``); the
file a channel writes now is played and thumbnailed only as its running recorder names it (never a
path from the request), opened the same way. What a recorder writes now (``core.liveprogress``)
is read from the running recorders (``ChannelSet.live_progress``) for ``/api/status``'s
``live`` and ``thumbnail_version`` and for ``/metrics``; a log must be the last run's log under
``state/logs/``.
:meth:`ReadModel.redact` hides the config's secrets and the API token in every answer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from streamrec.app.recording import Recording
from streamrec.core.clock import Clock
from streamrec.core.files import FinishedFile
from streamrec.daemon.channels import ChannelSet
from streamrec.daemon.reconciler import Current
from streamrec.daemon.sources import ConfigSource
from streamrec.runtime.ffmpeg import find_ffmpeg
from streamrec.runtime.processes import read_tail
from streamrec.spec.loading import LoadedConfig
from streamrec.spec.model import Config
from streamrec.state.channelfiles import NO_FILES, ChannelFiles, Files
from streamrec.state.journal import Journal
from streamrec.state.paths import StatePaths
from streamrec.state.readview import ReadView
from streamrec.state.report import build_status
from streamrec.version import __version__
from streamrec.web.downloads import Download, open_inside
from streamrec.web.eventfeed import EventFeed
from streamrec.web.metrics import RECONCILE_BUCKETS, TASK_BUCKETS, Histogram, MetricsInput
from streamrec.web.playback import Source, first_live, live_start
from streamrec.web.routes import READS
from streamrec.web.thumbnails import Thumbnails, file_version, live_version

LOG_BYTES = 64 * 1024
"""How much of the end of a task's log ``/api/tasks/{name}/log`` returns."""
THUMB_CANDIDATES = 5
"""How many of a channel's newest files are tried for a thumbnail (the newest may be gone)."""


@dataclass
class _WebState:
    """What the HTTP side of one daemon keeps between requests."""

    feed: EventFeed
    thumbs: Thumbnails
    reconciles: dict[str, int] = field(default_factory=lambda: {"ok": 0, "rejected": 0})
    reconcile_seconds: Histogram = field(default_factory=lambda: Histogram(RECONCILE_BUCKETS))
    task_seconds: dict[str, Histogram] = field(default_factory=dict)
    ffmpeg: str = ""
    state: ReadView | None = None
    state_seq: int = -1

    def observe(self, event: dict[str, Any]) -> None:
        """Count a task's duration when one of its runs finishes (events after start-up)."""
        duration = event.get("duration")
        if event.get("type") == "task.finished" and isinstance(duration, (int, float)):
            task = str(event.get("task"))
            self.task_seconds.setdefault(task, Histogram(TASK_BUCKETS)).observe(float(duration))


class ReadModel:
    """What the HTTP API reads (module docstring)."""

    def __init__(
        self,
        *,
        paths: StatePaths,
        journal: Journal,
        environ: Mapping[str, str],
        current: Current,
        channels: ChannelSet,
        recording: Recording,
        live: Callable[[], dict[str, Any]],
        source: ConfigSource,
        started_at: float,
        clock: Clock,
        cluster: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.paths = paths
        self._cluster = cluster
        """This member's view of its etcd cluster for ``/metrics`` (``daemon.cluster``)."""
        self.journal = journal
        self.environ = environ
        self._current = current
        self._channels = channels
        self._recording = recording
        self._live = live
        self._source = source
        self._started_at = started_at
        self._clock = clock
        self._web: _WebState | None = None
        self._files = ChannelFiles(THUMB_CANDIDATES)

    @property
    def loaded(self) -> LoadedConfig | None:
        return self._current.loaded

    def _web_state(self) -> _WebState:
        if self._web is None:
            web = _WebState(
                EventFeed(self.paths), Thumbnails(self.paths.root / "thumbs", self._ffmpeg_path)
            )
            web.feed.observe = web.observe
            web.feed.refresh()  # the history; events after this one are observed
            self._web = web
        return self._web

    def keep_up(self) -> None:
        """Fold what the log gained since the last read (``daemon.service`` calls this every
        few seconds, asked or not): a request after a quiet hour then reads seconds of events,
        not the hour's at once. Read at once, 3,000 events (40 minutes of 20 channels) left
        3.2 MB more resident than read 5 or 50 at a time (0.5 MB): the allocator keeps what one
        large catch-up needed. Before the first request only the fold follows (no event feed)."""
        if self._web is not None:
            self._view()
        else:
            self.journal.view()

    def _ffmpeg_path(self) -> str:
        web = self._web_state()
        if not web.ffmpeg:
            setting = self.loaded.config.settings.ffmpeg if self.loaded else None
            web.ffmpeg = self._recording.ffmpeg or find_ffmpeg(setting).path
        return web.ffmpeg

    # --- hooks the daemon calls --------------------------------------------------------------

    def on_reconciled(self, took: float, outcomes: dict[str, str]) -> None:
        """A reconcile carried out a config (changed or not) in ``took`` seconds."""
        web = self._web_state()
        web.reconciles["ok"] += 1
        web.reconcile_seconds.observe(took)

    def on_rejected(self, errors: list[str]) -> None:
        """A config was rejected; the last good one keeps running."""
        self._web_state().reconciles["rejected"] += 1

    # --- what the API reads ------------------------------------------------------------------

    def redact(self, value: Any) -> Any:
        """``value`` with every secret the daemon knows hidden (URLs, secret values, the tokens):
        the reconciler's redactor (``Current.redactor``), the one the task runner and the log use."""
        return self._current.redactor.value(value)

    def _view(self) -> ReadView:
        """The fold of the state log (``Journal.view``), shared by every request: read-only.

        Renewed when an event was appended, at the cost of what the new events changed.
        """
        web = self._web_state()
        web.feed.refresh()
        if web.state is None or web.state_seq != web.feed.last_seq:
            web.state, web.state_seq = self.journal.view(), web.feed.last_seq
            self._files.note(web.state)  # a /metrics scrape's view too: status stays stepwise
        return web.state

    def _state(self) -> dict[str, Any]:
        """The state of :meth:`_view`: never modify it."""
        return self._view().state

    async def full_status(self) -> dict[str, Any]:
        """Every declared channel, task and queue with its state, as ``streamrec status -o json``.

        The inputs are taken on the event loop; the view is built in a thread of the read side's
        own (``web.routes.READS``), which probes and other blocking work never queue.
        """
        config = self.loaded.config if self.loaded else Config()
        writing = {name: self._channels.writing(name) for name in self._channels.running}
        return await asyncio.get_running_loop().run_in_executor(
            READS,
            _status_view,
            config,
            self._view(),
            self._files,
            self._live(),
            str(self._source.config_dir),
            self._current.applied.revision,
            self._clock.now(),
            writing,
        )

    def events(self, since: int | None, limit: int) -> dict[str, Any]:
        """Up to ``limit`` events after seq ``since`` (the newest ones when ``since`` is None)."""
        feed = self._web_state().feed
        feed.refresh()
        if since is None:
            found = feed.latest(limit)
        else:
            maybe = feed.after(since, limit)
            found = (
                maybe
                if maybe is not None
                else list(itertools.islice(self.journal.read(since), limit))
            )
        return {"events": found, "last_seq": max(feed.last_seq, found[-1]["seq"] if found else 0)}

    def recordings(self, channel: str | None) -> dict[str, Any]:
        """The files on disk per channel, newest first, as the state log lists them."""
        base = self._recordings_dir()
        by_channel: dict[str, list[tuple[FinishedFile, str | None]]] = {}
        for file, record in (self._state().get("recordings") or {}).items():
            finished = FinishedFile.from_entry(file, record)
            if channel is None or finished.channel == channel:
                by_channel.setdefault(finished.channel, []).append((finished, record.get("hooks")))
        listed: dict[str, list[dict[str, Any]]] = {}
        for owner, files in sorted(by_channel.items()):
            files.sort(key=lambda pair: pair[0].start, reverse=True)
            listed[owner] = [_listed(finished, hooks, base) for finished, hooks in files]
        return {
            "channels": listed,
            "count": sum(len(f) for f in by_channel.values()),
            "bytes": sum(finished.bytes for f in by_channel.values() for finished, _ in f),
        }

    def recording_file(self, file: str) -> Download | None:
        """A recording the state log lists, opened if it is a regular file inside the recordings
        directory (never through a link; see ``web.downloads``); else None."""
        base = self._recordings_dir()
        if not file or base is None or file not in (self._state().get("recordings") or {}):
            return None
        return open_inside(Path(file), base)

    async def live_source(self, channel: str) -> Source | None:
        """The file channel ``channel`` writes now, opened like a download (inside the recordings
        directory, no link), to be played from near its end while it grows; if the channel
        records but is between two files, the next one (``web.playback.first_live``); else
        None."""
        return await first_live(
            lambda: self._live_now(channel), lambda: channel in self._channels.running
        )

    def _live_now(self, channel: str) -> Source | None:
        path = self._channels.writing(channel)
        reading = self._channels.live_progress().get(channel)
        inside = self._recording.storage.recordings_dir
        opened = open_inside(path, inside) if path is not None and reading is not None else None
        if opened is None or reading is None:
            return None
        rate = reading.bitrate_bps / 8 if reading.bitrate_bps else None
        start = live_start(opened.size, rate, path.suffix.lstrip(".") if path else "")
        return Source(
            opened, start, path=path, writing=lambda: self._channels.writing(channel),
            reopen=lambda then: open_inside(then, inside),
        )  # fmt: skip

    def ffmpeg_path(self) -> str:
        """The ffmpeg the recorders use (playback and thumbnails run it too)."""
        return self._ffmpeg_path()

    def task_log(self, name: str, stream: str) -> dict[str, Any] | None:
        """The end of the last run's stdout or stderr of a task; None for an unknown task."""
        declared = self.loaded is not None and name in self.loaded.config.tasks
        entry = (self._state().get("tasks") or {}).get(name)
        if entry is None and not declared:
            return None
        entry = entry or {}
        log = entry.get(f"{stream}_log")
        text = ""
        if isinstance(log, str):
            path = Path(log).resolve()
            if path.is_relative_to(self.paths.logs.resolve()):
                text = read_tail(path, LOG_BYTES)
        return {
            "task": name,
            "stream": stream,
            "run": entry.get("run"),
            "status": entry.get("status", "created"),
            "text": text,
        }

    async def thumbnail(self, channel: str) -> Path | None:
        """A JPEG of the latest frame of the file the channel writes now (a new one every
        ``web.thumbnails.REFRESH`` seconds), else of its newest finished file still on disk."""
        inside = self._recording.storage.recordings_dir
        thumbs = self._web_state().thumbs
        writing = self._channels.writing(channel)
        if writing is not None:
            version = live_version(writing, self._clock.time())
            made = await thumbs.get(channel, writing, inside, version)
            if made is not None:
                return made
        view, files = self._view(), self._files
        source = await asyncio.get_running_loop().run_in_executor(
            READS,
            lambda: _thumbnail_source(view.state, channel, files.of(view).get(channel, NO_FILES)),
        )
        if source is None:
            return None
        return await thumbs.get(channel, source, inside)

    def metrics_input(self) -> MetricsInput:
        """What one ``/metrics`` scrape reads (see ``web.metrics``)."""
        web = self._web_state()
        web.feed.refresh()
        config = self.loaded.config if self.loaded else Config()
        running = self._channels.running
        return MetricsInput(
            state=self._state(),
            channels={name: name in running for name in config.channels},
            tasks=list(config.tasks),
            queues=list(config.queues),
            revision=self._current.applied.revision,
            version=__version__,
            started_at=self._started_at,
            now=self._clock.now(),
            reconciles=dict(web.reconciles),
            reconcile_seconds=web.reconcile_seconds.copy(),
            task_seconds={name: h.copy() for name, h in web.task_seconds.items()},
            live=self._channels.live_progress(),
            cluster=self._cluster(),
        )

    def _recordings_dir(self) -> Path | None:
        if self.loaded is None:
            return None
        return self.loaded.resolve_path(self.loaded.config.settings.recordings_dir)


def _listed(finished: FinishedFile, hooks: str | None, base: Path | None) -> dict[str, Any]:
    """One file of ``/api/recordings``: where it is (also relative to the recordings directory)
    and its fold entry."""
    path = Path(finished.path)
    relative = path.relative_to(base) if base and path.is_relative_to(base) else path
    query = quote(finished.path, safe="")
    return {
        "file": finished.path, "name": path.name, "path": str(relative),
        **finished.entry(hooks),
        "play": f"/api/recordings/play?file={query}",
        "download": f"/api/recordings/download?file={query}",
    }  # fmt: skip


def _thumbnail_source(state: dict[str, Any], channel: str, newest: Files) -> Path | None:
    """The channel's newest finished file still on disk (its last segment first), or None;
    ``newest``: what the fold lists for it (``state.channelfiles``)."""
    entry = (state.get("channels") or {}).get(channel)
    if entry is None:
        return None
    recordings = state.get("recordings") or {}
    candidates = list(newest.newest)
    last = (entry.get("last_segment") or {}).get("file")
    if isinstance(last, str) and last in recordings:
        candidates.insert(0, last)
    for file in candidates:
        if Path(file).is_file():
            return Path(file)
    return None


def _status_view(
    config: Config,
    view: ReadView,
    files: ChannelFiles,
    live: dict[str, Any],
    directory: str,
    revision: str | None,
    now: datetime,
    writing: Mapping[str, Path | None],
) -> dict[str, Any]:
    """``state.report.build_status`` for the daemon, with each channel's files on disk counted
    and its ``thumbnail_version`` (``writing``: the partial file each running recorder writes)."""
    state = view.state
    data = build_status(
        config,
        state,
        now,
        live=live,
        directory=directory,
        revision=revision,
        applied_revision=revision,
    )
    listed = files.of(view)
    for name, entry in data["channels"].items():
        found = listed.get(name, NO_FILES)
        entry["files"], entry["files_bytes"] = found.count, found.bytes
        partial = writing.get(name) if entry.get("live") else None
        if partial is not None:  # see ``web.thumbnails``: a new version every REFRESH seconds
            entry["thumbnail_version"] = live_version(partial, now.timestamp())
        else:
            source = _thumbnail_source(state, name, found)
            entry["thumbnail_version"] = file_version(source) if source is not None else None
    return data
