"""validate and plan on a generated directory of 10,000 channels and 10,000 tasks.

Prints wall time and peak memory (max RSS) of each command, run as a real subprocess, next to a
baseline measured in the same run: a bare libyaml event scan of the same files (PyYAML's
``yaml.parse`` with ``CSafeLoader``; ruamel.yaml's C parser when PyYAML's libyaml binding is
missing), which reads every event and builds nothing. Each figure is the best of ``--repeat``
runs (a shared machine is noisy); "no cache" rows empty the config cache before each run, the
others find it filled by the run before. Target: validate and plan each at most 3x the baseline, and at
most 300 MB.

    .venv/bin/python bench/bench_config.py [--channels N] [--tasks N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measuring import measure

TARGET_RATIO = 3.0
TARGET_MB = 300.0

_SCAN = (
    "import pathlib, sys\n"
    "files = sorted(pathlib.Path('config').glob('*.yaml'))\n"
    "try:\n"
    "    import yaml\n"
    "    assert yaml.__with_libyaml__\n"
    "    events = lambda text: yaml.parse(text, Loader=yaml.CSafeLoader)\n"
    "except (ImportError, AssertionError):\n"
    "    from _ruamel_yaml import CParser\n"
    "    events = lambda text: iter(CParser(text).get_event, None)\n"
    "print(sum(1 for f in files for _ in events(f.read_text())))\n"
)
"""The baseline: every event of every file, nothing built."""


def scanner() -> str:
    """Which libyaml binding the baseline uses here."""
    try:
        import yaml

        if yaml.__with_libyaml__:
            return "PyYAML CSafeLoader"
    except ImportError:
        pass
    return "ruamel C parser"


BIN = Path(sys.executable).parent


def generate(directory: Path, channels: int, tasks: int) -> None:
    """Ten files of channels and ten of tasks, with categories, hooks and dependency chains."""
    config = directory / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        "settings:\n  timezone: Europe/Istanbul\n  defaults: {segment: 30m, retention: {max_age: 7d}}\n"
        "categories:\n" + "".join(f"  cat-{i}: {{description: Category {i}}}\n" for i in range(20))
    )
    per = max(1, channels // 10)
    for f in range(10):
        lines = ["channels:"]
        for i in range(f * per, min(channels, (f + 1) * per)):
            lines += [
                f"  channel-{i:05d}:",
                f"    url: http://127.0.0.1:8000/live/{i}/index.m3u8",
                f"    category: cat-{i % 20}",
                "    on_segment: [task-00000]",
            ]
            if i % 10 == 0:
                lines.append('    schedule: [{days: [mon, fri], start: "20:00", end: "02:00"}]')
        (config / f"channels-{f}.yaml").write_text("\n".join(lines) + "\n")
    per = max(1, tasks // 10)
    for f in range(10):
        lines = ["tasks:"]
        for i in range(f * per, min(tasks, (f + 1) * per)):
            lines += [f"  task-{i:05d}:", f"    command: echo {i}", "    timeout: 5m"]
            if i % 50:
                lines.append(f"    depends_on: [task-{i - 1:05d}]")
            if i % 1000 == 0:
                lines.append('    schedule: "0 3 * * *"')
        (config / f"tasks-{f}.yaml").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row, the best kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.channels, args.tasks)
        files = sorted((root / "config").glob("*.yaml"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"{args.channels} channels, {args.tasks} tasks in {len(files)} files, {size / 1e6:.1f} MB"
        )
        streamrec = [str(BIN / "streamrec"), "-q", "--config", "config"]
        cache = root / "cache"  # the config cache of validate and plan (app.configcache)
        os.environ["XDG_CACHE_HOME"] = str(cache)
        # label, argv, runs, whether the cache is emptied before each run
        scan = [sys.executable, "-c", _SCAN]
        rows = [
            ("python startup + streamrec --help", [*streamrec, "--help"], args.repeat, 0),
            ("streamrec validate (no cache)", [*streamrec, "validate"], args.repeat, 1),
            ("streamrec validate (cached)", [*streamrec, "validate"], args.repeat, 0),
            ("streamrec plan, nothing applied (no cache)", [*streamrec, "plan"], args.repeat, 1),
            ("streamrec plan, nothing applied (cached)", [*streamrec, "plan"], args.repeat, 0),
            ("streamrec apply", [*streamrec, "apply"], 1, 0),  # once: the state changes
            ("streamrec plan, all applied (cached)", [*streamrec, "plan"], args.repeat, 0),
        ]
        # The baseline is measured right before every run of every row, and its best kept: on a
        # shared machine a baseline measured once may fall in a busy moment and flatter the rest.
        scans: list[tuple[float, float, int]] = []
        measured = []
        for label, argv, runs, cold in rows:
            results = []
            for _ in range(runs):
                scans.append(measure(scan, root))
                if cold:
                    shutil.rmtree(cache, ignore_errors=True)
                results.append(measure(argv, root))
            measured.append((label, min(results)))
        base, base_peak, base_exit = min(scans)
        print(f"{'command':<44} {'wall s':>8} {'x base':>7} {'peak MB':>9} {'exit':>5}")
        label = f"baseline: libyaml events ({scanner()}), best of {len(scans)}"
        print(f"{label:<44} {base:>8.2f} {1:>6.1f}x {base_peak:>9.0f} {base_exit:>5}")
        worst: dict[bool, tuple[float, float]] = {False: (0.0, 0.0), True: (0.0, 0.0)}
        for label, (wall, peak, exit_code) in measured:
            ratio = wall / base
            if label.startswith(("streamrec validate", "streamrec plan")):
                ratios = worst["no cache" in label]
                worst["no cache" in label] = (max(ratios[0], ratio), max(ratios[1], peak))
            print(f"{label:<44} {wall:>8.2f} {ratio:>6.1f}x {peak:>9.0f} {exit_code:>5}")
        for cold, (worst_ratio, worst_mb) in worst.items():
            met = worst_ratio <= TARGET_RATIO and worst_mb <= TARGET_MB
            print(
                f"validate and plan, {'no cache' if cold else 'cached'}: at most "
                f"{worst_ratio:.1f}x the baseline and {worst_mb:.0f} MB (target "
                f"{TARGET_RATIO:.0f}x and {TARGET_MB:.0f} MB: {'met' if met else 'missed'})"
            )


if __name__ == "__main__":
    main()
