"""The version of streamrec: written here, read by the build (``pyproject.toml`` takes it from
this file), so printing it imports nothing (``importlib.metadata`` alone costs more than the
interpreter's own start). ``tests/cli/test_cli_conventions.py`` checks that the installed
package's metadata says the same."""

from __future__ import annotations

__version__ = "0.1.0"
