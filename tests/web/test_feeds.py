"""The pieces behind the API: the incremental event feed and the shared status builder."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from streamrec.spec.model import Config
from streamrec.state.journal import Journal
from streamrec.state.report import build_status
from streamrec.web.eventfeed import EventFeed

NOW = datetime(2026, 5, 1, 20, 0, tzinfo=timezone.utc)


def test_feed_reads_only_what_was_appended_and_observes_new_events(tmp_path: Path) -> None:
    """History is loaded silently; later events are observed once each, in order."""
    journal = Journal(tmp_path, fsync="never")
    for i in range(5):
        journal.append("x.old", i=i)
    seen: list[dict[str, Any]] = []
    feed = EventFeed(journal.paths, observe=seen.append)
    feed.refresh()
    assert [e["seq"] for e in feed.latest(10)] == [1, 2, 3, 4, 5]
    assert seen == []
    journal.append("x.new", i=5)
    journal.append("x.new", i=6)
    feed.refresh()
    feed.refresh()
    assert [e["seq"] for e in seen] == [6, 7]
    assert [e["seq"] for e in feed.after(5, 10) or []] == [6, 7]
    assert feed.after(7, 10) == []
    assert [e["seq"] for e in feed.after(2, 2) or []] == [3, 4]


def test_feed_starts_near_the_end_and_follows_compaction(tmp_path: Path) -> None:
    """The first read starts at a line boundary near the end; a compacted tail is read anew."""
    journal = Journal(tmp_path, fsync="never")
    for i in range(200):
        journal.append("x.old", pad="p" * 50, i=i)
    feed = EventFeed(journal.paths, history_bytes=1000, keep=50)
    feed.refresh()
    kept = [e["seq"] for e in feed.latest(50)]
    assert kept and kept[-1] == 200 and kept == list(range(kept[0], 201))
    assert feed.after(0, 10) is None  # older than the feed: the caller reads the log
    journal.compact()
    journal.append("x.after", i=200)
    feed.refresh()
    assert feed.latest(1)[0]["seq"] == 201


def test_feed_answers_the_events_as_logged_and_holds_them_as_text(tmp_path: Path) -> None:
    """Each answer equals the log's own events (every field, unicode and numbers as written);
    what the feed holds is one compact text per event, far smaller than the parsed events."""
    journal = Journal(tmp_path, fsync="never")
    for i in range(300):
        journal.append(
            "recording.segment", channel="ch\u00e9", file=f"/rec/ch/{i}.ts", start="s", end="e",
            duration=2.002, bytes=i * 1000, hooks=["x"],
        )  # fmt: skip
    feed = EventFeed(journal.paths, keep=100)
    feed.refresh()
    logged = list(journal.read())
    assert feed.latest(100) == logged[-100:]
    assert feed.after(250, 10) == logged[250:260]
    assert len(feed) == 100
    held = sum(len(text) for _, text in feed._kept)
    assert held < 300 * 100


def test_status_lists_declared_objects_with_initial_states() -> None:
    """Undeclared objects are left out; never-seen ones get idle/disabled/created; live is merged."""
    config = Config.model_validate(
        {
            "channels": {
                "on": {"url": "http://127.0.0.1/a.m3u8"},
                "off": {"url": "http://127.0.0.1/b.m3u8", "enabled": False},
            },
            "tasks": {"t": {"command": "true", "schedule": {"every": "1h"}}},
            "queues": {"q": {"tasks": ["t"]}},
        }
    )
    state = {
        "seq": 9,
        "channels": {
            "on": {"state": "recording", "gaps": [{"start": None, "end": "2026-04-01T00:00:00Z"}]},
            "gone": {"state": "stopped"},
        },
        "tasks": {"t": {"status": "completed", "started_at": "2026-05-01T19:30:00.000Z"}},
        "config": {"applied": {"revision": "r1"}, "rejected": None},
    }
    live = {"daemon": {"pid": 1}, "channels": {"on": {"recording": True}}}
    data = build_status(
        config, state, NOW, live=live, directory="cfg", revision="r2", applied_revision="r1"
    )
    assert set(data["channels"]) == {"on", "off"}
    assert data["channels"]["on"]["daemon"] == {"recording": True}
    assert data["channels"]["on"]["gaps_24h"] == []
    assert data["channels"]["off"]["state"] == "disabled"
    # `every: 1h` fires on the epoch-anchored grid, not an hour after the last run
    assert data["tasks"]["t"]["next_fire"] == "2026-05-01T21:00:00.000Z"
    assert data["queues"]["q"]["status"] == "created"
    assert data["config"]["pending"] is True
    assert data["daemon"] == {"running": True, "pid": 1}
    assert state["channels"]["on"].get("daemon") is None  # the input is not changed
