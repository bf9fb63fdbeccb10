"""The dashboard in headless Chromium (Debian's, driven by Playwright) against a real daemon.

The browser is the system's ``/usr/bin/chromium``; this test installs nothing. Where it is missing
the test fails and says to run ``scripts/install-test-packages.sh`` (which ``python3 dev.py test`` does).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import TOKEN, Served, chromium, finish, screenshot_dir, serve

from streamrec.runtime.testsource import HlsTestSource

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def channel(name: str, url: str, category: str) -> str:
    return f'  {name}:\n    url: "{url}"\n    category: {category}\n    segment: 2s\n'


def config(url: str, *names: tuple[str, str]) -> str:
    return (
        "categories:\n  news: {}\n  sports: {}\n"
        + "channels:\n"
        + "".join(channel(n, url, c) for n, c in names)
        + "tasks:\n  hello: {command: 'echo hello from the dashboard test'}\n"
        + "queues:\n  nightly: {tasks: [hello], schedule: '30 3 * * *'}\n"
    )


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of RGB(A) pixels of an 8-bit PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), f"unexpected PNG format {depth}/{color}"
    step = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * step, [], bytes(width * step)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (
                    line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        rows.append(bytes(line))
        previous = bytes(line)
    return (
        width,
        height,
        [bytes(r[i : i + 3]) for r in rows[::7] for i in range(0, stride, step * 7)],
    )  # type: ignore[misc]


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A page of the system's headless Chromium with a fresh profile."""
    with chromium() as context:
        yield context.new_page()


@pytest.fixture
def dashboard_daemon(tmp_path: Path, module_hls: HlsTestSource) -> Iterator[Served]:
    """A daemon with a token recording one channel of the live source."""
    served = serve(tmp_path / "d", config(module_hls.url, ("alpha-news", "news")), token=TOKEN)
    yield served
    finish(served)


def test_dashboard_shows_channels_and_updates_without_reload(
    browser_page: Any, dashboard_daemon: Served, module_hls: HlsTestSource, tmp_path: Path
) -> None:
    """The page lists the channel with a thumbnail, then shows a new event and a new channel live."""
    page, d = browser_page, dashboard_daemon
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    d.daemon.wait_for(lambda e: e["type"] == "recording.segment", timeout=40)
    page.goto(d.base + "/")
    page.wait_for_selector('[data-channel="alpha-news"] .pill.recording', timeout=20_000)
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-channel=\"alpha-news\"] img');"
        " return img && img.complete && img.naturalWidth > 0 && !img.hidden; }",
        timeout=20_000,
    )
    assert page.locator('[data-task="hello"] .pill').inner_text().lower() == "created"

    run = d.post("/api/tasks/hello/run", token=TOKEN)
    assert run.status_code == 200
    finished = d.daemon.wait_for(lambda e: e["type"] == "task.finished")
    page.wait_for_selector(f'#events li[data-seq="{finished["seq"]}"]', timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('[data-task=\"hello\"] .pill').textContent === 'completed'",
        timeout=10_000,
    )
    d.daemon.write(
        "config.yaml", config(module_hls.url, ("alpha-news", "news"), ("beta-sports", "sports"))
    )
    page.wait_for_selector('[data-channel="beta-sports"]', timeout=20_000)
    page.wait_for_selector('[data-channel="beta-sports"] .pill.recording', timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.locator("#link.up").count() == 1
    assert errors == []

    shot = screenshot_dir(tmp_path) / "dashboard.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert len(data) > 20_000
    width, height, pixels = png_pixels(data)
    assert (width, height) == (1400, 1000)
    colours = {p for p in pixels}
    commonest = max(pixels.count(c) for c in list(colours)[:2000])
    assert len(colours) > 100, "the screenshot is nearly one colour"
    assert commonest < 0.9 * len(pixels), "the screenshot is mostly blank"
    for name in ("alpha-news", "beta-sports"):
        title = page.locator(f'[data-channel="{name}"] .card-title strong')
        assert title.is_visible() and title.inner_text() == name
        box = title.bounding_box()
        assert box is not None and 0 <= box["y"] < height and 0 <= box["x"] < width
