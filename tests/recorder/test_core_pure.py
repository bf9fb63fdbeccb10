"""The recorder's pure decisions: file names, redaction, backoff and retention, with plain values."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamrec.core.backoff import Backoff
from streamrec.core.filenames import NO_CATEGORY, render_filename, safe_component
from streamrec.core.files import FinishedFile
from streamrec.core.redact import redact_argv, redact_text, redact_url
from streamrec.core.retention import Limits, decide
from streamrec.spec.model import DEFAULT_FILENAME

START = datetime(2026, 3, 29, 0, 30, 5, tzinfo=timezone.utc)


def render(channel: str, category: str | None = "news", template: str = DEFAULT_FILENAME) -> str:
    return str(
        render_filename(
            template, channel=channel, category=category, start=START, zone=ZoneInfo("UTC"),
            ext="ts",
        )
    )  # fmt: skip


def test_default_template_renders_category_channel_and_start() -> None:
    """The default template gives category/channel/channel_date.ext."""
    assert render("trt") == "news/trt/trt_2026-03-29_00-30-05.ts"


def test_missing_category_renders_as_uncategorized() -> None:
    """A channel without a category goes under the documented placeholder."""
    assert render("trt", None).startswith(f"{NO_CATEGORY}/trt/")


def test_start_is_shown_in_the_settings_zone_across_dst() -> None:
    """The start time is rendered in the given zone (Berlin is UTC+2 after the spring change)."""
    path = render_filename(
        "{start:%Y-%m-%d_%H-%M-%S%z}.{ext}", channel="c", category=None,
        start=datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc), zone=ZoneInfo("Europe/Berlin"),
        ext="ts",
    )  # fmt: skip
    assert str(path) == "2026-03-29_03-30-00+0200.ts"


@pytest.mark.parametrize(
    "name", ["../../etc", "..", ".", "a/b", "a\\b", "x\x00y", "$(rm -rf /);`id`", "\u202eevil", ""]
)
def test_hostile_names_stay_one_safe_component(name: str) -> None:
    """No channel name can leave its directory, hide itself, or carry NUL/control characters."""
    safe = safe_component(name)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".")
    assert safe not in (".", "..")
    assert not render(name).startswith("..")


def test_long_and_unicode_names_are_capped_and_kept_apart() -> None:
    """300-character names are cut under the byte cap, differ by hash, and unicode is kept."""
    a, b = "ü" * 299 + "a", "ü" * 299 + "b"
    assert safe_component(a) != safe_component(b)
    assert len(safe_component(a).encode()) <= 96
    assert safe_component("Haber Türk 24") == "Haber Türk 24"


def test_changed_names_never_clash_with_the_plain_name() -> None:
    """``a/b`` and ``a_b`` are different channels, so their directories differ."""
    assert safe_component("a/b") != safe_component("a_b") == "a_b"


@given(st.text(max_size=400))
def test_any_name_renders_inside_the_recordings_dir(name: str) -> None:
    """Whatever the name, the rendered path is relative with no empty, . or .. component."""
    path = PurePosixPath(render(name, name))
    assert not path.is_absolute()
    assert all(part not in ("", ".", "..") for part in path.parts)
    assert all(len(part.encode("utf-8", "surrogatepass")) <= 255 for part in path.parts)


def test_url_passwords_and_secret_query_values_are_hidden() -> None:
    """User-info passwords, token-like query values and known secrets become ***."""
    url = "rtmp://user:hunter2@host/app/KEY123?token=abc&quality=hd&sig=x"
    shown = redact_url(url, secrets={"KEY123"})
    for secret in ("hunter2", "KEY123", "abc", "sig=x"):
        assert secret not in shown
    assert "quality=hd" in shown and "user:***@host" in shown


def test_text_and_argv_redact_every_url_inside() -> None:
    """URLs inside free text and argument lists are redacted too."""
    text = "Error opening http://u:pw@h/x.m3u8?auth=zzz now"
    assert "pw" not in redact_text(text) and "zzz" not in redact_text(text)
    assert redact_argv(["-i", "http://u:pw@h/a"]) == ["-i", "http://u:***@h/a"]


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    """Delays double from the initial value, spread ±20 %, and never pass the maximum."""
    backoff = Backoff(initial=2, maximum=60)
    assert [backoff.delay(n, 0.5) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff.delay(2, 0.0) == pytest.approx(3.2)
    assert backoff.delay(2, 0.999) == pytest.approx(4.8, abs=0.01)
    assert backoff.delay(50, 0.999) == 60
    assert backoff.delay(0, 0.5) == 0


def _file(
    name: str, end: float, size: int = 100, processed: bool = True, ch: str = "a"
) -> FinishedFile:
    return FinishedFile(name, ch, end - 10, end, size, processed)


def test_max_age_deletes_only_old_processed_files() -> None:
    """Files older than max_age go, unless their hooks have not finished."""
    files = [_file("old", 0), _file("pending", 1, processed=False), _file("new", 990)]
    decision = decide(files, now=1000, limits={"a": Limits(max_age=100)}, free=10**9, min_free=0)
    assert [d.file.path for d in decision.deletions] == ["old"]


def test_max_size_deletes_oldest_first_counting_undeletable_files() -> None:
    """Over max_size, the oldest deletable files go until the channel fits."""
    files = [_file(f"f{i}", i, processed=i != 0) for i in range(5)]
    decision = decide(files, now=10, limits={"a": Limits(max_size=250)}, free=10**9, min_free=0)
    assert [d.file.path for d in decision.deletions] == ["f1", "f2", "f3"]


def test_delete_oldest_deletes_across_channels_and_reports_no_room() -> None:
    """With delete_oldest, the oldest deletable files of any channel go; if not enough, no room."""
    files = [_file("a1", 1, ch="a"), _file("b1", 2, ch="b"), _file("b2", 3, processed=False)]
    enough = decide(files, now=10, limits={}, free=50, min_free=200, policy="delete_oldest")
    assert [d.file.path for d in enough.deletions] == ["a1", "b1"] and enough.room
    assert all("on_low_space: delete_oldest" in d.reason for d in enough.deletions)
    short = decide(files, now=10, limits={}, free=50, min_free=1000, policy="delete_oldest")
    assert not short.room and "b2" not in [d.file.path for d in short.deletions]


def test_each_channels_rule_sees_only_its_own_files_and_a_rule_less_limit_none() -> None:
    """Files of many channels: each channel's max_age deletes its own old files only; a limit
    without a rule (and enough space) deletes nothing, under either policy."""
    files = [_file(f"{ch}{i}", i * 100, ch=ch) for ch in "abc" for i in range(10)]
    limits = {"a": Limits(max_age=500), "b": Limits(), "c": Limits(max_size=300)}
    decision = decide(files, now=1000, limits=limits, free=10**9, min_free=0)
    assert sorted(d.file.path for d in decision.deletions) == sorted(
        [f"a{i}" for i in range(5)] + [f"c{i}" for i in range(7)]
    )
    for policy in ("stop", "delete_oldest"):
        none = decide(files, now=1000, limits={"a": Limits()}, free=500, min_free=100,
                      policy=policy)  # fmt: skip
        assert none.deletions == [] and none.room and none.free_after == 500 and none.needed == 100


def test_protected_files_are_never_chosen() -> None:
    """A protected path (e.g. one a hook is still reading) survives every rule."""
    files = [_file("keep", 0)]
    decision = decide(
        files, now=10**6, limits={"a": Limits(max_age=1, max_size=1)}, free=0, min_free=10,
        policy="delete_oldest", protected=frozenset({"keep"}),
    )  # fmt: skip
    assert decision.deletions == [] and not decision.room
