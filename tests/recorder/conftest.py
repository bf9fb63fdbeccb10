"""Fixtures for the recorder tests: a live local HLS source, a recordings dir, a recorder factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from recsources import (
    FFMPEG,
    Events,
    MakeRecorder,
)

from streamrec.runtime.recorder import Recorder
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel


@pytest.fixture
def events() -> Events:
    """The events a recorder emitted, in order."""
    return Events()


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    """An empty recordings directory."""
    path = tmp_path / "recordings"
    path.mkdir()
    return path


@pytest.fixture
def make_recorder(recordings: Path, events: Events) -> MakeRecorder:
    """A recorder for a channel built from keyword options, with short test-friendly defaults."""

    def make(
        url: str, name: str = "test", storage: Storage | None = None, **options: Any
    ) -> Recorder:
        fields: dict[str, Any] = {
            "segment": "2s", "stall_timeout": "4s", "reconnect": {"initial": "1s", "max": "3s"},
        }  # fmt: skip
        recorder_kw = {k: options.pop(k) for k in list(options) if k in _RECORDER_KW}
        fields.update(options)
        channel = Channel(url=url, **fields)
        storage = storage or Storage(recordings, min_free_space=0, emit=events)
        return Recorder(
            name, channel, recordings_dir=recordings, ffmpeg=FFMPEG, emit=events,
            storage=storage, **recorder_kw,
        )  # fmt: skip

    return make


_RECORDER_KW = {"run_hook", "command", "resolve", "startup_grace", "stop_step", "secrets", "on_progress",
                "timezone_name"}  # fmt: skip
