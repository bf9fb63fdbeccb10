"""Whatever bytes a config file holds, loading gives a valid config or located problems, nothing else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamrec.errors import ConfigError
from streamrec.spec.loading import load_config

names = st.text(alphabet="abcdefghij-_0123456789", min_size=1, max_size=8)
durations = st.sampled_from(["90s", "30m", "1h30m", "7d", "0s", "-1s", "5x", 10, "none"])
times = st.sampled_from(["20:00", "02:00", "24:00", "7:5", "noon"])
crons = st.sampled_from(["0 3 * * *", "*/5 * * * *", "61 * * * *", "@daily", "* *"])

channel = st.fixed_dictionaries(
    {"url": st.sampled_from(["http://127.0.0.1/a.m3u8", "rtmp://h/app/k", "nope", ""])},
    optional={
        "category": names,
        "format": st.sampled_from(["ts", "mkv", "mp4", "avi"]),
        "segment": durations,
        "schedule": st.lists(
            st.one_of(
                st.fixed_dictionaries({"start": times, "end": times}),
                st.fixed_dictionaries({"cron": crons, "duration": durations}),
                st.fixed_dictionaries({"at": st.just("2026-12-31T23:00"), "duration": durations}),
            ),
            max_size=2,
        ),
        "on_segment": st.lists(names, max_size=2),
        "retention": st.fixed_dictionaries(
            {}, optional={"max_size": st.sampled_from(["5GB", "x"])}
        ),
    },
)
task = st.fixed_dictionaries(
    {"command": st.sampled_from(["true", "echo ${X}", "", "exit 3"])},
    optional={
        "depends_on": st.one_of(names, st.lists(names, max_size=3)),
        "schedule": st.one_of(crons, st.just("once"), st.fixed_dictionaries({"every": durations})),
        "timeout": durations,
        "retries": st.fixed_dictionaries({"limit": st.integers(-1, 3)}),
    },
)
config = st.fixed_dictionaries(
    {},
    optional={
        "settings": st.fixed_dictionaries(
            {}, optional={"timezone": st.sampled_from(["UTC", "Europe/Istanbul", "Mars/X"])}
        ),
        "categories": st.dictionaries(names, st.just({}), max_size=3),
        "channels": st.dictionaries(names, channel, max_size=4),
        "tasks": st.dictionaries(names, task, max_size=5),
        "queues": st.dictionaries(
            names, st.fixed_dictionaries({"tasks": st.lists(names, max_size=3)}), max_size=2
        ),
    },
)


def _yaml(value: object) -> str:
    """JSON is YAML: a faithful rendering of the generated config (block style via line breaks)."""
    return json.dumps(value, indent=2)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = _yaml(draw(config)).encode()
    for _ in range(draw(st.integers(0, 3))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "insert", "duplicate-line"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        elif action == "insert":
            junk = draw(
                st.sampled_from([b"\t", b":", b"- ", b"{", b"\xff", b"&a ", b"*a", b"\n  x"])
            )
            text = text[:at] + junk + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            text = b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=mutated())
def test_loading_any_content_gives_a_config_or_located_problems(content: bytes) -> None:
    """Generated configs with random mutations never escape as anything but ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "a.yaml").write_bytes(content)
        try:
            loaded = load_config(directory, {"X": "1"})
        except ConfigError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.message
                assert problem.path.endswith("a.yaml") or problem.path == str(directory)
                assert problem.line >= 0
                assert problem.col >= 0
                if problem.line:
                    assert problem.line <= content.count(b"\n") + 2
        else:
            assert loaded.config is not None
