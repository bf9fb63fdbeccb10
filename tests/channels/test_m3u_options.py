"""Playlist entries read as players read them: Kodi and VLC options, identities, resolvers."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from streamrec.core.m3u import parse_m3u
from streamrec.core.platforms import platform_of, resolver_for
from streamrec.core.player_options import kodi_headers, normalise_url, split_url

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"


def one(text: str):
    playlist = parse_m3u("#EXTM3U\n" + text)
    assert len(playlist.entries) == 1, playlist.issues
    return playlist.entries[0]


def test_kodi_options_with_spaces_and_percent_encoding_are_headers():
    """A real user agent holds spaces; the URL ends at the ``|``; values are percent-decoded."""
    entry = one(
        f"#EXTINF:-1,Kanal\nhttp://h/a.m3u8|User-Agent={UA}"
        "&Referer=https%3A%2F%2Fsite.example%2Fplayer%3Fa%3D1%26b%3D2&origin=https://site.example\n"
    )
    assert entry.url == "http://h/a.m3u8"
    assert entry.headers == {
        "User-Agent": UA,
        "Referer": "https://site.example/player?a=1&b=2",
        "Origin": "https://site.example",
    }
    assert entry.options == {
        "http-user-agent": UA,
        "http-referrer": "https://site.example/player?a=1&b=2",
    }


def test_a_pipe_without_a_name_is_part_of_the_url():
    assert split_url("http://h/a|b.m3u8") == ("http://h/a|b.m3u8", "")
    assert split_url("http://h/a.m3u8|User-Agent=x|y") == ("http://h/a.m3u8", "User-Agent=x|y")
    assert kodi_headers("User-Agent=&Bad Name=x&=y&noequals&X-Token=a%20b") == {"X-Token": "a b"}


def test_vlc_options_and_kodi_properties_are_headers_too():
    """``#EXTVLCOPT`` and ``#KODIPROP`` stream headers; the ``|`` options win over both."""
    entry = one(
        "#EXTINF:-1,Kanal\n"
        "#EXTVLCOPT:http-user-agent=VLC/3.0.20 LibVLC/3.0.20\n"
        "#EXTVLCOPT:http-referrer=http://vlc.example/\n"
        "#EXTVLCOPT:http-origin=http://vlc.example\n"
        "#EXTVLCOPT:network-caching=1000\n"
        "#KODIPROP:inputstream.adaptive.manifest_type=mpd\n"
        "#KODIPROP:inputstream.adaptive.stream_headers=Referer=http%3A%2F%2Fkodi.example%2F"
        "&Cookie=a=b\n"
        "http://h/a.mpd|Origin=http://pipe.example\n"
    )
    assert entry.headers == {
        "User-Agent": "VLC/3.0.20 LibVLC/3.0.20",
        "Referer": "http://kodi.example/",
        "Origin": "http://pipe.example",
        "Cookie": "a=b",
    }
    assert entry.options["network-caching"] == "1000"
    assert entry.attrs["inputstream.adaptive.manifest_type"] == "mpd"


def test_options_belong_to_the_next_url_only():
    text = (
        "#EXTM3U\n#EXTINF:-1,A\n#EXTVLCOPT:http-user-agent=X\n#KODIPROP:inputstream.adaptive."
        "stream_headers=Referer=http://r/\nhttp://h/a.m3u8\n#EXTINF:-1,B\nhttp://h/b.m3u8\n"
    )
    first, second = parse_m3u(text).entries
    assert first.headers == {"User-Agent": "X", "Referer": "http://r/"}
    assert second.headers == {} and second.options == {} and second.attrs == {}


def test_shift_catchup_and_group_attributes():
    entry = one(
        '#EXTINF:-1 tvg-id="ert1.gr" tvg-shift="+2" catchup="shift" catchup-days="7" '
        'catchup-source="?utc={utc}",ΕΡΤ 1\n#EXTGRP:Ελλάδα\nhttp://h/ert1.m3u8\n'
    )
    assert entry.shift == "+2"
    assert entry.catchup == {
        "catchup": "shift",
        "catchup-days": "7",
        "catchup-source": "?utc={utc}",
    }
    assert entry.group == "Ελλάδα" and entry.name == "ερτ-1"


def test_keys_name_an_entry_by_tvg_id_else_its_url():
    """The identity survives another quality, fresh tokens, a new password and Kodi options."""
    with_id = one('#EXTINF:-1 tvg-id=" AXN.us ",AXN (720p) [Not 24/7]\nhttp://h/axn/720.m3u8\n')
    assert (with_id.key, with_id.name, with_id.tags) == (
        "tvg-id:AXN.us",
        "axn",
        ("720p", "Not 24/7"),
    )
    plain = one(
        "#EXTINF:-1,News\nHTTP://User:pw@Example.COM:80/Live/x.m3u8?token=abc&q=1#f|User-Agent=x\n"
    )
    assert plain.key == "url:http://example.com/Live/x.m3u8?q=1"
    assert normalise_url("https://h:443/a?sig=1&auth_key=2") == "https://h/a"
    assert normalise_url("https://h:8443/a") == "https://h:8443/a"


def test_a_url_repeated_with_other_options_is_a_duplicate():
    text = "#EXTM3U\n#EXTINF:-1,A\nhttp://h/a.m3u8\n#EXTINF:-1,B\nhttp://H/a.m3u8|User-Agent=x\n"
    playlist = parse_m3u(text)
    assert [e.name for e in playlist.entries] == ["a"]
    assert playlist.issues[-1].message == "same URL as line 3 (a): skipped"


PAGES = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://youtu.be/dQw4w9WgXcQ",
    "https://www.youtube.com/@France24/live",
    "https://m.youtube.com/channel/UCx/live",
    "https://www.twitch.tv/somechannel",
    "https://www.dailymotion.com/video/x8abc",
    "https://vimeo.com/123456",
    "https://kick.com/somechannel",
    "https://live.bilibili.com/12345",
    "https://ok.ru/live/123",
]
MEDIA = [
    "http://h/live/index.m3u8",
    "https://h/manifest.mpd",
    "http://h/stream.ts",
    "http://h/radio.aac",
    "http://h/radio.mp3",
    "http://icecast.example:8000/stream",
    "http://shoutcast.example:8000/;",
    "https://www.youtube.com/api/manifest/hls_playlist/id/x/index.m3u8",
    "https://notyoutube.com/watch?v=x",
    "rtmp://youtube.com/live/x",
    "http://[bad",
]


def test_page_urls_of_platforms_get_streamlink_and_media_urls_stay_direct():
    assert [resolver_for(url) for url in PAGES] == ["streamlink"] * len(PAGES)
    assert [resolver_for(url) for url in MEDIA] == ["direct"] * len(MEDIA)
    assert platform_of("https://www.twitch.tv/x") == "Twitch"


def test_entries_carry_the_resolver_of_their_url():
    text = "#EXTM3U\n#EXTINF:-1,France 24\nhttps://www.youtube.com/@France24/live\n"
    text += "#EXTINF:-1,Radio\nhttp://icecast.example:8000/stream\n"
    page, radio = parse_m3u(text).entries
    assert (page.resolver, radio.resolver) == ("streamlink", "direct")


@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="&\r\n\x00"),
        min_size=1,
        max_size=40,
    )
)
def test_any_header_value_survives_percent_encoding(value):
    """A value written percent-encoded (as Kodi writes any value) comes back as it was."""
    value = value.strip()
    if not value:
        return
    entry = one(f"#EXTINF:-1,A\nhttp://h/a.m3u8|User-Agent={quote(value, safe='')}\n")
    assert entry.headers == {"User-Agent": value}
