"""Event contracts of riskstream: input and output events, validation and the JSON codec."""

from schemas.events import (
    ALL_INPUT_EVENTS,
    CreditLimitUpdated,
    CreditReport,
    CustomerProfile,
    DisputeResolved,
    InputEvent,
    InvoiceCancelled,
    InvoiceDisputed,
    InvoiceIssued,
    InvoiceWrittenOff,
    OrderCancelled,
    OrderFulfilled,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
    PaymentTermsUpdated,
)
from schemas.ids import derive_id
from schemas.money import Money
from schemas.outputs import (
    Alert,
    CustomerRisk,
    DeadLetter,
    ModelDrift,
    OrderDecision,
    Reason,
    RiskChange,
    Versions,
)
from schemas.validation import InvalidEvent, parse_event

__all__ = [
    "ALL_INPUT_EVENTS",
    "Alert",
    "CreditLimitUpdated",
    "CreditReport",
    "CustomerProfile",
    "CustomerRisk",
    "DeadLetter",
    "DisputeResolved",
    "InputEvent",
    "InvalidEvent",
    "InvoiceCancelled",
    "InvoiceDisputed",
    "InvoiceIssued",
    "InvoiceWrittenOff",
    "ModelDrift",
    "Money",
    "OrderCancelled",
    "OrderDecision",
    "OrderFulfilled",
    "OrderPlaced",
    "PaymentReceived",
    "PaymentReversed",
    "PaymentTermsUpdated",
    "Reason",
    "RiskChange",
    "Versions",
    "derive_id",
    "parse_event",
]
