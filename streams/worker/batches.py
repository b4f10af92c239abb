"""Taking a stream's events in batches that end as soon as no event is waiting.

Faust's ``take_events(n, within)`` waits ``within`` for each batch and takes events only
while it waits: a worker catching up gets batches of what it can take in that time, and a
live event waits for it. Here the events are taken while the batch before them is worked
on, and a batch ends when the next event has not arrived yet, or at ``size`` events: a live
event is worked on at once, and a backlog goes in batches of ``size``.
"""

import asyncio
from collections.abc import AsyncIterator

import faust
from faust.types import EventT

PATIENCE = 64
"""Turns of the event loop a batch waits for its next event before it ends. Faust's consumer
hands over one message a turn, of any of the topics the worker reads, the outputs that the
Redis writer and the trainer follow among them, so the next event of a backlog may take
many: with 8 turns a worker catching up ended its batches after a median of 4 events, with
64 at 1,000 (``tests/bench/bench_worker.py``). 64 turns of an idle loop take about 0.2 ms."""


async def in_batches(stream: faust.StreamT, size: int) -> AsyncIterator[tuple[EventT, bool]]:
    """Each event of ``stream`` as it arrives, and whether it ends its batch.

    The events of a batch are acknowledged (so that their offsets can be committed) when the
    next event is asked for after the one that ended it: by then the caller is done with
    them. No batch is ever left open while waiting for an event, so a rebalance, which waits
    for every event taken to be acknowledged, never waits for one that has not arrived.
    """
    manual = stream.noack()
    waiting: asyncio.Queue[EventT] = asyncio.Queue(size)
    taker = asyncio.ensure_future(_take(manual, waiting))
    batch: list[EventT] = []
    try:
        while True:
            event = waiting.get_nowait() if batch else await _next(waiting, taker)
            if event is None:
                return
            batch.append(event)
            last = len(batch) == size or not await _arrives(waiting)
            yield event, last
            if last:
                for done in batch:
                    await manual.ack(done)
                batch.clear()
    finally:
        taker.cancel()


async def _take(stream: faust.StreamT, waiting: asyncio.Queue[EventT]) -> None:
    async for event in stream.events():
        await waiting.put(event)


async def _arrives(waiting: asyncio.Queue[EventT]) -> bool:
    """Whether another event arrives within ``PATIENCE`` turns of the event loop."""
    for _ in range(PATIENCE):
        await asyncio.sleep(0)
        if not waiting.empty():
            return True
    return False


async def _next(waiting: asyncio.Queue[EventT], taker: asyncio.Future) -> EventT | None:
    """The next event, once it arrives; None once the stream has ended (the worker stops),
    the stream's error if it failed."""
    getting = asyncio.ensure_future(waiting.get())
    await asyncio.wait({getting, taker}, return_when=asyncio.FIRST_COMPLETED)
    if getting.done():
        return getting.result()
    getting.cancel()
    taker.result()
    return None
