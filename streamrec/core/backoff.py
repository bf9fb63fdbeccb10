"""Jittered exponential backoff: how long a recorder waits before trying a dead source again.

Called by the recorder (``runtime.supervisor``, through ``core.reconnecting``) between attempts. Pure: the random number is an
argument, so the schedule is tested with fixed values and no sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays ``initial * factor**(attempt-1)``, capped at ``maximum``, spread by ``jitter``.

    ``jitter=0.2`` spreads each delay uniformly over ±20 %, so channels that lost the same
    origin at the same moment do not all come back in the same second.
    """

    initial: float = 2.0
    maximum: float = 300.0
    factor: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, rand: float) -> float:
        """The wait before attempt number ``attempt`` (1-based), given ``rand`` in [0, 1)."""
        if attempt < 1:
            return 0.0
        exponent = min(attempt - 1, 64)
        base = min(self.maximum, self.initial * self.factor**exponent)
        spread = base * self.jitter * (2.0 * rand - 1.0)
        return max(0.0, min(self.maximum, base + spread))
