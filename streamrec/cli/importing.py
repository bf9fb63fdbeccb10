"""``import m3u FILE|URL``: an IPTV playlist into channels, and the same playlist again later.

The playlist is read through ``runtime.fetching`` (basic auth from the URL's credentials, redirects,
gzip, a size limit and a deadline; the URL is shown with its secrets hidden), parsed by
``core.m3u``, each entry turned into a channel's fields by ``app.channelfields`` (every value
escaped, so the file loads as the playlist's own text and reads no environment variable), and
compared with what an earlier import of it wrote by ``core.reimport``:

- a channel is known by its entry's key, written with it as ``import_key`` (``tvg-id:...``,
  ``url:...``): it survives reordering, renaming the channel by hand and moving it within the file;
- a known channel keeps its name, and only the fields the import owns (url, category,
  description, resolver, input_args) are changed; ``enabled``, ``schedule`` and every other field
  are the user's;
- channels whose entries left the playlist are kept (the report says so) unless ``--prune``;
- importing the same playlist twice writes nothing the second time.

The report lists the counts, each changed channel with the names of its changed fields (values
may hold secrets, so they are not printed), the removed ones, and how many entries got a resolver
other than ``direct``; ``-o json`` gives the same as data. The edit goes through
``spec.editing`` like every other (``cli.channels``): nothing is written unless the whole
directory still validates. The parser, the planner, the editor and rich are imported when the
command runs, not for ``--help``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streamrec.cli.app import app, console, err_console, fail, globals_
from streamrec.cli.channels import DryRunOption, _commit, _editor, _shown, _target
from streamrec.cli.output import Output, OutputOption, emit
from streamrec.core.printable import printable

if TYPE_CHECKING:
    from streamrec.cli.progress import ImportProgress
    from streamrec.core.reimport import ImportPlan
    from streamrec.spec.editing import ConfigEdit

import_app = typer.Typer(help="Import channels from other formats.", no_args_is_help=True)
app.add_typer(import_app, name="import")

MAX_PLAYLIST_BYTES = 64 * 2**20
DEFAULT_TIMEOUT = 30.0
"""``--timeout``'s default: ``runtime.fetching.DEFAULT_TIMEOUT``, written out so that ``--help``
does not import the fetcher (urllib's HTTP stack); ``tests/cli/test_startup_imports.py`` holds
the two equal."""
MAX_NOTES = 40


def _read_playlist(source: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, str]:
    """The playlist's text and a name for it, from a file or an http(s) URL."""
    from streamrec.core.m3u import slugify
    from streamrec.runtime.fetching import FetchError, read_playlist

    try:
        fetched = read_playlist(source, max_bytes=MAX_PLAYLIST_BYTES, timeout=timeout)
    except FetchError as exc:
        raise fail(str(exc)) from None
    try:
        text = fetched.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        err_console.print("warning: the playlist is not UTF-8; read as Windows-1252", markup=False)
        text = fetched.data.decode("cp1252", errors="replace")
    return text, slugify(fetched.stem) if fetched.stem else "playlist"


def _print_lines(label: str, notes: list[tuple[int, str]]) -> None:
    """The playlist's problems by line; the first MAX_NOTES of them unless -v was given."""
    from streamrec.core.redact import redact_text

    shown = notes if globals_.verbosity > 0 else notes[:MAX_NOTES]
    for line, message in shown:
        err_console.print(printable(f"{label}:{line}: {redact_text(message)}"), markup=False)
    if len(shown) < len(notes):
        more = len(notes) - len(shown)
        err_console.print(f"... and {more} more lines (-v shows all)", markup=False)


@import_app.command("m3u")
def import_m3u(
    source: Annotated[
        str, typer.Argument(metavar="FILE|URL", help="A playlist file, or its http(s) URL.")
    ],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="Where to write (default imported-PLAYLIST.yaml).",
        ),
    ] = None,
    any_scheme: Annotated[
        bool, typer.Option("--any-scheme", help="Import rtmp, rtsp, udp, ... URLs too.")
    ] = False,
    disabled: Annotated[
        bool,
        typer.Option("--disabled", help="New channels get enabled: false (enable some later)."),
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove the channels that left the playlist.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Give up fetching a URL after this long."
        ),
    ] = DEFAULT_TIMEOUT,
    output: OutputOption = Output.text,
    dry_run: DryRunOption = False,
) -> None:
    """Import an IPTV playlist (each entry a channel, its group-title a category), or update the
    channels an earlier import of it wrote."""
    from streamrec.cli.progress import ImportProgress

    with ImportProgress() as progress:
        report = _import(source, file, any_scheme, disabled, prune, timeout, dry_run, progress)
    if output.structured:
        emit(report, output)
    else:
        for line in report["lines"]:
            console.print(printable(line), markup=False)


def _import(
    source: str,
    file: Path | None,
    any_scheme: bool,
    disabled: bool,
    prune: bool,
    timeout: float,
    dry_run: bool,
    progress: ImportProgress,
) -> dict[str, Any]:
    """Import the playlist (the body of ``import m3u``); the report, as data and as lines."""
    from streamrec.app.channelfields import category_of, channel_fields, comment_of, entry_key
    from streamrec.core.m3u import HTTP_SCHEMES, parse_m3u
    from streamrec.core.redact import redact_url
    from streamrec.core.reimport import Incoming, plan_import
    from streamrec.spec.interpolate import escape

    progress.phase("reading the playlist")
    text, stem = _read_playlist(source, timeout)
    edit = _editor()
    target = _target(edit, file, f"imported-{stem}.yaml")
    old, elsewhere = _declared(edit, target)
    progress.phase(f"parsing {text.count(chr(10)) + 1} lines")
    names = set(edit.names("channels"))
    playlist = parse_m3u(
        text, schemes=None if any_scheme else HTTP_SCHEMES, taken=names, duplicates=True
    )
    progress.phase("playlist entries", total=len(playlist.entries))
    label = redact_url(source) if "://" in source else source
    notes = [(issue.line, issue.message) for issue in playlist.issues]
    groups: dict[str, str] = {}
    incoming = []
    for entry in playlist.entries:
        progress.advance()
        category = category_of(entry)
        if category:
            groups.setdefault(*category)
        fields = channel_fields(entry, category[0] if category else None)
        notes += [(entry.line, note) for note in fields.notes]
        key = escape(entry_key(entry))
        incoming.append(Incoming(key, entry.name, fields.values, entry.line, comment_of(entry)))
    plan = plan_import(old, incoming, taken=names, elsewhere=elsewhere)
    notes += plan.notes
    _print_lines(label, sorted(notes))
    if not plan.channels and not plan.removed:
        raise fail(f"no channels to import from {label}")
    new_categories = _plan_edit(edit, target, plan, groups, disabled, prune)
    progress.phase(f"{'checking' if dry_run else 'writing'} {_shown(target)} and validating")
    changes = _commit(edit, dry_run) if edit.ops else []
    report = _report(plan, old, target, new_categories, bool(changes), dry_run, prune)
    if notes:
        report["lines"][0] += f"; {len(notes)} playlist lines skipped or noted (above)"
    return report


def _declared(edit: ConfigEdit, target: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The raw channels of the target file, and where the URLs of the others are declared."""
    old: dict[str, dict[str, Any]] = {}
    elsewhere: dict[str, str] = {}
    for name, body in edit.sources.raw["channels"].items():
        found = edit.declared("channels", name)
        if not isinstance(body, dict) or found is None:
            continue
        if found[0] == target:
            old[name] = body
            continue
        if body.get("url"):
            elsewhere.setdefault(f"url:{body['url']}", f"channel {name!r} ({found[1]})")
    return old, elsewhere


def _plan_edit(
    edit: ConfigEdit,
    target: Path,
    plan: ImportPlan,
    groups: dict[str, str],
    disabled: bool,
    prune: bool,
) -> int:
    """The plan as ops on the target file; the number of categories it declares."""
    from streamrec.spec.editing import Remove, Upsert
    from streamrec.spec.interpolate import escape

    new_categories: set[str] = set()

    def category(fields: dict[str, Any]) -> None:
        slug = fields.get("category")
        if slug and slug not in new_categories and not edit.declared("categories", slug):
            new_categories.add(slug)
            body = {"description": escape(groups.get(slug, slug))}
            edit.add(target, Upsert("categories", slug, body))

    for name, entry in plan.added:
        category(entry.fields)
        fields = {**entry.fields, "enabled": False} if disabled else entry.fields
        edit.add(target, Upsert("channels", name, fields, entry.comment))
    for change in plan.changed:
        category(change.fields)
        values = {f: new for f, (_, new) in change.diffs.items() if new is not None}
        unset = tuple(f for f, (_, new) in change.diffs.items() if new is None)
        edit.add(target, Upsert("channels", change.name, values, unset=unset))
    if prune:
        for name in plan.removed:
            edit.add(target, Remove("channels", name))
    return len(new_categories)


def _report(
    plan: ImportPlan,
    old: dict[str, dict[str, Any]],
    target: Path,
    new_categories: int,
    written: bool,
    dry_run: bool,
    prune: bool,
) -> dict[str, Any]:
    from streamrec.core.reimport import describe

    shown = _shown(target)
    verb = "would be written to" if dry_run else "written to"
    if not written:
        first = f"{plan.channels} channels in {shown} are as the playlist says; nothing written"
    else:
        first = f"{plan.channels} channels and {new_categories} new categories {verb} {shown}"
        if old:
            first += (
                f" ({len(plan.added)} added, {len(plan.changed)} changed, "
                f"{len(plan.unchanged)} unchanged)"
            )
    lines = [first]
    resolvers = Counter(
        fields.get("resolver")
        for fields in [e.fields for _, e in plan.added] + [c.fields for c in plan.changed]
        if fields.get("resolver")
    )
    for resolver, count in sorted(resolvers.items()):
        lines.append(f"{count} page URLs given resolver {resolver}")
    details = [f"+ {name}" for name, _ in plan.added] if old else []
    details += [f"~ {describe(change)}" for change in plan.changed]
    if plan.removed:
        if prune:
            details += [f"- {name}" for name in plan.removed]
            lines.append(f"{len(plan.removed)} channels left the playlist and are removed")
        else:
            lines.append(
                f"{len(plan.removed)} channels left the playlist and are kept; --prune removes them"
            )
    limit = None if globals_.verbosity > 0 else MAX_NOTES
    lines += details[:limit]
    if limit is not None and len(details) > limit:
        lines.append(f"... and {len(details) - limit} more changes (-v shows all)")
    data = {"file": shown, "written": written and not dry_run, **plan.as_data()}
    return {**data, "new_categories": new_categories, "lines": lines}
