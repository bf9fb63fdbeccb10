"""The HTTP API of a real daemon on TCP: metrics, status, events, recordings, logs, actions, secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from webkit import TOKEN, Served, finish, serve

from streamrec.runtime.testsource import HlsTestSource

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

STREAM_KEY = "sk-7f3a9c1d55"
"""A secret the config interpolates (its variable name looks secret)."""
QUERY_TOKEN = "qt-90c2aa4410"
PASSWORD = "pw-51be0e7a"
SECRETS = (STREAM_KEY, QUERY_TOKEN, PASSWORD, TOKEN)


def config_for(url: str) -> str:
    secret_url = url.replace("http://", f"http://viewer:{PASSWORD}@") + (
        f"?token={QUERY_TOKEN}&k=${{STREAM_KEY}}"
    )
    return f"""
        categories:
          news: {{description: News}}
        channels:
          news:
            url: "{secret_url}"
            category: news
            segment: 2s
            stall_timeout: 8s
        tasks:
          hello:
            command: 'echo "hello, the key is $STREAM_KEY"; echo "to stderr" >&2'
          after:
            command: 'echo after'
            depends_on: [hello]
        queues:
          nightly:
            tasks: [after]
            schedule: "30 3 * * *"
        """


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, module_hls: HlsTestSource) -> Iterator[Served]:
    """One daemon with a token for the module, recording the live source."""
    root = tmp_path_factory.mktemp("api")
    served = serve(root, config_for(module_hls.url), token=TOKEN, STREAM_KEY=STREAM_KEY)
    served.daemon.wait_for(lambda e: e["type"] == "recording.segment", timeout=40)
    yield served
    finish(served)


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one series in the exposition text, None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, metrics, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_metrics_carry_the_channel_series_after_a_segment(api: Served) -> None:
    """After a segment, /metrics shows the channel recording, its bytes, segments and age."""
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "streamrec_channel_state", channel="news", state="recording") == 1.0
    assert sample(text, "streamrec_channel_recording", channel="news") == 1.0
    assert (sample(text, "streamrec_channel_segments_total", channel="news") or 0) >= 1
    assert (sample(text, "streamrec_channel_bytes_total", channel="news") or 0) > 10_000
    assert sample(text, "streamrec_channel_stalls_total", channel="news") == 0.0
    assert sample(text, "streamrec_channel_gaps_24h", channel="news") == 0.0
    age = sample(text, "streamrec_channel_last_segment_age_seconds", channel="news")
    assert age is not None and 0 <= age < 30
    assert sample(text, "streamrec_task_runs_total", task="hello") is not None
    assert (sample(text, "streamrec_reconciles_total", result="ok") or 0) >= 1
    assert sample(text, "streamrec_reconcile_duration_seconds_count") is not None
    assert sample(text, "streamrec_config_rejected") == 0.0
    status = api.get("/api/status").json()
    revision = status["config"]["revision"]
    assert sample(text, "streamrec_config_info", revision=revision) == 1.0


def test_status_lists_every_declared_object_with_its_state(api: Served) -> None:
    """/api/status has each channel, task and queue, with the fold's state and the live view."""
    status = api.get("/api/status").json()
    assert set(status["channels"]) == {"news"}
    news = status["channels"]["news"]
    assert news["state"] == "recording"
    assert news["category"] == "news"
    assert news["daemon"]["recording"] is True
    assert news["files"] >= 1 and news["last_segment"]["file"].endswith(".ts")
    assert set(status["tasks"]) == {"hello", "after"}
    assert status["tasks"]["after"]["depends_on"] == ["hello"]
    assert status["queues"]["nightly"]["next_fire"] is not None
    assert status["daemon"]["running"] is True
    assert status["api"] == {"actions": "token"}
    cli = api.daemon.cli("status", "-o", "json").stdout
    assert '"recording": true' in cli


def test_events_since_returns_only_later_events(api: Served) -> None:
    """since= gives the events after that seq, limit= caps them, and new events follow."""
    newest = api.get("/api/events", limit=5).json()
    assert 1 <= len(newest["events"]) <= 5
    last = newest["last_seq"]
    assert newest["events"][-1]["seq"] == last
    first_two = api.get("/api/events", since=0, limit=2).json()["events"]
    assert [e["seq"] for e in first_two] == [1, 2]
    assert api.get("/api/events", since=last).json()["events"] == []
    assert api.post("/api/tasks/hello/run", token=TOKEN).status_code == 200
    later = api.get("/api/events", since=last, limit=1000).json()["events"]
    assert later and all(e["seq"] > last for e in later)
    assert any(e["type"] == "task.finished" and e["task"] == "hello" for e in later)
    assert api.get("/api/events", since="x").status_code == 400


def test_recordings_are_listed_per_channel_and_downloadable(api: Served) -> None:
    """The list names each finished file; a download returns exactly its bytes."""
    listing = api.get("/api/recordings").json()
    files = listing["channels"]["news"]
    assert listing["count"] == len(files) >= 1
    newest = files[0]
    assert newest["path"].startswith("news/news/") and newest["bytes"] > 0
    response = api.get("/api/recordings/download", file=newest["file"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp2t"
    assert newest["name"] in response.headers["content-disposition"]
    assert response.content == Path(newest["file"]).read_bytes()
    assert api.get("/api/recordings", channel="nope").json()["count"] == 0


def test_downloads_outside_the_state_log_are_refused(api: Served) -> None:
    """Traversal, absolute paths and unlisted files under recordings/ all answer 404."""
    known = api.get("/api/recordings").json()["channels"]["news"][0]["file"]
    stray = Path(known).parent / "not-in-the-log.ts"
    stray.write_bytes(b"x" * 100)
    for file in (
        "/etc/passwd",
        "../../../../etc/passwd",
        f"{known}/../../../../../../etc/passwd",
        str(Path(known).parent / ".." / ".." / ".." / "config" / "config.yaml"),
        str(stray),
        "",
    ):
        response = api.get("/api/recordings/download", file=file)
        assert response.status_code == 404, file
        assert "root:" not in response.text
    raw = api.http.get("/api/recordings/download?file=" + quote("/../../etc/passwd", safe=""))
    assert raw.status_code == 404
    assert api.get("/static/../pyproject.toml").status_code == 404
    assert api.get("/static/app.js").status_code == 200


def test_thumbnail_is_the_last_frame_cached_per_segment(api: Served) -> None:
    """The thumbnail is a JPEG made once under state/thumbs; unknown channels answer 404."""
    first = api.get("/api/channels/news/thumbnail")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert first.content[:3] == b"\xff\xd8\xff" and len(first.content) > 1000
    cached = list((api.daemon.state / "thumbs" / "news").glob("*.jpg"))
    assert len(cached) == 1
    assert api.get("/api/channels/nope/thumbnail").status_code == 404


def test_task_logs_are_the_last_run_tails(api: Served) -> None:
    """The log endpoint returns the last run's stdout or stderr; unknown tasks answer 404."""
    assert api.post("/api/tasks/hello/run", token=TOKEN).status_code == 200
    stdout = api.get("/api/tasks/hello/log", stream="stdout").json()
    assert stdout["text"].startswith("hello, the key is ")
    assert api.get("/api/tasks/hello/log", stream="stderr").json()["text"] == "to stderr\n"
    assert api.get("/api/tasks/hello/log", stream="other").status_code == 400
    assert api.get("/api/tasks/nope/log").status_code == 404


def test_actions_need_the_token_on_tcp(api: Served) -> None:
    """Without or with a wrong token every action is 401; with it, runs, stops and reconciles work."""
    actions = [
        "/api/reconcile",
        "/api/tasks/hello/run",
        "/api/tasks/hello/stop",
        "/api/queues/nightly/start",
        "/api/queues/nightly/stop",
        "/api/shutdown",
    ]
    mark = api.daemon.last_seq()
    for path in actions:
        assert api.post(path).status_code == 401, path
        assert api.post(path, token="wrong").status_code == 401, path
    assert not [e for e in api.daemon.events() if e["seq"] > mark and e["type"].startswith("task")]
    run = api.post("/api/tasks/after/run", token=TOKEN, with_deps="1")
    assert run.status_code == 200
    assert run.json()["results"]["after"]["status"] == "completed"
    queue = api.post("/api/queues/nightly/start", token=TOKEN)
    assert queue.status_code == 200 and queue.json()["status"] == "completed"
    assert api.post("/api/tasks/hello/stop", token=TOKEN).json() == {"stopped": False}
    assert api.post("/api/tasks/nope/run", token=TOKEN).status_code == 409
    reconcile = api.post("/api/reconcile", token=TOKEN)
    assert reconcile.status_code == 200 and reconcile.json()["ok"] is True


def test_no_secret_appears_in_any_response(api: Served) -> None:
    """URL password, secret query value, interpolated key and the API token never leave the API."""
    assert api.post("/api/tasks/hello/run", token=TOKEN).status_code == 200
    recordings = api.get("/api/recordings").json()
    file = recordings["channels"]["news"][0]["file"]
    responses = [
        api.get("/"),
        api.get("/static/app.js"),
        api.get("/healthz"),
        api.get("/readyz"),
        api.get("/metrics"),
        api.get("/api/status"),
        api.get("/api/live"),
        api.get("/api/events", since=0, limit=1000),
        api.get("/api/events"),
        api.get("/api/recordings"),
        api.get("/api/tasks/hello/log", stream="stdout"),
        api.get("/api/tasks/hello/log", stream="stderr"),
        api.get("/api/recordings/download", file=file),
        api.post("/api/tasks/hello/run", token=TOKEN),
        api.post("/api/tasks/hello/run"),
        api.post("/api/reconcile", token=TOKEN),
    ]
    log_text = responses[10].json()["text"]
    assert log_text.startswith("hello, the key is ***"), log_text
    assert "recording.started" in responses[7].text
    for response in responses:
        body = response.content
        for secret in SECRETS:
            assert secret.encode() not in body, (response.url, secret)
        assert not any(secret in v for v in response.headers.values() for secret in SECRETS)


def test_without_a_token_tcp_is_read_only_and_a_rejection_shows(tmp_path: Path) -> None:
    """No token: TCP refuses actions (403), the socket allows them; a bad edit shows as rejected."""
    served = serve(tmp_path, "tasks:\n  hello: {command: 'echo hi'}\n", token=None)
    try:
        assert served.post("/api/tasks/hello/run").status_code == 403
        assert served.post("/api/tasks/hello/run", token="anything").status_code == 403
        assert served.get("/api/status").json()["api"] == {"actions": "read-only"}
        socket = httpx.HTTPTransport(uds=str(served.daemon.state / "daemon.sock"))
        with httpx.Client(transport=socket, base_url="http://streamrec", timeout=30) as local:
            run = local.post("/api/tasks/hello/run")
            assert run.status_code == 200
            assert run.json()["results"]["hello"]["status"] == "completed"
            assert local.get("/api/status").json()["api"] == {"actions": "open"}
        mark = served.daemon.last_seq()
        served.daemon.write("broken.yaml", "tasks:\n  other: {command: [\n")
        served.daemon.wait_for(lambda e: e["type"] == "config.rejected", after=mark)
        rejected = served.get("/api/status").json()["config"]["rejected"]
        assert rejected["errors"][0].startswith("config/broken.yaml:")

        def rejections() -> int:
            events = served.daemon.events()
            return sum(1 for e in events if e["type"] == "config.rejected" and e["seq"] > mark)

        # the watcher may see the new file in one batch or two (created, then written), and each
        # batch is one reconcile: the counter matches the rejections in the state log
        before = rejections()
        metrics = served.get("/metrics").text
        after = rejections()
        assert sample(metrics, "streamrec_config_rejected") == 1.0
        assert before <= sample(metrics, "streamrec_reconciles_total", result="rejected") <= after
    finally:
        finish(served)
