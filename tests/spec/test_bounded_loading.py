"""Hostile config files are located errors, found fast: no hang, no RecursionError, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from streamrec.errors import ConfigError
from streamrec.spec.limits import MIB, Limits
from streamrec.spec.loading import load_config

CHANNEL = 'channels:\n  ok:\n    url: "http://127.0.0.1:9/live.m3u8"\n'


def alias_bomb(directory: Path) -> str:
    """Nine levels of nine aliases of a list: ~1 KB that stands for 9**9 strings."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        items = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{items}]")
    (directory / "bomb.yaml").write_text("\n".join(lines) + "\n")
    return "bomb.yaml:"


def fifo(directory: Path) -> str:
    os.mkfifo(directory / "zz.yaml")
    return "zz.yaml: the path is a FIFO (named pipe), not a regular file"


def link_to_zero(directory: Path) -> str:
    (directory / "z.yaml").symlink_to("/dev/zero")
    return "z.yaml: the path is a character device, not a regular file (it links to /dev/zero)"


def link_to_urandom(directory: Path) -> str:
    (directory / "u.yaml").symlink_to("/dev/urandom")
    return "u.yaml: the path is a character device, not a regular file (it links to /dev/urandom)"


def socket_file(directory: Path) -> str:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(directory / "s.yaml"))
    return "s.yaml: the path is a socket, not a regular file"


def open_brackets(directory: Path) -> str:
    (directory / "b.yaml").write_text("[" * 100_000)
    return "b.yaml:1:65: mappings and lists nested deeper than 64 levels"


def nested_mappings(directory: Path) -> str:
    text = "".join(" " * level + f"k{level}:\n" for level in range(1000))
    (directory / "m.yaml").write_text(text)
    return "m.yaml:65:"


def nested_flow_sequences(directory: Path) -> str:
    (directory / "f.yaml").write_text("channels: " + "[" * 1000 + "]" * 1000 + "\n")
    return "f.yaml:1:74: mappings and lists nested deeper than 64 levels"


def over_the_size_cap(directory: Path) -> str:
    with (directory / "big.yaml").open("wb") as big:
        big.truncate(8 * MIB + 1)
    return "big.yaml: the file is 8,388,609 bytes, over 8 MiB (the limit of one config file)"


def long_scalar(directory: Path) -> str:
    (directory / "l.yaml").write_text("settings:\n  timezone: " + "x" * (MIB + 1) + "\n")
    return "l.yaml:2:13: a value of 1,048,577 characters is longer than 1,048,576"


def over_the_total_cap(directory: Path) -> str:
    for index in range(9):
        with (directory / f"part{index}.yaml").open("wb") as part:
            part.truncate(8 * MIB)
    return f"{directory}: the config files together are over 64 MiB (the limit of a config dir"


BAD_FILES: dict[str, Callable[[Path], str]] = {
    "alias bomb": alias_bomb,
    "fifo": fifo,
    "symlink to /dev/zero": link_to_zero,
    "symlink to /dev/urandom": link_to_urandom,
    "socket": socket_file,
    "100,000 [": open_brackets,
    "1,000 nested mappings": nested_mappings,
    "1,000 nested flow sequences": nested_flow_sequences,
    "over the size cap": over_the_size_cap,
    "long scalar": long_scalar,
    "over the total cap": over_the_total_cap,
}


def bad_directory(tmp_path: Path, case: str) -> tuple[Path, str]:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "a.yaml").write_text(CHANNEL)
    return directory, BAD_FILES[case](directory)


def rendered(directory: Path, limits: Limits | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        if limits is None:
            load_config(directory, {})
        else:
            load_config(directory, {}, limits=limits)
    return [str(p).replace(f"{directory}{os.sep}", "") for p in info.value.problems]


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_each_bad_file_is_a_located_error_of_load_config(tmp_path, case):
    """Each hostile file gives its located problem through load_config, within seconds."""
    directory, expected = bad_directory(tmp_path, case)
    problems = rendered(directory)
    assert any(p.startswith(expected) for p in problems), problems
    if case == "alias bomb":
        assert "aliases expand to more than 1,000,000 nodes" in problems[0]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_each_bad_file_fails_validate_with_its_located_error(tmp_path, case):
    """`streamrec validate` exits 1 with the located problem and no traceback for each file."""
    directory, expected = bad_directory(tmp_path, case)
    done = subprocess.run(
        [sys.executable, "-m", "streamrec", "-c", str(directory), "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output and "RecursionError" not in output
    assert expected.split(":", 1)[1].strip()[:40] in " ".join(output.split()), output


@pytest.mark.timeout(10)
def test_limits_are_injectable_and_each_names_its_value(write_config):
    """Lowered limits are enforced, and each message names the limit and its value."""
    d = write_config(
        {
            "a.yaml": "settings:\n  timezone: Europe/Istanbul\n",
            "b.yaml": "channels: {x: {url: [[[1]]]}}\n",
            "c.yaml": "x: &x [1, 2, 3]\ny: [*x, *x, *x, *x]\n",
        }
    )
    limits = Limits(file_bytes=40, total_bytes=120, alias_nodes=10, depth=3, scalar_chars=10)
    problems = rendered(d, limits)
    assert problems[0].startswith("a.yaml:2:13: a value of 15 characters is longer than 10")
    assert problems[1].startswith("b.yaml:1:21: mappings and lists nested deeper than 3 levels")
    assert problems[2].startswith("c.yaml:2:13: aliases expand to more than 10 nodes")


@pytest.mark.timeout(10)
def test_a_file_over_a_lowered_cap_is_refused_before_reading(write_config):
    """A file over the per-file cap is refused with the cap's value."""
    d = write_config({"a.yaml": CHANNEL})
    problems = rendered(d, Limits(file_bytes=16))
    assert problems == [
        "a.yaml: the file is 56 bytes, over 16 bytes (the limit of one config file); "
        "it is skipped and the config is not loaded"
    ]


NAMES = {
    "NUL": ("a\\0b", "'a\\x00b' contains a control character (U+0000)"),
    "newline": ("a\\nb", "'a\\nb' contains a control character (U+000A)"),
    "bidi override": ("a\\u202eb", "'a\\u202eb' contains a formatting character (U+202E)"),
    "DEL": ("a\\x7fb", "'a\\x7fb' contains a control character (U+007F)"),
    "C1": ("a\\x85b", "'a\\x85b' contains a control character (U+0085)"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_a_channel_name_with_a_control_or_format_character_is_located(write_config, case):
    """Such a channel name is a problem at its key, printed escaped."""
    escaped, message = NAMES[case]
    d = write_config({"a.yaml": f'channels:\n  "{escaped}":\n    url: "http://127.0.0.1:9/"\n'})
    problems = rendered(d)
    assert problems == [
        f"a.yaml:2:3: channel name {message}; names may not contain control or formatting "
        "characters (they end up in file names, hooks and logs)"
    ]


def test_category_task_and_queue_names_are_checked_too(write_config):
    """Categories, tasks and queues with a NUL in their name are located problems."""
    d = write_config(
        {
            "a.yaml": 'categories:\n  "c\\0": {}\ntasks:\n  "t\\0": {command: "true"}\n'
            'queues:\n  "q\\0": {tasks: []}\n'
        }
    )
    problems = rendered(d)
    assert [p.split(" contains")[0] for p in problems] == [
        "a.yaml:2:3: category name 'c\\x00'",
        "a.yaml:4:3: task name 't\\x00'",
        "a.yaml:6:3: queue name 'q\\x00'",
    ]
