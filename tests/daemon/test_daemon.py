"""A real `streamrec run` follows edits of its config directory, survives bad config and kills."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from daemonkit import RECORDER, alive, ffmpeg_processes
from media import playable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def channels_yaml(*entries: tuple[str, str, str]) -> str:
    lines = ["channels:"]
    for name, url, segment in entries:
        lines += [
            f"  {name}:",
            f'    url: "{url}"',
            f"    segment: {segment}",
            "    stall_timeout: 8s",
        ]
    return "\n".join(lines) + "\n"


def started(name: str):
    return lambda e: e["type"] == "recording.started" and e.get("channel") == name


def segment_of(name: str):
    return lambda e: e["type"] == "recording.segment" and e.get("channel") == name


def test_editing_one_channel_restarts_that_recorder_only(daemon, hls):
    """Changing one channel's segment length restarts it; the other recorder keeps its ffmpeg."""
    d = daemon()
    d.write("channels.yaml", channels_yaml(("a", hls.url, "2s"), ("b", hls.url, "2s")))
    d.start()
    first_b = d.wait_for(started("b"))
    d.wait_for(segment_of("a"))
    mark = d.last_seq()
    d.write("channels.yaml", channels_yaml(("a", hls.url, "3s"), ("b", hls.url, "2s")))
    applied = d.wait_for(lambda e: e["type"] == "config.applied", after=mark)
    assert applied["diff"]["changed"] == ["channel/a"]
    d.wait_for(started("a"), after=mark)
    time.sleep(1)
    later = [e for e in d.events() if e["seq"] > mark]
    assert not [e for e in later if e.get("channel") == "b" and e["type"] == "recording.stopped"]
    assert not [e for e in later if e.get("channel") == "b" and e["type"] == "recording.started"]
    assert [e for e in later if e.get("channel") == "a" and e["type"] == "recording.stopped"]
    assert first_b["pid"] in ffmpeg_processes("")


def test_added_file_starts_and_deleted_file_stops_a_channel(daemon, hls):
    """A new file's channel starts recording; deleting the file stops it with a finished file."""
    d = daemon()
    d.write("base.yaml", "tasks:\n  noop: {command: 'true'}\n")
    d.start()
    mark = d.last_seq()
    d.write("extra.yaml", channels_yaml(("extra", hls.url, "2s")))
    d.wait_for(started("extra"), after=mark)
    segment = d.wait_for(segment_of("extra"), after=mark)
    mark = d.last_seq()
    (d.config / "extra.yaml").unlink()
    stopped = d.wait_for(
        lambda e: e["type"] == "recording.stopped" and e.get("channel") == "extra", after=mark
    )
    assert "removed" in stopped["reason"]
    assert playable(Path(segment["file"]))[0]
    assert not ffmpeg_processes(str(d.root / "recordings"))


def test_broken_config_is_rejected_and_recording_goes_on_until_fixed(daemon, hls):
    """An invalid edit is config.rejected with located errors; the recorder never stops."""
    d = daemon()
    d.write("channels.yaml", channels_yaml(("a", hls.url, "2s")))
    d.start()
    d.wait_for(started("a"))
    mark = d.last_seq()
    d.write("broken.yaml", "channels:\n  b: {url: [\n")
    rejected = d.wait_for(lambda e: e["type"] == "config.rejected", after=mark)
    assert rejected["errors"][0].startswith("config/broken.yaml:3:1: invalid YAML")
    d.wait_for(segment_of("a"), after=rejected["seq"])
    status = d.cli("status").stdout
    assert "Last rejected config" in status and "broken.yaml:3:1" in status
    d.write("broken.yaml", channels_yaml(("b", hls.url, "2s")))
    d.wait_for(started("b"), after=rejected["seq"])
    later = [e for e in d.events() if e["seq"] > mark]
    assert not [e for e in later if e.get("channel") == "a" and e["type"] == "recording.stopped"]


def test_configmap_symlink_swap_is_picked_up(daemon, hls):
    """A Kubernetes-style ..data symlink swap reloads the config."""
    d = daemon()
    first = d.config / "..2026_01_01_v1"
    first.mkdir()
    (first / "channels.yaml").write_text(channels_yaml(("v1", hls.url, "2s")))
    (d.config / "..data").symlink_to(first.name)
    (d.config / "channels.yaml").symlink_to("..data/channels.yaml")
    d.start()
    d.wait_for(started("v1"))
    mark = d.last_seq()
    second = d.config / "..2026_01_01_v2"
    second.mkdir()
    (second / "channels.yaml").write_text(channels_yaml(("v2", hls.url, "2s")))
    tmp_link = d.config / "..data_tmp"
    tmp_link.symlink_to(second.name)
    tmp_link.replace(d.config / "..data")
    d.wait_for(started("v2"), after=mark)
    d.wait_for(lambda e: e["type"] == "recording.stopped" and e.get("channel") == "v1", after=mark)


def test_config_removing_everything_is_refused(daemon, hls):
    """An emptied directory (a failed checkout) is rejected and the recorder keeps going."""
    d = daemon()
    d.write("channels.yaml", channels_yaml(("a", hls.url, "2s")))
    d.start()
    d.wait_for(started("a"))
    mark = d.last_seq()
    d.write("channels.yaml", "categories: {}\n")
    rejected = d.wait_for(lambda e: e["type"] == "config.rejected", after=mark)
    assert "removes every channel and task" in rejected["errors"][0]
    d.wait_for(segment_of("a"), after=rejected["seq"])


def test_window_that_opens_and_closes_in_the_next_seconds(daemon, hls):
    """A one-off window starting in a few seconds records only inside it."""
    d = daemon()
    start = datetime.now(timezone.utc) + timedelta(seconds=4)
    d.write(
        "channels.yaml",
        f"""
        channels:
          show:
            url: "{hls.url}"
            segment: 2s
            schedule:
              - {{at: "{start.isoformat(timespec="seconds")}", duration: 6s}}
        """,
    )
    d.start()
    began = d.wait_for(started("show"), timeout=30)
    assert datetime.fromisoformat(began["ts"].replace("Z", "+00:00")) >= start - timedelta(
        seconds=1
    )
    stopped = d.wait_for(
        lambda e: e["type"] == "recording.stopped" and e.get("channel") == "show", timeout=30
    )
    ended = datetime.fromisoformat(stopped["ts"].replace("Z", "+00:00"))
    assert ended - start < timedelta(seconds=12)
    assert stopped["reason"] in {"duration reached", "outside its windows"}


def test_second_daemon_on_the_same_state_dir_is_refused(daemon):
    """Only one daemon per state directory; the second says who owns it."""
    d = daemon()
    d.write("tasks.yaml", "tasks:\n  noop: {command: 'true'}\n")
    d.start()
    done = d.cli("run", check=False)
    assert done.returncode == 1
    assert f"another streamrec daemon (pid {d.proc.pid})" in done.stderr


def recording_and_sleeping(daemon, hls):
    """A daemon recording channel `a` (a segment done) while a once task sleeps."""
    d = daemon()
    d.write(
        "all.yaml",
        channels_yaml(("a", hls.url, "2s"))
        + "tasks:\n  sleeper: {command: 'sleep 60', schedule: once}\n",
    )
    d.start()
    d.wait_for(segment_of("a"))
    d.wait_for(lambda e: e["type"] == "task.started" and e["task"] == "sleeper")
    return d


def test_sigterm_stops_within_eight_seconds_with_finished_files(daemon, hls):
    """SIGTERM stops recorders (files finalized) and tasks and writes daemon.stopped in time."""
    d = recording_and_sleeping(daemon, hls)
    took = d.stop()
    assert took < 8
    events = d.events()
    assert events[-1]["type"] == "daemon.stopped"
    files = [Path(e["file"]) for e in events if e["type"] == "recording.segment"]
    assert files and all(playable(f)[0] for f in files)
    finished = [e for e in events if e["type"] == "task.finished" and e["task"] == "sleeper"]
    assert finished and finished[-1]["status"] == "terminated"
    assert not ffmpeg_processes(str(d.root / "recordings"))


def test_sigkill_during_recording_and_task_recovers_without_duplicates(daemon, hls):
    """After SIGKILL: leftovers stopped, runs marked interrupted, recording resumes once."""
    d = recording_and_sleeping(daemon, hls)
    task = d.wait_for(lambda e: e["type"] == "task.started" and e["task"] == "sleeper")
    d.kill()
    mark = d.last_seq()
    d.start()
    recovered = d.wait_for(lambda e: e["type"] == "daemon.recovered", after=mark)
    names = {(i["kind"], i["name"]) for i in recovered["interrupted"]}
    assert ("task", "sleeper") in names
    d.wait_for(started("a"), after=mark)
    d.wait_for(segment_of("a"), after=mark)
    # one recording ffmpeg; a side fetch of the segments missed while down may run beside it
    assert len(ffmpeg_processes(str(d.root / "recordings"), also=RECORDER)) == 1
    assert not alive(task["pid"])  # the old task's process is gone (or only a zombie)
    rerun = d.wait_for(lambda e: e["type"] == "task.started" and e["task"] == "sleeper", after=mark)
    assert rerun["run"] != task["run"]  # an interrupted once-task runs again
    d.stop()
    events = d.events()
    files = [Path(e["file"]) for e in events if e["type"] == "recording.segment"]
    assert files and all(playable(f)[0] for f in files if f.exists())
    status = d.cli("status", "-o", "json").stdout
    assert '"running"' not in status.replace('"running": false', "")


def test_apply_through_the_daemon_prints_per_object_outcomes(daemon, hls):
    """`streamrec apply` with a daemon running asks it and prints what changed."""
    d = daemon()
    d.write("channels.yaml", channels_yaml(("a", hls.url, "2s")))
    d.start()
    d.wait_for(started("a"))
    # SIGHUP and apply both reconcile; with no change nothing is touched
    d.signal(signal.SIGHUP)
    out = d.cli("apply").stdout
    assert "in the running daemon" in out and "2 unchanged" in out  # settings and channel a
    status = d.cli("status").stdout
    assert f"Daemon running: pid {d.proc.pid}" in status


def test_reverting_a_broken_edit_clears_the_rejection(daemon):
    """Deleting the broken file brings back the applied revision, and status stops warning."""
    d = daemon()
    d.write("tasks.yaml", "tasks:\n  noop: {command: 'true'}\n")
    d.start()
    first = d.wait_for(lambda e: e["type"] == "config.applied")
    d.write("broken.yaml", "tasks: [\n")
    rejected = d.wait_for(lambda e: e["type"] == "config.rejected", after=first["seq"])
    (d.config / "broken.yaml").unlink()
    again = d.wait_for(lambda e: e["type"] == "config.applied", after=rejected["seq"])
    assert again["revision"] == first["revision"]
    assert "Last rejected config" not in d.cli("status").stdout


def test_task_run_and_queue_start_go_through_the_running_daemon(daemon):
    """With a daemon running, on-demand runs are made by it and their output is printed."""
    d = daemon()
    d.write(
        "tasks.yaml",
        """
        tasks:
          hello: {command: "echo hello from $STREAMREC_TRIGGER"}
          after: {command: "true", depends_on: hello}
        queues:
          both: {tasks: [after]}
        """,
    )
    d.start()
    done = d.cli("task", "run", "hello")
    assert "through the running daemon" in done.stderr
    assert done.stdout.strip() == "hello from cli"
    assert d.cli("queue", "start", "both").returncode == 0
    finished = [e for e in d.events() if e["type"] == "queue.finished"]
    assert finished[-1]["status"] == "completed"
