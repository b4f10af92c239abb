"""Turning raw bytes from a topic into a typed input event, or a precise reason why not."""

from collections.abc import Mapping
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from schemas.events import (
    EVENT_TYPES,
    FAMILY_OF,
    AnyInputEvent,
    EventTime,
    Identifier,
    InputEvent,
)

_ADAPTER: Final[TypeAdapter[InputEvent]] = TypeAdapter(AnyInputEvent)
FAMILIES: Final = ("order", "invoice", "payment", "customer", "review")


class InvalidEvent(ValueError):
    """An input that cannot be processed; ``code`` is a short label, ``reason`` says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def parse_event(raw: bytes, *, family: str | None = None, key: bytes | None = None) -> InputEvent:
    """Decode and validate one message value.

    ``family`` is the event family the topic carries (order, invoice, payment, customer,
    review);
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
    document = decode_object(raw)
    event_type = type_of(document)
    if event_type not in EVENT_TYPES:
        raise InvalidEvent("unknown_type", f"unknown event type {event_type!r}")
    if family is not None and FAMILY_OF[event_type] != family:
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


class Tick(BaseModel):
    """Time passing for one customer: a worker sends one to itself when an invoice falls due."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: Identifier
    now: EventTime


def parse_tick(raw: bytes) -> Tick:
    """Decode and validate one message of the ticks topic.

    >>> parse_tick(b'{"customer_id": "c1", "now": "2026-02-01T00:00:00+00:00"}').now.isoformat()
    '2026-02-01T00:00:00+00:00'
    >>> parse_tick(b'{"now": "2026-02-01T00:00:00Z"}')
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: invalid: customer_id: Field required
    """
    document = decode_object(raw)
    try:
        return Tick.model_validate(document)
    except ValidationError as error:
        raise InvalidEvent("invalid", describe(error, tagged=False)) from None


def parse_output(raw: bytes, contracts: Mapping[str, type[BaseModel]]) -> BaseModel:
    """Decode and validate one message of an output topic against the contract of its type.

    >>> class Ping(BaseModel):
    ...     type: str
    ...     count: int
    >>> parse_output(b'{"type": "ping", "count": 2}', {"ping": Ping}).count
    2
    >>> parse_output(b'{"type": "ping", "count": [2]}', {"ping": Ping})
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: invalid: count: Input should be a valid integer
    >>> parse_output(b'{"type": "weather"}', {"ping": Ping})
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: unknown_type: unknown output type 'weather'
    """
    document = decode_object(raw)
    contract = contracts.get(type_of(document))  # type: ignore[arg-type]
    if contract is None:
        raise InvalidEvent("unknown_type", f"unknown output type {document.get('type')!r}")
    try:
        return contract.model_validate(document)
    except ValidationError as error:
        raise InvalidEvent("invalid", describe(error, tagged=False)) from None


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a message value; ``undecodable`` if it is none."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidEvent("undecodable", f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("undecodable", f"expected a JSON object, got {type(document).__name__}")
    return document


def type_of(document: dict[str, Any]) -> str | None:
    """The document's ``type``: a string, or None when missing; ``invalid`` if anything else.

    >>> type_of({"type": ["order.placed"]})
    Traceback (most recent call last):
    ...
    schemas.validation.InvalidEvent: invalid: type: must be a string, not list ['order.placed']
    """
    kind = document.get("type")
    if kind is not None and not isinstance(kind, str):
        raise InvalidEvent("invalid", f"type: must be a string, not {type(kind).__name__} {kind!r}")
    return kind


def describe(error: ValidationError, limit: int = 3, tagged: bool = True) -> str:
    """A one-line summary of the first few validation errors: 'field.path: message'.

    ``tagged``: the error comes from a union of contracts, whose locations start with the type.
    """
    problems = [
        f"{'.'.join(str(part) for part in item['loc'][tagged:]) or '<event>'}: {item['msg']}"
        for item in error.errors(include_url=False)[:limit]
    ]
    extra = error.error_count() - limit
    return "; ".join(problems) + (f" (and {extra} more)" if extra > 0 else "")
