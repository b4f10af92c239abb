"""Input event contracts: what producers write to the crm.* topics.

Every event carries an ``event_id`` (unique per event; a redelivery repeats it), the
``customer_id`` it belongs to (also the Kafka message key), its ``event_time`` (when it
happened, timezone-aware) and a ``schema_version``. The ``type`` field selects the contract.
"""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.money import Money

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\s]+$")]
SCHEMA_VERSION = 1


def _type_is_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["type", *schema.get("required", [])]


class InputEvent(BaseModel):
    """Fields shared by every input event."""

    # Unknown fields are ignored so producers can add fields before consumers know them.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_type_is_required)

    event_id: Identifier
    customer_id: Identifier
    event_time: AwareDatetime
    schema_version: Literal[1] = SCHEMA_VERSION

    @property
    def family(self) -> str:
        """The topic family of the event: order, invoice, payment or customer."""
        return self.type.split(".", 1)[0]  # type: ignore[attr-defined]


class OrderPlaced(InputEvent):
    type: Literal["order.placed"] = "order.placed"
    order_id: Identifier
    amount: Money


class OrderCancelled(InputEvent):
    type: Literal["order.cancelled"] = "order.cancelled"
    order_id: Identifier


class OrderFulfilled(InputEvent):
    type: Literal["order.fulfilled"] = "order.fulfilled"
    order_id: Identifier


class InvoiceIssued(InputEvent):
    type: Literal["invoice.issued"] = "invoice.issued"
    invoice_id: Identifier
    amount: Money
    due_date: date
    order_id: Identifier | None = None
    paperless: bool = False


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
    amount: Money
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
