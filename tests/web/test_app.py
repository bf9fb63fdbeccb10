"""The Starlette app against a fake controller: access rules, redaction, parameters, assets, metrics.

Requests go through ``httpx.ASGITransport`` (Starlette's TestClient warns about httpx now).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from streamrec.core.redact import redact_value
from streamrec.errors import TaskError
from streamrec.web.downloads import Download, open_inside
from streamrec.web.metrics import Histogram, MetricsInput
from streamrec.web.routes import PEER_UID, create_app

SECRET = "s3cr3t-value"


class FakeController:
    """Answers like the daemon, records what it was asked, and leaks a secret unless redacted."""

    def __init__(self, tmp: Path) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.file = tmp / "a.ts"
        self.file.write_bytes(b"media")

    async def reconcile(self, reason: str, allow_empty: bool = False) -> dict[str, Any]:
        self.calls.append(("reconcile", (reason, allow_empty)))
        return {"ok": True, "revision": "abc"}

    async def task_run(self, name: str, with_deps: bool) -> dict[str, Any]:
        self.calls.append(("run", (name, with_deps)))
        if name == "busy":
            raise TaskError("task 'busy' is running already")
        return {"results": {name: {"status": "completed", "reason": f"echo {SECRET}"}}}

    async def task_stop(self, name: str) -> dict[str, Any]:
        return {"stopped": False}

    async def queue_start(self, name: str) -> dict[str, Any]:
        return {"queue": name, "status": "completed"}

    async def queue_stop(self, name: str) -> dict[str, Any]:
        return {"stopped": False}

    def status(self) -> dict[str, Any]:
        return {"channels": {}}

    async def full_status(self) -> dict[str, Any]:
        return {"channels": {"c": {"url": f"http://u:{SECRET}@h/x?token={SECRET}"}}}

    def events(self, since: int | None, limit: int) -> dict[str, Any]:
        self.calls.append(("events", (since, limit)))
        return {"events": [], "last_seq": 0}

    def recordings(self, channel: str | None) -> dict[str, Any]:
        return {"channels": {}, "count": 0, "bytes": 0}

    def recording_file(self, file: str) -> Download | None:
        return open_inside(self.file, self.file.parent) if file == str(self.file) else None

    async def thumbnail(self, channel: str) -> Path | None:
        return None

    def task_log(self, name: str, stream: str) -> dict[str, Any] | None:
        return {"task": name, "stream": stream, "text": SECRET} if name == "t" else None

    def metrics_input(self) -> MetricsInput:
        durations = Histogram([1.0, 10.0])
        durations.observe(0.5)
        durations.observe(4.0)
        return MetricsInput(
            state={
                "channels": {
                    "c": {"state": "stalled", "bytes": 2048, "segments": 3, "stalls": 1, "gaps": []}
                },
                "tasks": {"t": {"status": "running", "runs": 2, "failures": 1}},
                "config": {"applied": {"ts": "2026-05-01T20:00:00.000Z"}, "rejected": None},
            },
            channels={"c": False, "quiet": False},
            tasks=["t"],
            queues=["q"],
            revision="abc123",
            version="0.1.0",
            started_at=1.0,
            now=datetime(2026, 5, 1, 20, 1, tzinfo=timezone.utc),
            reconciles={"ok": 2, "rejected": 1},
            task_seconds={"t": durations},
        )

    def redact(self, value: Any) -> Any:
        return redact_value(value, [SECRET])

    def ready(self) -> bool:
        return True

    def request_shutdown(self, reason: str) -> None:
        self.calls.append(("shutdown", reason))


@pytest.fixture
def fake(tmp_path: Path) -> FakeController:
    """A fresh fake controller."""
    return FakeController(tmp_path)


DAEMON_UID = 1000
"""The uid the apps below take as the daemon's own."""


def client(
    fake: FakeController,
    *,
    token: str | None,
    local: bool,
    peer: int | None = DAEMON_UID,
    listen: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
) -> httpx.AsyncClient:
    """A client of the app; on the socket (``local``) its requests come from uid ``peer``."""
    app = create_app(
        fake,
        fake,
        token=token,
        local=local,
        listen=listen,
        allowed_hosts=allowed_hosts,
        daemon_uid=DAEMON_UID,
    )

    async def from_peer(scope: Scope, receive: Receive, send: Send) -> None:
        if local:
            scope[PEER_UID] = peer  # as web.server puts it
        await app(scope, receive, send)

    transport = httpx.ASGITransport(app=from_peer)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_tcp_without_a_token_refuses_every_action(fake: FakeController) -> None:
    """Read-only TCP answers 403 to actions and never reaches the controller."""
    async with client(fake, token=None, local=False) as http:
        for path in ("/api/reconcile", "/api/tasks/t/run", "/api/queues/q/start", "/api/shutdown"):
            assert (await http.post(path)).status_code == 403
        assert fake.calls == []
        assert (await http.get("/api/status")).json()["api"] == {"actions": "read-only"}


async def test_tcp_with_a_token_needs_the_right_bearer(fake: FakeController) -> None:
    """A missing or wrong bearer is 401; the right one runs the action."""
    async with client(fake, token="tok", local=False) as http:
        assert (await http.post("/api/tasks/t/run")).status_code == 401
        assert (
            await http.post("/api/tasks/t/run", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        ok = await http.post(
            "/api/tasks/t/run?with_deps=1", headers={"Authorization": "Bearer tok"}
        )
        assert ok.status_code == 200
        assert fake.calls == [("run", ("t", True))]
        busy = await http.post("/api/tasks/busy/run", headers={"Authorization": "Bearer tok"})
        assert busy.status_code == 409 and "running already" in busy.json()["error"]


async def test_the_socket_allows_actions_without_a_token(fake: FakeController) -> None:
    """On the Unix socket an action needs no token, and apply's reconcile keeps its reason."""
    async with client(fake, token="tok", local=True) as http:
        assert (await http.post("/api/reconcile?allow_empty=1")).json()["ok"] is True
        assert fake.calls == [("reconcile", ("asked by streamrec apply", True))]


async def test_every_json_answer_is_redacted(fake: FakeController) -> None:
    """The secret the fake leaks in status, action results and logs never reaches a client."""
    async with client(fake, token=None, local=True) as http:
        answers = [
            await http.get("/api/status"),
            await http.post("/api/tasks/t/run"),
            await http.get("/api/tasks/t/log"),
        ]
        for answer in answers:
            assert answer.status_code == 200
            assert SECRET not in answer.text
        assert "***" in answers[0].text


async def test_parameters_are_checked(fake: FakeController) -> None:
    """since/limit must be numbers (400 otherwise); limit is capped; unknown names are 404."""
    async with client(fake, token=None, local=False) as http:
        assert (await http.get("/api/events?since=abc")).status_code == 400
        assert (await http.get("/api/events?since=5&limit=999999")).status_code == 200
        assert fake.calls[-1] == ("events", (5, 1000))
        assert (await http.get("/api/tasks/t/log?stream=neither")).status_code == 400
        assert (await http.get("/api/tasks/other/log")).status_code == 404
        assert (await http.get("/api/channels/c/thumbnail")).status_code == 404
        assert (await http.get("/api/recordings/download?file=/etc/passwd")).status_code == 404
        download = await http.get(f"/api/recordings/download?file={fake.file}")
        assert download.content == b"media" and download.headers["content-type"] == "video/mp2t"


async def test_dashboard_assets_are_served_with_a_strict_policy(fake: FakeController) -> None:
    """/ is the page with a CSP; known assets load, others 404, an unchanged one is 304."""
    async with client(fake, token=None, local=False) as http:
        page = await http.get("/")
        assert page.status_code == 200 and "<title>streamrec</title>" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        script = await http.get("/static/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        again = await http.get("/static/app.js", headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304
        assert (await http.get("/static/nope.js")).status_code == 404


async def test_metrics_render_the_fold_and_the_daemon_counters(fake: FakeController) -> None:
    """Channel, task, queue, reconcile and config series come out in the exposition format."""
    async with client(fake, token=None, local=False) as http:
        text = (await http.get("/metrics")).text
    expected = [
        'streamrec_channel_state{channel="c",state="stalled"} 1.0',
        'streamrec_channel_state{channel="quiet",state="idle"} 1.0',
        'streamrec_channel_bytes_total{channel="c"} 2048.0',
        'streamrec_channel_segments_total{channel="c"} 3.0',
        'streamrec_channel_stalls_total{channel="c"} 1.0',
        'streamrec_task_runs_total{task="t"} 2.0',
        'streamrec_task_failures_total{task="t"} 1.0',
        'streamrec_task_running{task="t"} 1.0',
        'streamrec_task_duration_seconds_bucket{le="1.0",task="t"} 1.0',
        'streamrec_task_duration_seconds_bucket{le="+Inf",task="t"} 2.0',
        'streamrec_task_duration_seconds_sum{task="t"} 4.5',
        'streamrec_queue_running{queue="q"} 0.0',
        'streamrec_reconciles_total{result="ok"} 2.0',
        'streamrec_reconciles_total{result="rejected"} 1.0',
        'streamrec_config_info{revision="abc123"} 1.0',
        "streamrec_config_rejected 0.0",
    ]
    lines = set(text.splitlines())
    assert [line for line in expected if line not in lines] == []
    assert "streamrec_channel_last_segment_age_seconds{" not in text  # no segment yet
    assert 'streamrec_channel_state{channel="c",state="recording"}' not in text  # only the current


async def test_only_the_bearer_scheme_carries_the_token(fake: FakeController) -> None:
    """A bare token, Basic, or a Bearer prefix glued to the token are 401; ``Bearer tok`` runs."""
    async with client(fake, token="tok", local=False) as http:
        for header in ("tok", "Basic tok", "Basic dG9rOg==", "Bearertok", "Token tok", "Bearer"):
            refused = await http.post("/api/tasks/t/run", headers={"Authorization": header})
            assert refused.status_code == 401, header
        assert fake.calls == []
        ok = await http.post("/api/tasks/t/run", headers={"Authorization": "bearer tok"})
        assert ok.status_code == 200 and fake.calls == [("run", ("t", False))]


async def test_on_the_socket_only_the_daemons_user_and_root_act_freely(
    fake: FakeController,
) -> None:
    """Another uid on the socket is read-only without a token and needs the Bearer token with one."""
    for peer in (DAEMON_UID, 0):
        async with client(fake, token=None, local=True, peer=peer) as http:
            assert (await http.post("/api/shutdown")).status_code == 200
            assert (await http.get("/api/status")).json()["api"] == {"actions": "open"}
    for peer in (65534, None):
        async with client(fake, token=None, local=True, peer=peer) as http:
            refused = await http.post("/api/shutdown")
            assert refused.status_code == 403 and "daemon's user or root" in refused.json()["error"]
            assert (await http.get("/api/status")).json()["api"] == {"actions": "read-only"}
    async with client(fake, token="tok", local=True, peer=65534) as http:
        assert (await http.post("/api/reconcile")).status_code == 401
        ok = await http.post("/api/reconcile", headers={"Authorization": "Bearer tok"})
        assert ok.status_code == 200
    assert [name for name, _ in fake.calls] == ["shutdown", "shutdown", "reconcile"]


async def test_tcp_answers_only_a_host_that_names_it(fake: FakeController) -> None:
    """A foreign Host is 421 on every route; the listen address, loopback names and allowed hosts pass."""
    async with client(
        fake, token=None, local=False, listen="0.0.0.0:8080", allowed_hosts=("rec.lan",)
    ) as http:
        for host in ("evil.example:8080", "evil.example", "localhost:9999", "", "rec.lan.evil"):
            for path in ("/healthz", "/api/status", "/"):
                answer = await http.get(path, headers={"Host": host})
                assert answer.status_code == 421, (host, path)
            assert "misdirected" in answer.json()["error"]
        for host in ("127.0.0.1:8080", "localhost:8080", "0.0.0.0:8080", "rec.lan", "REC.lan:443"):
            assert (await http.get("/healthz", headers={"Host": host})).status_code == 200, host
    async with client(fake, token=None, local=False, listen="192.0.2.7:80") as http:
        assert (await http.get("/healthz", headers={"Host": "192.0.2.7"})).status_code == 200
        assert (await http.get("/healthz", headers={"Host": "localhost"})).status_code == 421
