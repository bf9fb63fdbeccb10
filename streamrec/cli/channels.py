"""Channel and category commands over the YAML: ``channel add/list/remove``, ``category add/list``.

``import m3u`` (``cli.importing``) makes its edits through the helpers here too. The edits go through :class:`~streamrec.spec.editing.ConfigEdit`: the file that declares a name is
edited in place (comments, order and formatting of every other line kept), a new name goes to
``--file`` or ``channels.yaml``, and nothing is written unless the whole directory still validates.
A running daemon picks the change up like any other edit of the directory. ``channel`` extends the
sub-app of ``cli.recording`` (which holds ``channel command``). The editor (ruamel.yaml and the
config model) is imported when a command runs, not for ``--help``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from streamrec.cli.app import app, console, environ, err_console, fail, globals_, load
from streamrec.cli.completion import category_names, channel_names
from streamrec.cli.output import Output, OutputOption, Table, emit, print_table
from streamrec.cli.recording import channel_app
from streamrec.core.printable import printable, printable_or
from streamrec.errors import ConfigError

if TYPE_CHECKING:
    from streamrec.spec.editing import ConfigEdit, FileChange

category_app = typer.Typer(help="Declare and list categories.", no_args_is_help=True)
app.add_typer(category_app, name="category")

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        help="The file for new entries (relative to the config dir).",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show the change as a diff; write nothing.")
]


def _editor() -> ConfigEdit:
    from streamrec.spec.editing import ConfigEdit

    return ConfigEdit(globals_.config_dir, environ())


def _shown(path: Path) -> str:
    from streamrec.spec.sources import display_path

    return display_path(path, globals_.config_dir)


def _commit(edit: ConfigEdit, dry_run: bool) -> list[FileChange]:
    """Write the edit (or show it); problems are printed located, and nothing is written."""
    from streamrec.spec.editing import EditError

    try:
        changes = edit.commit(dry_run=dry_run)
    except ConfigError as exc:
        for problem in exc.problems:
            err_console.print(str(problem), markup=False)
        raise fail("the config would not be valid after this change; nothing was changed") from None
    except EditError as exc:
        raise fail(str(exc)) from None
    if dry_run:
        for change in changes:
            console.print(change.diff(), markup=False, end="")
        console.print("(dry run: nothing was written)", markup=False)
    return changes


@channel_app.command("add")
def channel_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The channel's name.")],
    url: Annotated[str | None, typer.Option("--url", metavar="URL", help="What to record.")] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category", metavar="NAME", help="Its category.", autocompletion=category_names
        ),
    ] = None,
    create_category: Annotated[
        bool, typer.Option("--create-category", help="Declare the category when it is new.")
    ] = False,
    update: Annotated[
        bool, typer.Option("--update", help="Change the channel when it exists already.")
    ] = False,
    file: FileOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Declare a channel (or, with --update, change its url or category) in the YAML."""
    from streamrec.spec.editing import Upsert

    edit = _editor()
    declared = edit.declared("channels", name)
    if declared and not update:
        raise fail(
            f"channel {name!r} is already declared at {declared[1]}; "
            "add --update to change its url or category"
        )
    if declared and file and edit.target(file) != declared[0]:
        raise fail(f"channel {name!r} is declared at {declared[1]}, not in {file}")
    if url is None and (not declared or category is None):
        raise fail("give the channel's --url" if not declared else "nothing to change")
    target = declared[0] if declared else _target(edit, file)
    fields: dict[str, Any] = {} if url is None else {"url": url}
    if category is not None:
        fields["category"] = category
        if not edit.declared("categories", category):
            if not create_category:
                raise fail(
                    f"category {category!r} is not declared"
                    f"{edit.suggest('categories', category)}; add --create-category to declare "
                    f"it in {_shown(target)}"
                )
            edit.add(target, Upsert("categories", category, {}))
    edit.add(target, Upsert("channels", name, fields))
    changes = _commit(edit, dry_run)
    if not changes:
        console.print(f"channel {name!r} already has these values; nothing changed", markup=False)
    elif not dry_run:
        done = "updated channel {!r} in {}" if declared else "added channel {!r} to {}"
        console.print(done.format(name, _shown(target)), markup=False)


def _target(edit: ConfigEdit, file: Path | None, default: str = "channels.yaml") -> Path:
    from streamrec.spec.editing import EditError

    try:
        return edit.target(file, default)
    except EditError as exc:
        raise fail(str(exc)) from None


@channel_app.command("remove")
def channel_remove(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The channel to remove.", autocompletion=channel_names),
    ],
    dry_run: DryRunOption = False,
) -> None:
    """Remove a channel's entry from the file that declares it (comments around it stay)."""
    from streamrec.spec.editing import Remove

    edit = _editor()
    declared = edit.declared("channels", name)
    if declared is None:
        raise fail(f"there is no channel named {name!r}{edit.suggest('channels', name)}")
    edit.add(declared[0], Remove("channels", name))
    _commit(edit, dry_run)
    if not dry_run:
        console.print(f"removed channel {name!r} from {_shown(declared[0])}", markup=False)


@channel_app.command("list")
def channel_list(
    category: Annotated[
        str | None,
        typer.Option(
            "--category", metavar="NAME", help="Only this one.", autocompletion=category_names
        ),
    ] = None,
    output: OutputOption = Output.text,
) -> None:
    """Every channel with its category, URL (secrets hidden) and where it is declared."""
    loaded = load()
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "category": channel.category,
            "enabled": channel.enabled,
            "url": globals_.redactor.text(channel.url),
            "declared_at": loaded.origins.get(("channels", name)),
        }
        for name, channel in loaded.config.channels.items()
        if category is None or channel.category == category
    ]
    if output.structured:
        emit(rows, output)
        return
    table = Table.of("channel", "category", "url", "declared at")
    table.add_column("enabled", wide=True)
    for row in rows:
        shown = printable(str(row["name"])) + ("" if row["enabled"] else " (disabled)")
        table.add_row(
            shown,
            printable_or(row["category"], "-"),
            printable(row["url"]),
            printable_or(row["declared_at"]),
            "yes" if row["enabled"] else "no",
        )
    print_table(table, output, console)


@category_app.command("add")
def category_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The category's name.")],
    description: Annotated[
        str | None, typer.Option(metavar="DESCRIPTION", help="What it holds.")
    ] = None,
    file: FileOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Declare a category in the YAML."""
    from streamrec.spec.editing import Upsert

    edit = _editor()
    declared = edit.declared("categories", name)
    if declared:
        raise fail(f"category {name!r} is already declared at {declared[1]}")
    target = _target(edit, file)
    body = {} if description is None else {"description": description}
    edit.add(target, Upsert("categories", name, body))
    _commit(edit, dry_run)
    if not dry_run:
        console.print(f"added category {name!r} to {_shown(target)}", markup=False)


@category_app.command("list")
def category_list(output: OutputOption = Output.text) -> None:
    """Every category with the number of channels in it."""
    loaded = load()
    counts = Counter(channel.category for channel in loaded.config.channels.values())
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "channels": counts.get(name, 0),
            "description": globals_.redactor.value(category.description),
        }
        for name, category in loaded.config.categories.items()
    ]
    if output.structured:
        emit({"categories": rows, "uncategorized": counts.get(None, 0)}, output)
        return
    table = Table.of("category", "channels", "description")
    for row in rows:
        table.add_row(
            printable(row["name"]), str(row["channels"]), printable_or(row["description"])
        )
    if counts.get(None):
        table.add_row("(none)", str(counts[None]), "channels without a category")
    print_table(table, output, console)
