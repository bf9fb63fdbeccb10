"""channel add/list/remove, category add/list and import m3u, run as commands on real files."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamrec.spec.loading import load_config

DATA = Path(__file__).parent / "data"
HAIRY = (DATA / "hairy.yaml").read_text(encoding="utf-8")


@pytest.fixture
def hairy(write_config, cli_for):
    """A config directory holding the commented file, and a CLI for it."""
    directory = write_config({"main.yaml": HAIRY})
    return directory, cli_for(directory)


def test_channel_add_appends_to_the_default_file_and_leaves_the_commented_one_alone(hairy):
    """A new channel goes to channels.yaml; main.yaml keeps every byte."""
    directory, cli = hairy
    code, out, err = cli("channel", "add", "radio", "--url", "http://127.0.0.1:9/r.aac")
    assert (code, err) == (0, "")
    assert out == "added channel 'radio' to config/channels.yaml\n"
    assert (directory / "main.yaml").read_text(encoding="utf-8") == HAIRY
    assert (directory / "channels.yaml").read_text() == (
        "channels:\n  radio:\n    url: http://127.0.0.1:9/r.aac\n"
    )


def test_channel_add_with_update_edits_the_declaring_file_in_place(hairy):
    """An existing name needs --update; then only its url and category lines change."""
    directory, cli = hairy
    code, _, err = cli("channel", "add", "trt-haber", "--url", "http://127.0.0.1:9/t.m3u8")
    assert code == 1
    assert "already declared at config/main.yaml:16:5; add --update" in err
    code, out, _ = cli(
        "channel", "add", "trt-haber", "--url", "http://127.0.0.1:9/t.m3u8", "--update",
        "--category", "sports",
    )  # fmt: skip
    assert code == 0 and out == "updated channel 'trt-haber' in config/main.yaml\n"
    expected = HAIRY.replace(
        "'https://example.com/trt/playlist.m3u8'", "'http://127.0.0.1:9/t.m3u8'"
    ).replace("        category: news\n\n", "        category: sports\n\n")
    assert (directory / "main.yaml").read_text(encoding="utf-8") == expected
    assert not (directory / "channels.yaml").exists()


def test_an_undeclared_category_needs_create_category(hairy):
    """--category of an unknown name fails with a suggestion; --create-category declares it."""
    directory, cli = hairy
    code, _, err = cli("channel", "add", "x", "--url", "http://h/x", "--category", "new")
    assert code == 1 and "category 'new' is not declared (did you mean 'news'?)" in err
    code, _, _ = cli(
        "channel", "add", "x", "--url", "http://h/x", "--category", "docs", "--create-category",
        "--file", "docs.yaml",
    )  # fmt: skip
    assert code == 0
    assert (directory / "docs.yaml").read_text() == (
        "categories:\n  docs: {}\n\nchannels:\n  x:\n    url: http://h/x\n    category: docs\n"
    )


def test_a_change_that_does_not_validate_writes_nothing_and_shows_where(hairy):
    """A URL without a scheme is reported at its file:line:col and no file changes."""
    directory, cli = hairy
    code, _, err = cli("channel", "add", "bad", "--url", "not a url", "--file", "main.yaml")
    assert code == 1
    assert "config/main.yaml:32:14: channels.bad.url: expected a URL like" in err
    assert "nothing was changed" in err
    assert (directory / "main.yaml").read_text(encoding="utf-8") == HAIRY
    assert sorted(p.name for p in directory.iterdir()) == ["main.yaml"]


def test_file_conflicts_and_dry_runs(hairy):
    """--file naming another file than the declaring one is refused; --dry-run prints a diff only."""
    directory, cli = hairy
    code, _, err = cli(
        "channel", "add", "trt-haber", "--url", "http://h/x", "--update", "--file", "other.yaml"
    )
    assert code == 1 and "is declared at config/main.yaml:16:5, not in other.yaml" in err
    code, out, _ = cli("channel", "remove", "evening-show", "--dry-run")
    assert code == 0
    assert "-    evening-show:\n" in out and "(dry run: nothing was written)" in out
    assert (directory / "main.yaml").read_text(encoding="utf-8") == HAIRY


def test_channel_remove_and_list(hairy):
    """remove deletes the entry (a typo gets a suggestion); list shows the rest, secrets hidden."""
    directory, cli = hairy
    code, _, err = cli("channel", "remove", "evening-shw")
    assert code == 1 and "did you mean 'evening-show'?" in err
    assert cli("channel", "add", "secret", "--url", "rtmp://u:hunter2@h/app/key")[0] == 0
    assert cli("channel", "remove", "evening-show")[0] == 0
    code, out, _ = cli("channel", "list", "-o", "json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert set(rows) == {"trt-haber", "secret"}
    assert rows["secret"]["url"] == "rtmp://u:***@h/app/key" and "hunter2" not in out
    assert rows["trt-haber"]["declared_at"] == "config/main.yaml:16:5"
    assert "evening-show" not in (directory / "main.yaml").read_text(encoding="utf-8")


def test_category_add_and_list_with_channel_counts(hairy):
    """category add declares a category; category list counts the channels of each."""
    _, cli = hairy
    assert cli("category", "add", "docs", "--description", "Documentaries")[0] == 0
    code, _, err = cli("category", "add", "news")
    assert code == 1 and "already declared at config/main.yaml:11:5" in err
    code, out, _ = cli("category", "list", "-o", "json")
    data = json.loads(out)
    counts = {row["name"]: row["channels"] for row in data["categories"]}
    assert counts == {"news": 1, "sports": 1, "docs": 0}
    code, out, _ = cli("category", "list")
    assert "Documentaries" in out


def test_a_real_world_playlist_imports_cleanly(write_config, cli_for):
    """The untidy playlist becomes a valid file of its own; skipped lines are listed by number."""
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    cli = cli_for(directory)
    code, out, err = cli("import", "m3u", str(DATA / "real-world.m3u"))
    assert code == 0, err
    assert "10 channels and 6 new categories written to config/imported-real-world.yaml" in out
    for line in (25, 27, 29, 30, 34, 38):
        assert f"real-world.m3u:{line}: " in err
    config = load_config(directory, {}).config
    assert len(config.channels) == 10
    assert set(config.categories) == {"haber", "spor", "spor-canli", "radyo", "muzik", "russia"}
    cnn = config.channels["cnn-turk"]
    assert cnn.category == "haber" and cnn.description == "CNN Türk"
    assert cnn.input_args[:2] == ("-user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    text = (directory / "imported-real-world.yaml").read_text(encoding="utf-8")
    assert (
        "  # tvg-id: cnnturk.tr, tvg-logo: http://logo.example.com/cnn.png\n  cnn-turk:\n" in text
    )
    before = text
    assert cli("import", "m3u", str(DATA / "real-world.m3u"))[0] == 0
    assert (directory / "imported-real-world.yaml").read_text(encoding="utf-8") == before


def test_import_respects_channels_declared_elsewhere(write_config, cli_for):
    """The same URL elsewhere is skipped; the same name with another URL gets a suffix."""
    directory = write_config(
        {
            "mine.yaml": """
                categories: {haber: {}}
                channels:
                  trt-haber: {url: "http://127.0.0.1:9/other.m3u8"}
                  kept: {url: "http://127.0.0.1:9/live/cnnturk/playlist.m3u8?token=abc123"}
                """
        }
    )
    cli = cli_for(directory)
    code, _, err = cli("import", "m3u", str(DATA / "real-world.m3u"), "--file", "tv.yaml")
    assert code == 0, err
    assert "same URL as channel 'kept' (config/mine.yaml:4:3): skipped" in err
    config = load_config(directory, {}).config
    assert config.channels["trt-haber-2"].url == "http://127.0.0.1:9/live/trthaber/index.m3u8"
    assert "categories:\n  spor:" in (directory / "tv.yaml").read_text(encoding="utf-8")
    assert "haber:" not in (directory / "tv.yaml").read_text(encoding="utf-8").split("channels:")[0]


@pytest.fixture
def served(tmp_path) -> Iterator[str]:
    """The data folder served over HTTP on 127.0.0.1; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(DATA))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_playlist_is_fetched_from_a_url_and_a_missing_one_is_a_clear_error(
    write_config, cli_for, served
):
    """import m3u URL reads the playlist over HTTP; a 404 is one error line, no traceback."""
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    cli = cli_for(directory)
    code, out, _ = cli("import", "m3u", f"{served}/real-world.m3u", "--disabled")
    assert code == 0
    assert "written to config/imported-real-world.yaml" in out
    config = load_config(directory, {}).config
    assert len(config.channels) == 10 and not any(c.enabled for c in config.channels.values())
    code, _, err = cli("import", "m3u", f"{served}/missing.m3u")
    assert code == 1 and "cannot read the playlist" in err and "HTTP 404" in err
    assert "Traceback" not in err
