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

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from schemas.money import Money, PositiveMoney, SignedMoney


def _plain(text: str) -> str:
    """``text`` unless it has a control, format, private or unassigned character (a zero-width
    space, a right-to-left override...) or is not in Unicode NFC: two ids that look the same
    are the same id."""
    if text.isascii():  # the pattern has refused ASCII's control characters
        return text
    odd = next((char for char in text if unicodedata.category(char).startswith("C")), None)
    if odd is not None:
        raise ValueError(f"must not contain the character U+{ord(odd):04X}")
    if not unicodedata.is_normalized("NFC", text):
        raise ValueError("must be in Unicode NFC (composed characters)")
    return text


_NO_CONTROL = r"\u0000-\u001f\u007f-\u009f"


def _plain_note(text: str) -> str:
    """``text`` unless it has a control character other than a line break or a tab, or a
    format, private or unassigned character: what a person typed, shown as typed."""
    odd = next(
        (c for c in text if unicodedata.category(c).startswith("C") and c not in "\n\r\t"), None
    )
    if odd is not None:
        raise ValueError(f"must not contain the character U+{ord(odd):04X}")
    return text


def _label(max_length: int, spaces: bool = True, **extra: Any) -> Any:
    """A string of 1 to ``max_length`` characters without control characters (nor whitespace
    unless ``spaces``), in Unicode NFC."""
    pattern = f"^[^{'' if spaces else chr(92) + 's'}{_NO_CONTROL}]+$"
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, pattern=pattern, strict=True, **extra),
        AfterValidator(_plain),
    ]


Identifier = _label(128, spaces=False, description="No whitespace or control characters, NFC")
Source = _label(32, spaces=False, description="The bureau, a short id (e.g. creditsafe)")
Rating = _label(16, spaces=False)
"""A credit report's source and rating (the ``industry`` control document orders a source's
ratings, see :mod:`features.industry`)."""
SCHEMA_VERSION = 1
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
END = datetime(3000, 1, 1, tzinfo=UTC)
"""Event times are from ``EARLIEST`` on and before ``END``; dates likewise."""
_RANGE = f"{EARLIEST:%Y-%m-%d} to 2999-12-31 (UTC)"


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""The forms of a date-time and a date; a time without an offset is refused after, naming it."""


def _text_of(form: re.Pattern[str], example: str) -> Any:
    """A before-validator: a string in ``form`` (RFC 3339, as the JSON Schema's ``format``
    says), not a number nor any other text a lax parser reads as a time; values of the type
    itself pass (events made in code)."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and not form.fullmatch(value):
            raise ValueError(f"must be written as in RFC 3339, e.g. {example}, not {value!r:.40}")
        if not isinstance(value, str | date):
            raise ValueError(f"must be a string, e.g. {example}, not {type(value).__name__}")
        return value

    return BeforeValidator(check)


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be a JSON integer, not {type(value).__name__} {value!r:.40}")
    return value


def _moment_in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < END:
        raise ValueError(f"{moment.isoformat()} is outside the supported range {_RANGE}")
    return moment


def _date_in_range(day: date) -> date:
    if not EARLIEST.date() <= day < END.date():
        raise ValueError(f"{day.isoformat()} is outside the supported range {_RANGE}")
    return day


EventTime = Annotated[
    AwareDatetime,
    _text_of(_RFC3339, "2026-03-01T09:30:00Z"),
    AfterValidator(_moment_in_range),
    Field(description=f"From {_RANGE}"),
]
Score = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-1e9, le=1e9, description="A JSON number")
]
EventDate = Annotated[
    date,
    _text_of(_FULL_DATE, "2026-03-31"),
    AfterValidator(_date_in_range),
    Field(description=f"From {_RANGE}"),
]


def _type_is_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["type", *schema.get("required", [])]


class InputEvent(BaseModel):
    """Fields shared by every input event."""

    # Unknown fields are ignored so producers can add fields before consumers know them.
    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=_type_is_required)

    event_id: Identifier
    customer_id: Identifier
    event_time: EventTime
    schema_version: Annotated[Literal[1], BeforeValidator(_whole_number)] = SCHEMA_VERSION

    @property
    def family(self) -> str:
        """The topic family of the event: order, invoice, payment, customer or review."""
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
    paperless: bool = Field(False, strict=True)

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
    name: _label(256) | None = Field(None, json_schema_extra={"x-personal-data": True})
    email: _label(254, spaces=False) | None = Field(
        None, json_schema_extra={"x-personal-data": True}
    )
    country: str | None = Field(
        None, min_length=2, max_length=2, pattern=r"^[A-Z]{2}$", strict=True,
        description="ISO 3166-1 alpha-2 code",
    )  # fmt: skip
    segment: _label(64) | None = None
    currency: str | None = Field(
        None, min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", strict=True,
        description="ISO 4217 code",
    )  # fmt: skip


class CreditLimitUpdated(InputEvent):
    type: Literal["customer.credit_limit"] = "customer.credit_limit"
    credit_limit: Money


class PaymentTermsUpdated(InputEvent):
    type: Literal["customer.payment_terms"] = "customer.payment_terms"
    terms_days: int = Field(ge=0, le=365, strict=True)


class CreditReport(InputEvent):
    """What a credit bureau (``source``) says of the customer ``as_of`` a date: a score on
    its own scale (``score_min`` to ``score_max``), and optionally a rating, its payment index
    (days beyond terms with other suppliers) and the customer's accounts and industry. Of the
    accounts, ``revenue`` and ``total_debt`` are never negative; ``equity`` is below 0 when the
    customer's liabilities exceed its assets.

    >>> from pydantic import ValidationError
    >>> report = CreditReport(event_id="r1", customer_id="c1", source="creditsafe",
    ...     event_time="2026-03-02T08:00:00Z", as_of="2026-03-01", score=62, score_min=0,
    ...     score_max=100)
    >>> report.normalised_score
    0.62
    >>> try:
    ...     report.model_validate({**report.model_dump(), "score": 120})
    ... except ValidationError as error:
    ...     print(error.errors()[0]["msg"])
    Value error, score 120.0 is outside the source's scale 0.0 to 100.0
    """

    type: Literal["customer.credit_report"] = "customer.credit_report"
    source: Source
    as_of: EventDate
    score: Score
    score_min: Score
    score_max: Score
    higher_is_safer: bool = Field(
        True, strict=True, description="False for scales where a lower score is safer"
    )
    rating: Rating | None = None
    payment_index: int | None = Field(
        None, ge=0, le=3650, strict=True, description="Days beyond terms with other suppliers"
    )
    revenue: Money | None = None
    total_debt: Money | None = None
    equity: SignedMoney | None = Field(
        None, description="Below 0 when the liabilities exceed the assets"
    )
    employees: int | None = Field(None, ge=0, le=10_000_000, strict=True)
    industry_code: str | None = Field(
        None, min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.-]+$", strict=True,
        description="NACE, SIC or another classification's code",
    )  # fmt: skip

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.score_min >= self.score_max:
            raise ValueError(f"score_min {self.score_min} must be below score_max {self.score_max}")
        if not self.score_min <= self.score <= self.score_max:
            raise ValueError(
                f"score {self.score} is outside the source's scale {self.score_min} to "
                f"{self.score_max}"
            )
        if self.as_of > self.event_time.astimezone(UTC).date():
            raise ValueError(f"as_of {self.as_of} is after the event's date (event_time, in UTC)")
        if len({money.currency for money in self.accounts if money is not None}) > 1:
            raise ValueError("revenue, total_debt and equity must be in one currency")
        return self

    @property
    def accounts(self) -> tuple[Money | None, Money | None, SignedMoney | None]:
        """Revenue, total debt and equity."""
        return self.revenue, self.total_debt, self.equity

    @property
    def currency(self) -> str | None:
        """The currency of the accounts, if any is given."""
        return next((money.currency for money in self.accounts if money is not None), None)

    @property
    def normalised_score(self) -> float:
        """The score on a 0-1 scale where higher is safer."""
        share = (self.score - self.score_min) / (self.score_max - self.score_min)
        return share if self.higher_is_safer else 1.0 - share


Note = Annotated[
    str,
    Field(max_length=2000, strict=True, description="Free text, may be empty"),
    AfterValidator(_plain_note),
]
Actor = _label(100, description="A staff user id: 1 to 100 characters, no control characters")


class ReviewEvent(InputEvent):
    """A person's action: who (``actor``), when (``event_time``) and why (``note``). Review
    events travel on the reviews topic whatever their type's first word."""

    actor: Actor
    note: Note = ""

    @property
    def family(self) -> str:
        return "review"


class CaseAcknowledged(ReviewEvent):
    type: Literal["case.acknowledged"] = "case.acknowledged"
    case_id: Identifier


class CaseAssigned(ReviewEvent):
    type: Literal["case.assigned"] = "case.assigned"
    case_id: Identifier
    assignee: Actor


class CaseSnoozed(ReviewEvent):
    type: Literal["case.snoozed"] = "case.snoozed"
    case_id: Identifier
    until: EventTime


class CaseResolved(ReviewEvent):
    type: Literal["case.resolved"] = "case.resolved"
    case_id: Identifier
    note: Annotated[Note, Field(min_length=1, description="Required: how it was resolved")]


class OrderReleased(ReviewEvent):
    type: Literal["order.released"] = "order.released"
    decision_id: Identifier
    order_id: Identifier


class OrderRejected(ReviewEvent):
    type: Literal["order.rejected"] = "order.rejected"
    decision_id: Identifier
    order_id: Identifier


class ProposalAccepted(ReviewEvent):
    type: Literal["proposal.accepted"] = "proposal.accepted"
    action_id: Identifier


class ProposalDeclined(ReviewEvent):
    type: Literal["proposal.declined"] = "proposal.declined"
    action_id: Identifier


CaseAction = CaseAcknowledged | CaseAssigned | CaseSnoozed | CaseResolved
OrderReview = OrderReleased | OrderRejected
ProposalReview = ProposalAccepted | ProposalDeclined

ALL_INPUT_EVENTS: tuple[type[InputEvent], ...] = (
    OrderPlaced, OrderCancelled, OrderFulfilled,
    InvoiceIssued, InvoiceCancelled, InvoiceDisputed, DisputeResolved, InvoiceWrittenOff,
    PaymentReceived, PaymentReversed,
    CustomerProfile, CreditLimitUpdated, PaymentTermsUpdated, CreditReport,
    CaseAcknowledged, CaseAssigned, CaseSnoozed, CaseResolved,
    OrderReleased, OrderRejected, ProposalAccepted, ProposalDeclined,
)  # fmt: skip

AnyInputEvent = Annotated[
    OrderPlaced | OrderCancelled | OrderFulfilled
    | InvoiceIssued | InvoiceCancelled | InvoiceDisputed | DisputeResolved | InvoiceWrittenOff
    | PaymentReceived | PaymentReversed
    | CustomerProfile | CreditLimitUpdated | PaymentTermsUpdated | CreditReport
    | CaseAcknowledged | CaseAssigned | CaseSnoozed | CaseResolved
    | OrderReleased | OrderRejected | ProposalAccepted | ProposalDeclined,
    Field(discriminator="type"),
]  # fmt: skip

EVENT_TYPES: frozenset[str] = frozenset(
    cls.model_fields["type"].default for cls in ALL_INPUT_EVENTS
)
FAMILY_OF: dict[str, str] = {
    cls.model_fields["type"].default: (
        "review" if issubclass(cls, ReviewEvent) else cls.model_fields["type"].default.split(".")[0]
    )
    for cls in ALL_INPUT_EVENTS
}
"""Event type -> the family of the topic it travels on."""

PERSONAL_FIELDS: frozenset[str] = frozenset(
    name
    for cls in ALL_INPUT_EVENTS
    for name, field in cls.model_fields.items()
    if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("x-personal-data")
)
"""The fields of input events marked ``x-personal-data`` (in their JSON Schema files too):
names, e-mails. They never leave riskstream: the engine drops them, dead letters too."""
KNOWN_FIELDS: frozenset[str] = frozenset(
    name for cls in (*ALL_INPUT_EVENTS, Money) for name in cls.model_fields
)
"""Every field name of the input events and of their money: what a dead letter may show the
value of (but for the personal ones). Producers may add others, which are ignored."""
