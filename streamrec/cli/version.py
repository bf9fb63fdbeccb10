"""``streamrec --version`` (``-V``) and ``streamrec version [-o json|yaml]``.

``--version`` prints :func:`version_line` (``streamrec VERSION``) and exits before any command runs
(it reads no config): the option's callback is in ``cli.app``; alone on the line
(:data:`VERSION_WORDS`) it is answered by ``cli.main`` before Typer is imported. This module
imports neither Typer, nor ffmpeg's finder, nor the package metadata (``streamrec.version``) at its
top: ``--help`` needs none of them. ``version`` also says which Python runs it and which ffmpeg would be used (found as ``record``
finds it: PATH, else the imageio-ffmpeg wheel; the config's ``settings.ffmpeg`` is not read), or
that none was found.
"""

from __future__ import annotations

import sys
from typing import Any

from streamrec.errors import StreamrecError

VERSION_WORDS = (["--version"], ["-V"])
"""The command lines (after the program name) that ask for the version only."""


def version_line() -> str:
    """What ``--version`` prints: ``streamrec VERSION``."""
    from streamrec.version import __version__

    return f"streamrec {__version__}"


def version_data() -> dict[str, Any]:
    """The version, Python and ffmpeg found, as the ``-o json`` output."""
    import platform

    from streamrec.runtime.ffmpeg import find_ffmpeg
    from streamrec.version import __version__

    data: dict[str, Any] = {
        "version": __version__,
        "python": platform.python_version(),
        "python_executable": sys.executable,
    }
    try:
        info = find_ffmpeg(None)
    except StreamrecError as exc:
        data["ffmpeg"] = {"path": None, "version": None, "found_in": None, "problem": str(exc)}
    else:
        data["ffmpeg"] = {"path": info.path, "version": info.version, "found_in": info.found_in}
    return data


def version_lines(data: dict[str, Any]) -> list[str]:
    """The ``version`` output for people."""
    ffmpeg = data["ffmpeg"]
    found = (
        f"ffmpeg: {ffmpeg['path']} (from {ffmpeg['found_in']}): {ffmpeg['version']}"
        if ffmpeg["path"]
        else f"ffmpeg: not found ({ffmpeg['problem']})"
    )
    return [
        f"streamrec {data['version']}",
        f"python: {data['python']} ({data['python_executable']})",
        found,
    ]
