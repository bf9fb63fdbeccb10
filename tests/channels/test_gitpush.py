"""A config change pushed as a git commit: on top of the branch, rebased past others, never forced."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from streamrec.runtime.gitpush import EMAIL, GitPush
from streamrec.runtime.gitsync import GitSyncError

ONE = "channels:\n  one: {url: 'http://127.0.0.1:9/one.m3u8'}\n"
TASKS = "tasks:\n  hello: {command: 'echo hello'}\n"


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "someone",
        "GIT_AUTHOR_EMAIL": "someone@example.com",
        "GIT_COMMITTER_NAME": "someone",
        "GIT_COMMITTER_EMAIL": "someone@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    bare.mkdir()
    git("init", "--quiet", "--bare", "--initial-branch=main", cwd=bare)
    return bare


def clone(remote: Path, where: Path) -> Path:
    git("clone", "--quiet", str(remote), str(where), cwd=remote.parent)
    git("checkout", "--quiet", "-B", "main", cwd=where)
    return where


def commit(work: Path, files: dict[str, str], message: str = "change", push: bool = True) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work)
    if push:
        git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def head(remote: Path) -> str:
    return git("rev-parse", "refs/heads/main", cwd=remote)


def test_a_change_is_committed_on_the_branch_with_its_author_and_message(tmp_path, remote):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"channels.yaml": ONE})
    pusher = GitPush(str(remote), tmp_path / "git")
    new = ONE + "  two: {url: 'http://127.0.0.1:9/two.m3u8'}\n"
    outcome = pusher.push(
        {"channels.yaml": new}, branch="main", base=base, author="alice",
        message="channel two added\n\n+ channel/two\n",
    )  # fmt: skip
    assert outcome.commit == head(remote) and not outcome.rebased
    assert git("show", f"{outcome.commit}:channels.yaml", cwd=remote) == new.rstrip("\n")
    assert git("log", "-1", "--format=%an <%ae>", "main", cwd=remote) == f"alice <{EMAIL}>"
    assert (
        git("log", "-1", "--format=%B", "main", cwd=remote) == "channel two added\n\n+ channel/two"
    )
    assert git("rev-parse", "main^", cwd=remote) == base
    assert (tmp_path / "git" / "push").stat().st_mode & 0o077 == 0


def test_a_change_to_another_file_pushed_meanwhile_is_rebased_past(tmp_path, remote):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"channels.yaml": ONE})
    theirs = commit(work, {"tasks.yaml": TASKS})
    pusher = GitPush(str(remote), tmp_path / "git")
    new = ONE.replace("one.m3u8", "uno.m3u8")
    checked: list[Path] = []

    def recheck(directory: Path) -> list[str]:
        checked.append(directory)
        return []

    outcome = pusher.push(
        {"channels.yaml": new}, branch="main", base=base, author="admin", message="edit",
        recheck=recheck,
    )  # fmt: skip
    assert outcome.commit == head(remote) and outcome.rebased
    assert git("rev-parse", "main^", cwd=remote) == theirs
    assert git("show", "main:tasks.yaml", cwd=remote) == TASKS.rstrip("\n")
    assert "uno.m3u8" in git("show", "main:channels.yaml", cwd=remote)
    assert checked and (checked[0] / "tasks.yaml").exists()


def test_a_rebased_change_that_would_not_validate_is_not_pushed(tmp_path, remote):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"channels.yaml": ONE})
    theirs = commit(work, {"tasks.yaml": TASKS})
    pusher = GitPush(str(remote), tmp_path / "git")
    outcome = pusher.push(
        {"more.yaml": TASKS}, branch="main", base=base, author="admin", message="edit",
        recheck=lambda _: ["more.yaml:2:3: task 'hello' is declared twice"],
    )  # fmt: skip
    assert outcome.commit is None and outcome.problems
    assert head(remote) == theirs


def test_a_change_to_the_same_lines_is_a_conflict_and_nothing_is_pushed(tmp_path, remote):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"conf/channels.yaml": ONE})
    theirs = commit(work, {"conf/channels.yaml": ONE.replace("one.m3u8", "eins.m3u8")})
    pusher = GitPush(str(remote), tmp_path / "git", subdir="conf")
    outcome = pusher.push(
        {"channels.yaml": ONE.replace("one.m3u8", "uno.m3u8")}, branch="main", base=base,
        author="admin", message="edit",
    )  # fmt: skip
    assert outcome.commit is None and outcome.conflict == ("channels.yaml",)
    assert head(remote) == theirs
    # the scratch clone is usable again afterwards
    again = pusher.push(
        {"channels.yaml": ONE.replace("one.m3u8", "uno.m3u8")}, branch="main", base=theirs,
        author="admin", message="edit again",
    )  # fmt: skip
    assert again.commit == head(remote)


def test_a_push_rejected_because_someone_pushed_first_is_rebased_and_pushed_again(
    tmp_path, remote, monkeypatch
):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"channels.yaml": ONE})
    other = clone(remote, tmp_path / "other")
    theirs = commit(other, {"tasks.yaml": TASKS}, push=False)
    wrapper = tmp_path / "git-racing"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" push "*)\n'
        '  if [ ! -e "$RACE_MARK" ]; then touch "$RACE_MARK"; '
        'git -C "$RACE_OTHER" push -q origin HEAD:main; fi;;\n'
        "esac\n"
        'exec git "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("RACE_MARK", str(tmp_path / "raced"))
    monkeypatch.setenv("RACE_OTHER", str(other))
    pusher = GitPush(str(remote), tmp_path / "git", git=[str(wrapper)])
    outcome = pusher.push(
        {"channels.yaml": ONE.replace("one", "uno")}, branch="main", base=base, author="admin",
        message="edit",
    )  # fmt: skip
    assert (tmp_path / "raced").exists()
    assert outcome.commit == head(remote) and outcome.rebased
    assert git("rev-parse", "main^", cwd=remote) == theirs


def test_credentials_of_the_url_never_show_in_an_error(tmp_path):
    pusher = GitPush("http://user:s3cr3t-pw@127.0.0.1:9/config.git", tmp_path / "git", timeout=20)
    with pytest.raises(GitSyncError) as caught:
        pusher.push({"a.yaml": ONE}, branch="main", base=None, author="admin", message="x")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "git fetch" in str(caught.value)


def test_a_path_out_of_the_config_directory_is_refused(tmp_path, remote):
    work = clone(remote, tmp_path / "work")
    base = commit(work, {"channels.yaml": ONE})
    pusher = GitPush(str(remote), tmp_path / "git")
    with pytest.raises(GitSyncError, match="leads out"):
        pusher.push({".git/config.yaml": ONE}, branch="main", base=base, author="a", message="x")
    assert head(remote) == base
