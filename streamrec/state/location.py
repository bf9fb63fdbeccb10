"""Where the state directory of a config is: one rule for the CLI and the daemon.

``$STREAMREC_STATE_DIR`` wins (containers mount a volume there), then ``settings.state_dir``
(relative to the config directory's parent), then ``state/`` beside the config directory, which is
also where a config that does not load is assumed to keep its state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from streamrec.spec.loading import LoadedConfig


def state_root(config_dir: Path, loaded: LoadedConfig | None, environ: Mapping[str, str]) -> Path:
    """The state directory for ``config_dir`` (see the module docstring)."""
    override = environ.get("STREAMREC_STATE_DIR")
    if override:
        return Path(override).expanduser().resolve()
    if loaded is not None:
        return loaded.resolve_path(loaded.config.settings.state_dir)
    return config_dir.resolve().parent / "state"
