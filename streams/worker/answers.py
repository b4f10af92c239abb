"""What the query API answers about a customer, built from its record: pure, no I/O.

The answer is the customer's risk picture as of its clock (its newest event, or the last
overdue check, which moves the clock without a new picture when nothing turned overdue),
scored the way the engine scores it, with its open invoices and its latest alerts. Only
ids, figures and riskstream's own words: never a name or other text from the customer's
profile.

>>> from datetime import datetime, UTC
>>> from schemas import InvoiceIssued, Money
>>> engine, record = Engine(), CustomerRecord.new("c1")
>>> issued = InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="inv-1",
...     event_time=datetime(2026, 1, 1, tzinfo=UTC), due_date="2026-01-31",
...     amount=Money(amount="500.00", currency="EUR"))
>>> _ = engine.process(record, issued)
>>> _ = engine.advance(record, datetime(2026, 2, 3, tzinfo=UTC))
>>> answer = customer_answer(engine, record)
>>> answer["tier"], answer["exposure"], answer["open_items"]
('low', '500.00', [{'invoice_id': 'inv-1', 'amount': '500.00', 'outstanding': '500.00', \
'currency': 'EUR', 'issued': '2026-01-01', 'due_date': '2026-01-31', 'days_past_due': 3, \
'overdue': True, 'disputed': '0.00'}])
>>> [alert["kind"] for alert in answer["recent_alerts"]]
['overdue']
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

from features import CustomerState
from features.eventtime import DAY, day_to_date, from_micros
from features.units import to_decimal
from schemas.money import money_text
from schemas.outputs import Alert, CreditAction, CustomerRisk, OrderDecision, OrderReview, Tier
from streams.engine import CustomerRecord, Engine, picture


def current_picture(engine: Engine, record: CustomerRecord) -> CustomerRisk:
    """The customer's picture as the engine makes it, as of the newest moment it saw (which
    also brings the state's current account up to date after a load)."""
    state = record.state
    as_of = from_micros(max(state.watermark, state.clock))
    features = engine.features(state, as_of)
    score, tier, reasons = engine.score(record, features, as_of)
    return picture(record, features, as_of, score, tier, reasons, engine.versions)


def customer_answer(engine: Engine, record: CustomerRecord) -> dict[str, Any]:
    """``GET /v1/customers/{id}``: the current picture, open items and recent alerts."""
    answer = current_picture(engine, record).model_dump(mode="json", exclude={"type"})
    answer["open_items"] = open_items(record.state)
    answer["recent_alerts"] = [
        to_jsonable_python(alert._asdict()) for alert in reversed(record.memo.recent_alerts)
    ]
    return answer


def open_items(state: CustomerState) -> list[dict[str, Any]]:
    """The customer's open invoices, oldest due first, aged as of its clock (the state's
    features must have been read since it was loaded: see `current_picture`)."""
    today = max(state.watermark, state.clock) // DAY
    return [
        {
            "invoice_id": invoice_id,
            "amount": money_text(to_decimal(invoice.amount)),
            "outstanding": money_text(to_decimal(invoice.remaining)),
            "currency": state.currency,
            "issued": from_micros(invoice.issued).date().isoformat(),
            "due_date": day_to_date(invoice.due_day).isoformat(),
            "days_past_due": max(0, today - invoice.due_day),
            "overdue": invoice.fired[0] is not None,
            "disputed": money_text(to_decimal(invoice.disputed)),
        }
        for invoice_id, invoice in state.open_invoices()
    ]


class OpenItem(BaseModel):
    """An open invoice of the customer, aged as of the customer's clock."""

    invoice_id: str
    amount: str = Field(description="Decimal string")
    outstanding: str = Field(description="Decimal string: what is still to be paid")
    currency: str | None
    issued: date
    due_date: date
    days_past_due: int = Field(ge=0)
    overdue: bool
    disputed: str = Field(description="Decimal string: the part in dispute")


class AlertSummary(BaseModel):
    """One of the customer's latest alerts, as the customer's answer lists them."""

    alert_id: str
    kind: str
    severity: str
    event_time: datetime
    message: str


class CustomerAnswer(CustomerRisk):
    """``GET /v1/customers/{customer_id}``: the picture (without its ``type``), its open
    invoices and its latest alerts, newest first."""

    open_items: list[OpenItem]
    recent_alerts: list[AlertSummary]


class CustomerPage(BaseModel):
    """A page of the ranking by score; ``next`` asks for the following page."""

    tier: Tier | None
    limit: int
    customers: list[CustomerRisk]
    next: str | None = Field(description="The cursor of the next page; null after the last")


class AlertPage(BaseModel):
    """A page of the customer's alerts, newest first, as on the alerts topic."""

    customer_id: str
    alerts: list[Alert]
    next: str | None = Field(description="The cursor of the next page; null after the last")


class ActionPage(BaseModel):
    """A page of the credit actions proposed for the customer, newest first."""

    customer_id: str
    actions: list[CreditAction]
    next: str | None = Field(description="The cursor of the next page; null after the last")


class DecisionPage(BaseModel):
    """A page of the decisions on the customer's orders, and people's reviews of those held,
    newest first, as on the decisions topic."""

    customer_id: str
    decisions: list[Annotated[OrderDecision | OrderReview, Field(discriminator="type")]]
    next: str | None = Field(description="The cursor of the next page; null after the last")


class ErrorAnswer(BaseModel):
    """Every answer of status 400 and above: what went wrong, and what to do."""

    error: str


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    waiting_for: str | None = Field(None, description="What the worker still waits for")
