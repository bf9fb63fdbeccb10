"""How a command prints its result: ``-o text|plain|wide|json|yaml``, tables, JSON and YAML.

Every read command takes :data:`OutputOption` and prints through this module, so the formats mean
the same everywhere:

- ``text`` (the default): for people. A table is a rich box table when standard output is a
  terminal, else plain columns (below), so a pipe or a test never sees box-drawing characters;
- ``plain``: whitespace-aligned columns under one header line of upper-case names, like
  ``kubectl get``: ``awk``/``cut`` friendly, whatever standard output is;
- ``wide``: ``plain``'s layout (box table on a terminal) with the extra columns a table marks as
  wide;
- ``json``: the command's data, indented; ``yaml``: the same data as YAML 1.2, the dialect the
  config files are read in (``20:00`` and ``yes`` are strings). This is the one module of the
  command line that imports ruamel.yaml, only to write.

Cells are shown as given: callers pass text already made printable
(:func:`~streamrec.core.printable.printable`) and redacted; nothing is read as markup. Everything
a command prints for people goes out through :func:`write`: one write of the whole text to the
console's file, never one ``console.print`` per line (rich parses markup and emoji codes, measures
and wraps every line it is given, which took seconds for a plan of 20,000 objects). Only a box
table on a terminal is drawn by rich, into a string, and written the same way.

rich and ruamel.yaml are imported inside the functions that use them, so ``streamrec --help``
and ``--version`` never load them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Column",
    "Output",
    "OutputOption",
    "Table",
    "dumps",
    "emit",
    "human_size",
    "print_table",
    "shows_colour",
    "style",
    "write",
]


class Output(str, Enum):
    """How a command prints its result (``-o``)."""

    text = "text"
    plain = "plain"
    wide = "wide"
    json = "json"
    yaml = "yaml"

    @property
    def structured(self) -> bool:
        """Whether the result is data (JSON or YAML) rather than lines for people."""
        return self in (Output.json, Output.yaml)


OutputOption = Annotated[
    Output,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        help="text (a table on a terminal), plain, wide (extra columns), json or yaml.",
    ),
]


def _plain_data(data: Any) -> Any:
    """``data`` as JSON types only (str subclasses, tuples and the like made plain)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def dumps(data: Any, fmt: Output) -> str:
    """``data`` as YAML for ``-o yaml``, else as indented JSON; no trailing newline."""
    plain = _plain_data(data)
    if fmt is not Output.yaml:
        return json.dumps(plain, indent=2, ensure_ascii=False)
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    # keys in the order the command gave them (ruamel types this attribute as None)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    buffer = io.StringIO()
    yaml.dump(plain, buffer)
    return buffer.getvalue().rstrip("\n")


def human_size(size: float) -> str:
    """A byte count for people, in binary units: ``812 B``, ``4.2 MiB``, ``76.4 GiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def emit(data: Any, fmt: Output) -> None:
    """Print ``data`` on standard output as JSON, or as YAML for ``-o yaml``."""
    typer.echo(dumps(data, fmt))


def write(console: Console, lines: str | list[str]) -> None:
    """``lines`` (a text, or lines without their newlines) on ``console``'s file in one write.

    Nothing is read as markup or emoji codes, nothing is wrapped: the text is written as given
    (callers make user text printable first), with a newline at the end.
    """
    text = lines if isinstance(lines, str) else "\n".join(lines)
    file = console.file
    file.write(text + "\n")
    file.flush()


_SGR = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2"}


def shows_colour(console: Console) -> bool:
    """Whether ``console`` shows colours: a terminal, ``NO_COLOR`` unset (ask once per output)."""
    return bool(console.is_terminal and console.color_system is not None)


def style(text: str, name: str) -> str:
    """``text`` coloured as ``name`` (green, yellow, red, bold, dim), for a console that
    :func:`shows_colour`."""
    return f"\x1b[{_SGR[name]}m{text}\x1b[0m"


@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`."""

    header: str
    wide: bool = False
    """Shown with ``-o wide`` only."""
    justify: Literal["left", "right"] = "left"


@dataclass
class Table:
    """Rows under named columns, printed by :func:`print_table` in the chosen format."""

    title: str | None = None
    columns: list[Column] = field(default_factory=list)
    rows: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, *headers: str, title: str | None = None) -> Table:
        """A table with these (normal) columns."""
        return cls(title=title, columns=[Column(header) for header in headers])

    def add_column(
        self, header: str, *, wide: bool = False, justify: Literal["left", "right"] = "left"
    ) -> None:
        """One more column (``wide``: only with ``-o wide``)."""
        self.columns.append(Column(header, wide, justify))

    def add_row(self, *cells: str) -> None:
        """One row, a cell per column in order (missing cells are empty)."""
        padded = [*cells, *([""] * (len(self.columns) - len(cells)))]
        self.rows.append(tuple(padded[: len(self.columns)]))


def _shown(table: Table, fmt: Output) -> list[int]:
    return [i for i, column in enumerate(table.columns) if fmt is Output.wide or not column.wide]


def _cell_len(text: str) -> int:
    """The columns ``text`` takes in a terminal: its length when it is printable ASCII (what rich
    answers too), else rich's count (imported then: wide and zero-width characters)."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def plain_lines(table: Table, fmt: Output = Output.plain) -> list[str]:
    """The table as a header line and aligned rows, three spaces between columns."""
    cell_len = _cell_len
    shown = _shown(table, fmt)
    headers = [table.columns[i].header.upper() for i in shown]
    body = [[row[i] for i in shown] for row in table.rows]
    widths = [max([cell_len(h), *(cell_len(r[n]) for r in body)]) for n, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        parts = []
        for n, cell in enumerate(cells):
            pad = " " * (widths[n] - cell_len(cell))
            right = table.columns[shown[n]].justify == "right"
            parts.append(pad + cell if right else cell + pad)
        return "   ".join(parts).rstrip()

    return [line(headers), *(line(cells) for cells in body)]


def print_table(table: Table, fmt: Output, console: Console) -> None:
    """A box table on a terminal for ``text``/``wide``, else plain columns (``plain``, pipes)."""
    if fmt in (Output.text, Output.wide) and console.is_terminal:
        from rich import box
        from rich.table import Table as RichTable

        shown = _shown(table, fmt)
        rich = RichTable(title=table.title, title_justify="left", box=box.ROUNDED, highlight=False)
        for i in shown:
            rich.add_column(table.columns[i].header, justify=table.columns[i].justify)
        for row in table.rows:
            rich.add_row(*(row[i] for i in shown))
        with console.capture() as drawn:
            console.print(rich, markup=False, emoji=False, highlight=False)
        write(console, drawn.get().rstrip("\n"))
        return
    write(console, plain_lines(table, fmt))
