"""Short secrets are masked only as whole tokens, long ones everywhere; `validate` warns of short ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streamrec.core.redact import MASK, MIN_SUBSTRING_SECRET, Redactor, redact_text
from streamrec.spec.secretnames import is_secret_variable

WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."
"""The characters that make a short secret part of a longer name."""
APART = " /:=&?,;'\"()[]{}@#"
"""Characters that end a token."""

secrets_long = st.text(alphabet=WORD, min_size=MIN_SUBSTRING_SECRET, max_size=30)
secrets_short = st.text(alphabet=WORD, min_size=3, max_size=MIN_SUBSTRING_SECRET - 1)
words = st.text(alphabet=WORD, max_size=12)


def test_the_minimum_is_eight_characters() -> None:
    """The number the README and the module docstring state."""
    assert MIN_SUBSTRING_SECRET == 8


def test_a_short_secret_inside_a_name_is_left_alone() -> None:
    """`show` as a secret does not turn `evening-show` into `evening-***`."""
    redactor = Redactor.of({"show"})
    for text in (
        "evening-show",
        "recordings/news/evening-show/evening-show_2026-01-01.ts",
        "show.ts",
        "showtime",
        "show_1",
        "channel 'evening-show': recording",
    ):
        assert redactor.text(text) == text


def test_a_short_secret_standing_alone_is_masked() -> None:
    """As a word, a path component, a query value or a quoted value it is hidden."""
    redactor = Redactor.of({"show"})
    assert redactor.text("show") == MASK
    assert redactor.text("the key is show now") == f"the key is {MASK} now"
    assert redactor.text("key=show&x=1") == f"key={MASK}&x=1"
    assert redactor.text("rtmp://h/live/show/stream") == f"rtmp://h/live/{MASK}/stream"
    assert redactor.text("'show'") == f"'{MASK}'"
    assert redactor.value({"a": ["show", "evening-show"]}) == {"a": [MASK, "evening-show"]}


def test_a_long_secret_is_masked_inside_a_url_and_inside_names() -> None:
    """A secret of eight or more characters is hidden wherever it appears."""
    key = "live_5f3a9c1d"
    redactor = Redactor.of({key})
    url = f"rtmp://a.example/app/{key}x?quality=hd"
    assert key not in redactor.text(url)
    assert redactor.text(url) == f"rtmp://a.example/app/{MASK}x?quality=hd"
    assert redactor.text(f"evening-{key}.ts") == f"evening-{MASK}.ts"


@given(secret=secrets_long, before=words, after=words)
def test_a_long_secret_never_survives(secret: str, before: str, after: str) -> None:
    """Whatever surrounds it."""
    text = f"http://h/{before}{secret}{after}?x=1 and {before}{secret}{after}"
    assert secret not in Redactor.of({secret}).text(text)


@given(
    secret=secrets_short,
    before=st.sampled_from(list(APART)),
    after=st.sampled_from(list(APART)),
)
def test_a_short_secret_between_separators_is_masked(secret: str, before: str, after: str) -> None:
    text = f"x{before}{secret}{after}y"
    assert Redactor.of({secret}).text(text) == f"x{before}{MASK}{after}y"


@given(secret=secrets_short, joint=st.sampled_from(list(WORD)), name=words)
def test_a_short_secret_inside_a_name_is_never_masked(secret: str, joint: str, name: str) -> None:
    """Joined to a name by a letter, digit, `_`, `-` or `.` it stays (other secrets aside)."""
    for text in (f"{name}{joint}{secret}", f"{secret}{joint}{name}"):
        assert redact_text(text, {secret}) == text


def test_validate_warns_of_a_short_secret_on_one_line(tmp_path: Path) -> None:
    """A real `streamrec validate`: valid (exit 0), one warning line on stderr naming no secret."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "channels.yaml").write_text(
        "channels:\n  evening-show:\n    url: rtmp://127.0.0.1:9/live/${STREAM_KEY}\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STREAMREC_") and not is_secret_variable(k)  # only the planted one
    }
    env.update(STREAM_KEY="show", STREAMREC_STATE_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "streamrec", "-c", str(config), "validate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(MIN_SUBSTRING_SECRET) in warnings[0], done.stderr
    assert "whole word" in warnings[0] and "show" not in warnings[0]
    assert "valid:" in done.stdout

    env["STREAM_KEY"] = "live_5f3a9c1d"
    done = subprocess.run(
        [sys.executable, "-m", "streamrec", "-c", str(config), "validate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "warning:" not in done.stderr, done.stderr


def test_a_variable_naming_where_a_secret_is_kept_is_not_a_secret() -> None:
    """``*_FILE`` and ``*_PATH`` hold a path (shown in messages); the secret names stay secret."""
    assert is_secret_variable("STREAMREC_API_TOKEN") and is_secret_variable("CAM_PASSWORD")
    assert is_secret_variable("API_KEY_FILENAME")  # not a ``_FILE`` suffix
    assert not is_secret_variable("STREAMREC_TOKENS_FILE")
    assert not is_secret_variable("ssh_key_path")
    assert not is_secret_variable("TIMEZONE")
