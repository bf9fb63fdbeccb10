"""Recording commands: ``record``, ``demo``, ``channel command``, ``recordings list/delete``.

``record CHANNEL [--for 30s]`` records one channel in the foreground, through the same
:class:`~streamrec.runtime.recorder.Recorder`, storage, task runner (for hooks) and state log as the
daemon; Ctrl-C or SIGTERM stops ffmpeg politely and finishes the files. ``demo`` writes a small
config into a scratch directory, starts the built-in local test source
(``runtime.testsource``), records it for a few seconds with 2 s segments and an ``on_segment``
hook, then prints ``status`` and the files. ``channel command NAME`` prints the exact ffmpeg command (secrets redacted; the two ``pipe:N``
numbers are the descriptors the recorder passes). ``recordings list`` and ``recordings delete``
read and edit the recorded files known to the state log (``list`` as a table or ``-o json|yaml``);
every deletion is logged. ``-q`` silences ``record``'s progress lines (its result and errors are
still printed); on a terminal, ``record`` shows a live status line of the file being written
(``cli.progress``).

The recorder, the storage, the config model and rich are imported inside the commands, so that
``streamrec --help`` does not load them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streamrec.cli.app import (
    app,
    console,
    err_console,
    fail,
    globals_,
    load,
    open_journal,
    redactor_of,
    state_paths,
)
from streamrec.cli.completion import channel_names
from streamrec.cli.output import Output, OutputOption, Table, emit, human_size, print_table
from streamrec.cli.suggest import unknown_name
from streamrec.core.printable import printable
from streamrec.errors import StreamrecError

if TYPE_CHECKING:
    from streamrec.core.events import Event
    from streamrec.core.liveprogress import LiveProgress
    from streamrec.spec.loading import LoadedConfig

channel_app = typer.Typer(help="Inspect and edit channels.", no_args_is_help=True)
recordings_app = typer.Typer(help="The recorded files, per channel.", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
app.add_typer(recordings_app, name="recordings")


def _channel(loaded: LoadedConfig, name: str) -> Any:
    channels = loaded.config.channels
    if name not in channels:
        raise fail(unknown_name("channel", name, channels))
    return channels[name]


def record_channel(
    loaded: LoadedConfig,
    name: str,
    duration: float | None,
    on_progress: Callable[[LiveProgress], None] | None = None,
) -> tuple[str, list[Any]]:
    """Record channel ``name`` in the foreground until ``duration``, Ctrl-C or SIGTERM;
    ``on_progress`` is told each reading of the file being written."""
    import asyncio
    import signal

    from streamrec.app.recording import Recording
    from streamrec.app.runner import runner_for
    from streamrec.runtime.clock import SYSTEM_CLOCK

    channel = _channel(loaded, name)
    paths = state_paths(loaded)
    journal = open_journal(loaded)

    def emit(event: Event, /) -> None:
        written = journal.append(event)
        _echo(written["type"], written)

    try:
        runner = runner_for(loaded, layout=paths, journal=journal, clock=SYSTEM_CLOCK)
        recording = Recording(
            loaded, emit=emit, runner=runner, clock=SYSTEM_CLOCK, state=journal.state()
        )
        recorder = recording.make_recorder(name, channel)  # finds ffmpeg, or says it is missing
        recorder.on_progress = on_progress
    except BaseException:
        journal.close()
        raise

    async def main() -> str:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
                loop.add_signal_handler(
                    sig, recorder.stop, f"interrupted ({signal.Signals(sig).name})"
                )
        return await recorder.run(duration)

    try:
        reason = asyncio.run(main())
    finally:
        journal.close()
    return reason, recorder.files


_ECHO = {
    "recording.started": "recording into {file}",
    "recording.segment": "finished {file} ({duration}s)",
    "recording.processed": "hooks {status} for {file}",
    "recording.stalled": "stalled: {reason}",
    "recording.reconnecting": "reconnecting in {delay}s (attempt {attempt}): {reason}",
    "recording.gap": "gap {start} .. {end}: {cause}",
    "retention.deleted": "deleted {file}: {reason}",
}


def _echo(type_: str, fields: Mapping[str, Any]) -> None:
    """Progress on standard error: one line per recording event (none with -q)."""
    if globals_.verbosity < 0:
        return
    text = _ECHO.get(type_)
    if text is not None:
        with contextlib.suppress(KeyError, IndexError, ValueError):
            err_console.print(f"{fields.get('channel')}: " + text.format(**fields), markup=False)


def _print_files(files: list[Any]) -> None:
    for f in files:
        hooks = "" if f["hooks"] == "none" else f"  hooks {f['hooks']}"
        line = f"  {f['file']}  {f['duration']:.1f}s  {human_size(f['bytes'])}{hooks}"
        console.print(line, markup=False)


@app.command()
def record(
    channel: Annotated[
        str,
        typer.Argument(
            metavar="CHANNEL", help="The channel to record.", autocompletion=channel_names
        ),
    ],
    for_: Annotated[
        str | None,
        typer.Option("--for", metavar="DURATION", help="Stop after this long (30s, 1h30m)."),
    ] = None,
) -> None:
    """Record one channel in the foreground (Ctrl-C stops it cleanly)."""
    from streamrec.cli.progress import RecordStatus
    from streamrec.spec.units import parse_duration

    loaded = load()
    duration = parse_duration(for_) if for_ else None
    status = RecordStatus(channel)
    try:
        reason, files = record_channel(loaded, channel, duration, on_progress=status)
    except StreamrecError as exc:
        raise fail(str(exc)) from None
    finally:
        status.close()
    console.print(f"channel {channel!r}: {reason}; {len(files)} file(s):", markup=False)
    _print_files(files)


DEMO_CONFIG = """\
settings:
  recordings_dir: recordings
  state_dir: state
  min_free_space: 10MB
categories:
  test:
    description: The built-in local test source
channels:
  demo:
    url: {url}
    category: test
    segment: 2s
    stall_timeout: 5s
    on_segment: [checksum]
tasks:
  checksum:
    command: 'cksum "$STREAMREC_FILE" >> checksums.txt'
"""


@app.command()
def demo(
    for_: Annotated[
        str, typer.Option("--for", metavar="DURATION", help="How long to record.")
    ] = "8s",
    directory: Annotated[
        Path | None,
        typer.Option("--dir", metavar="DIR", help="Keep everything here (default: a temp dir)."),
    ] = None,
) -> None:
    """Record a built-in local test stream for a few seconds, end to end, and show the result."""
    import tempfile
    import textwrap

    from streamrec.cli.status import status
    from streamrec.runtime.ffmpeg import find_ffmpeg
    from streamrec.runtime.testsource import HlsTestSource
    from streamrec.spec.units import parse_duration

    duration = parse_duration(for_)
    root = directory or Path(tempfile.mkdtemp(prefix="streamrec-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        ffmpeg = find_ffmpeg(None)
    except StreamrecError as exc:
        raise fail(str(exc)) from None
    err_console.print(f"demo: {ffmpeg.version} ({ffmpeg.found_in})", markup=False)
    with HlsTestSource(ffmpeg.path, root / "source") as source:
        source.start()
        config_dir = root / "config"
        config_dir.mkdir(exist_ok=True)
        (config_dir / "demo.yaml").write_text(DEMO_CONFIG.format(url=source.url))
        globals_.config_dir = config_dir
        err_console.print(f"demo: recording {source.url} for {for_} into {root}", markup=False)
        loaded = load()
        try:
            reason, files = record_channel(loaded, "demo", duration)
        except StreamrecError as exc:
            raise fail(str(exc)) from None
    console.print(f"\nRecording stopped: {reason}\n", markup=False)
    status(Output.text)
    console.print(f"\nFiles ({len(files)}):", markup=False)
    _print_files(files)
    checksums = root / "checksums.txt"
    if checksums.exists():
        console.print("\nOutput of the on_segment hook (checksums.txt):", markup=False)
        console.print(textwrap.indent(checksums.read_text().rstrip(), "  "), markup=False)
    if not files:
        raise fail("the demo recorded nothing")


@channel_app.command("command")
def channel_command(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The channel.", autocompletion=channel_names)
    ],
) -> None:
    """Print the exact ffmpeg command that records a channel (secrets redacted)."""
    import shlex

    from streamrec.app.recording import recordings_dir_of
    from streamrec.runtime.channelargv import channel_argv, partial_dir_of
    from streamrec.runtime.ffmpeg import find_ffmpeg

    loaded = load()
    channel = _channel(loaded, name)
    settings = loaded.config.settings
    try:
        ffmpeg = find_ffmpeg(settings.ffmpeg).path
    except StreamrecError as exc:
        raise fail(str(exc)) from None
    partial_dir = partial_dir_of(recordings_dir_of(loaded), name)
    argv = channel_argv(channel, partial_dir, channel.url, ffmpeg=ffmpeg)
    redactor = redactor_of(loaded)
    console.print(shlex.join(redactor.text(arg) for arg in argv), markup=False)
    if channel.resolver != "direct":
        url = redactor.text(channel.url)
        console.print(f"# -i is the URL resolver {channel.resolver} finds for {url}", markup=False)
    console.print(
        f"# each closed file is renamed to {settings.recordings_dir}/{channel.filename}",
        markup=False,
    )


@recordings_app.command("list")
def recordings_list(
    channel: Annotated[
        str | None,
        typer.Argument(metavar="CHANNEL", help="Only this channel.", autocompletion=channel_names),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """The recorded files the state log knows, oldest first (missing files are marked)."""
    from streamrec.spec.units import format_duration, format_size

    loaded = load()
    journal = open_journal(loaded)
    try:
        recordings: dict[str, Any] = journal.state().get("recordings", {})
    finally:
        journal.close()
    rows = sorted(
        ((path, rec) for path, rec in recordings.items() if channel in (None, rec.get("channel"))),
        key=lambda item: (str(item[1].get("start")), item[0]),
    )
    files: list[dict[str, Any]] = globals_.redactor.value(
        [{**rec, "file": path, "on_disk": Path(path).exists()} for path, rec in rows]
    )
    total = sum(int(f.get("bytes") or 0) for f in files)
    if output.structured:
        emit({"files": files, "count": len(files), "bytes": total}, output)
        return
    table = Table.of("channel", "start", "length", "size", "hooks", "file")
    table.add_column("on disk", wide=True)
    for f in files:
        duration = f.get("duration")
        table.add_row(
            printable(str(f.get("channel"))),
            printable(str(f.get("start"))),
            format_duration(round(float(duration), 1)) if duration else "?",
            format_size(int(f.get("bytes") or 0)),
            printable(f"hooks {f.get('hooks')}"),  # "hooks completed": greppable on its own
            printable(f["file"]) + ("" if f["on_disk"] else " (missing on disk)"),
            "yes" if f["on_disk"] else "no",
        )
    print_table(table, output, console)
    console.print(f"{len(files)} file(s), {format_size(total)}", markup=False)


@recordings_app.command("delete")
def recordings_delete(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Recorded files to delete.")
    ],
) -> None:
    """Delete recorded files (never one being written); each deletion goes to the state log."""
    from streamrec.app.recording import open_storage
    from streamrec.runtime.clock import SYSTEM_CLOCK
    from streamrec.runtime.recorder import PARTIAL_DIR

    loaded = load()
    settings = loaded.config.settings
    root = loaded.resolve_path(settings.recordings_dir).resolve()
    journal = open_journal(loaded)
    failed = 0
    try:
        storage = open_storage(
            loaded, emit=journal.append, clock=SYSTEM_CLOCK, state=journal.state(), root=root
        )
        known = {Path(f.path).resolve(): f.path for f in storage.files()}
        for given in files:
            path = given.resolve()
            if root not in path.parents or PARTIAL_DIR in path.relative_to(root).parts:
                err_console.print(f"{given}: not a finished recording under {root}", markup=False)
                failed += 1
                continue
            name = known.get(path, str(path))
            if not storage.delete(name, "deleted by hand (streamrec recordings delete)"):
                err_console.print(f"{given}: no such file", markup=False)
                failed += 1
                continue
            console.print(f"deleted {name}", markup=False)
    finally:
        journal.close()
    if failed:
        raise typer.Exit(1)
