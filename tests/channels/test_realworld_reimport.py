"""A playlist shaped like the public ones people import: duplicates, titles in many scripts, quality
and status decorations, Kodi and VLC options with real user agents, platform page URLs. Imported,
then edited (entries removed, added and reordered) and imported again: only the edited entries
change, every other channel keeps its name, its URL and its options."""

from __future__ import annotations

import json
from pathlib import Path

from streamrec.spec.loading import load_config

AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
HOST = "http://127.0.0.1:9"

ENTRIES: list[tuple[str, str]] = [
    ('#EXTINF:-1 group-title="Беларусь",Беларусь 1', f"{HOST}/by/1/index.m3u8"),
    ('#EXTINF:-1 group-title="Беларусь",Беларусь 5 Интернет', f"{HOST}/by/5/index.m3u8"),
    ('#EXTINF:-1 tvg-id="bsasahi.jp" group-title="日本",BS朝日', f"{HOST}/jp/bs/index.m3u8"),
    ('#EXTINF:-1 group-title="Ελλάδα",ΕΡΤ 1', f"{HOST}/gr/ert1/index.m3u8"),
    ('#EXTINF:-1 group-title="ישראל",כאן 11', f"{HOST}/il/kan11/index.m3u8"),
    ('#EXTINF:-1 group-title="体育",CCTV5+ 体育赛事1', f"{HOST}/cn/cctv5p/index.m3u8"),
    ('#EXTINF:-1 group-title="体育",CCTV5 体育赛事1', f"{HOST}/cn/cctv5/index.m3u8"),
    ('#EXTINF:-1 group-title="Movies",AXN (720p) [Not 24/7]', f"{HOST}/axn/index.m3u8"),
    ('#EXTINF:-1 group-title="Haber",Kanal 34', f"{HOST}/kanal34/0/index.m3u8"),
    ('#EXTINF:-1 group-title="Haber",Kanal 34', f"{HOST}/kanal34/1/index.m3u8"),
    ('#EXTINF:-1 group-title="Haber",Kanal 34', f"{HOST}/kanal34/2/index.m3u8"),
    ('#EXTINF:-1 group-title="Haber",Kanal 34 HD', f"{HOST}/kanal34/3/index.m3u8"),
    (
        '#EXTINF:-1 group-title="Movies",Kodi Movies',
        f"{HOST}/kodi/index.m3u8|User-Agent={AGENT}&Referer={HOST}/page",
    ),
    (
        f'#EXTINF:-1 group-title="Movies",VLC Movies\n#EXTVLCOPT:http-user-agent={AGENT}',
        f"{HOST}/vlc/index.m3u8",
    ),
    ('#EXTINF:-1 group-title="Live",A Live Page', "https://www.youtube.com/@somechannel/live"),
    ('#EXTINF:-1 group-title="Live",A Twitch Channel', "https://www.twitch.tv/somechannel"),
    # the same stream twice: one channel
    ('#EXTINF:-1 group-title="Haber",Kanal 34 (copy)', f"{HOST}/kanal34/0/index.m3u8"),
]


def _playlist(entries: list[tuple[str, str]]) -> str:
    return "#EXTM3U\n" + "".join(f"{info}\n{url}\n" for info, url in entries)


def _channels(directory: Path) -> dict[str, dict[str, object]]:
    config = load_config(directory, {}).config
    return {
        name: {"url": c.url, "resolver": c.resolver, "input_args": list(c.input_args)}
        for name, c in config.channels.items()
    }


def test_an_edited_real_world_playlist_changes_only_the_edited_entries(
    write_config, cli_for, tmp_path
):
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    cli = cli_for(directory)
    source = tmp_path / "world.m3u8"
    source.write_text(_playlist(ENTRIES), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source), "-o", "json")
    assert code == 0, err
    first = _channels(directory)

    # every script keeps its letters; decorations are not name parts
    for name in ("беларусь-1", "беларусь-5-интернет", "bs朝日", "ερτ-1", "כאן-11", "axn"):
        assert name in first, sorted(first)
    cctv = [n for n in first if n.startswith("cctv5")]
    assert len(cctv) == 2 and all("体育赛事1" in n for n in cctv), cctv
    assert not any("720p" in n or "24-7" in n for n in first)
    # options with spaces are read as players read them; page URLs get a resolver
    kodi = next(c for c in first.values() if str(c["url"]).endswith("/kodi/index.m3u8"))
    vlc = next(c for c in first.values() if str(c["url"]).endswith("/vlc/index.m3u8"))
    assert AGENT in kodi["input_args"] and AGENT in vlc["input_args"]
    assert not any("|" in str(c["url"]) for c in first.values())
    pages = [c for c in first.values() if "youtube" in str(c["url"]) or "twitch" in str(c["url"])]
    assert len(pages) == 2 and all(c["resolver"] == "streamlink" for c in pages)
    # one stream, one channel
    urls = [c["url"] for c in first.values()]
    assert len(urls) == len(set(urls)) == len(ENTRIES) - 1

    # the edit: one Kanal 34 and ΕΡΤ 1 leave, two entries arrive, the rest is reversed
    removed_urls = {f"{HOST}/kanal34/1/index.m3u8", f"{HOST}/gr/ert1/index.m3u8"}
    arriving = [
        ('#EXTINF:-1 group-title="Haber",Kanal 34', f"{HOST}/kanal34/new/index.m3u8"),
        ('#EXTINF:-1 group-title="Беларусь",Беларусь 24', f"{HOST}/by/24/index.m3u8"),
    ]
    kept = [e for e in ENTRIES if e[1] not in removed_urls]
    edited = arriving[:1] + list(reversed(kept)) + arriving[1:]
    source.write_text(_playlist(edited), encoding="utf-8")
    code, out, err = cli("import", "m3u", str(source), "--prune", "-o", "json")
    assert code == 0, err
    report = json.loads(out)
    after = _channels(directory)

    gone = {n for n, c in first.items() if c["url"] in removed_urls}
    assert sorted(report["removed"]) == sorted(gone)
    assert report["changed"] == {}
    assert len(report["added"]) == 2
    assert {str(after[n]["url"]) for n in report["added"]} == {url for _, url in arriving}
    # everything else: the same name with the same URL, resolver and options
    assert {n: c for n, c in after.items() if n not in report["added"]} == {
        n: c for n, c in first.items() if n not in gone
    }

    # the same edited playlist again: nothing to write
    written = {p: p.read_bytes() for p in directory.glob("*.yaml")}
    code, out, err = cli("import", "m3u", str(source), "--prune")
    assert code == 0, err
    assert {p: p.read_bytes() for p in directory.glob("*.yaml")} == written
