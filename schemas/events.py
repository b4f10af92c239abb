"""Input event contracts: what producers write to the crm.* topics.

Every event carries an ``event_id`` (unique per event; a redelivery repeats it), the
``customer_id`` it belongs to (also the Kafka message key), its ``event_time`` (when it
happened, timezone-aware) and a ``schema_version``. The ``type`` field selects the contract.

Event times and dates lie from 1970-01-01 to 2999-12-31 (UTC): event time is counted from the
Unix epoch, and the end leaves centuries of room for what the engine adds to a date (grace,
lateness, review dates months ahead) within what Python's dates hold (year 9999).

>>> from pydantic import ValidationError
>>> try:
...     OrderCancelled(event_id="e1", customer_id="c1", order_id="o1",
...         event_time="9999-12-31T23:59:59Z")
... except ValidationError as error:
...     print(error.errors()[0]["msg"])
Value error, 9999-12-31T23:59:59+00:00 is outside the supported range 1970-01-01 to 2999-12-31 (UTC)
"""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.money import Money, PositiveMoney

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\s]+$")]
SCHEMA_VERSION = 1
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
END = datetime(3000, 1, 1, tzinfo=UTC)
"""Event times are from ``EARLIEST`` on and before ``END``; dates likewise."""
_RANGE = f"{EARLIEST:%Y-%m-%d} to 2999-12-31 (UTC)"


def _moment_in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < END:
        raise ValueError(f"{moment.isoformat()} is outside the supported range {_RANGE}")
    return moment


def _date_in_range(day: date) -> date:
    if not EARLIEST.date() <= day < END.date():
        raise ValueError(f"{day.isoformat()} is outside the supported range {_RANGE}")
    return day


EventTime = Annotated[
    AwareDatetime, AfterValidator(_moment_in_range), Field(description=f"From {_RANGE}")
]
EventDate = Annotated[date, AfterValidator(_date_in_range), Field(description=f"From {_RANGE}")]


def _type_is_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["type", *schema.get("required", [])]


class InputEvent(BaseModel):
    """Fields shared by every input event."""

    # Unknown fields are ignored so producers can add fields before consumers know them.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_type_is_required)

    event_id: Identifier
    customer_id: Identifier
    event_time: EventTime
    schema_version: Literal[1] = SCHEMA_VERSION

    @property
    def family(self) -> str:
        """The topic family of the event: order, invoice, payment or customer."""
        return self.type.split(".", 1)[0]  # type: ignore[attr-defined]


class OrderPlaced(InputEvent):
    type: Literal["order.placed"] = "order.placed"
    order_id: Identifier
    amount: PositiveMoney


class OrderCancelled(InputEvent):
    type: Literal["order.cancelled"] = "order.cancelled"
    order_id: Identifier


class OrderFulfilled(InputEvent):
    type: Literal["order.fulfilled"] = "order.fulfilled"
    order_id: Identifier


class InvoiceIssued(InputEvent):
    type: Literal["invoice.issued"] = "invoice.issued"
    invoice_id: Identifier
    amount: PositiveMoney
    due_date: EventDate
    order_id: Identifier | None = None
    paperless: bool = False

    @model_validator(mode="after")
    def _due_after_issue(self) -> Self:
        # The engine counts days in UTC: a due date before the issue's UTC date would make
        # the invoice overdue the moment it is issued.
        issued = self.event_time.astimezone(UTC).date()
        if self.due_date < issued:
            raise ValueError(
                f"due_date {self.due_date} is before the issue date {issued} (event_time, in "
                "UTC): an invoice cannot fall due before it is issued"
            )
        return self


class InvoiceCancelled(InputEvent):
    type: Literal["invoice.cancelled"] = "invoice.cancelled"
    invoice_id: Identifier


class InvoiceDisputed(InputEvent):
    type: Literal["invoice.disputed"] = "invoice.disputed"
    invoice_id: Identifier
    amount: Money | None = Field(
        None, description="Disputed amount; the whole open balance if absent"
    )


class DisputeResolved(InputEvent):
    type: Literal["invoice.dispute_resolved"] = "invoice.dispute_resolved"
    invoice_id: Identifier
    outcome: Literal["upheld", "rejected"] = Field(
        description="upheld: the customer was right and is credited; rejected: the debt stands"
    )
    credited: Money | None = Field(None, description="Credit granted when upheld")


class InvoiceWrittenOff(InputEvent):
    type: Literal["invoice.written_off"] = "invoice.written_off"
    invoice_id: Identifier


class PaymentReceived(InputEvent):
    type: Literal["payment.received"] = "payment.received"
    payment_id: Identifier
    amount: PositiveMoney
    invoice_id: Identifier | None = Field(
        None, description="Invoice paid; absent: applied to the oldest open invoices first"
    )


class PaymentReversed(InputEvent):
    type: Literal["payment.reversed"] = "payment.reversed"
    payment_id: Identifier
    reason: Literal["bounced", "reversed"] = "bounced"


class CustomerProfile(InputEvent):
    type: Literal["customer.profile"] = "customer.profile"
    name: str | None = Field(None, json_schema_extra={"x-personal-data": True})
    email: str | None = Field(None, json_schema_extra={"x-personal-data": True})
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    segment: str | None = None
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")


class CreditLimitUpdated(InputEvent):
    type: Literal["customer.credit_limit"] = "customer.credit_limit"
    credit_limit: Money


class PaymentTermsUpdated(InputEvent):
    type: Literal["customer.payment_terms"] = "customer.payment_terms"
    terms_days: int = Field(ge=0, le=365)


ALL_INPUT_EVENTS: tuple[type[InputEvent], ...] = (
    OrderPlaced, OrderCancelled, OrderFulfilled,
    InvoiceIssued, InvoiceCancelled, InvoiceDisputed, DisputeResolved, InvoiceWrittenOff,
    PaymentReceived, PaymentReversed,
    CustomerProfile, CreditLimitUpdated, PaymentTermsUpdated,
)  # fmt: skip

AnyInputEvent = Annotated[
    OrderPlaced | OrderCancelled | OrderFulfilled
    | InvoiceIssued | InvoiceCancelled | InvoiceDisputed | DisputeResolved | InvoiceWrittenOff
    | PaymentReceived | PaymentReversed
    | CustomerProfile | CreditLimitUpdated | PaymentTermsUpdated,
    Field(discriminator="type"),
]  # fmt: skip

EVENT_TYPES: frozenset[str] = frozenset(
    cls.model_fields["type"].default for cls in ALL_INPUT_EVENTS
)

PERSONAL_FIELDS: frozenset[str] = frozenset(
    name
    for cls in ALL_INPUT_EVENTS
    for name, field in cls.model_fields.items()
    if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("x-personal-data")
)
"""The fields of input events marked ``x-personal-data`` (in their JSON Schema files too):
names, e-mails. They never leave riskstream: the engine drops them, dead letters too."""
