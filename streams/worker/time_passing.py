"""Time passing: the next deadline of each customer here, and a tick to its partition when due.

A tick is an event too: the customers agent reads the ticks topic beside the inputs and lets
the customer's time pass (an invoice turns overdue) as it would for an event.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import faust
import orjson

from sinks.metrics import Metrics
from streams.engine import CustomerRecord, Engine
from streams.worker.records import Records

TICK_RETRY = timedelta(minutes=1)
"""How long a tick sent may wait to be processed before it is sent again."""


class Deadlines:
    """The customers' next deadlines, as their records are stored, and the ticks they make."""

    def __init__(self, engine: Engine, records: Records, ticks: faust.TopicT, metrics: Metrics):
        self.engine = engine
        self.records = records
        self.ticks = ticks
        self.metrics = metrics
        self._deadlines: dict[str, tuple[datetime, int | None]] = {}
        self._complete = False

    def note(self, record: CustomerRecord, partition: int) -> None:
        """Keep the next deadline of a record just stored from ``partition``."""
        deadline = record.state.next_deadline(self.engine.config)
        if deadline is None:
            self._deadlines.pop(record.customer_id, None)
        else:
            self._deadlines[record.customer_id] = (deadline, partition)

    async def send_due_ticks(self) -> None:
        now = datetime.now(UTC)
        if not self._complete:
            self._index_table()
        for customer_id, (deadline, partition) in list(self._deadlines.items()):
            if deadline <= now:
                # Until the tick is processed (its record stored: `note`), ask again only after a
                # while: a worker behind on its events would otherwise send it at every sweep.
                self._deadlines[customer_id] = (now + TICK_RETRY, partition)
                tick = {"customer_id": customer_id, "now": now.isoformat()}
                await self.ticks.send(
                    key=customer_id.encode(), value=orjson.dumps(tick), partition=partition
                )

    def _index_table(self) -> None:
        """After a rebalance: the next deadline of each customer here, and their tiers."""
        config = self.engine.config
        tiers: Counter[str | None] = Counter()
        for customer_id, record in self.records.every():
            tiers[record.memo.tier] += 1
            deadline = record.state.next_deadline(config)
            if deadline is not None and customer_id not in self._deadlines:
                self._deadlines[customer_id] = (deadline, None)
        self.metrics.set_customers_per_tier(tiers)
        self._complete = True

    def forget(self) -> None:
        """The partitions (and so the customers) here may have changed: index the table again."""
        self._deadlines.clear()
        self._complete = False
