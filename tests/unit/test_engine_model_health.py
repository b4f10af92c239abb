"""What the engine learns across customers: drift of the model's errors as an event, the
stability of the scores, and payments or orders unusual among all customers."""

from datetime import UTC, datetime, timedelta

from detectors.anomaly import HalfSpaceTreesDetector
from schemas import InvoiceIssued, Money, OrderPlaced, PaymentReceived
from streams.engine import CustomerRecord, Engine, Outputs

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def invoice_history(customers: int, invoices: int, late_from: int) -> list:
    """Each customer gets an invoice a day, due in 10 days; paid 5 days early until invoice
    ``late_from``, then 20 days late: the model's errors jump when behaviour turns."""
    events = []
    for number in range(invoices):
        issued = T0 + number * DAY
        late = number >= late_from
        paid = issued + (30 if late else 5) * DAY
        for c in range(customers):
            customer, invoice_id = f"c{c}", f"c{c}-i{number}"
            events.append(
                InvoiceIssued(event_id=f"{invoice_id}-issued", customer_id=customer,
                              invoice_id=invoice_id, event_time=issued,
                              due_date=(issued + 10 * DAY).date(), amount=eur("100.00"))
            )  # fmt: skip
            events.append(
                PaymentReceived(event_id=f"{invoice_id}-paid", customer_id=customer,
                                payment_id=f"{invoice_id}-p", invoice_id=invoice_id,
                                event_time=paid, amount=eur("100.00"))
            )  # fmt: skip
    return sorted(events, key=lambda event: (event.event_time, event.event_id))


def replay(engine: Engine, events: list) -> list[Outputs]:
    records: dict[str, CustomerRecord] = {}
    outputs = []
    for event in events:
        record = records.get(event.customer_id) or CustomerRecord.new(event.customer_id)
        records[event.customer_id] = record
        outputs.append(engine.process(record, event))
    return outputs


def test_a_drift_in_the_models_errors_is_an_event_with_a_deterministic_id():
    events = invoice_history(customers=5, invoices=80, late_from=50)
    first, second = Engine(), Engine()
    drifts = [drift for out in replay(first, events) for drift in out.drifts]
    assert drifts, "the flip from paying early to paying late went unnoticed"
    assert all(drift.model == "logreg" and drift.labels_seen >= 1 for drift in drifts)
    # The first labels improve on the untrained model; errors jump once customers pay late
    # (from invoice 50, labelled 30 days after issue), and only then.
    worse = [drift for drift in drifts if drift.error_rate > drift.error_rate_before]
    assert worse
    assert min(drift.event_time for drift in worse) >= T0 + 60 * DAY
    assert first.monitor.drifts_total == len(drifts)
    again = [drift.drift_id for out in replay(second, events) for drift in out.drifts]
    assert again == [drift.drift_id for drift in drifts]
    assert len(set(again)) == len(again)


def test_the_score_stability_index_is_known_once_both_windows_are_full():
    engine = Engine()
    events = invoice_history(customers=3, invoices=40, late_from=20)
    replay(engine, events)
    figures = engine.scores.snapshot()
    assert figures["n"] == len(events)
    assert figures["psi"] is None  # 240 scores, fewer than two windows of 1,000
    engine.scores.window = 100
    small = Engine()
    small.scores.window = 100
    replay(small, events)
    assert small.scores.snapshot()["psi"] > 0.1  # early payers first, late payers last


def test_an_order_unusual_among_all_customers_is_an_anomaly_alert():
    detectors = {
        "order": HalfSpaceTreesDetector(warm_up=100, window_size=100, seed=3),
        "payment": HalfSpaceTreesDetector(warm_up=100, window_size=100, seed=4),
    }
    engine = Engine(unusual=detectors)
    ordinary = [
        OrderPlaced(event_id=f"o{n}", customer_id=f"c{n % 40}", order_id=f"o{n}",
                    event_time=T0 + n * timedelta(hours=1), amount=eur(f"{100 + n % 7}.00"))
        for n in range(400)
    ]  # fmt: skip
    outputs = replay(engine, ordinary)
    huge = OrderPlaced(event_id="o-huge", customer_id="c7", order_id="o-huge",
                       event_time=T0 + 400 * timedelta(hours=1), amount=eur("250000"))  # fmt: skip
    unusual = replay(engine, [huge])[0]

    def among_all(out: Outputs) -> list:
        return [
            a for a in out.alerts if a.kind == "anomaly" and a.details["what"] == "cross_customer"
        ]

    alerts = among_all(unusual)
    assert len(alerts) == 1
    assert alerts[0].details["feature"] in {"log_amount", "log_amount_vs_usual"}
    assert "unusual among all customers" in alerts[0].message
    assert sum(len(among_all(out)) for out in outputs) <= 2  # ordinary orders stay quiet
