"""Config commands: validate, schema, plan, apply, status, history."""

from __future__ import annotations

from streamrec.cli.app import app  # noqa: F401
