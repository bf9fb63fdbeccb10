"""Slots: a slot given back goes straight to the first waiter, in order; a canceled waiter
passes it on; the limit always holds."""

from __future__ import annotations

import asyncio

from streamrec.runtime.tasks.values import Slots


async def test_a_released_slot_goes_to_the_first_waiter_without_the_count_dropping() -> None:
    slots = Slots(1)
    order: list[str] = []
    await slots.__aenter__()

    async def take(name: str) -> None:
        async with slots:
            order.append(name)
            assert slots.used == 1

    waiters = [asyncio.ensure_future(take(n)) for n in ("a", "b", "c")]
    await asyncio.sleep(0)
    await slots.__aexit__()
    assert slots.used == 1  # handed over, not given back
    await asyncio.gather(*waiters)
    assert order == ["a", "b", "c"] and slots.used == 0


async def test_a_canceled_waiter_neither_keeps_nor_loses_a_slot() -> None:
    slots = Slots(1)
    await slots.__aenter__()
    gone = asyncio.ensure_future(slots.__aenter__())
    later = asyncio.ensure_future(slots.__aenter__())
    await asyncio.sleep(0)
    await slots.__aexit__()  # handed to ``gone``...
    gone.cancel()  # ...which is canceled before it resumes: ``later`` gets it
    await asyncio.sleep(0)
    assert gone.cancelled()
    await asyncio.wait_for(later, 1)
    assert slots.used == 1
    await slots.__aexit__()
    assert slots.used == 0


async def test_never_more_than_the_limit_at_once() -> None:
    slots = Slots(2)
    inside, peak = 0, 0

    async def job() -> None:
        nonlocal inside, peak
        async with slots:
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(job() for _ in range(50)))
    assert peak == 2 and slots.used == 0
