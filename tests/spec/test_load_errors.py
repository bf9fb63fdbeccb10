"""Every class of config problem is reported with its exact file:line:col, all in one run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from streamrec.errors import ConfigError
from streamrec.spec.loading import load_config


def problems_of(directory: Path, environ: dict[str, str] | None = None) -> list[str]:
    """The rendered problems of a config directory, with paths relative to it."""
    with pytest.raises(ConfigError) as info:
        load_config(directory, environ or {})
    return [str(p).replace(f"{directory}{os.sep}", "") for p in info.value.problems]


def only(directory: Path, environ: dict[str, str] | None = None) -> str:
    found = problems_of(directory, environ)
    assert len(found) == 1, found
    return found[0]


def test_yaml_syntax_error_is_located(write_config):
    """An unclosed flow sequence is reported where the parser gave up."""
    d = write_config({"a.yaml": "channels:\n  x: {url: [1, 2\n"})
    assert only(d).startswith("a.yaml:3:1: invalid YAML: ")


def test_tab_indentation_is_located_and_explained(write_config):
    """A tab used for indentation points at the tab and says to use spaces."""
    d = write_config({"a.yaml": "channels:\n\tx: {url: 'http://h/'}\n"})
    message = only(d)
    assert message.startswith("a.yaml:2:1: invalid YAML: ")
    assert "tabs" in message


def test_duplicate_key_names_both_lines(write_config):
    """A key given twice in one mapping is reported at the second, naming the first."""
    d = write_config({"a.yaml": "channels:\n  x:\n    url: http://a/\n    url: http://b/\n"})
    assert only(d) == "a.yaml:4:5: duplicate key 'url' (first defined at line 3, column 5)"


def test_duplicate_name_across_files_names_both_places(write_config):
    """The same channel in two files is an error naming both declarations."""
    d = write_config(
        {
            "a.yaml": "channels:\n  x: {url: 'http://a/'}\n",
            "b.yaml": "channels:\n  x: {url: 'http://b/'}\n",
        }
    )
    message = only(d)
    assert message.startswith("b.yaml:2:3: channel 'x' is declared twice: here and at ")
    assert message.endswith("a.yaml:2:3")


def test_wrong_type_is_located_at_the_value(write_config):
    """A string where a number belongs points at the value."""
    d = write_config({"a.yaml": "settings:\n  max_parallel_tasks: many\n"})
    assert only(d).startswith("a.yaml:2:23: settings.max_parallel_tasks: Input should be")


def test_unknown_key_suggests_the_right_one(write_config):
    """A misspelt key is located at the key, with a did-you-mean."""
    d = write_config({"a.yaml": "channels:\n  x:\n    url: http://a/\n    segmnt: 1h\n"})
    assert only(d) == "a.yaml:4:5: unknown key 'segmnt' (did you mean 'segment'?) in channels.x"


def test_unknown_section_suggests_the_right_one(write_config):
    """A misspelt top-level section is located with a did-you-mean."""
    d = write_config({"a.yaml": "chanels:\n  x: {url: 'http://a/'}\n"})
    assert only(d).startswith("a.yaml:1:1: unknown section 'chanels' (did you mean 'channels'?)")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  timezone: Mars/Olympus",
            "a.yaml:2:13: settings.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ("  min_free_space: 5 parsecs", "a.yaml:2:19: settings.min_free_space: expected a size"),
        (
            "  defaults: {segment: 1fortnight}",
            "a.yaml:2:23: settings.defaults.segment: expected a duration",
        ),
        (
            "  defaults: {stall_timeout: -5s}",
            "a.yaml:2:29: settings.defaults.stall_timeout: a duration must be positive",
        ),
        (
            "  defaults: {stall_timeout: 0s}",
            "a.yaml:2:29: settings.defaults.stall_timeout: a duration must be positive",
        ),
    ],
)
def test_bad_values_in_settings_are_located(write_config, line, expected):
    """Zones, sizes and durations that do not parse point at the value with a reason."""
    d = write_config({"a.yaml": f"settings:\n{line}\n"})
    assert only(d).startswith(expected)


def test_bad_cron_and_time_of_day_are_located(write_config):
    """A cron with an out-of-range field and a time like 25:00 are each located."""
    d = write_config(
        {
            "a.yaml": """
            channels:
              x:
                url: http://a/
                schedule:
                  - {cron: "61 * * * *", duration: 1h}
                  - {days: [mon], start: "25:00", end: "02:00"}
            tasks:
              t: {command: "true", schedule: "* * *"}
            """
        }
    )
    found = problems_of(d)
    assert found[0].startswith("a.yaml:5:16: channels.x.schedule[0].cron: invalid cron")
    assert found[1].startswith("a.yaml:6:30: channels.x.schedule[1].start: '25:00' is not a time")
    assert found[2].startswith("a.yaml:8:34: tasks.t.schedule: expected a cron expression with 5")
    assert len(found) == 3


def test_window_with_equal_start_and_end_is_rejected(write_config):
    """A weekly window that starts when it ends would be empty, and says so."""
    d = write_config(
        {
            "a.yaml": """
            channels:
              x:
                url: http://a/
                schedule: [{start: "20:00", end: "20:00"}]
            """
        }
    )
    assert only(d).startswith("a.yaml:4:16: channels.x.schedule[0]: start and end are both 20:00")


def test_missing_env_var_is_located_and_nothing_else_is_said_about_it(write_config):
    """An unset ${VAR} is one problem at its value, not also a follow-on type error."""
    d = write_config({"a.yaml": "channels:\n  x:\n    url: ${STREAM_URL}\n"})
    assert only(d) == (
        "a.yaml:3:10: environment variable STREAM_URL is not set "
        "(set it, add it to .env, or write ${STREAM_URL:-default})"
    )


def test_env_default_and_dotenv_are_used_and_environment_wins(write_config):
    """${VAR:-default} falls back, .env fills in, and the real environment overrides .env."""
    d = write_config(
        {
            "a.yaml": """
            channels:
              x: {url: "http://${HOST:-localhost}:${PORT}/${PATH_PART}"}
            """,
            ".env": "PORT=8080\nPATH_PART=from-dotenv\n",
        }
    )
    loaded = load_config(d, {"PATH_PART": "from-env"})
    assert loaded.config.channels["x"].url == "http://localhost:8080/from-env"


def test_task_commands_are_not_interpolated(write_config):
    """A task command keeps its ${VAR} for the shell to expand at run time."""
    d = write_config({"a.yaml": 'tasks:\n  t:\n    command: echo "${STREAMREC_FILE%.*}"\n'})
    assert load_config(d, {}).config.tasks["t"].command == 'echo "${STREAMREC_FILE%.*}"'


def test_dangling_references_suggest_names(write_config):
    """Unknown category, hook task, dependency and queue task are each located with a suggestion."""
    d = write_config(
        {
            "a.yaml": """
            categories: {news: {}}
            channels:
              x: {url: "http://a/", category: nwes, on_segment: [remux]}
            tasks:
              remux-mp4: {command: "true", depends_on: fetch}
              fetch-epg: {command: "true"}
            queues:
              q: {tasks: [fetch-epg, remux-mp5]}
            """
        }
    )
    assert problems_of(d) == [
        "a.yaml:3:35: channel 'x': category names category 'nwes', which is not declared (did you mean 'news'?)",
        "a.yaml:3:54: channel 'x': on_segment names task 'remux', which is not declared (did you mean 'remux-mp4'?)",
        "a.yaml:5:44: task 'remux-mp4': depends_on names task 'fetch', which is not declared (did you mean 'fetch-epg'?)",
        "a.yaml:8:26: queue 'q': tasks names task 'remux-mp5', which is not declared (did you mean 'remux-mp4'?)",
    ]


def test_cycle_is_reported_as_its_path_with_each_edge(write_config):
    """A dependency cycle reads a -> b -> c -> a with the location of every edge."""
    d = write_config(
        {
            "a.yaml": """
            tasks:
              a: {command: "true", depends_on: b}
              b: {command: "true", depends_on: [c]}
            """,
            "b.yaml": """
            tasks:
              c: {command: "true", depends_on: [x, a]}
              x: {command: "true"}
            """,
        }
    )
    assert only(d) == (
        "a.yaml:2:36: dependency cycle: a -> b -> c -> a (a -> b at a.yaml:2:36; "
        "b -> c at a.yaml:3:37; c -> a at b.yaml:2:40); remove one of these edges"
    )


def test_every_problem_of_every_file_is_reported_in_one_run(write_config):
    """Problems in several files, of several kinds, all come back together and sorted."""
    d = write_config(
        {
            "a.yaml": "channels:\n  x: {url: 'http://a/', formt: ts}\n",
            "b.yaml": "tasks:\n  t: {command: ''}\n",
            "c.yaml": "queues: [1, 2]\n",
        }
    )
    found = problems_of(d)
    assert [f.split(":")[0] for f in found] == ["a.yaml", "b.yaml", "c.yaml"]


def test_empty_file_is_an_error(write_config):
    """An empty or comment-only file is reported: it is most often a truncated write."""
    d = write_config(
        {"a.yaml": "# nothing here\n", "b.yaml": "channels: {x: {url: 'http://a/'}}\n"}
    )
    assert only(d).startswith("a.yaml: the file declares nothing")


def test_directory_without_yaml_is_an_error(tmp_path):
    """A config directory with no YAML at all cannot be mistaken for 'record nothing'."""
    (tmp_path / "README.txt").write_text("hi")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, {})
    assert "no *.yaml or *.yml files" in str(info.value)


def test_missing_directory_is_an_error(tmp_path):
    """A config path that does not exist says so."""
    with pytest.raises(ConfigError, match="no such directory"):
        load_config(tmp_path / "nope", {})


def test_non_utf8_bytes_are_located(write_config):
    """A Latin-1 byte is reported at its line and column."""
    d = write_config({"a.yaml": b"channels:\n  x: {url: 'http://a/caf\xe9'}\n"})
    assert only(d).startswith("a.yaml:2:25: the file is not UTF-8: byte 0xe9")


def test_dot_names_and_configmap_internals_are_skipped(write_config):
    """Files and folders starting with a dot (..data of a ConfigMap) are not read."""
    d = write_config(
        {
            "..2026_01_01/channels.yaml": "channels: {x: {url: 'http://a/'}}\n",
            ".hidden.yaml": "garbage: [\n",
            "real.yml": "channels: {y: {url: 'http://b/'}}\n",
        }
    )
    (d / "..data").symlink_to("..2026_01_01")
    assert list(load_config(d, {}).config.channels) == ["y"]


def test_schema_comment_line_and_nested_folders_are_fine(write_config):
    """A yaml-language-server comment is allowed and files in sub-folders are merged."""
    d = write_config(
        {
            "a.yaml": "# yaml-language-server: $schema=../streamrec.schema.json\ncategories: {c: {}}\n",
            "sub/b.yaml": "channels: {x: {url: 'http://a/', category: c}}\n",
        }
    )
    assert load_config(d, {}).config.channels["x"].category == "c"


def test_defaults_merge_into_channels_and_channels_override(write_config):
    """settings.defaults apply to every channel; nested mappings merge key by key."""
    d = write_config(
        {
            "a.yaml": """
            settings:
              defaults: {format: mkv, retention: {max_age: 7d, max_size: 1GB}}
            channels:
              x: {url: 'http://a/'}
              y: {url: 'http://b/', format: ts, retention: {max_size: 2GB}}
            """
        }
    )
    channels = load_config(d, {}).config.channels
    assert channels["x"].format == "mkv"
    assert channels["y"].format == "ts"
    assert channels["y"].retention.max_age == 7 * 86400
    assert channels["y"].retention.max_size == 2 * 10**9


def test_bad_default_is_reported_once_in_settings(write_config):
    """An invalid value in settings.defaults is one problem there, not one per channel."""
    d = write_config(
        {
            "a.yaml": """
            settings:
              defaults: {format: avi}
            channels:
              x: {url: 'http://a/'}
              y: {url: 'http://b/'}
            """
        }
    )
    assert only(d).startswith("a.yaml:2:22: settings.defaults.format: Input should be")


def test_five_megabyte_file_loads_quickly(write_config):
    """A 5 MB config file (60,000 channels) loads, in well under the time a user waits."""
    lines = ["channels:"]
    for i in range(60_000):
        lines.append(
            f"  channel-{i:05d}: {{url: 'http://127.0.0.1:8000/live/channel-{i}/index.m3u8'}}"
        )
    text = "\n".join(lines) + "\n"
    assert len(text) > 4_500_000
    d = write_config({"big.yaml": text})
    started = time.monotonic()
    loaded = load_config(d, {})
    assert len(loaded.config.channels) == 60_000
    assert time.monotonic() - started < 30  # a hang guard, not a benchmark (see bench/)


def test_five_megabyte_garbage_file_is_one_located_error(write_config):
    """A 5 MB file of garbage is one located problem, not a crash."""
    d = write_config({"big.yaml": b"channels:\n" + b"  - [\x01" * 700_000})
    found = problems_of(d)
    assert len(found) == 1
    assert found[0].startswith("big.yaml:")


def test_ten_thousand_channel_directory_reports_each_bad_file(write_config):
    """In a directory of 10,000 one-channel files, each broken file is reported at its line."""
    files: dict[str, str | bytes] = {
        f"ch/{i:05d}.yaml": f"channels:\n  c{i}: {{url: 'http://127.0.0.1/{i}'}}\n"
        for i in range(10_000)
    }
    files["ch/00042.yaml"] = "channels:\n  c42: {url: 'http://127.0.0.1/42', format: flv}\n"
    d = write_config(files)
    assert only(d).startswith("ch/00042.yaml:2:45: channels.c42.format: Input should be")
