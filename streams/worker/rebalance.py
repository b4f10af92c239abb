"""What a worker does when its partitions move, and whether it is ready to answer."""

import asyncio
from collections.abc import Iterable

import faust

from streams.worker.records import Records
from streams.worker.time_passing import Deadlines


class Rebalancing:
    """Forgets what belonged to the partitions before, and rewinds the ones never committed.

    ``rewind`` names the topics read in the consumer group whose uncommitted partitions are
    read from their start; ``control_ready`` is set once the versions in force are known.
    """

    def __init__(
        self,
        app: faust.App,
        records: Records,
        deadlines: Deadlines,
        rewind: Iterable[str],
        control_ready: asyncio.Event,
    ) -> None:
        self.app = app
        self.records = records
        self.deadlines = deadlines
        self.rewind = set(rewind)
        self.control_ready = control_ready
        self.recovered = False

    def connect(self) -> None:
        """Take part in the app's rebalances; call before the app starts."""
        self.app.on_rebalance_complete.connect(self.after_rebalance)
        self.app.on_partitions_revoked.connect(self.forget_records)

    def not_ready(self) -> str | None:
        """What the worker still waits for before it can answer for its customers, if anything."""
        if not self.recovered:
            return "its first partition assignment and table recovery"
        if not self.control_ready.is_set():
            return "the control topic, to answer with the versions in force"
        if self.app.rebalancing or self.app.in_recovery:
            return "a rebalance and table recovery in progress"
        return None

    async def forget_records(self, sender: object, *_: object, **__: object) -> None:
        # Another worker may change these customers before they come back to this one.
        self.records.forget()

    async def after_rebalance(self, sender: object, **_: object) -> None:
        # The partitions (and so the customers) of this worker may have changed.
        self.records.forget()
        self.recovered = True
        self.deadlines.forget()
        await rewind_uncommitted(self.app.consumer, self.rewind)


async def rewind_uncommitted(consumer: faust.types.ConsumerT, topics: set[str]) -> None:
    """Read the assigned partitions of ``topics`` that have no committed offset from their start.

    A rebalance drops the messages Faust had fetched but not processed, then seeks only the
    partitions with a committed offset back to it: the others would go on from the fetch
    position and the dropped messages would be lost. Faust seeks the committed ones right
    after this; reading again what was processed changes nothing (event ids). The seeks run in
    the consumer's own thread (``seek_wait``): aiokafka is not thread-safe, and a seek from
    the app's thread races its fetcher (a ``KeyError`` that crashes the worker).
    """
    partitions = [tp for tp in consumer.assignment() if tp.topic in topics]
    if partitions:
        await consumer.seek_wait(await consumer.earliest_offsets(*partitions))
