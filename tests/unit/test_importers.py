"""The accounts-receivable importer, on a tiny CSV whose events are worked out by hand."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from schemas import InvoiceDisputed, InvoiceIssued, PaymentReceived
from streams.backtest.importers import (
    DEFAULT_ACCOUNTS_RECEIVABLE,
    DataNotFound,
    load_accounts_receivable,
)
from streams.engine import CustomerRecord, Engine

HEADER = (
    "countryCode,customerID,PaperlessDate,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,"
    "Disputed,SettledDate,PaperlessBill,DaysToSettle,DaysLate"
)
# Customer A's later invoice comes first in the file; B's invoice is paid the day it is issued.
ROWS = [
    "391,0001-AAAAA,1/5/2013,0000000002,1/10/2013,2/9/2013,100.10,Yes,2/19/2013,Electronic,40,10",
    "391,0001-AAAAA,1/5/2013,0000000001,1/2/2013,2/1/2013,55.94,No,1/15/2013,Paper,13,0",
    "406,0002-BBBBB,1/1/2012,0000000003,1/2/2013,2/1/2013,7,Yes,1/2/2013,Electronic,0,0",
]


def _csv(tmp_path: Path, rows: list[str] = ROWS) -> Path:
    path = tmp_path / "ar.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2013, month, day, hour, tzinfo=UTC)


def test_events_are_in_event_time_order_at_the_moments_worked_out_by_hand(tmp_path):
    events = load_accounts_receivable(_csv(tmp_path)).events
    assert [(event.event_time, event.event_id) for event in events] == [
        (_at(1, 2, 0), "ar-profile-0001-AAAAA"),  # before the customer's first invoice
        (_at(1, 2, 0), "ar-profile-0002-BBBBB"),
        (_at(1, 2, 9), "ar-issued-0000000001"),
        (_at(1, 2, 9), "ar-issued-0000000003"),
        (_at(1, 2, 13), "ar-disputed-0000000003"),  # 09:00 + (17:00 - 09:00) / 2
        (_at(1, 2, 17), "ar-paid-0000000003"),
        (_at(1, 10, 9), "ar-issued-0000000002"),
        (_at(1, 15, 17), "ar-paid-0000000001"),
        (_at(1, 30, 13), "ar-disputed-0000000002"),  # 1/10 09:00 + 40 d 8 h / 2 = 20 d 4 h
        (_at(2, 19, 17), "ar-paid-0000000002"),
    ]


def test_a_dispute_falls_strictly_between_issue_and_payment(tmp_path):
    events = load_accounts_receivable(_csv(tmp_path)).events
    moments = {(type(event), getattr(event, "invoice_id", None)): event.event_time
               for event in events}  # fmt: skip
    for invoice in ("0000000002", "0000000003"):
        issued = moments[InvoiceIssued, invoice]
        assert issued < moments[InvoiceDisputed, invoice] < moments[PaymentReceived, invoice]
    assert (InvoiceDisputed, "0000000001") not in moments


def test_amounts_are_exact_and_payments_settle_the_whole_invoice(tmp_path):
    events = load_accounts_receivable(_csv(tmp_path)).events
    issued = {e.invoice_id: e for e in events if isinstance(e, InvoiceIssued)}
    paid = {e.invoice_id: e for e in events if isinstance(e, PaymentReceived)}
    assert {k: e.amount.amount for k, e in issued.items()} == {
        "0000000001": Decimal("55.94"),
        "0000000002": Decimal("100.10"),
        "0000000003": Decimal("7"),
    }
    assert str(issued["0000000002"].amount.amount) == "100.10"
    assert {k: e.amount for k, e in paid.items()} == {k: e.amount for k, e in issued.items()}
    assert {e.amount.currency for e in [*issued.values(), *paid.values()]} == {"USD"}


def test_invoice_and_customer_details(tmp_path):
    events = load_accounts_receivable(_csv(tmp_path)).events
    issued = {e.invoice_id: e for e in events if isinstance(e, InvoiceIssued)}
    assert {k: (str(e.due_date), e.paperless) for k, e in issued.items()} == {
        "0000000001": ("2013-02-01", False),
        "0000000002": ("2013-02-09", True),
        "0000000003": ("2013-02-01", True),
    }
    profiles = {e.customer_id: e for e in events if e.type == "customer.profile"}
    assert {k: (e.currency, e.segment) for k, e in profiles.items()} == {
        "0001-AAAAA": ("USD", "391"),
        "0002-BBBBB": ("USD", "406"),
    }
    payment = next(e for e in events if isinstance(e, PaymentReceived))
    assert payment.invoice_id == "0000000003" and payment.payment_id == "ar-payment-0000000003"


def test_ground_truth_is_days_late_above_zero_and_the_engine_learns_the_same(tmp_path):
    imported = load_accounts_receivable(_csv(tmp_path))
    late = {invoice: outcome.late for invoice, outcome in imported.outcomes.items()}
    assert late == {"0000000001": False, "0000000002": True, "0000000003": False}
    engine, records, labels = Engine(), {}, {}
    for event in imported.events:
        record = records.setdefault(event.customer_id, CustomerRecord.new(event.customer_id))
        labels.update((e.invoice_id, e.label) for e in engine.process(record, event).examples)
    assert labels == late


def test_the_same_file_gives_the_same_events(tmp_path):
    path = _csv(tmp_path)
    assert load_accounts_receivable(path) == load_accounts_receivable(path)


def test_a_missing_file_says_where_it_looked_and_how_to_pass_another(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(DataNotFound) as error:
        load_accounts_receivable(missing)
    assert str(missing) in str(error.value) and "--data" in str(error.value)
    assert isinstance(error.value, FileNotFoundError)


def test_the_default_is_the_shared_data_folder_beside_the_repository():
    repository = Path(__file__).resolve().parents[2]
    expected = repository.parent / "shared" / "data" / "accounts_receivable.csv"
    assert expected == DEFAULT_ACCOUNTS_RECEIVABLE


@pytest.mark.parametrize(
    ("column", "bad", "reason"),
    [
        ("InvoiceAmount", "fifty", "InvoiceAmount 'fifty' is not an amount"),
        ("InvoiceAmount", "NaN", "InvoiceAmount 'NaN' is not an amount"),
        ("DueDate", "31/31/2013", "DueDate '31/31/2013' is not a date"),
        ("DaysLate", "late", "DaysLate 'late' is not a whole number"),
        ("SettledDate", "1/1/2013", "settled before it was issued"),
        ("customerID", "", "customerID and invoiceNumber must not be empty"),
    ],
)
def test_a_bad_row_is_set_apart_with_its_line_and_reason_and_the_rest_imported(
    tmp_path, column, bad, reason
):
    fields = HEADER.split(",")
    row = ROWS[1].split(",")
    row[fields.index(column)] = bad
    imported = load_accounts_receivable(_csv(tmp_path, [ROWS[0], ",".join(row), ROWS[2]]))
    [rejected] = imported.rejected
    assert rejected.line == 3 and reason in rejected.reason
    assert rejected.text == ",".join(row)
    assert sorted(imported.outcomes) == ["0000000002", "0000000003"]


def test_a_repeated_invoice_number_is_set_apart_naming_the_first_line(tmp_path):
    imported = load_accounts_receivable(_csv(tmp_path, [*ROWS, ROWS[0]]))
    [rejected] = imported.rejected
    assert rejected.line == 5 and "first on line 2" in rejected.reason
    assert len(imported.outcomes) == 3


@pytest.mark.skipif(
    not DEFAULT_ACCOUNTS_RECEIVABLE.is_file(), reason="the shared sample data is not here"
)
def test_the_shared_sample_imports_whole():
    imported = load_accounts_receivable()
    kinds = [event.type for event in imported.events]
    assert len(imported.outcomes) == kinds.count("invoice.issued") == 2466
    assert kinds.count("payment.received") == 2466 and kinds.count("customer.profile") == 100
    assert kinds.count("invoice.disputed") == sum(o.disputed for o in imported.outcomes.values())
    assert sum(o.late for o in imported.outcomes.values()) == 877  # 35.6%
