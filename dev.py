#!/usr/bin/env python3
"""Set up and run streamrec from a fresh clone with nothing but Python 3.10+.

    python3 dev.py demo            record a built-in local test stream, end to end
    python3 dev.py test            ruff, mypy, import-linter and the whole pytest suite
                                   (installs Debian's chromium and nginx-rtmp for tests if missing)
    python3 dev.py streamrec ARGS  any streamrec command, inside the project's environment

The first call creates ``.venv`` beside this file and installs the project with its development
extras; later calls reinstall only when ``pyproject.toml`` changed. ffmpeg comes from the system
when there is one, else from the imageio-ffmpeg wheel (a dependency), so nothing else is needed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".streamrec-installed"


def say(message: str) -> None:
    print(f"[dev] {message}", file=sys.stderr, flush=True)


def ensure_env() -> None:
    """Create the virtual environment and install the project when needed."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py itself must run on any python3 to say this
        sys.exit(f"streamrec needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and (BIN / "streamrec").exists():
        return
    if not (BIN / "python").exists():
        say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    say("installing streamrec and its development tools (first run only)")
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def run(argv: list[str]) -> int:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONPATH", None)
    return subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode


def ensure_system_packages() -> None:
    """Debian's chromium (dashboard test) and nginx-rtmp (recorder tests), when missing."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install-test-packages.sh")], check=False)
    if done.returncode:
        say("could not install the test packages; the tests that need them say how to fix it")


def test(extra: list[str]) -> int:
    """Every check CI runs, in order; stops at the first that fails."""
    ensure_system_packages()
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports"],
        ["pytest", *extra],
    ]
    for step in steps:
        say("$ " + " ".join(step))
        code = run([str(BIN / step[0]), *step[1:]])
        if code == 5 and step[0] == "pytest":
            say("pytest collected no tests: that is a failure")
            return 1
        if code:
            say(f"failed: {' '.join(step)} (exit {code})")
            return code
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return test(rest)
    if command == "demo":
        return run([str(BIN / "streamrec"), "demo", *rest])
    if command == "streamrec":
        return run([str(BIN / "streamrec"), *rest])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
