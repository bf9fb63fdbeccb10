"""The Typer application and the options every command shares.

The command modules (``cli.config``, ``cli.tasks``, ``cli.recording``, ...) are imported at the end
of this module (``cli.commands``), so that importing this module gives the whole command line,
every ``@app.command()`` registered here. The CLI is the only place that prints for
humans and picks exit codes (``cli.rootgroup.EXIT_CODES``): 0 success, 1 error, 2 changes (only
``plan --detailed-exitcode``), 64 usage error. The root group (``cli.rootgroup``) also takes the
global options anywhere on the line, and answers shell completion.

What it prints is never markup: both consoles have rich's markup and emoji codes off, so user text
such as ``[vip] Premium :thumbs_up:`` is shown as written. Every log line (text or JSON) passes the
one :class:`~streamrec.core.redact.Redactor` of the loaded config (``globals_.redactor``, set by
:func:`load`), and its message is made :func:`~streamrec.core.printable.printable`, so a name
holding a newline or an escape sequence cannot forge or recolour a log line.

Start-up: this module and the command modules import only Typer and light modules of streamrec
at the top; rich, the config model, the state log and the daemon client are imported
inside the functions that use them. ``console`` and ``err_console`` are
:class:`~streamrec.cli.lazyconsole.LazyConsole` objects: rich is imported when one first prints;
loguru when streamrec first logs (``streamrec.log``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from streamrec.cli import logformat
from streamrec.cli.lazyconsole import LazyConsole
from streamrec.cli.rootgroup import EXIT_CODES, RootGroup
from streamrec.cli.version import version_line
from streamrec.core.printable import printable
from streamrec.core.redact import Redactor
from streamrec.errors import ConfigError

if TYPE_CHECKING:
    from loguru import Record

    from streamrec.app.configcache import Brief
    from streamrec.spec.loading import LoadedConfig
    from streamrec.state.journal import Journal
    from streamrec.state.paths import StatePaths

app = typer.Typer(
    name="streamrec",
    cls=RootGroup,
    help="A declarative live-stream recorder: YAML in git, reconciled, every outcome logged.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

console = LazyConsole(stderr=False)
"""Standard output, for results. No markup and no emoji codes: user text is shown as written;
piped, tables are drawn at full width (200 columns), not the 80 columns rich assumes."""
err_console = LazyConsole(stderr=True)
"""Standard error, for problems and progress."""


@dataclass
class Globals:
    """Options given before the command name."""

    config_dir: Path = Path("config")
    log_format: str = "text"
    verbosity: int = 0
    redactor: Redactor = field(default_factory=Redactor)
    """What every output hides: the environment's secrets, then the loaded config's too."""
    exit_at_once: bool = False
    """Set by ``run`` once the daemon stopped cleanly: the console script then ends the process
    without tearing the interpreter down (see ``cli.main``)."""


globals_ = Globals()


def _patch_record(record: Record) -> None:
    """A log record's message redacted and on one line; its bound fields redacted (names too)."""
    redactor = globals_.redactor
    record["message"] = printable(redactor.text(record["message"]))
    if record["extra"]:
        redacted = redactor.value(dict(record["extra"]))
        record["extra"].clear()
        record["extra"].update(redacted)


class _RedactedStream:
    """Standard error for the log sink, redacting each formatted line (tracebacks included).

    With ``json``, the loguru message written is not used as formatted: its record becomes one flat
    JSON object (``cli.logformat``), every field redacted before it is encoded; plain text written
    (what ``err_console`` prints for people in JSON mode) becomes one object per line.

    ``sys.stderr`` is looked up at each write, not kept: whoever replaced it since (a test harness
    capturing output, an embedding program) gets the lines, and a closed old stream is never written.
    """

    def __init__(self, json: bool = False) -> None:
        self.json = json

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    def write(self, text: str) -> None:
        record = getattr(text, "record", None)
        if self.json and record is not None:
            fields = globals_.redactor.value(logformat.record_fields(record))
            self.stream.write(logformat.json_line(fields))
            return
        if self.json:
            now = datetime.now(timezone.utc)
            for line in text.splitlines():
                if line.strip():
                    shown = printable(globals_.redactor.text(line))
                    self.stream.write(logformat.json_line(logformat.console_fields(shown, now)))
            return
        self.stream.write(globals_.redactor.text(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


def set_log_redactor(redactor: Redactor) -> None:
    """Every log line from now on hides what ``redactor`` knows (the daemon calls it per config)."""
    globals_.redactor = redactor


def setup_logging(log_format: str, verbosity: int) -> None:
    """Readable lines on a terminal, or one JSON object per line; -v/-q move the level. The
    logger's sinks are set when streamrec first logs (``streamrec.log.when_used``): a command that
    logs nothing does not import loguru."""
    levels = ["ERROR", "WARNING", "INFO", "DEBUG", "TRACE"]
    level = levels[max(0, min(len(levels) - 1, 1 + verbosity))]
    globals_.redactor = Redactor.of(environ=environ())
    # JSON: one flat object a line, made by the sink (see _RedactedStream), and so is every line
    # the commands print on standard error for people; text: those go to stderr as they are.
    people: Any = _RedactedStream(json=True) if log_format == "json" else None
    err_console.file = people
    from streamrec.log import when_used

    when_used(lambda: _log_sinks(log_format, level))


def _log_sinks(log_format: str, level: str) -> None:
    """The logger's one sink, for ``log_format`` at ``level``, and streamrec's logging enabled."""
    from streamrec.log import logger  # loaded and streamrec quieted first: this enable holds

    logger.remove()
    logger.configure(patcher=_patch_record)
    logger.enable("streamrec")
    if log_format == "json":
        logger.add(_RedactedStream(json=True), level=level, format="{message}", diagnose=False)
    else:
        sink: Any = _RedactedStream()
        logger.add(
            sink,
            level=level,
            format="<dim>{time:HH:mm:ss}</dim> <level>{level: <7}</level> {message}",
            colorize=None,
        )


def print_version(ctx: typer.Context, _param: Any, value: bool) -> None:
    """The ``--version`` callback: the version line (``cli.version``), then exit 0."""
    if not value or ctx.resilient_parsing:
        return
    typer.echo(version_line())
    raise typer.Exit(0)


ROOT_VALUED_OPTIONS = frozenset({"-c", "--config", "--log-format"})
"""The root's options below that take a value, for ``cli.narrowing`` to skip with their value
(written out: reading them off the built root costs a build; a test checks they agree)."""


@app.callback()
def _global_options(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            envvar="STREAMREC_CONFIG",
            metavar="DIR",
            help="The config directory (all *.yaml under it are merged).",
        ),
    ] = Path("config"),
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            envvar="STREAMREC_LOG_FORMAT",
            metavar="FORMAT",
            help="text (default) or json",
        ),
    ] = "text",
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log.")] = 0,
    quiet: Annotated[
        int, typer.Option("--quiet", "-q", count=True, help="Less log, and no progress.")
    ] = 0,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            is_eager=True,
            expose_value=False,
            callback=print_version,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """streamrec: record live streams declared in YAML."""
    globals_.config_dir = config
    globals_.log_format = "json" if log_format == "json" else "text"
    globals_.verbosity = verbose - quiet
    setup_logging(globals_.log_format, globals_.verbosity)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on standard error and return the Exit to raise."""
    err_console.print(f"error: {globals_.redactor.text(message)}")
    return typer.Exit(code)


def environ() -> dict[str, str]:
    """The environment the config is interpolated from."""
    return dict(os.environ)


def redactor_of(loaded: LoadedConfig) -> Redactor:
    """The redactor of a loaded config: its secrets, the environment's and the API token."""
    return Redactor.of(loaded.secrets, environ(), loaded.config)


def redactor_of_brief(brief: Brief) -> Redactor:
    """:func:`redactor_of` from a config cache entry's brief, whose secrets already include what
    the config itself holds: the same redactor, without loading or walking the config."""
    return Redactor.of(brief.secrets, environ())


def print_problems(error: ConfigError) -> None:
    """Each located problem of a config on its own line, redacted and escaped."""
    for problem in error.problems:
        err_console.print(printable(globals_.redactor.text(str(problem))))


def load() -> LoadedConfig:
    """Load the config directory (its secrets then hidden in every output), or print every
    located problem and exit 1."""
    from streamrec.spec.loading import load_config

    try:
        loaded = load_config(globals_.config_dir, environ())
    except ConfigError as exc:
        print_problems(exc)
        count = len(exc.problems)
        raise fail(f"{count} problem{'s' if count != 1 else ''} in {globals_.config_dir}") from None
    globals_.redactor = redactor_of(loaded)
    return loaded


def state_paths(loaded: LoadedConfig) -> StatePaths:
    """The state directory of a loaded config, created when missing."""
    from streamrec.app import statedir

    return statedir.config_paths(globals_.config_dir, loaded, environ())


def open_journal(loaded: LoadedConfig) -> Journal:
    """The state log of a loaded config, with its fsync policy, stamped by the system clock."""
    from streamrec.app import statedir
    from streamrec.runtime.clock import SYSTEM_CLOCK

    return statedir.open_journal(
        state_paths(loaded), clock=SYSTEM_CLOCK, fsync=loaded.config.settings.state_fsync
    )


from streamrec.cli import commands as _commands  # noqa: E402, F401  (registers every command)
