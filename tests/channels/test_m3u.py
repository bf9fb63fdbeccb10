"""The M3U parser reads real-world playlists: attributes, groups, options, and every problem by line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streamrec.core.m3u import parse_m3u, slugify, unique_name

DATA = Path(__file__).parent / "data"


def real_world() -> str:
    return (DATA / "real-world.m3u").read_bytes().decode("utf-8")  # BOM kept: the parser strips it


def test_a_real_world_playlist_yields_its_http_channels_with_attributes():
    """BOM, CRLF, attributes in either quotes, titles with commas: the http entries all come out."""
    playlist = parse_m3u(real_world())
    by_name = {entry.name: entry for entry in playlist.entries}
    assert list(by_name) == [
        "trt-haber",  # "HD" is a tag, not part of the name
        "cnn-turk",
        "bein-sports-1",
        "bein-sports-1-2",
        "spor-smart-canli",
        "radyo-klasik",
        "muzik-kanali",
        "trt-haber-2",
        "первый-канал",
        "live",
    ]
    trt = by_name["trt-haber"]
    assert (trt.title, trt.group, trt.tvg_id, trt.tvg_name) == (
        "TRT Haber HD",
        "Haber",
        "trthaber.tr",
        "TRT Haber",
    )
    assert trt.tvg_logo == "http://logo.example.com/trthaber.png"
    assert trt.url == "http://127.0.0.1:9/live/trthaber/index.m3u8" and trt.line == 4
    assert by_name["spor-smart-canli"].group == "Spor, Canlı"
    assert by_name["spor-smart-canli"].title == "Spor Smart, Canlı"
    assert playlist.attrs["x-tvg-url"] == "http://epg.example.com/guide.xml.gz"


def test_missing_attributes_extgrp_and_player_options_are_understood():
    """Empty tvg attributes are None; #EXTGRP gives the group; VLC and Kodi options are kept."""
    by_name = {entry.name: entry for entry in parse_m3u(real_world()).entries}
    bein = by_name["bein-sports-1"]
    assert bein.tvg_id is None and bein.tvg_name is None and bein.tvg_logo is None
    assert by_name["radyo-klasik"].group == "Radyo"
    assert by_name["cnn-turk"].options == {
        "http-user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "http-referrer": "http://www.example.com/",
    }
    muzik = by_name["muzik-kanali"]
    assert muzik.url == "http://127.0.0.1:9/muzik/index.m3u8"
    assert muzik.options == {
        "http-user-agent": "VLC/3.0.20",
        "http-referrer": "http://muzik.example.com/",
    }
    assert by_name["live"].title == "live"  # no title at all: taken from the URL's path


def test_every_skipped_line_is_reported_with_its_number():
    """A repeated URL, rtmp and udp lines, an #EXTINF without URL, junk and a path are reported."""
    issues = {issue.line: issue.message for issue in parse_m3u(real_world()).issues}
    assert issues[25] == "same URL as line 4 (trt-haber): skipped"
    assert issues[27].startswith("rtmp:// is not an http(s) URL: skipped")
    assert issues[29].startswith("udp:// is not an http(s) URL: skipped")
    assert issues[30] == "#EXTINF without a URL after it: skipped"
    assert issues[34] == "not a URL or a #EXT line: skipped ('this is not a url at all')"
    assert issues[38].startswith("a local path")
    assert len(issues) == 6


def test_other_schemes_are_imported_when_asked():
    """With schemes=None the rtmp and udp entries become channels too."""
    names = [entry.name for entry in parse_m3u(real_world(), schemes=None).entries]
    assert "yerel-rtmp" in names and "multicast-udp" in names


def test_names_avoid_those_already_taken():
    """A name used elsewhere in the config gets the next free suffix."""
    text = "#EXTM3U\n#EXTINF:-1,News\nhttp://a/1\n#EXTINF:-1,News\nhttp://a/2\n"
    names = [e.name for e in parse_m3u(text, taken={"news", "news-3"}).entries]
    assert names == ["news-2", "news-4"]


def test_a_playlist_without_header_and_an_hls_playlist_are_reported():
    """A bare URL list still imports (noted); an HLS media playlist is recognised as one."""
    bare = parse_m3u("http://a.example/x/stream.m3u8\n")
    assert [e.name for e in bare.entries] == ["x"]
    assert "no #EXTM3U header" in bare.issues[0].message
    hls = parse_m3u("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg1.ts\n")
    assert any("HLS stream playlist" in issue.message for issue in hls.issues)
    assert not hls.entries


def test_slugs_fold_accents_and_keep_non_latin_words():
    """Turkish and German fold to ASCII; Cyrillic is kept; nothing usable becomes 'channel'."""
    assert slugify("Şov TV  HD!") == "sov-tv-hd"
    assert slugify("Straße 1") == "strasse-1"
    assert slugify("Первый канал") == "первый-канал"
    assert slugify("!!!") == "channel"
    assert unique_name("a", {"a", "a-2"}) == "a-3"


@given(st.lists(st.text(max_size=40), max_size=30))
def test_any_text_parses_without_error_into_unique_names(lines):
    """Whatever the lines hold, parsing never raises and the names are unique and non-empty."""
    text = "\n".join(lines)
    playlist = parse_m3u(text, schemes=None)
    names = [entry.name for entry in playlist.entries]
    assert len(names) == len(set(names))
    assert all(names)


@given(st.lists(st.sampled_from(["News", "news", "NEWS!", "Néws", "n-e-w-s"]), max_size=20))
def test_duplicate_titles_get_numbered_names(titles):
    """Titles that slug the same become news, news-2, news-3, ... in playlist order."""
    text = "#EXTM3U\n" + "".join(
        f"#EXTINF:-1,{title}\nhttp://h/{i}\n" for i, title in enumerate(titles)
    )
    names = [entry.name for entry in parse_m3u(text).entries]
    assert len(set(names)) == len(titles)
