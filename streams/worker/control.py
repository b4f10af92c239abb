"""A worker follows the control topic and puts every new version in force without a restart.

The engine's `RiskConfig` is frozen: each activation builds a new one and swaps it in
between two events. A record that cannot be used is logged and handed to ``on_rejected``
(the worker sends it to the dead-letter topic), and what was in force stays in force.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import ConsumerRecord

from schemas.outputs import DeadLetter, Versions
from schemas.validation import InvalidEvent
from streams.engine import Engine
from streams.engine.control import apply_document
from streams.engine.control_log import Activated, ControlLog, Rejected
from streams.engine.deadletter import dead_letter
from streams.kafka.follow import follow_topic
from streams.kafka.security import KafkaClient

log = logging.getLogger(__name__)


class ControlFollower:
    """Applies the control topic's records to ``engine``; ``ready`` is set once caught up."""

    def __init__(
        self,
        engine: Engine,
        on_rejected: Callable[[DeadLetter], Awaitable[None]],
        on_activated: Callable[[Versions], None] = lambda versions: None,
    ) -> None:
        self.engine = engine
        self.on_rejected = on_rejected
        self.on_activated = on_activated
        self.log = ControlLog()
        self.ready = asyncio.Event()

    async def run(self, client: KafkaClient, topic: str) -> None:
        """Read the control topic from its start, forever."""
        await follow_topic(client, topic, self.take, on_caught_up=self.ready.set)

    async def take(self, record: ConsumerRecord) -> None:
        outcome = self.log.read(record.key, record.value)
        if isinstance(outcome, Activated):
            document = outcome.document
            try:
                self.engine.configure(apply_document(self.engine.risk, document))
            except ValueError as error:  # a champion this worker does not score
                log.error("cannot put %s %s in force here: %s; set RISKSTREAM_CHALLENGERS to "
                          "score it", document.kind, document.version, error)  # fmt: skip
                return
            self.on_activated(self.engine.versions)
            log.info("in force: %s %s", document.kind, document.version)
        elif isinstance(outcome, Rejected):
            log.warning("refused a control record at offset %d: %s", record.offset, outcome.reason)
            error = InvalidEvent("invalid", outcome.reason)
            await self.on_rejected(
                dead_letter(
                    error, record.topic, record.partition, record.offset, record.key, record.value
                )
            )
