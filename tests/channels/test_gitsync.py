"""A config repository followed with the git CLI: good commits go live, bad ones are kept out."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from streamrec.runtime.gitsync import GitSource, GitSyncError
from streamrec.spec.loading import LoadedConfig, load_config

GOOD = "channels:\n  one: {url: 'http://127.0.0.1:9/one.m3u8'}\n"
GOOD_TWO = GOOD + "  two: {url: 'http://127.0.0.1:9/two.m3u8'}\n"
BAD = "channels:\n  one: {url: 'http://127.0.0.1:9/one.m3u8', formt: ts}\n"

Commit = Callable[..., str]


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository on disk, the 'server'."""
    bare = tmp_path / "remote.git"
    bare.mkdir()
    git("init", "--quiet", "--bare", "--initial-branch=main", cwd=bare)
    return bare


@pytest.fixture
def commit(tmp_path: Path, remote: Path) -> Commit:
    """Commit ``{path: text}`` on a branch of a working clone and push it; returns the commit."""
    work = tmp_path / "work"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("remote", "add", "origin", str(remote), cwd=work)

    def make(files: dict[str, str], branch: str = "main") -> str:
        if git("branch", "--list", branch, cwd=work) or not git("branch", "--list", cwd=work):
            git("checkout", "--quiet", "-B", branch, cwd=work)
        else:
            git("checkout", "--quiet", "-b", branch, cwd=work)
        for relative, text in files.items():
            path = work / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        git("add", "-A", cwd=work)
        git("commit", "--quiet", "--allow-empty", "-m", "change", cwd=work)
        git("push", "--quiet", "origin", branch, cwd=work)
        return git("rev-parse", "HEAD", cwd=work)

    return make


def validate(path: Path) -> LoadedConfig:
    return load_config(path, {})


def test_the_first_update_clones_and_offers_the_commit_once(tmp_path, remote, commit):
    """A fresh source checks out the branch head; after accept the same head is not offered again."""
    sha = commit({"channels.yaml": GOOD})
    source = GitSource(str(remote), None, tmp_path / "git")
    update = source.update()
    assert (update.commit, update.changed) == (sha, True)
    assert (update.path / "channels.yaml").read_text() == GOOD
    assert source.live_commit is None
    assert source.accept(sha) == update.path
    assert source.live_commit == sha and source.live_path == update.path
    again = source.update()
    assert (again.commit, again.changed) == (sha, False)


def test_a_commit_that_does_not_validate_is_rejected_and_the_last_good_one_stays(
    tmp_path, remote, commit
):
    """Good, bad, good again: the bad commit's errors are returned and the live files never change."""
    source = GitSource(str(remote), "main", tmp_path / "git")
    first = commit({"channels.yaml": GOOD})
    result = source.sync(validate)
    assert result.applied and result.value is not None
    assert set(result.value.config.channels) == {"one"}

    bad = commit({"channels.yaml": BAD})
    result = source.sync(validate)
    assert not result.applied and result.update.commit == bad
    (problem,) = result.problems
    assert problem.path.endswith(f"{bad}/channels.yaml") and (problem.line, problem.col) == (2, 45)
    assert "unknown key 'formt'" in problem.message
    assert source.live_commit == first and source.rejected == bad
    assert (source.live_path / "channels.yaml").read_text() == GOOD  # type: ignore[operator]
    assert not source.sync(validate).update.changed  # the same bad head is not checked again

    fixed = commit({"channels.yaml": GOOD_TWO})
    result = source.sync(validate)
    assert result.applied and source.live_commit == fixed and source.rejected == bad
    assert set(result.value.config.channels) == {"one", "two"}  # type: ignore[union-attr]
    assert [p.name for p in (tmp_path / "git" / "checkouts").iterdir()] == [fixed]


def test_a_subdirectory_and_a_branch_are_followed(tmp_path, remote, commit):
    """With subdir=config and branch=staging, only that branch's config/ directory counts."""
    commit({"README.md": "the repo\n"})
    staged = commit({"config/channels.yaml": GOOD}, branch="staging")
    commit({"config/channels.yaml": BAD}, branch="main")
    source = GitSource(str(remote), "staging", tmp_path / "git", subdir="config")
    result = source.sync(validate)
    assert result.applied and result.update.commit == staged
    assert result.update.path == tmp_path / "git" / "checkouts" / staged / "config"


def test_a_restarted_source_starts_from_the_live_commit_even_offline(tmp_path, remote, commit):
    """A new GitSource on the same work dir knows the live commit; an unreachable remote only errs."""
    sha = commit({"channels.yaml": GOOD})
    GitSource(str(remote), None, tmp_path / "git").sync(validate)
    gone = tmp_path / "moved.git"
    remote.rename(gone)
    source = GitSource(str(remote), None, tmp_path / "git")
    assert source.live_commit == sha
    assert load_config(source.live_path, {}).config.channels  # type: ignore[arg-type]
    with pytest.raises(GitSyncError, match=r"git fetch of branch main from .* failed"):
        source.update()
    assert source.live_commit == sha


def test_credentials_in_the_url_never_reach_the_error(tmp_path):
    """A failing clone names the URL with its password hidden."""
    url = "http://deploy:hunter2@127.0.0.1:9/config.git"
    with pytest.raises(GitSyncError) as caught:
        GitSource(url, None, tmp_path / "git", timeout=20).update()
    message = str(caught.value)
    assert "hunter2" not in message
    assert message.startswith("git clone of http://deploy:***@127.0.0.1:9/config.git failed:")


def test_an_unknown_branch_is_a_clear_error(tmp_path, remote, commit):
    """Following a branch the remote lacks says which branch."""
    commit({"channels.yaml": GOOD})
    with pytest.raises(GitSyncError, match="nope"):
        GitSource(str(remote), "nope", tmp_path / "git").update()


def test_a_hanging_git_is_stopped_at_the_timeout(tmp_path):
    """A git that never finishes is killed after the timeout; the error says what happens next."""
    fake = tmp_path / "fake_git.py"
    fake.write_text("import time\ntime.sleep(60)\n")
    source = GitSource("http://127.0.0.1:9/x.git", None, tmp_path / "git",
                       git=[sys.executable, str(fake)], timeout=0.5)  # fmt: skip
    with pytest.raises(GitSyncError, match=r"did not finish within 0\.5s; the live commit keeps"):
        source.update()


def test_a_missing_git_and_an_option_like_url_are_refused(tmp_path):
    """No git binary is named as such; a URL starting with '-' is never passed to git."""
    with pytest.raises(GitSyncError, match="is not installed"):
        GitSource("/x.git", None, tmp_path / "git", git=[str(tmp_path / "no-git")]).update()
    with pytest.raises(GitSyncError, match="not a repository URL"):
        GitSource("--upload-pack=touch /tmp/x", None, tmp_path / "git")


def test_the_work_directory_is_private_even_if_it_was_made_open(tmp_path, remote, commit):
    """The clone and checkouts live in a 0700 directory, tightened when an earlier one was 0755."""
    commit({"channels.yaml": GOOD})
    (tmp_path / "git").mkdir(mode=0o755)
    (tmp_path / "git").chmod(0o755)
    GitSource(str(remote), None, tmp_path / "git").update()
    assert (tmp_path / "git").stat().st_mode & 0o777 == 0o700
