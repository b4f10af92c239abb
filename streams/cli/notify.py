"""What ``riskstream notify`` does: follow the case revisions and tell the credit team.

One process (or one consumer group: ``{app id}-notify``) reads ``risk.cases`` and gives the
revisions to a `NotificationSink` with the channels the settings name. A new group starts at
the end of the topic: it tells of the cases from now on, not of the whole history. Offsets
are committed once a batch is told, so a restart tells again at most the batch it was in.
"""

import asyncio
import logging
from typing import get_args

import aiohttp
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from schemas.outputs import Case, Severity, Tier
from sinks.notifications import Email, NotificationRules, NotificationSink, Webhook
from sinks.notifications.channels import Channel
from streams.settings import NotifySettings, Settings

log = logging.getLogger(__name__)


def rules_of(notify: NotifySettings) -> NotificationRules:
    """The notification rules the settings say.

    >>> rules = rules_of(NotifySettings(at_once="critical", digest_every="PT15M"))
    >>> sorted(rules.at_once_severities), sorted(rules.at_once_tiers), rules.digest_every
    (['critical'], [], 900.0)
    """
    words = notify.at_once_words()
    return NotificationRules(
        min_severity=notify.min_severity,
        at_once_severities=frozenset(words & set(get_args(Severity))),  # type: ignore[arg-type]
        at_once_tiers=frozenset(words & set(get_args(Tier))),  # type: ignore[arg-type]
        per_minute=notify.per_minute,
        digest_every=notify.digest_every.total_seconds(),
    )


def channels_of(notify: NotifySettings, session: aiohttp.ClientSession) -> list[Channel]:
    """The channels the settings name."""
    channels: list[Channel] = []
    if notify.webhook_url is not None:
        channels.append(Webhook(str(notify.webhook_url), session))
    if notify.smtp_url is not None:
        channels.append(Email(notify.smtp_url, notify.email_from or "", notify.recipients()))
    return channels


async def follow_cases(settings: Settings) -> None:
    """Tell of every case revision that arrives on the cases topic, until cancelled."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        sink = NotificationSink(rules_of(settings.notify), channels_of(settings.notify, session))
        consumer = AIOKafkaConsumer(
            settings.topics.cases, group_id=f"{settings.app_id}-notify",
            enable_auto_commit=False, auto_offset_reset="latest", **settings.kafka_client,
        )  # fmt: skip
        await consumer.start()
        following = False
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=1000, max_records=500)
                if not following and (following := await _positioned(consumer)):
                    log.info("notify: following %s", settings.topics.cases)
                records = [record for records in batch.values() for record in records]
                await sink.write([case for record in records if (case := _case(record.value))])
                await sink.flush()
                if records:
                    await consumer.commit()
        finally:
            await consumer.stop()


async def _positioned(consumer: AIOKafkaConsumer) -> bool:
    """Whether the consumer has its partitions and knows where it reads each (the end, for a
    new group), so that nothing sent from now on is missed."""
    for partition in consumer.assignment():
        await consumer.position(partition)
    return bool(consumer.assignment())


def _case(value: bytes | None) -> Case | None:
    try:
        return Case.model_validate_json(value or b"")
    except ValidationError as error:
        log.warning("notify: not a case revision, skipped: %s", error.errors()[0]["msg"])
        return None


def run(settings: Settings) -> None:
    asyncio.run(follow_cases(settings))
