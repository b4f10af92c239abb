"""The engine end to end, in pure code: decisions, labels, risk changes, rules, records."""

import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from detectors.memo import RiskMemo
from detectors.scorecard import Scorecard
from features import FeatureConfig
from schemas import (
    CreditLimitUpdated,
    InvoiceIssued,
    Money,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
    PaymentTermsUpdated,
)
from schemas.codec import dumps
from schemas.validation import InvalidEvent
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine, RiskConfig
from streams.engine.control import apply_document, parse_document
from streams.engine.replay import Replay

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def limit(amount: str, at: datetime = T0) -> CreditLimitUpdated:
    return CreditLimitUpdated(event_id=f"limit-{amount}", customer_id="c1", event_time=at,
                              credit_limit=eur(amount))  # fmt: skip


def order(number: int, amount: str, at: datetime) -> OrderPlaced:
    return OrderPlaced(event_id=f"o{number}", customer_id="c1", order_id=f"o{number}",
                       event_time=at, amount=eur(amount))  # fmt: skip


def invoice(number: int, amount: str, at: datetime, due: date) -> InvoiceIssued:
    return InvoiceIssued(event_id=f"i{number}", customer_id="c1", invoice_id=f"i{number}",
                         event_time=at, due_date=due, amount=eur(amount))  # fmt: skip


def payment(number: int, amount: str, at: datetime) -> PaymentReceived:
    return PaymentReceived(event_id=f"p{number}", customer_id="c1", payment_id=f"p{number}",
                           invoice_id=f"i{number}", event_time=at, amount=eur(amount))  # fmt: skip


def run(engine: Engine, record: CustomerRecord, *events):
    return [engine.process(record, event) for event in events]


def test_an_order_within_the_limit_is_approved_and_one_crossing_it_held_for_review():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("1000.00"))
    (at_limit,) = engine.process(record, order(1, "1000.00", T0 + DAY)).decisions
    (crossing,) = engine.process(record, order(2, "0.01", T0 + 2 * DAY)).decisions
    assert (at_limit.outcome, at_limit.order_id) == ("approve", "o1")
    assert crossing.outcome == "review"
    assert crossing.figures["exposure_with_order"] == "1000.01"
    assert crossing.versions.ruleset == engine.risk.rules.version


def test_a_redelivered_event_produces_nothing_at_all():
    engine, record = Engine(), CustomerRecord.new("c1")
    first = engine.process(record, order(1, "50.00", T0))
    again = engine.process(record, order(1, "50.00", T0))
    assert first.decisions and first.picture is not None
    assert again.all() == []


def test_a_prediction_is_labelled_once_when_its_outcome_is_known():
    engine, record = Engine(), CustomerRecord.new("c1")
    (issued,) = run(engine, record, invoice(1, "300.00", T0, (T0 + 30 * DAY).date()))
    (paid_early,) = run(engine, record, payment(1, "300.00", T0 + 10 * DAY))
    assert issued.examples == [] and len(record.memo.pending) == 0
    (example,) = paid_early.examples
    assert (example.invoice_id, example.label) == ("i1", False)
    assert engine.model.n_learned == 1


def test_the_picture_and_a_risk_change_follow_an_overdue_invoice():
    engine, record = Engine(risk=RiskConfig(min_score_change=1.0)), CustomerRecord.new("c1")
    (_, issued) = run(engine, record, limit("5000.00"),
                      invoice(1, "4000.00", T0, (T0 + 10 * DAY).date()))  # fmt: skip
    outputs = engine.advance(record, T0 + 70 * DAY)
    assert [alert.kind for alert in outputs.alerts][:1] == ["overdue"]
    assert outputs.picture.days_past_due == 60
    assert outputs.picture.overdue_balance == "4000.00"
    (change,) = outputs.changes
    assert change.previous_score == issued.picture.score
    assert change.score > change.previous_score + 1.0
    assert change.reasons[0].indicator == "days_past_due"
    assert engine.advance(record, T0 + 70 * DAY + timedelta(hours=1)).changes == []


def test_a_bounced_payment_alerts_through_its_rule_with_the_rule_set_version():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, invoice(1, "80.00", T0, (T0 + 30 * DAY).date()),
        payment(1, "80.00", T0 + 5 * DAY))  # fmt: skip
    bounce = PaymentReversed(event_id="b1", customer_id="c1", payment_id="p1",
                             event_time=T0 + 7 * DAY)  # fmt: skip
    alerts = engine.process(record, bounce).alerts
    rule_alerts = [alert for alert in alerts if alert.kind == "rule"]
    assert [alert.details["rule_id"] for alert in rule_alerts] == ["bounced_payment"]
    assert rule_alerts[0].versions.ruleset == "default-6"


def test_a_record_is_stored_compressed_and_one_stored_before_compression_still_loads():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(
        engine,
        record,
        limit("900.00"),
        *(invoice(n, "300.00", T0 + n * DAY, (T0 + (30 + n) * DAY).date()) for n in range(20)),
    )
    state, memo = record.state.to_bytes(), record.memo.to_bytes()
    uncompressed = len(state).to_bytes(4, "big") + state + memo
    assert len(record.to_bytes()) < len(uncompressed) / 3
    old = CustomerRecord.from_bytes(uncompressed)
    assert old.to_bytes() == record.to_bytes()


def test_a_record_round_trips_through_bytes_and_carries_on_identically():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("900.00"), invoice(1, "300.00", T0, (T0 + 30 * DAY).date()))
    copy = CustomerRecord.from_bytes(record.to_bytes())
    assert copy.to_bytes() == record.to_bytes()
    later = payment(1, "300.00", T0 + 40 * DAY)
    ours, theirs = engine.process(record, later), engine.process(copy, later)
    assert [a.alert_id for a in ours.alerts] == [a.alert_id for a in theirs.alerts]


def test_a_payment_read_before_its_invoice_waits_for_it_instead_of_paying_another():
    engine = Engine(FeatureConfig(lateness=timedelta(days=60)))
    record = CustomerRecord.new("c1")
    old = invoice(1, "100.00", T0, (T0 + 10 * DAY).date())
    new = invoice(2, "100.00", T0 + 5 * DAY, (T0 + 40 * DAY).date())
    early = payment(2, "100.00", T0 + 20 * DAY)  # pays invoice 2 on time
    outputs = run(engine, record, old, early, new)
    paid = [a for step in outputs for a in step.alerts if a.kind == "late_payment"]
    assert paid == [], [a.message for a in paid]
    features = record.state.features(T0 + 20 * DAY, engine.config)
    assert (features.open_invoice_count, features.open_balance) == (1, Decimal("100.00"))


def terms(days: int, at: datetime = T0) -> PaymentTermsUpdated:
    return PaymentTermsUpdated(event_id=f"terms-{days}", customer_id="c1", event_time=at,
                               terms_days=days)  # fmt: skip


def test_an_overdue_customer_under_the_limit_is_approved_until_the_review_days():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("5000.00"), invoice(1, "500.00", T0, (T0 + 10 * DAY).date()))
    (within,) = engine.process(record, order(1, "100.00", T0 + 40 * DAY)).decisions
    (beyond,) = engine.process(record, order(2, "100.00", T0 + 41 * DAY + DAY)).decisions
    assert (within.outcome, within.figures["days_past_due"]) == ("approve", 30)
    assert (beyond.outcome, beyond.figures["days_past_due"]) == ("review", 32)
    assert beyond.reasons == ["an invoice is 32 days past due, over 30 days "
                              "(overdue balance 500.00)"]  # fmt: skip


def test_a_customer_on_prepayment_terms_prepays_even_far_under_the_limit():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("5000.00"), terms(0))
    (decision,) = engine.process(record, order(1, "10.00", T0 + DAY)).decisions
    assert decision.outcome == "prepay"
    assert decision.reasons == ["the customer is on prepayment terms"]


def test_credit_actions_are_emitted_when_new_and_kept_in_the_record():
    engine, record = Engine(), CustomerRecord.new("c1")
    (first,) = engine.process(record, limit("10000.00")).actions
    assert (first.kind, first.review_date) == ("review", date(2027, 3, 2))
    assert first.source_event_id == "limit-10000.00"
    assert engine.process(record, order(1, "100.00", T0 + DAY)).actions == []
    kept = CustomerRecord.from_bytes(record.to_bytes()).memo.actions
    assert kept == {"review": {"review_date": "2027-03-02"}}


def test_a_good_payer_using_most_of_its_limit_is_proposed_an_increase():
    engine, record = Engine(), CustomerRecord.new("c1")
    history = [limit("10000.00"), terms(30)]
    for number in range(1, 8):
        issued = T0 + 30 * (number - 1) * DAY
        history += [invoice(number, "1000.00", issued, (issued + 30 * DAY).date()),
                    payment(number, "1000.00", issued + 20 * DAY)]  # fmt: skip
    run(engine, record, *history)
    big = order(99, "8500.00", T0 + 200 * DAY)
    outputs = engine.process(record, big)
    (decision,) = outputs.decisions
    increases = [action for action in outputs.actions if action.kind == "limit_increase"]
    assert decision.outcome == "approve", decision.reasons
    assert [(a.amount, a.new_limit) for a in increases] == [("5000.00", "15000.00")]
    assert increases[0].versions.credit_policy == "default"
    assert engine.process(record, order(100, "1.00", T0 + 201 * DAY)).actions == []


def test_every_output_records_the_versions_it_was_made_with():
    documents = [
        "kind: tiers\nversion: tiers-7\nbody: {medium: 30, high: 60}",
        "kind: decisions\nversion: strict-2\nbody: {review_limit_ratio: '0.5'}",
        "kind: credit\nversion: credit-3\nbody: {short_terms_days: 10}",
        "kind: industry\nversion: nace-2\nbody: {levels: {'47': high}}",
    ]
    risk = RiskConfig()
    for text in documents:
        risk = apply_document(risk, parse_document(text))
    engine, record = Engine(risk=risk), CustomerRecord.new("c1")
    run(engine, record, limit("1000.00"))
    outputs = engine.process(record, order(1, "600.00", T0 + DAY))
    assert outputs.decisions[0].outcome == "review"
    for output in [*outputs.decisions, *outputs.changes, *outputs.actions, outputs.picture]:
        versions = output.versions
        assert (versions.tiers, versions.decisions, versions.credit_policy) == (
            "tiers-7",
            "strict-2",
            "credit-3",
        ), output
        assert (versions.ruleset, versions.scorecard) == ("default-6", "default")
        assert versions.industry == "nace-2", output


def rule_ids(outputs) -> list[str]:
    return [alert.details["rule_id"] for alert in outputs.alerts if alert.kind == "rule"]


def test_a_payment_settling_an_invoice_over_30_days_late_alerts_through_its_rule():
    engine, record = Engine(FeatureConfig(lateness=timedelta(days=90))), CustomerRecord.new("c1")
    run(engine, record, invoice(1, "100.00", T0, (T0 + 10 * DAY).date()),
        invoice(2, "100.00", T0, (T0 + 10 * DAY).date()))  # fmt: skip
    assert "payment_received_over_30_days_late" not in rule_ids(
        engine.process(record, payment(1, "100.00", T0 + 40 * DAY))
    )
    late = engine.process(record, payment(2, "100.00", T0 + 41 * DAY))
    assert "payment_received_over_30_days_late" in rule_ids(late)
    (alert,) = [a for a in late.alerts if a.details.get("rule_id", "").startswith("payment_rec")]
    assert alert.message == "a payment settled an invoice 31 days after its due date"


def test_dso_getting_worse_over_a_month_alerts_through_its_rule():
    engine, record = Engine(), CustomerRecord.new("c1")
    fired = []
    for week in range(20):
        at = T0 + 7 * week * DAY
        # Paid on time for twelve weeks, then invoices pile up unpaid.
        events = [invoice(week, "1000.00", at, (at + 30 * DAY).date())]
        if week < 12:
            events.append(payment(week, "1000.00", at + 2 * DAY))
        fired += [(week, rule) for step in run(engine, record, *events) for rule in rule_ids(step)]
    worsening = [week for week, rule in fired if rule == "dso_worsening"]
    assert worsening and min(worsening) >= 13, fired
    assert len(worsening) <= 2  # the cooldown holds it to once in 30 days


def test_a_new_configuration_is_in_force_from_the_next_event():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("1000.00"))
    (before,) = engine.process(record, order(1, "600.00", T0 + DAY)).decisions
    strict = "kind: decisions\nversion: strict-2\nbody: {review_limit_ratio: '0.5'}"
    scores = engine.scores
    engine.configure(apply_document(engine.risk, parse_document(strict)))
    (after,) = engine.process(record, order(2, "1.00", T0 + 2 * DAY)).decisions
    assert (before.outcome, before.versions.decisions) == ("approve", "default")
    assert (after.outcome, after.versions.decisions) == ("review", "strict-2")
    assert engine.scores is scores  # the same scoring: its stability index goes on


def test_a_new_scorecard_or_tiers_restart_the_score_stability_index():
    engine, record = Engine(), CustomerRecord.new("c1")
    run(engine, record, limit("1000.00"), order(1, "600.00", T0 + DAY))
    assert engine.scores.n == 2
    tiers = "kind: tiers\nversion: tiers-2\nbody: {medium: 35, high: 65}"
    engine.configure(apply_document(engine.risk, parse_document(tiers)))
    assert engine.scores.n == 0
    engine.process(record, order(2, "1.00", T0 + 2 * DAY))
    assert engine.scores.n == 1


def test_time_passing_alerts_two_customers_with_two_ids():
    engine = Engine()
    records = {customer: CustomerRecord.new(customer) for customer in ("c1", "c2")}
    for customer, record in records.items():
        issued = InvoiceIssued(event_id=f"{customer}-i1", customer_id=customer,
                               invoice_id="i1", event_time=T0, due_date=(T0 + DAY).date(),
                               amount=eur("500.00"))  # fmt: skip
        engine.process(record, issued)
    much_later = T0 + 90 * DAY
    alerts = [a for record in records.values() for a in engine.advance(record, much_later).alerts]
    rule_alerts = [a for a in alerts if a.kind == "rule"]
    assert {a.customer_id for a in rule_alerts} == {"c1", "c2"}
    assert len({a.alert_id for a in alerts}) == len(alerts)


def test_a_scorecard_reads_any_named_feature_by_the_name_rules_and_the_model_read():
    ramp = {"kind": "ramp", "low": 0, "high": 1000}
    aging = {"weight": 1, "terms": [{"input": "aging_31_60", "transform": ramp}]}
    card = Scorecard.model_validate({"indicators": {"aging": aging}})
    engine, record = Engine(risk=RiskConfig(scorecard=card)), CustomerRecord.new("c1")
    run(engine, record, invoice(1, "500.00", T0, due=(T0 + DAY).date()))
    (change,) = engine.advance(record, T0 + 40 * DAY).changes
    assert change.score == 50.0  # 500 of 1000 in the 31-60 days bucket
    assert [reason.indicator for reason in change.reasons] == ["aging"]


@pytest.mark.parametrize("with_invoice", [False, True], ids=["payment alone", "invoice paid"])
@pytest.mark.parametrize("how", ["engine", "stored between events", "clock passed", "replay"])
def test_a_chargeback_50_days_after_its_payment_is_inconsistent(with_invoice, how):
    """Issue 16: a reversal past the payment's retention (45 days), nothing else in between,
    failed with a KeyError instead of being refused as inconsistent."""
    engine, record = Engine(), CustomerRecord.new("c1")
    paid = payment(1, "100.00", T0 + DAY)
    if not with_invoice:
        paid = paid.model_copy(update={"invoice_id": None})
    events = [invoice(1, "100.00", T0, (T0 + 30 * DAY).date())] if with_invoice else []
    chargeback = PaymentReversed(event_id="r1", customer_id="c1", payment_id="p1",
                                 event_time=T0 + 51 * DAY)  # fmt: skip
    with pytest.raises(InvalidEvent) as refused:
        if how == "replay":
            replay = Replay(engine)
            for event in [*events, paid, chargeback]:
                list(replay.feed(event))
        for event in [*events, paid]:
            engine.process(record, event)
            if how == "stored between events":  # as a worker does
                record = CustomerRecord.from_bytes(record.to_bytes())
        if how == "clock passed":
            engine.advance(record, T0 + 50 * DAY)
        engine.process(record, chargeback)
    assert refused.value.code == "inconsistent", refused.value
    assert "payment p1" in refused.value.reason


def _replayed(events) -> tuple[list[bytes], dict[str, CustomerRecord]]:
    replay = Replay(Engine(learn=True))
    published = [dumps(output) for event in events for step in replay.feed(event)
                 for output in step.outputs.events()]  # fmt: skip
    return published, replay.records


def test_a_replay_keeps_cases_compressed_and_publishes_what_it_would_with_them_parsed(
    monkeypatch,
):
    history = list(generate_events(customers=4, days=240, end=datetime(2026, 6, 1, tzinfo=UTC)))
    published, records = _replayed(history)
    memos = [record.memo for record in records.values()]
    assert all(memo.kept_case is None and memo.stored_case is None for memo in memos)
    assert all(len(memo.packed_case) < len(memo.case_json) / 1.8 for memo in memos)
    with monkeypatch.context() as patched:
        patched.setattr(RiskMemo, "compact", lambda memo: None)
        published_parsed, records_parsed = _replayed(history)
    assert any(record.memo.kept_case for record in records_parsed.values())
    assert sum(b'"type":"case"' in line for line in published) > 20
    assert published == published_parsed
    assert {key: record.to_bytes() for key, record in records.items()} == {
        key: record.to_bytes() for key, record in records_parsed.items()
    }


def test_a_compacted_case_takes_the_size_of_its_frame_in_memory():
    history = list(generate_events(customers=1, days=240, end=datetime(2026, 6, 1, tzinfo=UTC)))
    (record,) = _replayed(history)[1].values()
    memo = record.memo
    memo.keep_case(memo.case)
    tracemalloc.start()
    try:
        memo.compact()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert memo.packed_case is not None
    assert held < 1.1 * len(memo.packed_case) + 64


def test_a_case_kept_after_compacting_replaces_the_compressed_one():
    history = list(generate_events(customers=1, days=240, end=datetime(2026, 6, 1, tzinfo=UTC)))
    (record,) = _replayed(history)[1].values()
    memo = record.memo
    compacted = memo.case
    revised = compacted.model_copy(update={"revision": compacted.revision + 1})
    memo.compact()
    memo.keep_case(revised)
    memo.compact()
    assert memo.case == revised
    assert RiskMemo.from_bytes(memo.to_bytes()).case == revised
