"""What the ``riskstream control`` commands do: validate, publish, list, show and roll back
control documents on the control topic. Each returns the text to print, or raises
`ControlError` with a one-line message (or the broker's error, when it cannot be used)."""

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord
from redis.exceptions import RedisError

from detectors.champion import ModelChoice, promotion_refused
from sinks.redis import read_model_health
from streams.engine.control import KINDS, ControlDocument, InvalidDocument, read_document
from streams.engine.control_log import Activated, ControlLog, Record
from streams.kafka.follow import follow_topic
from streams.kafka.topics import ensure_topics
from streams.settings import Settings


class ControlError(Exception):
    """A command that cannot be carried out; the message says why and what to do."""


def validate(path: Path) -> str:
    """Check a document file as a worker would, without publishing it."""
    document = _read(path)
    return f"{path}: a valid {document.kind} document, version {document.version}"


def publish(settings: Settings, path: Path, force: bool = False) -> str:
    """Publish a document and put it in force on every worker; a ``model`` document only if
    its champion passes the promotion guard, unless ``force``."""
    return _run(settings, _publish(settings, _read(path), force))


async def _publish(settings: Settings, document: ControlDocument, force: bool = False) -> str:
    log = await _read_log(settings)
    records = _checked(lambda: log.publication(document))
    was = log.active_version(document.kind) or "the built-in default"
    if was == document.version:
        return f"{document.kind} {document.version} is already in force"
    forced = ""
    if isinstance(document.part, ModelChoice) and document.part.champion is not None:
        refused = await _promotion_refused(settings, log, document.part)
        if refused and not force:
            raise ControlError(f"not promoted: {refused} (--force promotes it anyway)")
        forced = f"; forced past the guard: {refused}" if refused else ""
    await _send(settings, records)
    return f"{document.kind} {document.version} in force (was {was}){forced}"


async def _promotion_refused(
    settings: Settings, log: ControlLog, choice: ModelChoice
) -> str | None:
    """The guard on the trainer's figures of each model in Redis (see `promotion_refused`)."""
    in_force = log.documents.get(("model", log.active_version("model") or ""))
    current = getattr(in_force.part, "champion", None) if in_force else None
    client = settings.redis_client(socket_timeout=5.0, socket_connect_timeout=5.0)
    try:
        health = await read_model_health(client, settings.redis_prefix)
    except RedisError as error:
        raise ControlError(
            f"cannot read the models' figures from Redis ({error}): the promotion guard needs "
            "them; check RISKSTREAM_REDIS_URL, or --force"
        ) from None
    finally:
        await client.aclose()
    assert choice.champion is not None
    return promotion_refused(
        choice.champion, current or settings.model_name, health, choice.min_labels
    )


def listing(settings: Settings) -> str:
    """Every kind, the version in force and the versions on the topic, oldest first."""
    log = _run(settings, _read_log(settings))
    lines = []
    for kind in KINDS:
        active = log.active_version(kind) or "built-in default"
        versions = ", ".join(log.versions(kind)) or "-"
        lines.append(f"{kind}: {active} in force; versions: {versions}")
    return "\n".join(lines)


def show(settings: Settings, kind: str, version: str | None = None) -> str:
    """A document as YAML: the version in force, or ``version``."""
    log = _run(settings, _read_log(settings))
    wanted = version or log.active_version(kind)
    if wanted is None:
        raise ControlError(f"no {kind} document is in force: the built-in default is")
    document = log.documents.get((kind, wanted))
    if document is None:
        known = ", ".join(log.versions(kind)) or "none"
        raise ControlError(f"no {kind} version {wanted} on the topic (there are: {known})")
    return document.to_yaml().rstrip("\n")


def rollback(settings: Settings, kind: str, to: str | None = None) -> str:
    """Put back the version in force before the active one, or ``to`` (``default``: the
    built-in default)."""
    return _run(settings, _rollback(settings, kind, to))


async def _rollback(settings: Settings, kind: str, to: str | None) -> str:
    log = await _read_log(settings)
    was = log.active_version(kind) or "the built-in default"
    record = _checked(lambda: log.rollback(kind, to))
    await _send(settings, [record])
    now = log.read(*record)
    assert isinstance(now, Activated)  # the log made the record from what it has read
    default = " (the built-in default)" if log.active_version(kind) is None else ""
    return f"{kind} {now.document.version}{default} in force (was {was})"


def _read(path: Path) -> ControlDocument:
    return _checked(lambda: read_document(path))


def _checked(make: Any) -> Any:
    try:
        return make()
    except InvalidDocument as error:
        raise ControlError(str(error)) from None


def _run(settings: Settings, work: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(_with_topics(settings, work))


async def _with_topics(settings: Settings, work: Coroutine[Any, Any, Any]) -> Any:
    try:
        await ensure_topics(settings)
    except BaseException:
        work.close()
        raise
    return await work


async def _read_log(settings: Settings) -> ControlLog:
    log = ControlLog()

    async def take(record: ConsumerRecord) -> None:
        log.read(record.key, record.value)

    await follow_topic(settings.kafka_client, settings.topics.control, take, forever=False)
    return log


async def _send(settings: Settings, records: list[Record]) -> None:
    producer = AIOKafkaProducer(**settings.kafka_client, acks="all")
    try:
        await producer.start()
        for key, value in records:
            await producer.send_and_wait(settings.topics.control, value, key=key, partition=0)
    finally:
        await producer.stop()
