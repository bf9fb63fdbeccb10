"""The config cache of validate and plan: reused only while every input is the same.

Inputs are compared by content: the files, ``.env`` and the environment variables the config
interpolates. An entry holds secrets, so it is a 0600 file in a 0700 directory, and one that is
corrupt or no longer private is ignored (and written again).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from streamrec.app.applying import desired_of
from streamrec.app.configcache import Cached, entry_path, load_cached
from streamrec.spec.loading import LoadedConfig, load_config

FILES = {
    "main.yaml": """
        settings: {timezone: UTC}
        channels:
          news: {url: "rtmp://127.0.0.1/live/${STREAM_KEY}"}
        """,
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"STREAM_KEY": "key-0123456789", "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.fixture
def cached(write_config, monkeypatch, tmp_path) -> Callable[[Mapping[str, str]], Cached]:
    directory = write_config(FILES)
    monkeypatch.chdir(tmp_path)

    def run(environ: Mapping[str, str]) -> Cached:
        def load(recording: Mapping[str, str]) -> LoadedConfig:
            return load_config(directory, recording)

        return load_cached(directory, environ, load, desired_of)

    return run


def url(result: Cached) -> str:
    return result.loaded.config.channels["news"].url


def test_a_second_load_with_the_same_inputs_comes_from_the_cache(cached, env):
    """The entry is used while nothing changed, and gives the same config and revision."""
    first, second = cached(env), cached(env)
    assert (first.hit, second.hit) == (False, True)
    assert second.loaded == first.loaded
    assert second.desired == first.desired
    assert cached({**env, "UNRELATED": "x"}).hit  # a variable the config does not name


def test_a_changed_file_is_loaded_again(cached, env, write_config):
    """A file edited (its content, not its time) or added makes the entry stale."""
    cached(env)
    write_config({"main.yaml": FILES["main.yaml"].replace("news", "sport")})
    result = cached(env)
    assert not result.hit and list(result.loaded.config.channels) == ["sport"]
    write_config({"more.yaml": "categories: {music: {}}\n"})
    result = cached(env)
    assert not result.hit and list(result.loaded.config.categories) == ["music"]
    assert cached(env).hit


def test_an_edited_streamrec_module_is_a_miss(cached, env, monkeypatch, tmp_path):
    """An edited checkout keeps its version, so streamrec's own modules are part of the key: a
    changed validation rule is never answered from an entry the old code made."""
    cached(env)
    package = tmp_path / "package"
    (package / "spec").mkdir(parents=True)
    (package / "spec" / "model.py").write_text("RULE = 1\n")
    monkeypatch.setattr("streamrec.app.configcache._PACKAGE", package)
    assert not cached(env).hit and cached(env).hit
    (package / "spec" / "model.py").write_text("RULE = 22\n")  # a new size, a new time
    assert not cached(env).hit and cached(env).hit


def test_a_changed_interpolated_variable_is_loaded_again(cached, env, write_config):
    """The value of a variable the config interpolates is part of the key, and so is .env."""
    cached(env)
    result = cached({**env, "STREAM_KEY": "key-9876543210"})
    assert not result.hit and url(result) == "rtmp://127.0.0.1/live/key-9876543210"
    without = {k: v for k, v in env.items() if k != "STREAM_KEY"}
    write_config({".env": "STREAM_KEY=key-from-dotenv-1\n"})
    result = cached(without)
    assert not result.hit and url(result) == "rtmp://127.0.0.1/live/key-from-dotenv-1"
    write_config({".env": "STREAM_KEY=key-from-dotenv-2\n"})
    result = cached(without)
    assert not result.hit and url(result) == "rtmp://127.0.0.1/live/key-from-dotenv-2"


def test_the_entry_is_private(cached, env, write_config):
    """0600 in a 0700 directory, even when the cache directory existed open to others."""
    directory = write_config(FILES)
    path = entry_path(directory, env)
    path.parent.mkdir(parents=True, mode=0o755)
    path.parent.chmod(0o755)
    cached(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    "spoil",
    [
        lambda path: path.write_bytes(b"not a pickle"),
        lambda path: path.write_bytes(path.read_bytes()[:100]),
        lambda path: path.write_bytes(b"\x80\x05K\x01."),  # a valid pickle of something else
        lambda path: path.chmod(0o644),  # no longer private: never read
    ],
)
def test_a_corrupt_or_open_entry_is_ignored_and_rewritten(cached, env, write_config, spoil):
    directory = write_config(FILES)
    cached(env)
    path = entry_path(directory, env)
    spoil(path)
    result = cached(env)
    assert not result.hit and url(result) == "rtmp://127.0.0.1/live/key-0123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cached(env).hit


def test_validate_and_plan_ignore_a_corrupt_entry(write_config, cli_for, env):
    """Through the command line: garbage in the entry changes nothing of what is printed."""
    directory = write_config(FILES)
    cli = cli_for(directory)
    code, first, _ = cli("plan", env=env)
    assert code == 0 and "+ channel/news" in first
    path = entry_path(directory, env)
    assert path.exists()
    path.write_bytes(os.urandom(64))
    assert cli("plan", env=env) == (0, first, "")
    code, out, _ = cli("validate", env=env)
    assert code == 0 and "1 channels" in out


def test_a_corrupt_part_behind_a_good_brief_is_loaded_afresh(
    write_config, monkeypatch, tmp_path, env
):
    """A brief-only hit whose plan or config part cannot be read back loads the files instead of
    failing when that part is first used (and is no longer reported as a hit)."""
    import pickle

    directory = write_config(FILES)
    monkeypatch.chdir(tmp_path)

    def load(recording: Mapping[str, str]) -> LoadedConfig:
        return load_config(directory, recording)

    first = load_cached(directory, env, load, desired_of)
    path = entry_path(directory, env)
    key, environ, brief, _planned, _pickled = pickle.loads(path.read_bytes())
    path.write_bytes(pickle.dumps((key, environ, brief, b"not a pickle", b"nor this")))
    again = load_cached(directory, env, load, desired_of, brief_only=True)
    assert again.hit and again.brief == first.brief
    assert again.desired == first.desired
    assert again.loaded == first.loaded
    assert not again.hit
