"""A daemon started again on the config it ran logs what `config.applied` says: nothing added."""

from __future__ import annotations

import re

import pytest
from daemonkit import DaemonProcess

CONFIG = """\
settings:
  timezone: UTC
categories:
  demo:
    description: local bars
channels:
  bars:
    url: testsrc://bars
    category: demo
    segment: 2s
tasks:
  hello:
    command: echo {word}
    schedule: "0 3 * * *"
"""
RECONCILED = re.compile(r"reconciled revision (\w+) \(start\) in \d+ ms: (.*)$")


def _start_once(d: DaemonProcess) -> tuple[str, dict[str, str]]:
    """Start the daemon, wait until it records, stop it; the revision and outcomes it logged."""
    before = d.log.stat().st_size if d.log.exists() else 0
    after = d.last_seq()
    d.start()
    d.wait_for(lambda e: e["type"] == "recording.started", after=after)
    d.stop()
    text = d.log.read_bytes()[before:].decode("utf-8", errors="replace")
    found = [m for m in map(RECONCILED.search, text.splitlines()) if m]
    assert len(found) == 1, text
    revision, listed = found[0].groups()
    if listed == "nothing to do":
        return revision, {}
    pairs = (item.rsplit(" ", 1) for item in listed.split(", "))
    return revision, {key: outcome for key, outcome in pairs}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_restart_on_the_same_config_logs_no_object_as_added(daemon):
    d = daemon()
    d.write("main.yaml", CONFIG.format(word="hi"))

    revision, first = _start_once(d)
    applied = [e for e in d.events() if e["type"] == "config.applied"]
    assert len(applied) == 1 and applied[0]["revision"] == revision
    assert first == applied[0]["outcomes"]
    assert first["task/hello"] == "added" and first["category/demo"] == "added"
    assert first["channel/bars"] == "started"

    again, second = _start_once(d)
    assert again == revision
    assert [e for e in d.events() if e["type"] == "config.applied"] == applied  # nothing new
    assert second == {"channel/bars": "started"}  # the recorder did start; the config is the same

    d.write("main.yaml", CONFIG.format(word="changed"))
    changed, third = _start_once(d)
    event = [e for e in d.events() if e["type"] == "config.applied"][-1]
    assert event["revision"] == changed != revision
    assert event["diff"]["changed"] == ["task/hello"] and event["diff"]["added"] == []
    assert third == event["outcomes"] == {"task/hello": "updated", "channel/bars": "started"}
