"""What is installed and whether it works: ``version`` and ``doctor``.

``version [-o json|yaml]`` prints streamrec's version, the Python that runs it and the ffmpeg that
would be used (``cli.version``). ``doctor [-o json|yaml]`` checks what recording needs: the config
loads, ffmpeg is found (``settings.ffmpeg``, PATH, or the imageio-ffmpeg wheel) and runs, which
optional URL resolvers are installed (with the literal ``pip install 'streamrec[EXTRA]'`` line that
adds a missing one), and the free space of the recordings directory against ``min_free_space``, in
human units (``76.4 GiB``). It exits 1 when something recording needs is missing. What they check
is imported when they run, not for ``--help``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import typer

from streamrec.cli.app import app, console, environ, globals_, print_problems, redactor_of
from streamrec.cli.output import Output, OutputOption, emit, human_size
from streamrec.cli.version import version_data, version_lines
from streamrec.errors import ConfigError, StreamrecError

if TYPE_CHECKING:
    from streamrec.spec.loading import LoadedConfig

RESOLVERS = (("streamlink", "streamlink"), ("yt_dlp", "yt-dlp"))
"""(module, extra) of each optional URL resolver."""


@app.command()
def version(output: OutputOption = Output.text) -> None:
    """The version of streamrec, the Python running it, and the ffmpeg it would use."""
    data = version_data()
    if output.structured:
        emit(data, output)
        return
    for line in version_lines(data):
        console.print(line, markup=False)


def _resolver(module: str, extra: str) -> dict[str, Any]:
    install = f"pip install 'streamrec[{extra}]'"
    try:
        found = importlib.import_module(module)
    except ImportError:
        return {"name": extra, "installed": False, "version": None, "install": install}
    version = getattr(found, "__version__", None) or getattr(
        getattr(found, "version", None), "__version__", "installed"
    )
    return {"name": extra, "installed": True, "version": str(version), "install": install}


def doctor_data() -> tuple[dict[str, Any], ConfigError | None]:
    """Everything ``doctor`` checks, as data (and the config's problems, if it does not load)."""
    from streamrec.app.recording import open_storage
    from streamrec.cli.config import problem_data
    from streamrec.runtime.clock import SYSTEM_CLOCK
    from streamrec.runtime.ffmpeg import find_ffmpeg
    from streamrec.spec.loading import load_config

    data: dict[str, Any] = {"config": {"directory": str(globals_.config_dir)}}
    loaded: LoadedConfig | None = None
    error: ConfigError | None = None
    try:
        loaded = load_config(globals_.config_dir, environ())
        globals_.redactor = redactor_of(loaded)
        data["config"].update(loads=True, problems=[])
    except ConfigError as exc:
        error = exc
        data["config"].update(loads=False, problems=[problem_data(p) for p in exc.problems])
    try:
        info = find_ffmpeg(loaded.config.settings.ffmpeg if loaded else None)
        data["ffmpeg"] = {"path": info.path, "found_in": info.found_in, "version": info.version}
    except StreamrecError as exc:
        data["ffmpeg"] = {"path": None, "problem": str(exc)}
    data["resolvers"] = [_resolver(module, extra) for module, extra in RESOLVERS]
    data["recordings"] = None
    if loaded is not None:
        settings = loaded.config.settings
        storage = open_storage(loaded, emit=lambda *a, **k: None, clock=SYSTEM_CLOCK)
        free = storage.free()
        data["recordings"] = {
            "directory": str(storage.recordings_dir),
            "free_bytes": free,
            "min_free_space_bytes": settings.min_free_space,
            "enough": free >= settings.min_free_space,
        }
    data["ok"] = (
        loaded is not None and data["ffmpeg"]["path"] is not None and data["recordings"]["enough"]
    )
    return globals_.redactor.value(data), error


def _say(line: str) -> None:
    console.print(line, markup=False)


@app.command()
def doctor(output: OutputOption = Output.text) -> None:
    """Which ffmpeg is used (and its version), the optional resolvers, and the free space."""
    data, error = doctor_data()
    if output.structured:
        emit(data, output)
    else:
        if error is not None:
            print_problems(error)
            _say(f"config: {data['config']['directory']}: does not load (problems above)")
        ffmpeg = data["ffmpeg"]
        if ffmpeg["path"]:
            _say(f"ffmpeg: {ffmpeg['path']} (from {ffmpeg['found_in']})")
            _say(f"  {ffmpeg['version']}")
        else:
            _say(f"ffmpeg: NOT FOUND: {ffmpeg['problem']}")
        for resolver in data["resolvers"]:
            if resolver["installed"]:
                _say(f"resolver {resolver['name']}: {resolver['version']}")
            else:
                _say(f"resolver {resolver['name']}: not installed ({resolver['install']})")
        if (space := data["recordings"]) is not None:
            verdict = "ok" if space["enough"] else "BELOW min_free_space"
            _say(
                f"recordings: {space['directory']}: {human_size(space['free_bytes'])} free "
                f"(min_free_space {human_size(space['min_free_space_bytes'])}): {verdict}"
            )
    if not data["ok"]:
        raise typer.Exit(1)
