"""Notifications of cases to the credit team: a chat webhook and e-mail.

`NotificationSink` is given case revisions (``write``) and tells the channels what its
`NotificationPolicy` says, each send retried with backoff; ``flush`` sends the digest when it
is due. Channels that fail after their retries are logged and counted; the stream goes on.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from schemas.outputs import Case
from sinks.base import Sink
from sinks.notifications.channels import Channel, Email, Refused, Transient, Webhook
from sinks.notifications.policy import Notification, NotificationPolicy, NotificationRules

__all__ = ["Email", "Notification", "NotificationRules", "NotificationSink", "Webhook"]

log = logging.getLogger(__name__)


class NotificationSink(Sink):
    """Tells ``channels`` of the case revisions it is given, as ``rules`` say."""

    def __init__(
        self,
        rules: NotificationRules,
        channels: Sequence[Channel],
        *,
        attempts: int = 5,
        max_backoff: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = NotificationPolicy(rules)
        self.channels = list(channels)
        self.clock = clock
        self.sent: Counter[str] = Counter()
        """Notifications sent, by channel."""
        self.failed: Counter[str] = Counter()
        """Notifications given up on after their retries (or refused), by channel."""
        self._retrying = {
            "stop": stop_after_attempt(attempts),
            "wait": wait_exponential(multiplier=0.2, max=max_backoff),
            "retry": retry_if_exception_type(Transient),
            "reraise": True,
        }

    async def write(self, batch: Sequence[BaseModel]) -> None:
        cases = [output for output in batch if isinstance(output, Case)]
        for note in self.policy.take(cases, self.clock()):
            await self._tell(note)

    async def flush(self) -> None:
        """Send the digest, if one is due."""
        note = self.policy.digest(self.clock())
        if note is not None:
            await self._tell(note)

    async def _tell(self, note: Notification) -> None:
        for channel in self.channels:
            try:
                async for attempt in AsyncRetrying(**self._retrying):
                    with attempt:
                        await channel.send(note)
            except (Transient, Refused) as error:
                self.failed[channel.name] += 1
                log.warning("notification %r not sent by %s: %s", note.subject, channel.name,
                            error)  # fmt: skip
            else:
                self.sent[channel.name] += 1
