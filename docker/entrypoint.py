#!/usr/bin/env python3
"""The container's entrypoint: an optional one-channel bootstrap from the environment, then streamrec.

The image runs ``tini -- python /usr/local/bin/streamrec-entrypoint ARGS`` (``CMD`` is ``run``). This
script replaces itself with ``streamrec ARGS`` (``os.execvp``), so tini's signals reach streamrec
directly and streamrec's exit status is the container's.

When ``CHANNEL_NAME`` and ``CHANNEL_URL`` are set (and optionally ``CATEGORY``), the channel and its
category are added to the config first, like ``streamrec channel add NAME --url URL --category CAT
--create-category`` — only when the config does not declare them already, so a restart never
changes a channel that is declared in the files. Where it is written (``STREAMREC_BOOTSTRAP``):

- ``config``: into the config directory (``$STREAMREC_CONFIG``, default ``/config``), which must be
  writable; the channel goes to the file that would get it from ``channel add`` (``channels.yaml``).
- ``overlay``: the config directory stays untouched (a read-only mount, a ConfigMap). A directory
  ``$STREAMREC_STATE_DIR/config-overlay`` is rebuilt at every start holding ``base``, a link to the
  config directory, and ``bootstrap.yaml`` with the channel (and ``recordings_dir``/``state_dir``
  beside the original config, unless the config sets them, so paths resolve as without the overlay);
  ``STREAMREC_CONFIG`` then points at the overlay. Edits below ``/config`` are still read on reload
  (SIGHUP or ``streamrec apply``).
- ``auto`` (the default): ``config`` when the config directory is writable, else ``overlay``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from streamrec.errors import ConfigError, StreamrecError
from streamrec.spec.editing import ConfigEdit, Upsert

PROG = "streamrec-entrypoint"


def say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def writable(directory: Path) -> bool:
    """Whether files can be created in ``directory`` (tried, since root ignores mode bits)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".streamrec-probe-"):
            return True
    except OSError:
        return False


def build_overlay(config: Path, overlay: Path) -> None:
    """A fresh overlay directory: ``base`` links to the config, ``.env`` too when it has one."""
    shutil.rmtree(overlay, ignore_errors=True)
    overlay.mkdir(parents=True)
    if config.is_dir():
        (overlay / "base").symlink_to(config.resolve(), target_is_directory=True)
        if (config / ".env").is_file():
            (overlay / ".env").symlink_to((config / ".env").resolve())


def bootstrap(env: dict[str, str]) -> Path:
    """Add the channel of CHANNEL_NAME/CHANNEL_URL/CATEGORY; the config directory to use."""
    config = Path(env.get("STREAMREC_CONFIG", "/config"))
    name, url = env.get("CHANNEL_NAME", "").strip(), env.get("CHANNEL_URL", "").strip()
    category = env.get("CATEGORY", "").strip()
    if not name or not url:
        raise StreamrecError("set both CHANNEL_NAME and CHANNEL_URL to add a channel at start")
    mode = env.get("STREAMREC_BOOTSTRAP", "auto").strip().lower()
    if mode not in {"auto", "config", "overlay"}:
        raise StreamrecError(f"STREAMREC_BOOTSTRAP is auto, config or overlay, not {mode!r}")
    if mode == "auto":
        mode = "config" if writable(config) else "overlay"
    directory, target = config, None
    if mode == "overlay":
        state = Path(env.get("STREAMREC_STATE_DIR", "/state"))
        directory = state / "config-overlay"
        build_overlay(config, directory)
        target = directory / "bootstrap.yaml"
    edit = ConfigEdit(directory, env)
    target = target or edit.target(None)
    if target.name == "bootstrap.yaml":
        for key, default in (("recordings_dir", "recordings"), ("state_dir", "state")):
            if not edit.declared("settings", key):
                value = str(config.absolute().parent / default)
                edit.add(target, Upsert("settings", key, value))
    declared = edit.declared("channels", name)
    if declared:
        say(f"channel {name!r} is declared at {declared[1]}; CHANNEL_URL is not used")
    else:
        if category and not edit.declared("categories", category):
            edit.add(target, Upsert("categories", category, {}))
        fields = {"url": url, **({"category": category} if category else {})}
        edit.add(target, Upsert("channels", name, fields))
    if edit.ops:
        edit.commit()
        if not declared:
            say(f"added channel {name!r} to {target}")
    return directory


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    if env.get("CHANNEL_NAME") or env.get("CHANNEL_URL"):
        try:
            os.environ["STREAMREC_CONFIG"] = str(bootstrap(env))
        except ConfigError as exc:
            for problem in exc.problems:
                say(str(problem))
            say("the channel from CHANNEL_NAME/CHANNEL_URL was not added")
            return 1
        except StreamrecError as exc:
            say(str(exc))
            return 1
    command = ["streamrec", *argv] if argv else ["streamrec", "run"]
    try:
        os.execvp(command[0], command)  # noqa: S606 - replacing this process is the point
    except OSError as exc:
        say(f"cannot start streamrec: {exc.strerror}")
        return 127
    return 0  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
