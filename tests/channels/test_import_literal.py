"""import m3u writes what the playlist says: after loading, every value is the playlist's text."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamrec.core.m3u import parse_m3u
from streamrec.spec.interpolate import Interpolator, escape
from streamrec.spec.loading import load_config
from streamrec.spec.yamlio import read_documents

CANARY = "canary-7f3a9c"
URL = (
    "http://127.0.0.1:9/x.m3u8?k=${STREAMREC_API_TOKEN}&u=${UNSET}&d=${A:-b}&l=$${lit}&s=$"
    "&t=${CAM_TOKEN"
)
TITLE = "News ${STREAMREC_API_TOKEN} $ $${ ${A:-b} ${UNSET} $$$${A}"
GROUP = "Group ${GROUP_VAR} $${x} ${A:-b}"
AGENT = "Agent/1 ${STREAMREC_API_TOKEN} ${UNSET} $"
REFERRER = "http://ref.example/${A:-b}?q=$${q}"
PLAYLIST = f"""#EXTM3U
#EXTINF:-1 tvg-id="x" group-title="{GROUP}",{TITLE}
#EXTVLCOPT:http-user-agent={AGENT}
#EXTVLCOPT:http-referrer={REFERRER}
{URL}
#EXTINF:-1 group-title="$${{}}",Second ${{CAM_TOKEN:-}}
http://127.0.0.1:9/second/${{UNSET}}/index.m3u8
"""
NAMED = ("STREAMREC_API_TOKEN", "UNSET", "A", "GROUP_VAR", "CAM_TOKEN", "lit", "x", "q")
ENVIRON = {
    "STREAMREC_API_TOKEN": CANARY + "-token",
    "A": CANARY + "-a",
    "GROUP_VAR": CANARY + "-group",
    "CAM_TOKEN": CANARY + "-cam",
}


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read: list[str] = []

    def __getitem__(self, name: str) -> str:
        self.read.append(name)
        return self.values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.append(name)
        return self.values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def playlist(tmp_path: Path) -> Path:
    """The playlist full of references, as a file."""
    path = tmp_path / "served" / "refs.m3u"
    path.parent.mkdir()
    path.write_text(PLAYLIST, encoding="utf-8")
    return path


@pytest.fixture
def served(playlist: Path) -> Iterator[str]:
    """The playlist's folder served over HTTP on 127.0.0.1; yields the playlist's URL."""
    handler = functools.partial(_QuietHandler, directory=str(playlist.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{playlist.name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _check_imported(directory: Path, written: Path) -> None:
    loader_environ = RecordingEnviron(dict(ENVIRON))
    config = load_config(directory, loader_environ).config
    assert not set(loader_environ.read) & set(NAMED), loader_environ.read
    first = config.channels["news-streamrec-api-token-a-b-unset-a"]
    assert first.url == URL
    assert first.description == TITLE
    assert list(first.input_args) == ["-user_agent", AGENT, "-referer", REFERRER]
    assert config.categories[first.category or ""].description == GROUP
    second = config.channels["second-cam-token"]
    assert second.url == "http://127.0.0.1:9/second/${UNSET}/index.m3u8"
    assert second.description == "Second ${CAM_TOKEN:-}"
    assert config.categories[second.category or ""].description == "$${}"
    assert CANARY not in json.dumps(config.model_dump(mode="json"))
    environ = RecordingEnviron(dict(ENVIRON))
    interpolator = Interpolator(str(written), environ)
    documents, problems = read_documents(str(written), written.read_text(encoding="utf-8"))
    assert problems == []
    for document, _pos in documents:
        interpolator.document(document)
    assert interpolator.problems == [] and interpolator.secrets == set()
    assert not set(environ.read) & set(NAMED), environ.read


def test_an_imported_file_loads_as_the_playlist_text_and_reads_no_variable(
    write_config, cli_for, playlist
):
    """Every ${...}, $${ and $ of a playlist file loads back as written, with no variable read."""
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    code, _, err = cli_for(directory)("import", "m3u", str(playlist), "-f", "tv.yaml", env=ENVIRON)
    assert code == 0, err
    _check_imported(directory, directory / "tv.yaml")


def test_a_playlist_from_a_url_is_written_literally_too(write_config, cli_for, served):
    """A playlist fetched over HTTP is escaped the same way as one read from a file."""
    directory = write_config({"settings.yaml": "settings: {timezone: UTC}\n"})
    code, _, err = cli_for(directory)("import", "m3u", served, "-f", "tv.yaml", env=ENVIRON)
    assert code == 0, err
    _check_imported(directory, directory / "tv.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_text_interpolates_to_itself_without_reading_the_environment(text):
    """For any text, interpolating escape(text) gives the text back and looks up no variable."""
    environ = RecordingEnviron({"A": CANARY})
    interpolator = Interpolator("x.yaml", environ)
    assert interpolator.substitute(escape(text), (1, 1)) == text
    assert interpolator.problems == [] and environ.read == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(),
            st.sampled_from(["#EXTM3U", "#EXTINF:-1,", "#EXTGRP:", "#EXTVLCOPT:a=b", "#EXTINF"]),
            st.builds(lambda a, b: f'#EXTINF:-1 {a}="{b}",{b}', st.text(), st.text()),
            st.builds(lambda s, b: f"{s}://{b}", st.sampled_from(["http", "rtmp", "x"]), st.text()),
        ),
        max_size=12,
    ),
    st.binary(max_size=64),
)
def test_the_parser_gives_entries_or_located_issues_for_any_input(lines, junk):
    """Arbitrary lines and bytes parse into entries and line-numbered issues, never an exception."""
    text = "\n".join(lines) + junk.decode("utf-8", errors="replace")
    playlist = parse_m3u(text, schemes=None)
    count = len(text.removeprefix("\ufeff").splitlines())
    for issue in playlist.issues:
        assert 1 <= issue.line <= max(1, count)
    for entry in playlist.entries:
        assert 1 <= entry.line <= count and entry.name
