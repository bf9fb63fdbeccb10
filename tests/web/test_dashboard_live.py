"""The dashboard's live view, playback, event grouping, time format and phone layout, in Chromium.

One real daemon records the local HLS source (H.264 + AAC, which Debian's Chromium decodes) on two
channels: ``desk`` cuts a file every 10 minutes, so no file of it closes while these tests run, and
``clips`` cuts every 2 s with an ``on_segment`` hook, so files and their events pile up. The page is
opened in the system's headless Chromium (``webkit.chromium``) in the Asia/Kolkata zone (+05:30, so
a time shown in UTC or in the machine's zone cannot pass for the viewer's). Screenshots go to
``$STREAMREC_SCREENSHOTS`` (else the test's tmp directory).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from webkit import TOKEN, Served, chromium, finish, screenshot_dir, serve

from streamrec.runtime.testsource import HlsTestSource

STATIC = Path(__file__).resolve().parents[2] / "streamrec" / "web" / "static"
ZONE = "Asia/Kolkata"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+05:30$")
"""The page's one time format, as it reads in the zone of these tests."""

CONFIG = """\
categories:
  news: {}
channels:
  desk:
    url: "URL"
    category: news
    segment: 10m
  clips:
    url: "URL"
    segment: 2s
    on_segment: [tag]
tasks:
  hello: {command: 'echo hello from the dashboard test', schedule: '*/30 * * * *'}
  tag: {command: 'true'}
queues:
  nightly: {tasks: [hello], schedule: '30 3 * * *'}
"""

PLAYING = """(advanced) => {
  const v = document.getElementById('player');
  if (!v || v.readyState < 2 || v.error) return false;
  if (advanced === null) return v.currentTime > 0;
  return v.currentTime > advanced;
}"""
"""True once the player has a decoded frame and its time passed ``advanced`` (or 0)."""


def test_no_locale_formatting_and_no_html_in_the_scripts() -> None:
    """Every time goes through the one formatter, and nothing is written into the page as HTML."""
    for script in STATIC.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert "toLocale" not in text, f"{script.name} formats a time (or number) by locale"
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, script.name
        assert "document.write" not in text, script.name


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, module_hls: HlsTestSource) -> Iterator[Served]:
    """A daemon recording ``desk`` (10 min files) and ``clips`` (2 s files, hooked)."""
    root = tmp_path_factory.mktemp("live")
    daemon = serve(root / "d", CONFIG.replace("URL", module_hls.url), token=TOKEN)
    yield daemon
    finish(daemon)


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    """A desktop-sized page (1280x800) of the dashboard, in the zone of these tests."""
    with chromium((1280, 800), timezone=ZONE) as context:
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(served.base + "/")
        yield page


def segments(served: Served, channel: str) -> list[dict[str, Any]]:
    return [
        e
        for e in served.daemon.events()
        if e["type"] == "recording.segment" and e["channel"] == channel
    ]


def wait_playing(page: Any, src_part: str) -> None:
    """The player shows ``src_part``'s video, and its time moves on."""
    page.wait_for_selector("#player-dialog[open]", timeout=5_000)
    assert src_part in page.evaluate("document.getElementById('player').currentSrc")
    page.wait_for_function(PLAYING, arg=None, timeout=30_000)
    now = page.evaluate("document.getElementById('player').currentTime")
    page.wait_for_function(PLAYING, arg=now + 0.5, timeout=30_000)
    assert page.evaluate("document.getElementById('player').error") is None


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_live_card_shows_the_file_being_written_and_plays_it(
    page: Any, served: Served, tmp_path: Path
) -> None:
    """Before any file of ``desk`` closes: its real name, its bytes, a picture, and live playback."""
    card = '[data-channel="desk"]'
    page.wait_for_selector(f"{card} .pill.recording", timeout=30_000)
    page.wait_for_function(
        f"""() => {{ const dd = document.querySelector('{card} .fact-written');
        return dd && /^[1-9][0-9.]* (B|KB|MB|GB) · /.test(dd.textContent); }}""",
        timeout=30_000,
    )
    live = served.get("/api/status").json()["channels"]["desk"]["live"]
    assert live["bytes"] > 0 and ".partial" not in live["file"]
    file_line = page.locator(f"{card} .file")
    assert file_line.inner_text() == f"writing {live['name']}"
    assert file_line.get_attribute("title") == live["file"]
    page.wait_for_function(
        f"""() => {{ const img = document.querySelector('{card} img');
        return img && img.complete && img.naturalWidth > 0 && !img.hidden; }}""",
        timeout=30_000,
    )
    page.wait_for_function(  # the bitrate shows once ffmpeg's progress has measured one
        f"""() => {{ const dd = document.querySelector('{card} .fact-bitrate');
        return dd && dd.textContent.endsWith('/s'); }}""",
        timeout=30_000,
    )
    first_src = page.get_attribute(f"{card} img", "src")
    assert first_src and "?v=" in first_src
    assert segments(served, "desk") == [], "a file of desk closed: the live view was not tested"

    page.click(f"{card} button.watch")
    wait_playing(page, "/api/channels/desk/play")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "desktop-live-player.png"))
    page.click("#player-dialog button[value=close]")
    page.wait_for_function("() => !document.getElementById('player-dialog').open")
    dropped = "v => !v.hasAttribute('src') && v.readyState === 0 && v.networkState === 0"
    assert page.eval_on_selector("#player", dropped), "the closed player still holds the stream"
    # while it records, a newer picture comes with a new thumbnail_version
    page.wait_for_function(
        f"""(first) => {{ const img = document.querySelector('{card} img');
        return img.getAttribute('src') !== first && img.complete && img.naturalWidth > 0; }}""",
        arg=first_src,
        timeout=40_000,
    )
    assert segments(served, "desk") == []
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_per_file_events_fold_and_a_recording_plays(
    page: Any, served: Served, tmp_path: Path
) -> None:
    """``clips``'s files fold into one event line; its files link lists them and one plays."""
    served.daemon.wait_for(
        lambda e: e["type"] == "recording.processed" and e["channel"] == "clips", timeout=40
    )
    while len([e for e in served.daemon.events() if e["type"] == "recording.processed"]) < 3:
        served.daemon.wait_for(
            lambda e: e["type"] == "recording.processed", after=served.daemon.last_seq()
        )
    # three files: their segment, hook start and end, and processed events (the page polls); a
    # stall or reconnect on a loaded machine may split the run, so the lines are summed
    lines = '#events > li.group[data-channel="clips"]'
    page.wait_for_function(
        f"""() => Array.from(document.querySelectorAll('{lines}'))
        .reduce((n, li) => n + Number(li.dataset.count), 0) >= 12""",
        timeout=10_000,
    )
    group = page.locator(lines).first
    assert re.match(
        r"^\d+ files finished for clips, last clips", group.locator(".summary-text").inner_text()
    )
    count = int(group.get_attribute("data-count") or 0)
    alone = page.locator("#events > li:not(.group)").evaluate_all(
        "items => items.filter(li => /^(recording\\.(segment|processed))$/"
        ".test(li.querySelector('.type').textContent)).length"
    )
    assert alone <= 2, f"{alone} per-file events stand alone instead of folding"
    group.locator("button.toggle").click()
    group = page.locator(lines).first  # drawn again, open
    page.wait_for_selector(f"{lines} ol.sub li")
    assert group.locator("ol.sub > li").count() >= count
    assert group.locator("ol.sub > li .type", has_text="recording.segment").count() >= 2

    # (d) one time format: the viewer's zone with its offset, the same instant as the log's
    first = served.get("/api/events", limit=1).json()["events"][0]
    expected = (
        datetime.fromisoformat(first["ts"].replace("Z", "+00:00"))
        .astimezone(ZoneInfo(ZONE))
        .strftime("%Y-%m-%d %H:%M:%S +05:30")
    )
    assert page.inner_text(f'#events li[data-seq="{first["seq"]}"] .time') == expected
    times = page.locator("#events .time").all_inner_texts()
    assert times and all(STAMP.match(t) for t in times), times

    page.click('[data-channel="clips"] a.files-link')
    page.wait_for_selector('#recordings details[data-channel="clips"][open] tr[data-file]')
    assert page.locator("#recordings details").count() == 1
    assert page.locator("#recordings-only").is_visible()
    starts = page.locator('#recordings td[data-label="start"]').all_inner_texts()
    assert starts and all(STAMP.match(t) for t in starts), starts
    applied = page.inner_text("#config dd:nth-of-type(3)")
    assert STAMP.match(applied.split(" (")[0]), applied
    assert not re.search(
        r"\d{1,2}/\d{1,2}/\d{4}|\d{1,2}:\d{2}:\d{2} ?[AP]M", page.inner_text("body")
    )

    row = page.locator("#recordings tr[data-file]").first
    href = row.locator("a.download").get_attribute("href")
    with httpx.Client(base_url=served.base, timeout=20) as http:
        whole = http.get(href)
        assert whole.status_code == 200 and len(whole.content) > 10_000
        part = http.get(href, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == whole.content[:100]
    row.locator("button.play").click()
    wait_playing(page, "/api/recordings/play?file=")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "desktop-recording-player.png"))
    page.click("#player-dialog button[value=close]")
    page.wait_for_function("() => !document.getElementById('player-dialog').open")
    page.evaluate("scrollTo(0, 0)")  # a sticky header stays at the top of the shot
    page.screenshot(path=str(screenshot_dir(tmp_path) / "desktop.png"), full_page=True)
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_phone_width_has_no_sideways_scroll_and_every_button_is_reachable(
    served: Served, tmp_path: Path
) -> None:
    """At 390x844 the page is as wide as the screen; the tasks' last column and buttons show."""
    served.daemon.wait_for(lambda e: e["type"] == "recording.segment", timeout=40)
    with chromium((390, 844), timezone=ZONE) as context:
        page = context.new_page()
        page.goto(served.base + "/")
        page.wait_for_selector('[data-task="hello"] td.actions button', timeout=20_000)
        page.wait_for_selector('[data-channel="desk"] .pill.recording', timeout=20_000)
        page.wait_for_selector("#recordings details", timeout=20_000)
        page.click('[data-channel="clips"] a.files-link')
        page.wait_for_selector("#recordings details[open] tr[data-file] button.play")
        width = page.evaluate("innerWidth")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        for task in ("hello", "tag"):  # measured in one go: the table is drawn anew each poll
            box = page.evaluate(
                """(task) => {
                const cell = document.querySelector(`[data-task="${task}"] td:last-child`);
                cell.scrollIntoView({ block: "center" });
                const r = cell.getBoundingClientRect();
                const log = Array.from(cell.querySelectorAll("button"))
                  .find(b => b.textContent === "log").getBoundingClientRect();
                return { x: r.left, width: r.width, y: r.top, h: r.height,
                         log: log.width > 0 && log.left >= 0 && log.right <= innerWidth
                              && log.top >= 0 && log.bottom <= innerHeight };
                }""",
                task,
            )
            assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width, box
            assert box["y"] >= 0 and box["y"] + box["h"] <= 844 and box["log"], box
        outside = page.evaluate(
            """(width) => Array.from(document.querySelectorAll('main button, main a'))
            .filter(b => b.offsetParent !== null)
            .map(b => b.getBoundingClientRect())
            .filter(r => r.left < 0 || r.right > width + 0.5).length""",
            width,
        )
        assert outside == 0, f"{outside} buttons or links reach past the screen's edge"
        page.evaluate("scrollTo(0, 0)")  # a sticky header stays at the top of the shot
        page.screenshot(path=str(screenshot_dir(tmp_path) / "phone.png"), full_page=True)
        page.click("#recordings tr[data-file] button.play")
        page.wait_for_selector("#player-dialog[open]")
        page.wait_for_function(PLAYING, arg=None, timeout=30_000)
        dialog = page.locator("#player-dialog").bounding_box()
        assert dialog and dialog["x"] >= 0 and dialog["x"] + dialog["width"] <= width
        page.screenshot(path=str(screenshot_dir(tmp_path) / "phone-player.png"))
        page.click("#player-dialog button[value=close]")
        page.click("#view-button")  # the channel table scrolls in its own box, not the page
        page.wait_for_selector('#channel-rows tr[data-channel="desk"] td.actions a.files-link')
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        assert page.locator('tr[data-channel="desk"] td.file').inner_text().startswith("desk_")
        page.evaluate("scrollTo(0, 0)")  # a sticky header stays at the top of the shot
        page.screenshot(path=str(screenshot_dir(tmp_path) / "phone-table.png"), full_page=True)
        # a poll redraws what changed only: hello's buttons stay the same nodes while tag's runs
        runs = '[data-task="tag"] td[data-label="runs / failed"]'
        page.evaluate(
            "window.__run = document.querySelector('[data-task=\"hello\"] td.actions button')"
        )
        before = page.inner_text(runs)
        page.wait_for_function(
            f"(before) => document.querySelector('{runs}').textContent !== before",
            arg=before,
            timeout=20_000,
        )
        assert page.evaluate(
            "window.__run === document.querySelector('[data-task=\"hello\"] td.actions button')"
        ), "the run button was replaced although hello did not change"
        page.click('[data-task="hello"] td:last-child button:has-text("log")')
        page.wait_for_selector("#log-dialog[open]")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
