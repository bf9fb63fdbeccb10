"""How many finished files a recorder keeps in memory (``Recorder.files``), and the daemon's few."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from recsources import FFMPEG, Events

from streamrec.runtime.finishing import KEEP_FILES, Finisher
from streamrec.runtime.storage import Storage
from streamrec.spec.model import Channel


def finisher(tmp_path: Path, events: Events, keep: int | None = None) -> Finisher:
    recordings = tmp_path / "recordings"
    partial = recordings / ".partial" / "c"
    partial.mkdir(parents=True)
    return Finisher(
        "c", Channel(url="http://127.0.0.1:9/live.m3u8", segment="2s"),
        recordings_dir=recordings, partial_dir=partial, zone=zoneinfo.ZoneInfo("UTC"),
        ext="ts", ffmpeg=FFMPEG, storage=Storage(recordings, min_free_space=0, emit=events),
        emit=events, run_hook=None, **({} if keep is None else {"keep": keep}),
    )  # fmt: skip


def finish(f: Finisher, count: int) -> None:
    for i in range(count):
        path = f.partial_dir / f"1_{i:06d}.ts"
        path.write_bytes(b"\x47" * 188)
        f.finish(path, 1.8e9 + 2 * i, 1.8e9 + 2 * i + 2, 2.0)


def test_a_recorder_keeps_its_newest_files_up_to_its_limit(tmp_path: Path) -> None:
    events = Events()
    f = finisher(tmp_path, events, keep=3)
    finish(f, 7)
    assert len(events.of("recording.segment")) == 7  # every file is logged, whatever is kept
    assert [r["file"] for r in f.files] == [e["file"] for e in events.of("recording.segment")[-3:]]


def test_the_foreground_default_keeps_a_thousand(tmp_path: Path) -> None:
    assert KEEP_FILES == 1000
    assert finisher(tmp_path, Events()).files.maxlen == KEEP_FILES
