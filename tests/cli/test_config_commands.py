"""validate, plan, apply, status and history work together against one state directory."""

from __future__ import annotations

import json
import subprocess
import sys

BASE = {
    "settings.yaml": "settings: {timezone: UTC}\n",
    "channels.yaml": """
        categories: {news: {}}
        channels:
          one: {url: "http://127.0.0.1:9/one.m3u8", category: news, segment: 30m}
          two: {url: "https://user:hunter2@example.com/two.m3u8?token=abc123&q=1"}
        """,
    "tasks.yaml": """
        tasks:
          fetch: {command: "true"}
          index: {command: "true", depends_on: fetch}
        queues:
          nightly: {tasks: [index]}
        """,
}


def test_validate_exit_codes_and_located_errors(write_config, cli_for):
    """A valid directory exits 0 with counts; a broken one exits 1 listing file:line:col."""
    good = write_config(BASE)
    code, out, _ = cli_for(good)("validate")
    assert code == 0
    assert "2 channels" in out and "2 tasks" in out and "1 queues" in out
    bad = write_config({"a.yaml": "channels:\n  x: {url: 'http://a/', formt: ts}\n"}, name="bad")
    code, out, err = cli_for(bad)("validate")
    assert code == 1
    assert "a.yaml:2:25: unknown key 'formt' (did you mean 'format'?)" in err
    assert "Traceback" not in err


def test_plan_apply_plan_cycle(write_config, cli_for):
    """plan shows additions (exit 0, or 2 with --detailed-exitcode); apply records them; a second
    plan has nothing (exit 0 either way)."""
    cli = cli_for(write_config(BASE))
    code, out, _ = cli("plan")
    assert code == 0
    assert "+ channel/one" in out and "+ task/index" in out and "+ queue/nightly" in out
    assert cli("plan", "--detailed-exitcode")[0] == 2
    code, out, _ = cli("apply")
    assert code == 0
    assert "Applied revision" in out
    code, out, _ = cli("plan")
    assert code == 0
    assert "No changes" in out
    assert cli("plan", "--detailed-exitcode")[0] == 0


def test_plan_lists_changed_fields_and_removals(write_config, cli_for):
    """A changed segment shows old and new; a deleted task shows as removed."""
    directory = write_config(BASE)
    cli = cli_for(directory)
    assert cli("apply")[0] == 0
    (directory / "channels.yaml").write_text(
        (directory / "channels.yaml").read_text().replace("segment: 30m", "segment: 1h")
    )
    (directory / "tasks.yaml").write_text(
        "tasks:\n  index: {command: 'true'}\nqueues:\n  nightly: {tasks: [index]}\n"
    )
    code, out, _ = cli("plan", "-o", "json", "--detailed-exitcode")
    assert code == 2
    actions = {(a["op"], a["kind"], a["name"]): a for a in json.loads(out)["actions"]}
    assert ("remove", "task", "fetch") in actions
    change = actions[("change", "channel", "one")]["changes"]
    assert change == [{"path": "segment", "old": "30m", "new": "1h"}]
    assert actions[("change", "task", "index")]["changes"] == [
        {"path": "depends_on", "old": ["fetch"], "new": []}
    ]


def test_secrets_never_printed(write_config, cli_for):
    """URL passwords, query tokens and secret variables reach no output and no state file."""
    files = dict(BASE)
    files["more.yaml"] = "channels:\n  three: {url: 'rtmp://h/app/${STREAM_KEY}'}\n"
    directory = write_config(files)
    cli = cli_for(directory)
    env = {"STREAM_KEY": "sk-live-0123456789"}
    outputs = []
    for command in (
        ("plan",),
        ("plan", "-o", "json"),
        ("apply",),
        ("history",),
        ("status", "-o", "json"),
    ):
        _code, out, err = cli(*command, env=env)
        outputs.append(out + err)
    state = directory.parent / "state"
    outputs += [p.read_text() for p in state.rglob("*") if p.is_file()]
    text = "\n".join(outputs)
    for secret in ("hunter2", "abc123", "sk-live-0123456789"):
        assert secret not in text
    assert "rtmp://h/app/***" in text


def test_secret_only_change_shows_without_the_secret(write_config, cli_for):
    """Changing only a secret in a URL is a change, shown without either value."""
    files = dict(BASE)
    files["more.yaml"] = "channels:\n  three: {url: 'rtmp://h/app/${STREAM_KEY}'}\n"
    cli = cli_for(write_config(files))
    assert cli("apply", env={"STREAM_KEY": "first-secret"})[0] == 0
    code, out, _ = cli("plan", "--detailed-exitcode", env={"STREAM_KEY": "second-secret"})
    assert code == 2
    assert "~ channel/three" in out and "(secret changed)" in out
    assert "first-secret" not in out and "second-secret" not in out


def test_apply_refuses_to_remove_everything(write_config, cli_for):
    """An apply that would drop every channel and task is refused unless --allow-empty."""
    directory = write_config(BASE)
    cli = cli_for(directory)
    assert cli("apply")[0] == 0
    for name in ("channels.yaml", "tasks.yaml"):
        (directory / name).unlink()
    code, _, err = cli("apply")
    assert code == 1
    assert "removes every channel and task" in err
    assert cli("plan", "--detailed-exitcode")[0] == 2
    assert cli("apply", "--allow-empty")[0] == 0


def test_apply_records_revision_git_commit_and_diff(write_config, cli_for, tmp_path):
    """config.applied carries the revision, the commit of a git checkout, and the diff."""
    directory = write_config(BASE)
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "config"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    cli = cli_for(directory)
    assert cli("apply")[0] == 0
    _code, out, _ = cli("history", "-t", "config.*", "-o", "json")
    event = json.loads(out.splitlines()[-1])
    assert event["type"] == "config.applied"
    assert event["git"]["commit"] == commit
    assert event["git"]["dirty"] is False
    assert "channel/one" in event["diff"]["added"]
    assert len(event["revision"]) == 12


def test_status_lists_every_declared_object(write_config, cli_for):
    """status shows each channel, task and queue, and whether the config is applied."""
    cli = cli_for(write_config(BASE))
    code, out, _ = cli("status", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data["channels"]) == {"one", "two"}
    assert data["tasks"]["index"]["status"] == "created"
    assert data["config"]["applied_revision"] is None
    cli("apply")
    data = json.loads(cli("status", "-o", "json")[1])
    assert data["config"]["pending"] is False
    code, out, _ = cli("status")
    assert code == 0 and "one" in out and "nightly" in out


def test_history_filters_by_object_and_type(write_config, cli_for):
    """history keeps only the events asked for."""
    directory = write_config(BASE)
    cli = cli_for(directory)
    cli("apply")
    code, out, _ = cli("history", "-t", "task.*")
    assert code == 0 and out.strip() == ""
    code, out, _ = cli("history", "-t", "config.applied")
    assert "config.applied" in out


def test_console_script_and_module_entry_points_run():
    """`python -m streamrec --help` works (the console script is the same function)."""
    done = subprocess.run(
        [sys.executable, "-m", "streamrec", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "validate" in done.stdout and "plan" in done.stdout


def test_apply_without_a_daemon_runs_once_tasks_once_per_definition(write_config, cli_for):
    """A `schedule: once` task runs at apply, not again at the next apply, again when edited."""
    directory = write_config(
        {"tasks.yaml": "tasks:\n  setup: {command: 'echo x >> once.txt', schedule: once}\n"}
    )
    cli = cli_for(directory)
    assert cli("apply")[0] == 0
    assert cli("apply")[0] == 0
    marker = directory.parent / "once.txt"
    assert marker.read_text() == "x\n"
    (directory / "tasks.yaml").write_text(
        "tasks:\n  setup: {command: 'echo y >> once.txt', schedule: once}\n"
    )
    assert cli("apply")[0] == 0
    assert marker.read_text() == "x\ny\n"


def test_the_library_logs_nothing_unless_asked(tmp_path):
    """Scripts using the Python API see no log lines on stderr by default."""
    code = "from streamrec import Task; t = Task(command='echo ok'); t.run(); print(t.status)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "completed"
    assert done.stderr == ""
