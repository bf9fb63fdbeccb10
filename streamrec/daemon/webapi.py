"""The read side of the daemon's HTTP API: events, recordings, metrics, thumbnails, dashboard data.

``daemon.service.Daemon`` inherits :class:`WebApi`; ``web.control`` calls these methods through its
``Controller`` protocol. Kept apart from the reconciler so that the HTTP surface can grow without
touching the lifecycle code.
"""

from __future__ import annotations


class WebApi:
    """Mixin of the daemon: what the HTTP API reads."""
