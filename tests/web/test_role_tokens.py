"""Role tokens on a real daemon over TCP: what a viewer, an operator and an admin token may do,
bad and missing tokens, the tokens file's mode, and no token in any answer."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from webkit import DaemonProcess, Served, finish, serve

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

VIEWER = "view-5c1e9a7f3b2d"
OPERATOR = "oper-8d2f6b1a9e4c"
ADMIN = "admn-3a7e1c9f5b8d"
ENV_VIEWER = "envv-6b4d2f8a1c3e"
SECRETS = (VIEWER, OPERATOR, ADMIN, ENV_VIEWER)
CONFIG = f"""
tasks:
  hello: {{command: 'echo hi {VIEWER} {OPERATOR}'}}
queues:
  nightly: {{tasks: [hello]}}
"""
POSTS = (
    "/api/tasks/hello/run",
    "/api/tasks/hello/stop",
    "/api/queues/nightly/start",
    "/api/queues/nightly/stop",
    "/api/reconcile",
    "/api/channels/nothing/record",
    "/api/config/check",
    "/api/config/save",
    "/api/shutdown",
)
READS = ("/api/status", "/api/events", "/api/live", "/api/recordings", "/metrics")
ACTED = ("task.", "queue.", "config.", "daemon.", "recording.")


def tokens_file(root: Path, mode: int = 0o600) -> Path:
    path = root / "tokens"
    path.write_text(
        "# role token label\n"
        f"viewer {VIEWER} wall screen\n"
        f"operator {OPERATOR} night shift\n"
        f"admin {ADMIN}\n",
        "utf-8",
    )
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A daemon with three tokens from a file and one viewer token from the environment."""
    root = tmp_path_factory.mktemp("roles")
    file = tokens_file(root)
    served = serve(
        root, CONFIG, token=None, STREAMREC_TOKENS_FILE=str(file), STREAMREC_VIEWER_TOKEN=ENV_VIEWER
    )
    served.daemon.wait_for(lambda e: e["type"] == "config.applied")  # before any test's mark
    yield served
    finish(served)


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def post(api: Served, path: str, token: str | None) -> httpx.Response:
    body = {"minutes": 1} if path.endswith("/record") else {"files": {}}
    return api.http.post(path, json=body, headers=bearer(token), timeout=60)


def assert_no_secret(response: httpx.Response) -> None:
    for secret in SECRETS:
        assert secret not in response.text, response.request.url


def test_a_viewer_token_reads_and_cannot_post_anything(api: Served) -> None:
    """Every POST with the viewer token is 403 naming the roles, and nothing happens."""
    mark = api.daemon.last_seq()
    for token in (VIEWER, ENV_VIEWER):
        for path in (*READS, "/api/config"):
            answer = api.http.get(path, headers=bearer(token))
            assert answer.status_code == 200, path
            assert_no_secret(answer)
        for path in POSTS:
            answer = post(api, path, token)
            assert answer.status_code == 403, path
            assert "this token has the viewer role" in answer.json()["error"]
    assert [e for e in api.daemon.events() if e["seq"] > mark and e["type"].startswith(ACTED)] == []


def test_reads_need_a_token_once_a_viewer_token_exists(api: Served) -> None:
    """No token or a wrong one: 401 for reads and actions; the open routes stay open."""
    for path in READS:
        assert api.http.get(path).status_code == 401, path
        assert api.http.get(path, headers=bearer("wrong-token-x")).status_code == 401, path
    for path in POSTS:
        answer = post(api, path, "wrong-token-x")
        assert answer.status_code == 401, path
        assert "Bearer" in answer.json()["error"]
        assert post(api, path, None).status_code == 401, path
    for path in ("/", "/healthz", "/readyz", "/api/whoami", "/static/app.js"):
        assert api.http.get(path).status_code == 200, path


def test_an_operator_runs_a_task_but_cannot_edit_or_stop_the_daemon(api: Served) -> None:
    """The operator token runs the task (its log shows no token); config and shutdown are 403."""
    mark = api.daemon.last_seq()
    answer = post(api, "/api/tasks/hello/run", OPERATOR)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["hello"]["status"] == "completed"
    api.daemon.wait_for(lambda e: e["type"] == "task.finished" and e["task"] == "hello", after=mark)
    log = api.http.get("/api/tasks/hello/log", headers=bearer(OPERATOR))
    assert log.status_code == 200 and "hi" in log.text
    assert_no_secret(log)
    for path in ("/api/config/save", "/api/config/check", "/api/shutdown"):
        refused = post(api, path, OPERATOR)
        assert refused.status_code == 403, path
        assert refused.json() == {"error": "needs the admin role; this token has the operator role"}
    assert api.daemon.proc is not None and api.daemon.proc.poll() is None


def test_whoami_names_each_token(api: Served) -> None:
    """Role, label and rights per token; no token: no role and no reading; never 401."""
    seen = {}
    for token in (None, "wrong-token-x", VIEWER, OPERATOR, ADMIN):
        answer = api.http.get("/api/whoami", headers=bearer(token))
        assert answer.status_code == 200
        assert_no_secret(answer)
        seen[token] = answer.json()
    assert seen[None] == {
        "role": None,
        "who": None,
        "may": {"read": False, "operate": False, "edit": False},
    }
    assert seen["wrong-token-x"] == seen[None]
    assert seen[VIEWER]["role"] == "viewer" and seen[VIEWER]["who"] == "wall screen"
    assert seen[OPERATOR] == {
        "role": "operator",
        "who": "night shift",
        "may": {"read": True, "operate": True, "edit": False},
    }
    assert seen[ADMIN]["may"] == {"read": True, "operate": True, "edit": True}


def test_no_token_is_in_the_log_or_the_state(api: Served) -> None:
    """Events, daemon.json and the daemon's own log hold none of the tokens."""
    texts = [
        (api.daemon.state / "events.jsonl").read_text("utf-8"),
        (api.daemon.state / "daemon.json").read_text("utf-8"),
        api.daemon.log.read_text("utf-8", errors="replace"),
    ]
    for text in texts:
        for secret in (ADMIN, ENV_VIEWER):
            assert secret not in text


def test_zz_the_admin_token_stops_the_daemon(api: Served) -> None:
    """The admin may do what the operator may not: the config API answers it, and
    /api/shutdown stops the daemon cleanly."""
    mark = api.daemon.last_seq()
    changed = CONFIG.replace("queues:", "  bye: {command: 'echo bye'}\nqueues:")
    saved = api.http.post(
        "/api/config/save", json={"files": {"config.yaml": changed}}, headers=bearer(ADMIN)
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved_to"] == "directory"
    assert_no_secret(saved)
    made = api.daemon.wait_for(lambda e: e["type"] == "config.changed", after=mark)
    assert made["role"] == "admin" and "bye" in made["diff"]
    assert not [secret for secret in SECRETS if secret in json.dumps(made)]
    assert "bye" in (api.daemon.config / "config.yaml").read_text("utf-8")
    answer = post(api, "/api/shutdown", ADMIN)
    assert answer.status_code == 200 and answer.json() == {"stopping": True}
    assert api.daemon.proc is not None and api.daemon.proc.wait(20) == 0
    stopped = [e for e in api.daemon.events() if e["type"] == "daemon.stopped"]
    assert stopped and "asked over the API" in stopped[-1]["reason"]


def run_refused(root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    daemon = DaemonProcess(root, env)
    daemon.env.pop("STREAMREC_API_TOKEN", None)
    daemon.write("config.yaml", CONFIG)
    return subprocess.run(
        [*daemon_cmd(daemon), "run"],
        env=daemon.env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def daemon_cmd(daemon: DaemonProcess) -> list[str]:
    import sys

    return [sys.executable, "-m", "streamrec", "-c", str(daemon.config)]


def test_a_tokens_file_others_can_read_stops_the_start(tmp_path: Path) -> None:
    """Mode 0644: the daemon does not start, says how to fix it, shows no token, writes no log."""
    file = tokens_file(tmp_path, 0o644)
    done = run_refused(tmp_path, {"STREAMREC_TOKENS_FILE": str(file)})
    assert done.returncode == 1
    assert 'chmod 600 "$STREAMREC_TOKENS_FILE"' in done.stderr and "0644" in done.stderr
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    assert not (tmp_path / "state" / "events.jsonl").exists()


def test_a_bad_line_stops_the_start_with_its_place(tmp_path: Path) -> None:
    """A line with an unknown role: FILE:LINE in the message, the token not."""
    file = tmp_path / "tokens"
    file.write_text(f"admin {ADMIN}\nsuperuser {OPERATOR}\n", "utf-8")
    os.chmod(file, 0o600)
    done = run_refused(tmp_path, {"STREAMREC_TOKENS_FILE": str(file)})
    assert done.returncode == 1
    assert ":2: unknown role" in done.stderr and "STREAMREC_TOKENS_FILE" in done.stderr
    assert OPERATOR not in done.stderr and ADMIN not in done.stderr
