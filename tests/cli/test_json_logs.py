"""`--log-format json`: every line on standard error is one flat JSON object, redacted and escaped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))
from daemonkit import DaemonProcess  # found through the path set above

STREAMREC = [sys.executable, "-m", "streamrec"]
PASSWORD = "pw-6b1d0c2e9f"
KEYS = {"ts", "level", "msg", "logger"}
LEVELS = {"trace", "debug", "info", "success", "warning", "error", "critical"}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


def flat_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a flat JSON object with the fixed keys; fails on any other line."""
    found = []
    for line in text.splitlines():
        assert line.isascii() and "\x1b" not in line, line
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert record.keys() >= KEYS, line
        assert "record" not in record and "text" not in record, line
        assert all(not isinstance(v, dict) for v in record.values()), line
        assert TS.match(record["ts"]), line
        assert record["level"] in LEVELS, line
        assert "\n" not in record["msg"], line
        found.append(record)
    assert found, "no line at all"
    return found


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STREAMREC, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_validate_of_a_broken_config_writes_only_json_lines(tmp_path: Path) -> None:
    """Located problems and the final error are objects too; a secret and an escape are not raw."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "main.yaml").write_text(
        'channels:\n  "evil\\e[31mname":\n    url: "http://127.0.0.1:9/x"\n'
        '  door:\n    url: "http://u:${CAM_PASSWORD}@127.0.0.1:9/x"\n'
        '    retention: {max_age: "${CAM_PASSWORD}"}\n',
        encoding="utf-8",
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("STREAMREC_")}
    base.update(CAM_PASSWORD=PASSWORD, STREAMREC_STATE_DIR=str(tmp_path))
    for args, env in (
        (["--log-format", "json", "-c", str(config), "-v", "validate"], base),
        (["-c", str(config), "validate"], {**base, "STREAMREC_LOG_FORMAT": "json"}),
    ):
        done = _run(args, env, tmp_path)
        assert done.returncode == 1, done.stderr
        assert PASSWORD not in done.stderr + done.stdout
        lines = flat_lines(done.stderr)
        assert {line["logger"] for line in lines} == {"streamrec.cli"}
        assert all(line["level"] == "error" for line in lines), lines
        assert any("main.yaml:" in line["msg"] for line in lines)
        assert any("\\x1b" in line["msg"] for line in lines)  # shown as an escape, not sent raw
        assert any("max_age" in line["msg"] and "***" in line["msg"] for line in lines)
        assert lines[-1]["msg"].startswith("error: 2 problems")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_daemon_run_logs_flat_objects_with_channel_task_and_run_fields(tmp_path: Path) -> None:
    """A real daemon recording testsrc:// and running a task: each stderr line is a flat object;
    the recorder's lines name their channel, the task's its task and run, the reconcile its event."""
    d = DaemonProcess(tmp_path, {"STREAMREC_LOG_FORMAT": "json", "CAM_PASSWORD": PASSWORD})
    d.write(
        "main.yaml",
        """
        settings:
          timezone: UTC
        channels:
          bars:
            url: testsrc://bars
            segment: 2s
          door:
            url: "http://admin:${CAM_PASSWORD}@127.0.0.1:9/live.m3u8"
            reconnect: {initial: 1s, max: 1s}
        tasks:
          hello:
            command: echo hello
            schedule: once
        """,
    )
    try:
        d.start()
        d.wait_for(lambda e: e["type"] == "recording.segment" and e.get("channel") == "bars")
        d.wait_for(lambda e: e["type"] == "task.finished" and e.get("task") == "hello")
    finally:
        d.stop()
    text = d.log.read_text(encoding="utf-8")
    assert PASSWORD not in text
    lines = flat_lines(text)
    by_logger = {line["logger"] for line in lines}
    assert "streamrec.daemon.reconciler" in by_logger
    recorder = [line for line in lines if line["logger"].startswith("streamrec.runtime.")]
    assert any(line.get("channel") == "bars" for line in recorder), recorder
    assert any(line.get("channel") == "door" for line in lines), lines
    applied = [line for line in lines if line.get("event") == "config.applied"]
    assert len(applied) == 1 and applied[0]["revision"], lines
    finished = [line for line in lines if line.get("event") == "task.finished"]
    assert finished and finished[0]["task"] == "hello" and finished[0]["run_id"] == 1, lines


def test_an_exception_is_one_field_and_bound_names_do_not_replace_the_fixed_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process through the real sink: the traceback is the `exception` text, redacted."""
    from loguru import logger

    from streamrec.cli.app import set_log_redactor, setup_logging
    from streamrec.core.redact import Redactor

    setup_logging("json", 0)
    set_log_redactor(Redactor.of({PASSWORD}))
    try:
        raise RuntimeError(f"cannot reach http://admin:{PASSWORD}@h/x")
    except RuntimeError:
        logger.bind(
            channel="evening-show",
            msg="bound",
            level=3,
            file=Path(f"/recordings/{PASSWORD}/a.ts"),
            sizes={"a": 1},
        ).exception("failed\nagain")
    finally:
        setup_logging("text", 0)
    (line,) = flat_lines(capsys.readouterr().err)
    assert line["msg"] == "failed\\nagain" and line["level"] == "error"
    assert line["channel"] == "evening-show"
    assert line["extra_msg"] == "bound" and line["extra_level"] == 3
    assert line["file"] == "/recordings/***/a.ts"  # a path is text, redacted like any other
    assert line["sizes"] == '{"a": 1}'  # a mapping is its JSON text: the line stays flat
    assert "RuntimeError" in line["exception"] and "Traceback" in line["exception"]
    assert PASSWORD not in json.dumps(line)
