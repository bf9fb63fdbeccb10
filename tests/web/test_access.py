"""Who may reach and act on a real daemon: socket mode, peer uid, Host, Bearer, and safe downloads."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from webkit import TOKEN, DaemonProcess, Served, finish, serve

from streamrec.runtime.testsource import HlsTestSource

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NOBODY = 65534
SHADOW = b"root:$6$stand-in-for-etc-shadow:19000:0:99999:7:::\n"
"""The bytes of a file outside the recordings directory that must never be served."""
ACTIONS = (
    "/api/tasks/hello/run",
    "/api/tasks/hello/stop",
    "/api/queues/nightly/start",
    "/api/queues/nightly/stop",
    "/api/reconcile",
    "/api/shutdown",
)
TASKS = """
tasks:
  hello: {command: 'echo hi'}
queues:
  nightly: {tasks: [hello]}
"""


def config_for(url: str) -> str:
    """Tasks, a queue, one channel of the live source, and one extra allowed Host."""
    channel = f"""
settings:
  http: {{allowed_hosts: ["rec.example.test"]}}
categories:
  news: {{description: News}}
channels:
  news: {{url: "{url}", category: news, segment: 1s, stall_timeout: 8s}}
"""
    return channel + TASKS


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, module_hls: HlsTestSource) -> Iterator[Served]:
    """A daemon with a token and an allowed host, recording the live source."""
    served = serve(tmp_path_factory.mktemp("access"), config_for(module_hls.url), token=TOKEN)
    served.daemon.wait_for(lambda e: e["type"] == "recording.segment", timeout=40)
    yield served
    finish(served)


def as_nobody(sock_path: Path, requests: list[tuple[str, str]]) -> list[int]:
    """The HTTP status of each ``(method, path)`` sent over the socket by a child running as nobody."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, then talk HTTP/1.0 over the socket
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            answers = []
            for method, path in requests:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(20)
                    client.connect(str(sock_path))
                    client.sendall(f"{method} {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
                    head = client.recv(64).decode("latin-1")
                answers.append(head.split(" ", 2)[1] if head.startswith("HTTP/") else "0")
            os.write(write_end, " ".join(answers).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        out = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the nobody client failed"
    return [int(code) for code in out.split()]


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A directory every user can traverse (tmp_path is not), with a short path for the socket."""
    root = Path(tempfile.mkdtemp(prefix="sr-access-", dir="/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_socket_is_0600_inside_a_0700_directory(api: Served) -> None:
    """After start the control socket is a 0600 socket of the daemon's user in a 0700 directory."""
    sock = api.daemon.state / "daemon.sock"
    info = sock.lstat()
    assert stat.S_ISSOCK(info.st_mode) and info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_another_uid_on_the_socket_cannot_act(open_root: Path) -> None:
    """nobody is refused every action (403) even on a world-writable socket; the owner still acts."""
    daemon = DaemonProcess(open_root)
    daemon.env.pop("STREAMREC_API_TOKEN", None)
    daemon.env.pop("STREAMREC_HTTP_LISTEN", None)
    daemon.write("config.yaml", TASKS)
    daemon.start()
    try:
        sock = daemon.state / "daemon.sock"
        daemon.cli("status")  # the socket answers its owner
        # Loosen what file permissions guard, so that only the peer-uid check is left to refuse.
        for path in (open_root, daemon.state):
            path.chmod(0o755)
        sock.chmod(0o666)
        mark = daemon.last_seq()
        answers = as_nobody(sock, [("POST", path) for path in ACTIONS] + [("GET", "/healthz")])
        assert answers == [403] * len(ACTIONS) + [200]
        assert daemon.proc is not None and daemon.proc.poll() is None
        acted = ("task.", "queue.", "config.", "daemon.")
        assert [e for e in daemon.events() if e["seq"] > mark and e["type"].startswith(acted)] == []
        run = daemon.cli("task", "run", "hello")
        assert "hi" in run.stdout + run.stderr
        daemon.wait_for(lambda e: e["type"] == "task.finished" and e["task"] == "hello", after=mark)
        daemon.cli("stop")
        assert daemon.proc.wait(20) == 0
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.stop()


def test_tcp_answers_only_hosts_that_name_it(api: Served) -> None:
    """A rebinding Host is 421 with no content; the listen address and an allowed host answer."""
    port = api.base.rsplit(":", 1)[1]
    for host in ("attacker.example", f"attacker.example:{port}", f"rec.example.test.evil:{port}"):
        for path in ("/api/status", "/api/recordings", "/metrics", "/"):
            answer = api.http.get(path, headers={"Host": host})
            assert answer.status_code == 421, (host, path)
            assert answer.json() == {"error": "misdirected request: this Host is not served here"}
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "rec.example.test", "REC.example.test"):
        assert api.http.get("/api/status", headers={"Host": host}).status_code == 200, host


def test_tcp_takes_the_token_only_as_a_bearer(api: Served) -> None:
    """A bare token, Basic, or another scheme is 401 and runs nothing; ``Bearer TOKEN`` runs."""
    mark = api.daemon.last_seq()
    for header in (TOKEN, f"Basic {TOKEN}", "Basic dG9rOnRvaw==", f"Token {TOKEN}", "Bearer"):
        refused = api.http.post("/api/tasks/hello/run", headers={"Authorization": header})
        assert refused.status_code == 401, header
    assert not any(e["type"] == "task.started" for e in api.daemon.events() if e["seq"] > mark)
    ran = api.http.post(
        "/api/tasks/hello/run", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    assert ran.status_code == 200 and ran.json()["results"]["hello"]["status"] == "completed"


def test_a_listed_recording_replaced_by_a_link_fifo_or_dir_is_not_served(
    api: Served, tmp_path: Path
) -> None:
    """A listed file swapped for a symlink, a FIFO, a directory, or under a linked directory is 404."""
    mark = api.daemon.last_seq()
    api.daemon.write("config.yaml", TASKS)  # stop recording: the files stay listed
    api.daemon.wait_for(lambda e: e["type"] == "recording.stopped", after=mark, timeout=30)
    files = api.get("/api/recordings").json()["channels"]["news"]
    target = Path(files[-1]["file"])
    assert api.get("/api/recordings/download", file=str(target)).status_code == 200
    shadow = tmp_path / "shadow"
    shadow.write_bytes(SHADOW)

    def refused() -> None:
        answer = api.get("/api/recordings/download", file=str(target))
        assert answer.status_code == 404
        assert b"stand-in-for-etc-shadow" not in answer.content

    target.unlink()
    target.symlink_to(shadow)
    refused()
    target.unlink()
    os.mkfifo(target)
    refused()  # without O_NONBLOCK the open would hang here
    target.unlink()
    target.mkdir()
    refused()
    target.rmdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / target.name).write_bytes(SHADOW)
    moved = target.parent.with_name(target.parent.name + ".moved")
    target.parent.rename(moved)
    try:
        target.parent.symlink_to(outside)  # the file name is no link, its directory is
        refused()
    finally:
        with contextlib.suppress(OSError):
            target.parent.unlink()
        moved.rename(target.parent)
    assert api.get("/healthz").status_code == 200
