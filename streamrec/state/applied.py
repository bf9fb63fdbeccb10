"""The applied snapshot: what the last ``apply`` made current (``state/applied.json``).

``cli apply`` and the daemon write it after a successful apply (before logging ``config.applied``);
``cli plan`` and ``cli status`` read it to compare against the config on disk. It holds redacted
definitions and the hashes of the real ones (see ``core.planning``), so no secret is stored in it.
Written atomically: a crash leaves either the old or the new snapshot, never a torn one. The file
is 0600 (``mkstemp``'s mode) in a 0700 directory, like everything in the state directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from streamrec.core.planning import Applied
from streamrec.errors import StateError
from streamrec.state.private import private_dir


def read_applied(path: Path) -> Applied:
    """The last applied snapshot, or an empty one when nothing was applied yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Applied()
    except (OSError, ValueError) as exc:
        raise StateError(
            f"{path}: cannot read the applied snapshot ({exc}); "
            "move it away and run `streamrec apply` to record the current config again"
        ) from exc
    return Applied.from_dict(data)


def write_applied(path: Path, applied: Applied, extra: dict[str, Any] | None = None) -> None:
    """Replace the snapshot atomically (temp file, fsync, rename, fsync of the directory)."""
    data = {**applied.as_dict(), **(extra or {})}
    try:
        private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".applied-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise StateError(f"{path}: cannot write the applied snapshot: {exc.strerror}") from exc
