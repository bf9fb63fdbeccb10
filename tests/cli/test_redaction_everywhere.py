"""A planted secret never leaves the process: not in any command's output, log line, API answer or
state file (the raw task logs under state/logs/ aside, which are the command's own output)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

STREAMREC = [sys.executable, "-m", "streamrec"]
TOKEN = "tok-9d81f2e6a4"
PASSWORD = "pw-5c0ffee77b"
DOTENV = "ds-77e1b0a9c3"
"""Known only from the config directory's .env, under a secret-looking name."""
SECRETS = (TOKEN, PASSWORD, DOTENV)
CONFIG = """\
settings:
  timezone: UTC
categories:
  cams: {description: "cameras ${CAM_PASSWORD}"}
channels:
  door:
    url: "rtsp://admin:${CAM_PASSWORD}@127.0.0.1:9/live?token=${CAM_PASSWORD}&x=1"
    category: cams
    description: "the door (${STREAMREC_API_TOKEN})"
    enabled: false
    on_segment: [leak]
tasks:
  leak:
    command: >-
      echo "out $CAM_PASSWORD $STREAMREC_API_TOKEN http://u:$CAM_PASSWORD@h/x $NOTE";
      echo "err $CAM_PASSWORD $API_KEY" >&2;
      exit 3
    env:
      API_KEY: "${STREAMREC_API_TOKEN}"
      LABEL: "label ${CAM_PASSWORD}"
      NOTE: "note ${DOOR_SECRET}"
"""
BROKEN = """\
settings: {timezone: UTC}
channels:
  bad:
    url: "http://127.0.0.1:9/x?token=${CAM_PASSWORD}"
    retention: {max_age: "${CAM_PASSWORD}"}
    enabled: "${STREAMREC_API_TOKEN}"
"""


def _shown(cli: Callable[..., tuple[int, str, str]], *args: str, env: dict[str, str]) -> str:
    code, out, err = cli(*args, env=env)
    return f"$ streamrec {' '.join(args)} -> {code}\n{out}{err}"


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_a_planted_secret_appears_in_no_output_and_no_state_file(tmp_path: Path, cli_for) -> None:
    """Secrets in URLs, env, task output, reasons and errors are hidden in every output and file."""
    config, broken, state = tmp_path / "config", tmp_path / "broken", tmp_path / "state"
    config.mkdir()
    broken.mkdir()
    (config / "main.yaml").write_text(CONFIG, encoding="utf-8")
    (config / ".env").write_text(f"DOOR_SECRET={DOTENV}\n", encoding="utf-8")
    (broken / "main.yaml").write_text(BROKEN, encoding="utf-8")
    env = {
        **os.environ,
        "STREAMREC_API_TOKEN": TOKEN,
        "CAM_PASSWORD": PASSWORD,
        "STREAMREC_STATE_DIR": str(state),
    }
    env.pop("STREAMREC_CONFIG", None)
    c = ["-c", str(config)]
    run, bad = cli_for(config), cli_for(broken)
    outputs = [
        _shown(bad, "validate", env=env),
        _shown(bad, "--log-format", "json", "-v", "validate", env=env),
        *(
            _shown(run, *args, env=env)
            for args in (
                ("validate",),
                ("plan",),
                ("plan", "-o", "json"),
                ("-v", "apply"),
                ("-vv", "task", "run", "leak"),
                ("--log-format", "json", "-vv", "task", "run", "leak"),
                ("channel", "list"),
                ("channel", "list", "-o", "json"),
                ("category", "list"),
            )
        ),
    ]
    assert "exit" in outputs[6] and "out ***" in outputs[6], outputs[6]

    daemon_log = tmp_path / "daemon.log"
    with daemon_log.open("wb") as log:
        daemon = subprocess.Popen(
            [*STREAMREC, *c, "-vv", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        socket = state / "daemon.sock"
        deadline = time.monotonic() + 30
        while not socket.exists() and time.monotonic() < deadline:
            assert daemon.poll() is None, daemon_log.read_text()
            time.sleep(0.05)
        transport = httpx.HTTPTransport(uds=str(socket))
        with httpx.Client(transport=transport, base_url="http://daemon", timeout=30) as api:
            answers = [api.post("/api/tasks/leak/run").text]
            for path in (
                "/api/status",
                "/api/live",
                "/api/events?limit=1000",
                "/api/tasks/leak/log?stream=stdout",
                "/api/tasks/leak/log?stream=stderr",
                "/metrics",
            ):
                answers.append(api.get(path).text)
        assert "out ***" in answers[4], answers[4]
        outputs += answers
        outputs += [_shown(run, "status", env=env), _shown(run, "status", "-o", "json", env=env)]
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(20)
    outputs.append(daemon_log.read_text(encoding="utf-8", errors="replace"))
    for args in (
        ("status",),
        ("status", "-o", "json"),
        ("history", "-n", "1000"),
        ("history", "-n", "1000", "-o", "json"),
        ("logs", "leak"),
        ("logs", "leak", "--follow"),
        ("logs", "leak", "--run", "1"),
    ):
        outputs.append(_shown(run, *args, env=env))
    assert "err ***" in outputs[-1], outputs[-1]
    for output in outputs:
        assert not _leaks(output), output

    raw_logs = state / "logs"
    files = [p for p in state.rglob("*") if p.is_file() and raw_logs not in p.parents]
    assert any(p.name == "events.jsonl" for p in files)
    for path in files:
        if path.suffix != ".sock":
            assert not _leaks(path.read_bytes().decode("utf-8", errors="replace")), path
    assert any(PASSWORD in p.read_text() for p in raw_logs.rglob("*") if p.is_file())
    assert any(DOTENV in p.read_text() for p in raw_logs.rglob("*") if p.is_file())
