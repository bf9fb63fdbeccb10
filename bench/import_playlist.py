"""import m3u of a generated 20,000-entry playlist, then again after a change, then validate.

Prints wall time and peak memory (max RSS) of each command, run as a real subprocess, next to a
baseline measured in the same run: reading the same playlist with Python's plain line iterator and
nothing else; each figure is also shown as a ratio to that baseline. The change between the two
imports removes 100 entries, adds 100 and reverses the order of the rest (a re-import must find
every channel by its key and change only the 200).

    .venv/bin/python bench/import_playlist.py [--entries N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from measuring import measure

BIN = Path(sys.executable).parent
GROUPS = ["Haber", "Spor", "Film", "Belgesel", "Müzik", "Çocuk", "Yerel", "Dizi"]


def entry(i: int) -> list[str]:
    """One playlist entry: every fourth has a tvg-id, every tenth a user agent, titles repeat."""
    attrs = f'group-title="{GROUPS[i % len(GROUPS)]}" tvg-logo="http://127.0.0.1:9/logo/{i}.png"'
    if i % 4 == 0:
        attrs = f'tvg-id="ch{i}.tr" ' + attrs
    title = f"Kanal {i // 4} (720p)" if i % 3 else f"Kanal {i // 4}"
    url = f"http://127.0.0.1:9/live/{i}/index.m3u8"
    if i % 10 == 0:
        url += "|User-Agent=Box/1.0"
    return [f"#EXTINF:-1 {attrs},{title}", url]


def playlist(numbers: list[int]) -> str:
    lines = ["#EXTM3U"]
    for i in numbers:
        lines += entry(i)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    n = args.entries
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        (root / "config" / "settings.yaml").write_text("settings: {timezone: UTC}\n")
        first = root / "tv.m3u"
        first.write_text(playlist(list(range(n))), encoding="utf-8")
        changed = root / "tv-changed" / "tv.m3u"
        changed.parent.mkdir()
        kept = list(range(100, n))[::-1] + list(range(n, n + 100))
        changed.write_text(playlist(kept), encoding="utf-8")
        size = first.stat().st_size
        print(f"{n} entries, {size / 1e6:.1f} MB playlist")
        baseline = f"sum(1 for _ in open({str(first)!r}, encoding='utf-8'))"
        streamrec = [str(BIN / "streamrec"), "-q", "--config", "config"]
        rows = [
            ("baseline: plain line iterator", [sys.executable, "-c", baseline]),
            ("python startup + streamrec --help", [*streamrec, "--help"]),
            (f"import m3u ({n:,} new)", [*streamrec, "import", "m3u", str(first)]),
            ("import m3u again (nothing changed)", [*streamrec, "import", "m3u", str(first)]),
            ("re-import: -100 +100, reordered", [*streamrec, "import", "m3u", str(changed)]),
            ("re-import with --prune", [*streamrec, "import", "m3u", str(changed), "--prune"]),
            ("streamrec validate", [*streamrec, "validate"]),
        ]
        print(
            f"{'command':<38} {'wall s':>8} {'x base':>7} {'peak MB':>9} {'x base':>7} {'exit':>5}"
        )
        base_wall = base_peak = 0.0
        for label, argv in rows:
            wall, peak, exit_code = measure(argv, root)
            if not base_wall:
                base_wall, base_peak = wall, peak
            print(
                f"{label:<38} {wall:>8.2f} {wall / base_wall:>7.1f} {peak:>9.0f} "
                f"{peak / base_peak:>7.1f} {exit_code:>5}"
            )
        written = root / "config" / "imported-tv.yaml"
        print(
            f"written: {written.stat().st_size / 1e6:.1f} MB, {written.read_text().count('import_key:')} channels"
        )


if __name__ == "__main__":
    main()
