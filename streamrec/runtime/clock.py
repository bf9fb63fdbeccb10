"""The real wall clock: the one place outside tests that reads the time of day.

``SYSTEM_CLOCK`` is what the front ends (CLI, daemon, Python API) hand to the parts they build; those
parts take a :class:`~streamrec.core.clock.Clock` and never read ``time.time()`` or
``datetime.now()`` themselves.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class SystemClock:
    """:class:`~streamrec.core.clock.Clock` backed by the operating system's clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def time(self) -> float:
        return time.time()


SYSTEM_CLOCK = SystemClock()
"""The shared real clock."""
