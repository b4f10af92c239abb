"""Importers: external data sets turned into riskstream input events, for replays and benchmarks.

IBM's accounts-receivable sample (`load_accounts_receivable`) has one row per invoice with its
whole life: issued, due, disputed or not, settled, days late. A row becomes events, each at the
moment it happened, so that a replay in event time sees nothing before it happened:

* ``customer.profile`` (currency USD) at 00:00 UTC of the customer's first invoice date. The
  sample's country codes (391, 406...) are not ISO 3166 letters, so they go in ``segment``;
* ``invoice.issued`` at 09:00 UTC of InvoiceDate, with DueDate, the exact amount and
  ``paperless`` from PaperlessBill (PaperlessDate, the day the customer went paperless, is
  left out: for the invoices before it, it is a date in their future);
* ``invoice.disputed`` when Disputed is "Yes", half-way between the issue and the payment.
  The sample does not say when; this rule is deterministic and strictly inside the invoice's
  life, even for an invoice paid on the day it was issued;
* ``payment.received`` at 17:00 UTC of SettledDate, for the full amount, naming the invoice.

Event ids are derived from the invoice number (or the customer id for the profile). DaysLate
and DaysToSettle never reach an event; they are returned apart, as the ground truth. A row that
cannot be read (a bad date or amount, settled before issued, a repeated invoice number) is
returned apart too, with its line and what is wrong, and the import goes on.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from schemas import (
    CustomerProfile,
    InputEvent,
    InvoiceDisputed,
    InvoiceIssued,
    Money,
    PaymentReceived,
)
from schemas.validation import describe

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_ACCOUNTS_RECEIVABLE = REPOSITORY.parent / "shared" / "data" / "accounts_receivable.csv"
"""``../shared/data/accounts_receivable.csv`` from the repository root."""

CURRENCY = "USD"
ISSUE_TIME = time(9, tzinfo=UTC)
SETTLE_TIME = time(17, tzinfo=UTC)
COLUMNS = (
    "countryCode", "customerID", "PaperlessDate", "invoiceNumber", "InvoiceDate", "DueDate",
    "InvoiceAmount", "Disputed", "SettledDate", "PaperlessBill", "DaysToSettle", "DaysLate",
)  # fmt: skip


_T = TypeVar("_T")


class DataNotFound(FileNotFoundError):
    """The data file is not where it was looked for."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one invoice, as the data set tells it: for evaluation, never features."""

    invoice_id: str
    customer_id: str
    issued: date
    due: date
    settled: date
    days_late: int
    disputed: bool

    @property
    def late(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row the importer could not read: its line number, what is wrong, and the row as CSV."""

    line: int
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class Imported:
    """Input events sorted by (event_time, event_id), the outcome of each invoice, and the rows
    that could not be read, in file order."""

    events: list[InputEvent]
    outcomes: dict[str, Outcome]
    rejected: list[RejectedRow]


def _date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


def _amount(text: str) -> Decimal:
    amount = Decimal(text.strip())
    if not amount.is_finite():
        raise ValueError
    return amount


def _read(row: dict[str, str], column: str, parse: Callable[[str], _T], expected: str) -> _T:
    value = row.get(column)
    try:
        return parse(value or "")
    except (ValueError, InvalidOperation):
        raise ValueError(f"{column} {value!r} is not {expected}") from None


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment)


def _row_events(row: dict[str, str]) -> tuple[list[InputEvent], Outcome]:
    customer = (row.get("customerID") or "").strip()
    invoice = (row.get("invoiceNumber") or "").strip()
    if not customer or not invoice:
        raise ValueError("customerID and invoiceNumber must not be empty")
    outcome = Outcome(
        invoice_id=invoice,
        customer_id=customer,
        issued=_read(row, "InvoiceDate", _date, "a date like 1/31/2013"),
        due=_read(row, "DueDate", _date, "a date like 1/31/2013"),
        settled=_read(row, "SettledDate", _date, "a date like 1/31/2013"),
        days_late=_read(row, "DaysLate", int, "a whole number of days"),
        disputed=(row.get("Disputed") or "").strip() == "Yes",
    )
    amount = Money(
        amount=_read(row, "InvoiceAmount", _amount, "an amount like 55.94"), currency=CURRENCY
    )
    issued, paid = _at(outcome.issued, ISSUE_TIME), _at(outcome.settled, SETTLE_TIME)
    if paid <= issued:
        raise ValueError(f"invoice {invoice} settled before it was issued")
    common = {"customer_id": customer, "invoice_id": invoice}
    paperless = (row.get("PaperlessBill") or "").strip() == "Electronic"
    events: list[InputEvent] = [
        InvoiceIssued(event_id=f"ar-issued-{invoice}", event_time=issued, due_date=outcome.due,
                      amount=amount, paperless=paperless,
                      **common),
        PaymentReceived(event_id=f"ar-paid-{invoice}", event_time=paid,
                        payment_id=f"ar-payment-{invoice}", amount=amount, **common),
    ]  # fmt: skip
    if outcome.disputed:
        midway = issued + (paid - issued) / 2
        events.append(InvoiceDisputed(event_id=f"ar-disputed-{invoice}", event_time=midway,
                                      **common))  # fmt: skip
    return events, outcome


def load_accounts_receivable(path: str | Path | None = None) -> Imported:
    """The events and outcomes of IBM's accounts-receivable sample CSV.

    ``path`` defaults to `DEFAULT_ACCOUNTS_RECEIVABLE`; raises `DataNotFound` when the file is
    not there, ``ValueError`` when it lacks a column. A row it cannot read is in ``rejected``.
    """
    path = Path(path) if path is not None else DEFAULT_ACCOUNTS_RECEIVABLE
    if not path.is_file():
        raise DataNotFound(
            f"accounts-receivable data not found at {path}: put the CSV there or pass its path "
            "(--data PATH, or the path argument of load_accounts_receivable)"
        )
    events: list[InputEvent] = []
    outcomes: dict[str, Outcome] = {}
    rejected: list[RejectedRow] = []
    lines: dict[str, int] = {}
    customers: dict[str, tuple[date, str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        columns = list(reader.fieldnames or ())
        missing = set(COLUMNS) - set(columns)
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        for row in reader:
            try:
                row_events, outcome = _row_events(row)
            except ValueError as error:
                reason = describe(error) if isinstance(error, ValidationError) else str(error)
                rejected.append(RejectedRow(reader.line_num, reason, _as_csv(row, columns)))
                continue
            if outcome.invoice_id in outcomes:
                reason = (f"invoice number {outcome.invoice_id} repeated: it is first on line "
                          f"{lines[outcome.invoice_id]}")  # fmt: skip
                rejected.append(RejectedRow(reader.line_num, reason, _as_csv(row, columns)))
                continue
            outcomes[outcome.invoice_id] = outcome
            lines[outcome.invoice_id] = reader.line_num
            events.extend(row_events)
            first = customers.get(outcome.customer_id, (date.max, ""))[0]
            country = row.get("countryCode") or ""
            customers[outcome.customer_id] = (min(first, outcome.issued), country)
    for customer, (first, country) in customers.items():
        events.append(
            CustomerProfile(event_id=f"ar-profile-{customer}", customer_id=customer,
                            event_time=_at(first, time(0, tzinfo=UTC)), currency=CURRENCY,
                            segment=country.strip() or None)
        )  # fmt: skip
    events.sort(key=lambda event: (event.event_time, event.event_id))
    return Imported(events, outcomes, rejected)


def _as_csv(row: dict[str, str], columns: list[str]) -> str:
    """The row as its line read, in the file's column order."""
    text = io.StringIO()
    csv.writer(text, lineterminator="").writerow(row.get(column) or "" for column in columns)
    return text.getvalue()
