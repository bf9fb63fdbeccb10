"""User text is printed as written: no rich markup, no emoji codes, control characters escaped."""

from __future__ import annotations

import importlib.util

from loguru import logger

from streamrec.cli.app import setup_logging
from streamrec.core.printable import printable

HOSTILE = "evil\nFAKE 12:00:00 ERROR forged\x1b[31mred\u202etxt.exe"
SHOWN = "evil\\nFAKE 12:00:00 ERROR forged\\x1b[31mred\\u202etxt.exe"


def test_printable_escapes_controls_bidi_and_newlines_and_keeps_ordinary_text():
    """Newlines, ESC, DEL, C1, U+202E and zero-width characters become escapes; letters stay."""
    assert printable(HOSTILE) == SHOWN
    assert printable("tab\there\r\x7f\x85\u200b\u2028") == "tab\\there\\r\\x7f\\x85\\u200b\\u2028"
    assert printable("Müzik Kanalı 👍 [vip] :100:") == "Müzik Kanalı 👍 [vip] :100:"


def test_category_list_shows_markup_and_emoji_codes_as_written(write_config, cli_for):
    """A description '[vip] Premium :thumbs_up:' is printed as is, and a newline in it escaped."""
    directory = write_config(
        {
            "main.yaml": """\
            settings: {timezone: UTC}
            categories:
              vip: {description: "[vip] Premium :thumbs_up: [bold]x[/bold]"}
              odd: {description: "line one\\nline two \\e[31m\\u202e"}
            """
        }
    )
    code, out, err = cli_for(directory)("category", "list")
    assert (code, err) == (0, "")
    assert "[vip] Premium :thumbs_up: [bold]x[/bold]" in out
    assert "line one\\nline two \\x1b[31m\\u202e" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_channel_list_shows_a_declaration_at_line_100_literally(write_config, cli_for):
    """'file.yaml:100:5' is not turned into an emoji, and a hostile URL path is escaped."""
    padding = "".join(f"# comment {n}\n" for n in range(96))
    directory = write_config(
        {
            "main.yaml": "settings: {timezone: UTC}\n"
            + padding
            + 'channels:\n  news:\n    url: "http://127.0.0.1:9/a:100:b[red]/\\u202ex"\n'
        }
    )
    code, out, err = cli_for(directory)("channel", "list")
    assert (code, err) == (0, "")
    assert "config/main.yaml:99:3" in out
    assert "http://127.0.0.1:9/a:100:b[red]/\\u202ex" in out
    assert "💯" not in out


def test_doctor_prints_the_install_hint_with_its_brackets(write_config, cli_for):
    """doctor's hint for a missing resolver reads pip install 'streamrec[yt-dlp]' literally."""
    directory = write_config({"main.yaml": "settings: {timezone: UTC}\n"})
    _, out, _ = cli_for(directory)("doctor")
    if importlib.util.find_spec("yt_dlp") is None:
        assert "resolver yt-dlp: not installed (pip install 'streamrec[yt-dlp]')" in out
    else:
        assert "resolver yt-dlp: " in out


def test_a_log_line_cannot_be_forged_by_a_newline_in_user_text(capsys):
    """A log message holding a newline, ESC and U+202E comes out as one line with escapes."""
    setup_logging("text", 0)
    logger.warning("channel {!s} started", HOSTILE)
    setup_logging("json", 0)
    logger.warning("channel {!s} started", HOSTILE)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith(f"channel {SHOWN} started")
    assert f"channel {SHOWN} started".replace("\\", "\\\\") in lines[1]
    assert "\x1b[31m" not in "".join(lines) and "\u202e" not in "".join(lines)
    logger.remove()


MARKUP_CHANNELS = {
    "main.yaml": """\
    settings: {timezone: UTC}
    channels:
      "news [red]:100:":
        url: "http://127.0.0.1:9/[bold]live[/bold]/:thumbs_up:.m3u8"
      sport:
        url: "http://127.0.0.1:9/sport.m3u8"
    """
}


def test_plan_prints_markup_and_emoji_codes_in_names_and_urls_as_written(
    write_config, cli_for, tmp_path
):
    """A channel named 'news [red]:100:' is planned under that name, and a changed URL holding
    '[bold]' and ':thumbs_up:' is shown as written: no markup read, no emoji made."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    directory = write_config(MARKUP_CHANNELS)
    cli = cli_for(directory)
    code, out, err = cli("plan", env=env)
    assert (code, err) == (0, "")
    assert "  + channel/news [red]:100:\n" in out
    assert cli("apply", env=env)[0] == 0
    changed = MARKUP_CHANNELS["main.yaml"].replace("sport.m3u8", "[i]sport[/i]:100:.m3u8")
    write_config({"main.yaml": changed})
    code, out, err = cli("plan", env=env)
    assert (code, err) == (0, "")
    assert "url: http://127.0.0.1:9/sport.m3u8 -> http://127.0.0.1:9/[i]sport[/i]:100:.m3u8" in out
    assert "💯" not in out and "👍" not in out


def test_validate_prints_a_config_directory_named_with_markup_as_written(
    write_config, cli_for, tmp_path
):
    """validate's summary names the directory as given, '[red]' and ':100:' included."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    directory = write_config(MARKUP_CHANNELS, name="conf [red]:100:")
    code, out, err = cli_for(directory)("validate", env=env)
    assert (code, err) == (0, "")
    assert f"valid: {directory} (1 files" in out
    assert "conf [red]:100:" in out and "💯" not in out
