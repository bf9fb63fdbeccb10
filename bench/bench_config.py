"""validate + plan on a generated directory of 10,000 channels and 10,000 tasks.

Prints wall time and peak memory (max RSS) of each command, run as a real subprocess, next to a
baseline measured in the same run: loading the same files with ruamel.yaml's C loader and nothing
else. Target: validate + plan under 1.5 s and 300 MB on this machine.

    .venv/bin/python bench/bench_config.py [--channels N] [--tasks N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from measuring import measure

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.channels, args.tasks)
        files = sorted((root / "config").glob("*.yaml"))
        size = sum(f.stat().st_size for f in files)
        print(
            f"{args.channels} channels, {args.tasks} tasks in {len(files)} files, {size / 1e6:.1f} MB"
        )
        baseline = (
            "from ruamel.yaml import YAML; import sys, pathlib; y = YAML(typ='safe'); "
            "[y.load(p.read_text()) for p in sorted(pathlib.Path('config').glob('*.yaml'))]"
        )
        streamrec = [str(BIN / "streamrec"), "-q", "--config", "config"]
        rows = [
            ("baseline: ruamel C loader only", [sys.executable, "-c", baseline]),
            ("python startup + streamrec --help", [*streamrec, "--help"]),
            ("streamrec validate", [*streamrec, "validate"]),
            ("streamrec plan (nothing applied)", [*streamrec, "plan"]),
            ("streamrec apply", [*streamrec, "apply"]),
            ("streamrec plan (all applied)", [*streamrec, "plan"]),
        ]
        print(f"{'command':<38} {'wall s':>8} {'peak MB':>9} {'exit':>5}")
        results = {}
        for label, argv in rows:
            wall, peak, exit_code = measure(argv, root)
            results[label] = wall
            print(f"{label:<38} {wall:>8.2f} {peak:>9.0f} {exit_code:>5}")
        total = results["streamrec validate"] + results["streamrec plan (all applied)"]
        print(f"validate + plan: {total:.2f} s (target < 1.5 s)")


if __name__ == "__main__":
    main()
