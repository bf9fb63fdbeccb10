"""``task list`` and ``queue list``: the declared tasks and queues, as tables or data.

Both read the loaded config only (what runs and how it ended is ``status``). A task's command is
shown with the config's secrets hidden; its ``env`` is not shown. Tables go through ``cli.output``
(``-o wide`` adds where each is declared and its description).
"""

from __future__ import annotations

import json
from typing import Any

from streamrec.cli.app import console, globals_, load
from streamrec.cli.output import Output, OutputOption, Table, emit, print_table
from streamrec.cli.tasks import queue_app, task_app
from streamrec.core.printable import printable, printable_or


def _schedule(value: Any) -> str:
    if value in (None, ""):
        return "-"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@task_app.command("list")
def task_list(output: OutputOption = Output.text) -> None:
    """Every task with its schedule, dependencies and command (secrets hidden)."""
    loaded = load()
    rows: list[dict[str, Any]] = globals_.redactor.value(
        [
            {
                "name": name,
                "schedule": task.model_dump(mode="json")["schedule"],
                "depends_on": list(task.depends_on),
                "command": task.command,
                "description": task.description,
                "declared_at": loaded.origins.get(("tasks", name)),
            }
            for name, task in loaded.config.tasks.items()
        ]
    )
    if output.structured:
        emit(rows, output)
        return
    table = Table.of("task", "schedule", "depends on", "command")
    table.add_column("declared at", wide=True)
    table.add_column("description", wide=True)
    for row in rows:
        table.add_row(
            printable(row["name"]),
            printable(_schedule(row["schedule"])),
            printable(", ".join(row["depends_on"]) or "-"),
            printable(row["command"]),
            printable_or(row["declared_at"]),
            printable_or(row["description"]),
        )
    print_table(table, output, console)


@queue_app.command("list")
def queue_list(output: OutputOption = Output.text) -> None:
    """Every queue with its tasks (in order), its schedule and what a failure does."""
    loaded = load()
    rows: list[dict[str, Any]] = globals_.redactor.value(
        [
            {
                "name": name,
                "tasks": list(queue.tasks),
                "schedule": queue.model_dump(mode="json")["schedule"],
                "on_failure": queue.on_failure,
                "description": queue.description,
                "declared_at": loaded.origins.get(("queues", name)),
            }
            for name, queue in loaded.config.queues.items()
        ]
    )
    if output.structured:
        emit(rows, output)
        return
    table = Table.of("queue", "tasks", "schedule", "on failure")
    table.add_column("declared at", wide=True)
    table.add_column("description", wide=True)
    for row in rows:
        table.add_row(
            printable(row["name"]),
            printable(", ".join(row["tasks"])),
            printable(_schedule(row["schedule"])),
            row["on_failure"],
            printable_or(row["declared_at"]),
            printable_or(row["description"]),
        )
    print_table(table, output, console)
