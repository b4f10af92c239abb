"""What the query API answers, in pure code: a customer's latest alerts, open items and picture."""

from datetime import UTC, date, datetime, timedelta

import orjson

from detectors.memo import MAX_RECENT_ALERTS, RiskMemo
from schemas import CustomerProfile, InvoiceIssued, Money, PaymentReceived
from streams.engine import CustomerRecord, Engine
from streams.worker.answers import current_picture, customer_answer

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def invoice(number: int, amount: str, issued: datetime, due: date) -> InvoiceIssued:
    return InvoiceIssued(event_id=f"i{number}", customer_id="c1", invoice_id=f"i{number}",
                         event_time=issued, due_date=due,
                         amount=Money(amount=amount, currency="EUR"))  # fmt: skip


def paid(number: int, amount: str, at: datetime) -> PaymentReceived:
    return PaymentReceived(event_id=f"p{number}", customer_id="c1", payment_id=f"p{number}",
                           invoice_id=f"i{number}", event_time=at,
                           amount=Money(amount=amount, currency="EUR"))  # fmt: skip


def late_history(engine: Engine, record: CustomerRecord, invoices: int) -> list[str]:
    """Invoices each paid 10 days late; returns the ids of the alerts they caused."""
    alert_ids = []
    for number in range(invoices):
        issued = T0 + 40 * number * DAY
        for event in (invoice(number, "100.00", issued, (issued + 20 * DAY).date()),
                      paid(number, "100.00", issued + 30 * DAY)):  # fmt: skip
            alert_ids += [alert.alert_id for alert in engine.process(record, event).alerts]
    return alert_ids


def test_the_memo_keeps_the_latest_alerts_newest_last_and_survives_the_table():
    engine, record = Engine(), CustomerRecord.new("c1")
    alert_ids = late_history(engine, record, invoices=4)

    assert len(alert_ids) > MAX_RECENT_ALERTS
    kept = [alert.alert_id for alert in record.memo.recent_alerts]
    assert kept == alert_ids[-MAX_RECENT_ALERTS:]
    again = CustomerRecord.from_bytes(record.to_bytes())
    assert again.memo.recent_alerts == record.memo.recent_alerts


def test_a_memo_stored_before_recent_alerts_existed_still_loads():
    document = orjson.loads(RiskMemo.new().to_bytes())
    del document["alerts"]
    assert RiskMemo.from_bytes(orjson.dumps(document)).recent_alerts == []


def test_the_answer_is_the_engines_last_picture_with_open_items_and_alerts_newest_first():
    engine, record = Engine(), CustomerRecord.new("c1")
    alert_ids = late_history(engine, record, invoices=2)
    issued = T0 + 100 * DAY
    outputs = engine.process(record, invoice(7, "250.50", issued, (issued + 30 * DAY).date()))

    answer = customer_answer(engine, record)

    assert current_picture(engine, record) == outputs.picture
    assert answer["score"] == outputs.picture.score and answer["revision"] == 5
    assert [item["invoice_id"] for item in answer["open_items"]] == ["i7"]
    assert answer["open_items"][0]["outstanding"] == "250.50"
    assert answer["open_items"][0]["days_past_due"] == 0
    alert_ids += [alert.alert_id for alert in outputs.alerts]
    newest_first = alert_ids[::-1][:MAX_RECENT_ALERTS]
    assert [alert["alert_id"] for alert in answer["recent_alerts"]] == newest_first


def test_the_answer_ages_open_items_as_time_passes_and_names_nobody():
    engine, record = Engine(), CustomerRecord.new("c1")
    profile = CustomerProfile(event_id="pr", customer_id="c1", event_time=T0, name="Jane Doe Ltd",
                              email="jane@example.com", currency="EUR")  # fmt: skip
    engine.process(record, profile)
    engine.process(record, invoice(1, "80.00", T0, T0.date() + 10 * DAY))
    engine.advance(record, T0 + 15 * DAY)  # 5 days after the due date

    answer = customer_answer(engine, record)

    (item,) = answer["open_items"]
    assert (item["days_past_due"], item["overdue"]) == (5, True)
    assert answer["days_past_due"] == 5 and answer["overdue_balance"] == "80.00"
    assert [alert["kind"] for alert in answer["recent_alerts"]] == ["overdue"]
    text = orjson.dumps(answer).decode()
    assert "Jane" not in text and "jane@" not in text
