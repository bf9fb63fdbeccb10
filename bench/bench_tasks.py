"""Benchmark: a 1,000-task DAG of ``true`` through the task runner, against ``make -j2``.

    .venv/bin/python bench/bench_tasks.py [--tasks 1000] [--jobs 2] [--repeat 3]

Generates one DAG (chains, fan-out from hubs, fan-in joins, a few independent roots; seeded, so
every run measures the same graph), writes it as a Makefile and as streamrec tasks, and runs it:

- baseline ``make -jN`` (make execs ``true`` directly, as streamrec does for a command with no
  shell syntax), and ``make -jN`` with every recipe through ``/bin/sh -c``, both in this run;
- streamrec's runner (``runtime.tasks.graph.run_graph`` at ``max_parallel=N``), each in a fresh
  interpreter, with the state log's ``fsync: always`` (the default durability: every event on
  disk before it is acted on), ``interval``, and ``never`` (fsync off), on the disk and on tmpfs.

Printed per variant: wall time (best of ``--repeat``), its ratio to ``make -jN``, the overhead per
task (our wall time minus make's, per task: make's bookkeeping is negligible next to a fork and
exec, so this is what the runner adds), the runner's own CPU time per task (user + system, which
a busy machine does not inflate the way it does wall time), the fsyncs (one per group commit
batch) and the runner's peak RSS. "first run" is a state directory that has never seen these
tasks (each task's lock file and log directory are created); "again" runs the graph a second time
in the same state directory, which is the steady state. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measuring import measure

SEED = 20261128


def make_graph(count: int) -> dict[str, list[str]]:
    """Task name -> dependencies: chains, fan-out from hubs, fan-in joins, independent roots."""
    rng = random.Random(SEED)
    deps: dict[str, list[str]] = {}
    hub = "t0"
    for i in range(count):
        name = f"t{i}"
        kind = i % 10
        if i == 0 or kind == 9:
            deps[name] = []  # an independent root
        elif kind == 0:
            hub = name  # a new hub, after the previous node
            deps[name] = [f"t{i - 1}"]
        elif kind <= 5:
            deps[name] = [f"t{i - 1}"]  # chains
        elif kind <= 7:
            deps[name] = [hub]  # fan-out from the current hub
        else:
            picks = rng.sample(range(i), min(i, 6))  # fan-in from earlier nodes
            deps[name] = [f"t{p}" for p in sorted(picks)]
    return deps


def write_makefile(path: Path, deps: dict[str, list[str]], through_shell: bool) -> None:
    """One phony target per task; ``all`` depends on every task."""
    recipe = "true;" if through_shell else "true"  # a ';' makes make use /bin/sh -c
    lines = [".PHONY: all " + " ".join(deps), "all: " + " ".join(deps)]
    for name, parents in deps.items():
        lines.append(f"{name}: {' '.join(parents)}".rstrip())
        lines.append(f"\t@{recipe}")
    path.write_text("\n".join(lines) + "\n")


def run_make(deps: dict[str, list[str]], jobs: int, through_shell: bool) -> float:
    """Wall seconds of ``make -jN`` over the graph (``measuring.measure``)."""
    with tempfile.TemporaryDirectory() as tmp:
        makefile = Path(tmp) / "Makefile"
        write_makefile(makefile, deps, through_shell)
        wall, _peak, code = measure(
            ["make", "-s", f"-j{jobs}", "-f", str(makefile), "all"], Path(tmp)
        )
        if code:
            raise SystemExit(f"make failed with exit code {code}")
        return wall


def inner(count: int, jobs: int, fsync: str, base: str | None, warm: bool) -> None:
    """Run the graph through streamrec in this (fresh) interpreter; print JSON figures."""
    from loguru import logger

    from streamrec.runtime.tasks.graph import run_graph
    from streamrec.runtime.tasks.runner import TaskRunner
    from streamrec.spec.model import Task
    from streamrec.state.journal import Journal
    from streamrec.state.paths import StatePaths

    logger.remove()
    deps = make_graph(count)
    tmp = Path(tempfile.mkdtemp(prefix="bench-tasks-", dir=base))
    try:
        paths = StatePaths.at(tmp / "state").ensure()
        tasks = {n: Task(command="true", depends_on=tuple(d)) for n, d in deps.items()}
        with Journal(paths.root, fsync=fsync) as journal:  # type: ignore[arg-type]
            runner = TaskRunner(
                tasks, layout=paths, journal=journal, base_dir=tmp, max_parallel=jobs
            )
            if warm:  # a first run creates each task's lock, counter and log directory
                asyncio.run(run_graph(runner, list(deps)))
            before = resource.getrusage(resource.RUSAGE_SELF)
            batches = journal.batches
            begin = time.perf_counter()
            results = asyncio.run(run_graph(runner, list(deps)))
            wall = time.perf_counter() - begin
            after = resource.getrusage(resource.RUSAGE_SELF)
            batches = journal.batches - batches
        ok = sum(r.ok for r in results.values())
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        fsyncs = batches if fsync == "always" else 0
        print(json.dumps({"wall": wall, "cpu": cpu, "ok": ok, "fsyncs": fsyncs,
                          "rss_kib": after.ru_maxrss, "rss_before_kib": before.ru_maxrss}))  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_ours(count: int, jobs: int, fsync: str, base: str | None, warm: bool) -> dict[str, float]:
    """One measurement of streamrec in a fresh interpreter."""
    argv = [sys.executable, __file__, "--inner", "--tasks", str(count), "--jobs", str(jobs),
            "--fsync", fsync] + (["--base", base] if base else []) + (["--warm"] if warm else [])  # fmt: skip
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(out)
    if figures["ok"] != count:
        raise SystemExit(f"only {figures['ok']} of {count} tasks completed")
    return figures


VARIANTS = [
    ("first run, fsync=always (default)", "always", None, False),
    ("again, fsync=always (default durability)", "always", None, True),
    ("again, fsync=interval", "interval", None, True),
    ("again, fsync=never (fsync off)", "never", None, True),
    ("again, fsync=never, state on tmpfs", "never", "/dev/shm", True),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fsync", default="always")
    parser.add_argument("--base", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.tasks, args.jobs, args.fsync, args.base, args.warm)
        return
    count, jobs = args.tasks, args.jobs
    deps = make_graph(count)
    edges = sum(len(d) for d in deps.values())
    print(f"graph: {count} tasks, {edges} edges, parallelism {jobs}, best of {args.repeat}")
    make_exec = min(run_make(deps, jobs, False) for _ in range(args.repeat))
    make_sh = min(run_make(deps, jobs, True) for _ in range(args.repeat))
    print(f"{'baseline: make -j' + str(jobs) + ' (execs true)':44} {make_exec:7.3f} s")
    print(f"{'baseline: make -j' + str(jobs) + ' (/bin/sh -c true;)':44} {make_sh:7.3f} s")
    for label, fsync, base, warm in VARIANTS:
        if base and not Path(base).is_dir():
            continue
        runs = [run_ours(count, jobs, fsync, base, warm) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall"])
        wall = best["wall"]
        overhead_ms = (wall - make_exec) / count * 1000
        fsyncs = f" | {best['fsyncs']:.0f} fsyncs" if best["fsyncs"] else ""
        print(
            f"{'streamrec: ' + label:44} {wall:7.3f} s = {wall / make_exec:5.2f}x make"
            f" | overhead {overhead_ms:.2f} ms/task | runner CPU {best['cpu'] / count * 1000:.2f}"
            f" ms/task{fsyncs} | peak RSS {best['rss_kib'] / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
