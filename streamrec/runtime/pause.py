"""Waiting a while unless told to stop: the one pause every periodic loop of the daemon takes.

The daemon's loops (the heap trim, the read model's keep-up, the state keeper's watch, the
cluster's lease and poll, a recorder's reconnect delay, probe and free-space check) each wait a
number of seconds between two steps, and end as soon as their stop event is set.
:func:`stopped_within` is that wait; it returns at once when the event is already set.
"""

from __future__ import annotations

import asyncio


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``stop``; True when it was set, False when the time ran out."""
    if stop.is_set():
        return True
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True
