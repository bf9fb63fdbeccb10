"""Record now on a real daemon: a scheduled channel outside its window records a real file from a
local HLS source until the request ends, stops as a window would, and keeps a request across a
restart until it is cancelled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from webkit import Served, finish, serve

from streamrec.core.timestamps import parse_ts
from streamrec.runtime.testsource import HlsTestSource

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

OPERATOR = "oper-4e8a2c6f1d9b"
Match = Callable[[dict[str, Any]], bool]


def config_for(url: str) -> str:
    """``show`` has one window, twelve hours away; ``off`` is disabled."""
    later = (datetime.now(timezone.utc) + timedelta(hours=12)).isoformat(timespec="seconds")
    return f"""
channels:
  show:
    url: "{url}"
    segment: 1s
    schedule:
      - {{at: "{later}", duration: 1m}}
  off: {{url: "{url}", enabled: false}}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, module_hls: HlsTestSource) -> Iterator[Served]:
    """A daemon with an operator token only: reads are open."""
    served = serve(
        tmp_path_factory.mktemp("record-now"),
        config_for(module_hls.url),
        token=None,
        STREAMREC_OPERATOR_TOKEN=OPERATOR,
    )
    served.daemon.wait_for(lambda e: e["type"] == "config.applied")  # before any test's mark
    yield served
    finish(served)


def record(api: Served, channel: str, body: object, token: str | None = OPERATOR) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.http.post(f"/api/channels/{channel}/record", json=body, headers=headers)


def show_status(api: Served) -> dict[str, Any]:
    answer = api.http.get("/api/status")
    assert answer.status_code == 200  # no viewer token: reads need none
    channel: dict[str, Any] = answer.json()["channels"]["show"]
    return channel


def of_show(kind: str) -> Match:
    return lambda e: e["type"] == kind and e.get("channel") == "show"


def test_bad_requests_change_nothing(api: Served) -> None:
    """No token 401; bad minutes 400; an unknown channel 404; a disabled one 409 saying why."""
    mark = api.daemon.last_seq()
    assert record(api, "show", {"minutes": 1}, token=None).status_code == 401
    for body in ({"minutes": -1}, {"minutes": 1441}, {"minutes": "5"}, {"minutes": True}, [], {}):
        answer = record(api, "show", body)
        assert answer.status_code == 400, body
        assert "minutes" in answer.json()["error"]
    assert record(api, "nowhere", {"minutes": 1}).status_code == 404
    refused = record(api, "off", {"minutes": 1})
    assert refused.status_code == 409 and "disabled" in refused.json()["error"]
    assert [e for e in api.daemon.events() if e["seq"] > mark] == []
    assert show_status(api)["requested_until"] is None


def test_a_request_records_a_real_file_and_stops_at_its_end(api: Served) -> None:
    """0.1 minutes: started at once outside the window, a finished file, stopped as at a window's
    end (duration reached) about six seconds later, and nothing after."""
    mark = api.daemon.last_seq()
    asked = datetime.now(timezone.utc)
    answer = record(api, "show", {"minutes": 0.1})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    until = parse_ts(data["until"])
    assert data["channel"] == "show" and until is not None
    assert timedelta(seconds=4) < until - asked < timedelta(seconds=8)
    requested = api.daemon.wait_for(of_show("recording.requested"), after=mark)
    assert requested["role"] == "operator" and requested["until"] == data["until"]
    api.daemon.wait_for(of_show("recording.started"), after=mark, timeout=20)
    assert show_status(api)["requested_until"] == data["until"]
    stopped = api.daemon.wait_for(of_show("recording.stopped"), after=mark, timeout=30)
    assert stopped["reason"] == "duration reached"
    ended = parse_ts(stopped["ts"])
    assert ended is not None
    assert until - timedelta(seconds=2) <= ended <= until + timedelta(seconds=8)
    files = [
        e["file"]
        for e in api.daemon.events()
        if e["seq"] > mark and of_show("recording.segment")(e)
    ]
    assert files, "no finished file"
    assert all(Path(file).stat().st_size > 0 for file in files)
    time.sleep(2)
    later = [
        e
        for e in api.daemon.events()
        if e["seq"] > stopped["seq"] and of_show("recording.started")(e)
    ]
    assert later == []
    status = show_status(api)
    assert status["requested_until"] is None
    assert status["daemon"]["recording"] is False


def test_a_request_outlives_a_restart_until_cancelled(api: Served) -> None:
    """A ten-minute request: the restarted daemon records again; minutes 0 stops it."""
    mark = api.daemon.last_seq()
    assert record(api, "show", {"minutes": 10}).status_code == 200
    api.daemon.wait_for(of_show("recording.started"), after=mark, timeout=20)
    api.daemon.stop()
    restart = api.daemon.last_seq()
    api.daemon.start()
    wait_http(api)
    api.daemon.wait_for(of_show("recording.started"), after=restart, timeout=20)
    assert show_status(api)["requested_until"] is not None
    cancel = api.daemon.last_seq()
    answer = record(api, "show", {"minutes": 0})
    assert answer.status_code == 200
    stopped = api.daemon.wait_for(of_show("recording.stopped"), after=cancel, timeout=20)
    assert stopped["reason"] == "its record-now request was cancelled"
    status = show_status(api)
    assert status["requested_until"] is None and status["daemon"]["recording"] is False


def wait_http(api: Served) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if api.http.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("no HTTP after the restart")
