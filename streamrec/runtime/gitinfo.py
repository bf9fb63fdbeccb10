"""Which git commit a config directory is at, when it is inside a git checkout.

Called by ``apply`` (and later the daemon) to record the commit in ``config.applied``. Uses the git
CLI; any failure (no git, not a checkout) simply means "no commit".
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def _git(directory: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(directory: Path) -> dict[str, Any] | None:
    """``{"commit", "branch", "dirty"}`` for the checkout holding ``directory``, else None.

    ``dirty`` is true when files under ``directory`` differ from the commit, so the applied config
    is not exactly what the commit says.
    """
    commit = _git(directory, "rev-parse", "HEAD")
    if not commit:
        return None
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(directory, "status", "--porcelain", "--", ".")
    return {"commit": commit, "branch": branch, "dirty": bool(status)}
