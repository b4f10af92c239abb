"""Turning raw bytes from a topic into a typed input event, or a precise reason why not."""

from typing import Final

import orjson
from pydantic import TypeAdapter, ValidationError

from schemas.events import EVENT_TYPES, AnyInputEvent, InputEvent

_ADAPTER: Final[TypeAdapter[InputEvent]] = TypeAdapter(AnyInputEvent)
FAMILIES: Final = ("order", "invoice", "payment", "customer")


class InvalidEvent(ValueError):
    """An input that cannot be processed; ``code`` is a short label, ``reason`` says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def parse_event(raw: bytes, *, family: str | None = None, key: bytes | None = None) -> InputEvent:
    """Decode and validate one message value.

    ``family`` is the event family the topic carries (order, invoice, payment, customer);
    ``key`` is the Kafka message key, which must be the customer id when present.

    >>> raw = b'{"type": "payment.reversed", "event_id": "e1", "customer_id": "c1",'
    >>> raw += b' "event_time": "2026-01-05T10:00:00Z", "payment_id": "p1"}'
    >>> parse_event(raw, family="payment").reason
    'bounced'
    >>> parse_event(b'{"type": "order.teleported"}')
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: unknown_type: unknown event type 'order.teleported'
    """
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidEvent("undecodable", f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("undecodable", f"expected a JSON object, got {type(document).__name__}")
    event_type = document.get("type")
    if event_type not in EVENT_TYPES:
        raise InvalidEvent("unknown_type", f"unknown event type {event_type!r}")
    if family is not None and not event_type.startswith(family + "."):
        raise InvalidEvent("wrong_topic", f"{event_type} does not belong on the {family} topic")
    try:
        event = _ADAPTER.validate_python(document)
    except ValidationError as error:
        raise InvalidEvent("invalid", describe(error)) from None
    if key is not None and key.decode(errors="replace") != event.customer_id:
        raise InvalidEvent(
            "key_mismatch",
            f"message key {key!r} is not the customer id {event.customer_id!r}; "
            "key every event by its customer id",
        )
    return event


def describe(error: ValidationError, limit: int = 3) -> str:
    """A one-line summary of the first few validation errors: 'field.path: message'."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc'][1:]) or '<event>'}: {item['msg']}"
        for item in error.errors(include_url=False)[:limit]
    ]
    extra = error.error_count() - limit
    return "; ".join(problems) + (f" (and {extra} more)" if extra > 0 else "")
