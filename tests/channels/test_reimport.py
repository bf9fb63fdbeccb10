"""import m3u again: a channel is its entry's key (never its position), keeps its name, and only the
entries that changed change; the plan itself (core.reimport) on plain values."""

from __future__ import annotations

import json
from pathlib import Path

from streamrec.app.channelfields import channel_fields
from streamrec.core.m3u import Entry
from streamrec.core.reimport import Incoming, plan_import
from streamrec.spec.loading import load_config

KANAL = [f"http://127.0.0.1:9/kanal34/{n}/index.m3u8" for n in range(4)]


def _playlist(entries: list[tuple[str, str, str]]) -> str:
    """``#EXTM3U`` with one ``#EXTINF`` per (attributes, title, url)."""
    lines = ["#EXTM3U"]
    for attrs, title, url in entries:
        lines += [f"#EXTINF:-1 {attrs},{title}", url]
    return "\n".join(lines) + "\n"


BASE = [
    ('group-title="Haber"', "Kanal 34", KANAL[0]),
    ('group-title="Haber"', "Kanal 34", KANAL[1]),
    ('tvg-id="news.tr" group-title="Haber"', "News", "http://127.0.0.1:9/news/index.m3u8"),
    ('group-title="Haber"', "Kanal 34", KANAL[2]),
    ('group-title="Spor"', "Kanal 34", KANAL[3]),
    ('group-title="Spor"', "Sport (720p) [Not 24/7]", "http://127.0.0.1:9/sport/index.m3u8"),
]


def _setup(write_config, cli_for, tmp_path: Path, entries=BASE):
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    cli = cli_for(directory)
    source = tmp_path / "tv.m3u"
    source.write_text(_playlist(entries), encoding="utf-8")
    code, _out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    return directory, cli, source


def _urls(directory: Path) -> dict[str, str]:
    return {name: c.url for name, c in load_config(directory, {}).config.channels.items()}


def test_importing_the_same_playlist_twice_writes_the_same_bytes(write_config, cli_for, tmp_path):
    directory, cli, source = _setup(write_config, cli_for, tmp_path)
    written = directory / "imported-tv.yaml"
    before = written.read_bytes()
    assert b"import_key: url:http://127.0.0.1:9/kanal34/0/index.m3u8" in before
    assert b"import_key: tvg-id:news.tr" in before
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "6 channels in config/imported-tv.yaml are as the playlist says; nothing written" in out
    assert written.read_bytes() == before


def test_removing_one_of_four_kanal_34_changes_only_that_one(write_config, cli_for, tmp_path):
    """The reported bug: the names of the other three stay on their own URLs; no warning-less
    duplicate; the removed one is kept unless --prune, and the report says so."""
    directory, cli, source = _setup(write_config, cli_for, tmp_path)
    first = _urls(directory)
    assert sorted(n for n in first if n.startswith("kanal-34")) == [
        "kanal-34",
        "kanal-34-2",
        "kanal-34-3",
        "kanal-34-4",
    ]
    gone = next(n for n, url in first.items() if url == KANAL[1])
    source.write_text(_playlist([e for e in BASE if e[2] != KANAL[1]]), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "1 channels left the playlist and are kept; --prune removes them" in out
    assert _urls(directory) == first  # nothing moved, nothing lost
    code, out, err = cli("import", "m3u", str(source), "--prune")
    assert code == 0, err
    assert f"- {gone}" in out and "1 channels left the playlist and are removed" in out
    after = _urls(directory)
    assert after == {n: u for n, u in first.items() if n != gone}
    assert len(set(after.values())) == len(after)  # no stream recorded twice


def test_reordering_changes_nothing_and_an_added_entry_is_the_only_new_one(
    write_config, cli_for, tmp_path
):
    directory, cli, source = _setup(write_config, cli_for, tmp_path)
    written = directory / "imported-tv.yaml"
    before, first = written.read_bytes(), _urls(directory)
    source.write_text(_playlist(list(reversed(BASE))), encoding="utf-8")
    assert cli("import", "m3u", str(source))[0] == 0
    assert written.read_bytes() == before
    fifth = ('group-title="Haber"', "Kanal 34", "http://127.0.0.1:9/kanal34/new/index.m3u8")
    source.write_text(_playlist([fifth, *reversed(BASE)]), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source), "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["unchanged"] == 6 and report["changed"] == {} and report["removed"] == []
    [added] = report["added"]
    after = _urls(directory)
    assert {n: u for n, u in after.items() if n != added} == first
    assert after[added] == fifth[2] and added.startswith("kanal-34-") and added not in first
    assert written.read_text(encoding="utf-8").startswith(
        before.decode()
    )  # appended, nothing moved


def test_a_changed_entry_reports_its_fields_and_keeps_its_name_and_hand_edits(
    write_config, cli_for, tmp_path
):
    """A new URL under the same tvg-id, a new group, headers added then dropped: the same channel;
    enabled (the user's field) stays as edited by hand, and only that channel's lines change."""
    directory, cli, source = _setup(write_config, cli_for, tmp_path)
    written = directory / "imported-tv.yaml"
    text = written.read_text(encoding="utf-8")
    written.write_text(text.replace("  news:\n", "  news:\n    enabled: false\n"), encoding="utf-8")
    changed = [
        (
            'tvg-id="news.tr" group-title="Spor"',
            "News",
            "http://127.0.0.1:9/news/v2/index.m3u8|User-Agent=Box/1.0&Origin=http://127.0.0.1:9",
        )
        if e[1] == "News"
        else e
        for e in BASE
    ]
    source.write_text(_playlist(changed), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "(0 added, 1 changed, 5 unchanged)" in out
    assert "~ news: category, input_args, url" in out
    news = load_config(directory, {}).config.channels["news"]
    assert news.url == "http://127.0.0.1:9/news/v2/index.m3u8" and news.category == "spor"
    assert list(news.input_args) == [
        "-user_agent",
        "Box/1.0",
        "-headers",
        "Origin: http://127.0.0.1:9\r\n",
    ]
    assert news.enabled is False
    source.write_text(_playlist(BASE), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "~ news: category, input_args, url" in out
    news = load_config(directory, {}).config.channels["news"]
    assert news.input_args == () and news.enabled is False
    assert "input_args" not in written.read_text(encoding="utf-8")


def test_page_urls_get_a_resolver_and_tags_stay_in_the_description(write_config, cli_for, tmp_path):
    page = ("", "Live Page", "https://www.youtube.com/@somechannel/live")
    directory, _cli, _source = _setup(write_config, cli_for, tmp_path, [*BASE, page])
    config = load_config(directory, {}).config
    assert config.channels["live-page"].resolver == "streamlink"
    assert config.channels["kanal-34"].resolver == "direct"
    assert "resolver: direct" not in (directory / "imported-tv.yaml").read_text(encoding="utf-8")
    sport = next(c for c in config.channels.values() if c.url.endswith("/sport/index.m3u8"))
    assert sport.description is not None and "720p" in sport.description
    assert "Not 24/7" in sport.description


def test_the_report_counts_the_resolvers_given(write_config, cli_for, tmp_path):
    pages = [("", f"Page {n}", f"https://www.youtube.com/@chan{n}/live") for n in range(3)]
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    source = tmp_path / "pages.m3u"
    source.write_text(_playlist(pages), encoding="utf-8")
    code, out, err = cli_for(directory)("import", "m3u", str(source))
    assert code == 0, err
    assert "3 page URLs given resolver streamlink" in out


def _in(key: str, url: str, name: str, line: int) -> Incoming:
    return Incoming(key, name, {"url": url, "import_key": key}, line)


def test_the_plan_tells_same_ids_apart_by_url_and_merges_one_url():
    """Two entries under one tvg-id (HD and SD) are two channels, each staying on its own URL
    when the other goes; a URL given twice is one channel; an old channel without a key is
    found by its URL."""
    old = {
        "hd": {"url": "http://h/hd", "import_key": "tvg-id:x"},
        "sd": {"url": "http://h/sd", "import_key": "tvg-id:x"},
        "legacy": {"url": "http://h/legacy"},
    }
    plan = plan_import(
        old,
        [
            _in("tvg-id:x", "http://h/sd", "x", 1),
            _in("url:http://h/legacy", "http://h/legacy", "legacy-2", 2),
            _in("url:http://h/legacy", "http://h/legacy", "legacy-3", 3),
        ],
        taken=old,
    )
    assert plan.unchanged == ["sd"]  # not moved onto the HD URL
    assert [c.name for c in plan.changed] == ["legacy"]  # its key is written now
    assert plan.changed[0].diffs == {"import_key": (None, "url:http://h/legacy")}
    assert plan.removed == ["hd"] and plan.added == []
    assert plan.notes == [(3, "same stream as line 2: one channel, this one skipped")]
    plan = plan_import(old, [_in("tvg-id:x", "http://h/new", "x", 1)], taken=old)
    assert [c.name for c in plan.changed] == ["hd"] and plan.removed == ["sd"]


def test_a_new_name_avoids_every_declared_name():
    plan = plan_import({}, [_in("url:http://h/a", "http://h/a", "news", 1)], taken={"news"})
    assert [name for name, _ in plan.added] == ["news-2"]


def test_headers_become_ffmpeg_input_options_escaped_and_without_line_breaks():
    """A header value holding a line break would add headers of its own: it is left out, noted."""
    entry = Entry(
        name="tv",
        title="TV",
        url="http://127.0.0.1:9/tv.m3u8",
        line=2,
        headers={
            "User-Agent": "Box ${HOME}",
            "Referer": "http://127.0.0.1:9/\r\nX-Evil: 1",
            "Origin": "http://127.0.0.1:9",
            "Bad Name": "x",
        },
        resolver="direct",
    )
    fields = channel_fields(entry, None)
    assert fields.values["input_args"] == [
        "-user_agent",
        "Box $${HOME}",
        "-headers",
        "Origin: http://127.0.0.1:9\r\n",
    ]
    assert len(fields.notes) == 2 and all("left out" in note for note in fields.notes)
    assert "resolver" not in fields.values


def test_a_channel_renamed_or_moved_by_hand_is_still_the_same_channel(
    write_config, cli_for, tmp_path
):
    """import_key travels with the channel: a new name stays, a move to another file is no loss."""
    directory, cli, source = _setup(write_config, cli_for, tmp_path)
    written = directory / "imported-tv.yaml"
    text = written.read_text(encoding="utf-8")
    written.write_text(text.replace("  kanal-34-2:\n", "  my-kanal:\n"), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "nothing written" in out
    urls = _urls(directory)
    assert urls["my-kanal"] == KANAL[1] and "kanal-34-2" not in urls
    code, out, err = cli("channel", "remove", "my-kanal")
    assert code == 0, err
    (directory / "mine.yaml").write_text(
        f"channels:\n  my-kanal:\n    url: {KANAL[1]}\n    import_key: url:{KANAL[1]}\n",
        encoding="utf-8",
    )
    code, out, err = cli("import", "m3u", str(source))
    assert code == 0, err
    assert "same URL as channel 'my-kanal' (config/mine.yaml:2:3): skipped" in err
    assert _urls(directory)["my-kanal"] == KANAL[1] and len(_urls(directory)) == 6


def test_only_a_url_declared_in_another_file_skips_an_entry():
    """One tvg-id in two playlists is two streams; one URL is one stream."""
    elsewhere = {"url:http://h/1": "channel 'a' (config/mine.yaml:2:3)"}
    entries = [_in("tvg-id:x", "http://h/2", "x", 1), _in("tvg-id:y", "http://h/1", "y", 2)]
    plan = plan_import({}, entries, elsewhere=elsewhere)
    assert [name for name, _ in plan.added] == ["x"]
    assert plan.notes == [(2, "same URL as channel 'a' (config/mine.yaml:2:3): skipped")]
