"""plan prints exactly what it printed before its output was batched and its config cached.

The expected texts in ``tests/cli/data`` were written by ``plan`` when it still printed each line
through rich: a representative change (objects added, changed in nested fields, removed, a change
only in a secret, markup and emoji codes in names and URLs) must read the same byte for byte,
revisions included (they are hashes of the definitions: a changed hash would re-apply everything).
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

APPLIED = {
    "settings.yaml": """
        settings:
          timezone: UTC
          defaults: {segment: 30m, retention: {max_age: 7d}}
        categories:
          news: {description: "[bold]News[/bold] :thumbs_up:"}
          music: {}
        """,
    "channels.yaml": """
        channels:
          one: {url: "http://127.0.0.1:9/one.m3u8", category: news}
          two: {url: "https://user:hunter2secret@example.com/two.m3u8?token=abc123&q=1"}
          three:
            url: "rtmp://127.0.0.1/live/${STREAM_KEY}"
            schedule: [{days: [mon, fri], start: "20:00", end: "02:00"}]
        """,
    "tasks.yaml": """
        tasks:
          fetch: {command: "echo [red]x[/red] :100:", timeout: 5m, env: {API_TOKEN: tok-123456789}}
          index: {command: "true", depends_on: fetch, schedule: "0 3 * * *"}
          old: {command: "true"}
        queues:
          nightly: {tasks: [index]}
        """,
}
PLANNED = {
    **APPLIED,
    "channels.yaml": """
        channels:
          one: {url: "http://127.0.0.1:9/one.m3u8", category: music, segment: 1h}
          two: {url: "https://user:other-secret-99@example.com/two.m3u8?token=abc123&q=1"}
          three:
            url: "rtmp://127.0.0.1/live/${STREAM_KEY}"
            schedule: [{days: [mon, sat], start: "21:00", end: "02:00"}]
          "four [red]:100:":
            url: "http://127.0.0.1:9/[bold]four[/bold]:thumbs_up:.m3u8"
        """,
    "tasks.yaml": """
        tasks:
          fetch: {command: "echo [red]x[/red] :100:", timeout: 10m, env: {API_TOKEN: tok-987654321}}
          index: {command: "true", depends_on: fetch, schedule: "0 3 * * *"}
        queues:
          nightly: {tasks: [index, fetch]}
        """,
}


@pytest.mark.parametrize("args, expected", [(("plan",), "txt"), (("plan", "-o", "json"), "json")])
def test_plan_output_is_unchanged(write_config, cli_for, tmp_path, args, expected):
    """The same text as before, on the first run (loaded) and the second (from the cache)."""
    env = {"STREAM_KEY": "live_0123456789abcdef", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    directory = write_config(APPLIED)
    cli = cli_for(directory)
    assert cli("apply", env=env)[0] == 0
    write_config(PLANNED)
    golden = (DATA / f"plan_golden.{expected}").read_text()
    for _ in range(2):
        code, out, err = cli(*args, env=env)
        assert (code, err) == (0, "")
        assert out == golden
    assert "hunter2secret" not in out and "live_0123456789abcdef" not in out
