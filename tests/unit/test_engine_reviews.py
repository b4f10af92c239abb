"""The engine with cases and people's reviews: alerts fold into the customer's case, and
review events revise it, release or reject held orders, accept or decline credit proposals."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import (
    CaseAcknowledged,
    CaseResolved,
    CaseSnoozed,
    CreditLimitUpdated,
    InvoiceIssued,
    OrderPlaced,
    OrderRejected,
    OrderReleased,
    PaymentReceived,
    PaymentTermsUpdated,
    ProposalAccepted,
    ProposalDeclined,
)
from schemas.ids import derive_id
from schemas.money import Money
from schemas.outputs import CreditAction, OrderReview, ProposalReview
from schemas.validation import InvalidEvent, parse_event
from streams.engine import CustomerRecord, Engine
from streams.engine.replay import Replay

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


ISSUED = InvoiceIssued(event_id="i1", customer_id="c1", invoice_id="inv-1", event_time=T0,
                       due_date="2026-01-31", amount=eur("500.00"))  # fmt: skip
PAID = PaymentReceived(event_id="p1", customer_id="c1", payment_id="pay-1", invoice_id="inv-1",
                       event_time=T0.replace(month=2, day=10), amount=eur("500.00"))  # fmt: skip
LIMIT = CreditLimitUpdated(event_id="l1", customer_id="c1", event_time=T0,
                           credit_limit=eur("1000.00"))  # fmt: skip
ORDER = OrderPlaced(event_id="o1", customer_id="c1", order_id="ord-1", event_time=T0,
                    amount=eur("1500.00"))  # fmt: skip
HISTORY = [LIMIT, ORDER, ISSUED, PAID]


def late_invoice(engine: Engine, record: CustomerRecord) -> tuple[list, list]:
    """An invoice that turns overdue, then is paid late: two alerts at two steps."""
    engine.process(record, ISSUED)
    overdue = engine.advance(record, datetime(2026, 2, 1, tzinfo=UTC))
    paid = engine.process(record, PAID)
    return [overdue.alerts, paid.alerts], [overdue.cases, paid.cases]


def said(n: int, **fields) -> dict:
    return {"event_id": f"rev-{n}", "customer_id": "c1", "actor": "ann",
            "event_time": datetime(2026, 2, 11, n, tzinfo=UTC), **fields}  # fmt: skip


def test_alerts_of_a_customer_at_two_steps_make_one_case_with_two_revisions():
    engine, record = Engine(), CustomerRecord.new("c1")
    alerts, cases = late_invoice(engine, record)
    assert [[a.kind for a in step] for step in alerts] == [["overdue"], ["late_payment"]]
    first, second = cases[0][0], cases[1][0]
    assert first.case_id == second.case_id
    assert (first.revision, second.revision) == (1, 2)
    assert second.alert_ids == [alerts[0][0].alert_id, alerts[1][0].alert_id]
    assert second.money_at_risk == eur("0.00")  # paid: no exposure left when last alerted
    assert first.money_at_risk == eur("500.00")
    assert 0 <= first.probability_of_loss <= 1
    assert first.priority == round(500 * first.probability_of_loss, 2)
    assert second.versions == engine.versions


def test_the_same_inputs_give_the_same_case_revisions():
    runs = []
    for _ in range(2):
        engine, record = Engine(), CustomerRecord.new("c1")
        runs.append(late_invoice(engine, record)[1])
    assert runs[0] == runs[1]


def test_people_acknowledge_then_resolve_the_case_and_a_redelivery_changes_nothing():
    engine, record = Engine(), CustomerRecord.new("c1")
    case = late_invoice(engine, record)[1][1][0]
    acknowledged = engine.process(record, CaseAcknowledged(**said(1, case_id=case.case_id)))
    before = record.to_bytes()
    assert engine.process(record, CaseAcknowledged(**said(1, case_id=case.case_id))).all() == []
    assert record.to_bytes() == before
    resolved = engine.process(
        record, CaseResolved(**said(2, case_id=case.case_id, note="paid, late"))
    )
    [revision] = resolved.cases
    assert acknowledged.cases[0].revision == 3 and revision.revision == 4
    assert (revision.status, revision.history[-1].actor, revision.history[-1].note) == (
        "resolved", "ann", "paid, late",
    )  # fmt: skip
    assert revision.source_event_id == "rev-2"
    assert record.memo.case == revision
    assert CustomerRecord.from_bytes(record.to_bytes()).memo.case == revision


def test_a_case_revised_after_its_record_was_read_is_stored_as_revised():
    engine, record = Engine(), CustomerRecord.new("c1")
    case = late_invoice(engine, record)[1][1][0]
    read = CustomerRecord.from_bytes(record.to_bytes())
    assert read.memo.case == case and read.memo.case is read.memo.case
    [revision] = engine.process(read, CaseAcknowledged(**said(1, case_id=case.case_id))).cases
    stored = CustomerRecord.from_bytes(read.to_bytes()).memo
    assert (stored.case, stored.case.revision) == (revision, case.revision + 1)


def test_a_review_changes_the_record_stamp_so_workers_store_it():
    engine, record = Engine(), CustomerRecord.new("c1")
    case = late_invoice(engine, record)[1][0][0]
    stamp = record.stamp
    engine.process(record, CaseAcknowledged(**said(1, case_id=case.case_id)))
    assert record.stamp != stamp and record.state.revision == stamp[0]


def test_an_action_on_a_case_the_customer_does_not_have_is_an_unknown_case_dead_letter():
    engine, record = Engine(), CustomerRecord.new("c1")
    late_invoice(engine, record)
    before = record.to_bytes()
    with pytest.raises(InvalidEvent) as raised:
        engine.process(record, CaseAcknowledged(**said(1, case_id="someone-elses")))
    assert raised.value.code == "unknown_case" and "someone-elses" in raised.value.reason
    assert record.to_bytes() == before


def test_a_review_for_a_customer_with_no_record_is_refused_by_a_replay():
    with pytest.raises(InvalidEvent) as raised:
        list(Replay(Engine()).feed(CaseAcknowledged(**said(1, case_id="k1"))))
    assert raised.value.code == "unknown_case"


def held_order(engine: Engine, record: CustomerRecord) -> tuple[str, str]:
    engine.process(record, LIMIT)
    placed = engine.process(record, ORDER)
    [decision] = placed.decisions
    assert decision.outcome == "review"
    return decision.decision_id, decision.order_id


def test_releasing_a_held_order_gives_an_order_review_linked_by_decision_id():
    engine, record = Engine(), CustomerRecord.new("c1")
    decision_id, order_id = held_order(engine, record)
    outputs = engine.process(
        record, OrderReleased(**said(1, decision_id=decision_id, order_id=order_id, note="ok"))
    )
    assert outputs.reviews == [
        OrderReview(
            review_id=derive_id("order_review", "rev-1"), decision_id=decision_id,
            order_id=order_id, customer_id="c1", event_time=datetime(2026, 2, 11, 1, tzinfo=UTC),
            outcome="released", actor="ann", note="ok", source_event_id="rev-1",
            versions=engine.versions,
        )
    ]  # fmt: skip
    assert decision_id not in record.memo.held
    with pytest.raises(InvalidEvent) as raised:  # reviewed once: a second review is refused
        engine.process(record, OrderRejected(**said(2, decision_id=decision_id, order_id=order_id)))
    assert raised.value.code == "unknown_decision"


def test_an_order_review_of_an_unknown_decision_or_another_order_is_refused():
    engine, record = Engine(), CustomerRecord.new("c1")
    decision_id, _ = held_order(engine, record)
    for wrong in ({"decision_id": "nope", "order_id": "ord-1"},
                  {"decision_id": decision_id, "order_id": "ord-2"}):  # fmt: skip
        with pytest.raises(InvalidEvent) as raised:
            engine.process(record, OrderRejected(**said(1, **wrong)))
        assert raised.value.code == "unknown_decision"


def proposed(record: CustomerRecord, kind: str, **details) -> str:
    action = CreditAction(
        action_id=f"act-{kind}", kind=kind, reasons=["why"], customer_id="c1", event_time=T0,
        source_event_id="e1", **details,
    )  # fmt: skip
    record.memo.note_proposals([action], "EUR")
    return action.action_id


def test_accepting_a_limit_increase_emits_the_customer_update_it_implies():
    engine, record = Engine(), CustomerRecord.new("c1")
    action_id = proposed(record, "limit_increase", amount="5000.00", new_limit="15000.00")
    outputs = engine.process(record, ProposalAccepted(**said(1, action_id=action_id)))
    assert [(r.outcome, r.action_id, r.actor) for r in outputs.reviews] == [
        ("accepted", action_id, "ann")
    ]
    assert isinstance(outputs.reviews[0], ProposalReview)
    assert outputs.updates == [
        CreditLimitUpdated(event_id=derive_id("customer_update", "rev-1"), customer_id="c1",
                           event_time=datetime(2026, 2, 11, 1, tzinfo=UTC),
                           credit_limit=eur("15000.00"))
    ]  # fmt: skip


def test_accepting_shorter_terms_or_prepayment_updates_the_terms_and_a_decline_nothing():
    engine, record = Engine(), CustomerRecord.new("c1")
    shorten = proposed(record, "shorten_terms", terms_days=15)
    prepay = proposed(record, "prepayment")
    review = proposed(record, "review", review_date="2026-04-01")
    terms = engine.process(record, ProposalAccepted(**said(1, action_id=shorten))).updates
    prepaid = engine.process(record, ProposalAccepted(**said(2, action_id=prepay))).updates
    declined = engine.process(record, ProposalDeclined(**said(3, action_id=review)))
    assert [(type(u), u.terms_days) for u in terms + prepaid] == [
        (PaymentTermsUpdated, 15), (PaymentTermsUpdated, 0),
    ]  # fmt: skip
    assert declined.updates == [] and declined.reviews[0].outcome == "declined"
    with pytest.raises(InvalidEvent) as raised:
        engine.process(record, ProposalDeclined(**said(4, action_id=shorten)))
    assert raised.value.code == "unknown_action"


def test_the_implied_update_is_a_valid_event_of_the_customers_topic():
    engine, record = Engine(), CustomerRecord.new("c1")
    action_id = proposed(record, "limit_increase", amount="1000.00", new_limit="2000.00")
    [update] = engine.process(record, ProposalAccepted(**said(1, action_id=action_id))).updates
    assert parse_event(update.model_dump_json().encode(), family="customer") == update


def test_a_record_with_a_case_held_orders_and_proposals_reads_back_exactly():
    engine, record = Engine(), CustomerRecord.new("c1")
    held_order(engine, record)
    late_invoice(engine, record)
    proposed(record, "shorten_terms", terms_days=15)
    engine.process(record, CaseAcknowledged(**said(1, case_id=record.memo.case.case_id)))
    blob = record.to_bytes()
    again = CustomerRecord.from_bytes(blob)
    assert again.to_bytes() == blob
    assert again.memo.case == record.memo.case and again.memo.held == record.memo.held
    assert again.stamp == record.stamp


def test_a_snoozed_case_reopens_when_time_passes_beyond_it():
    engine, record = Engine(), CustomerRecord.new("c1")
    engine.process(record, InvoiceIssued(event_id="i1", customer_id="c1", invoice_id="inv-1",
                   event_time=T0, due_date="2026-01-31", amount=eur("500.00")))  # fmt: skip
    engine.process(record, InvoiceIssued(event_id="i2", customer_id="c1", invoice_id="inv-2",
                   event_time=T0, due_date="2026-03-31", amount=eur("500.00")))  # fmt: skip
    [case] = engine.advance(record, datetime(2026, 2, 1, tzinfo=UTC)).cases
    until = datetime(2026, 3, 1, tzinfo=UTC)
    engine.process(record, CaseSnoozed(event_id="s1", customer_id="c1", actor="ann",
                                       case_id=case.case_id, until=until,
                                       event_time=datetime(2026, 2, 2, tzinfo=UTC)))  # fmt: skip
    [woken] = engine.advance(record, datetime(2026, 4, 1, tzinfo=UTC)).cases
    assert woken.status == "open"
    actions = [h.action for h in woken.history]
    assert actions[actions.index("snoozed") + 1 :][:2] == ["reopened", "alerted"]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_redelivering_any_event_or_review_changes_nothing(data):
    engine, record = Engine(), CustomerRecord.new("c1")
    decision_id, order_id = held_order(engine, record)
    late_invoice(engine, record)
    case_id = record.memo.case.case_id
    reviews = [
        CaseAcknowledged(**said(1, case_id=case_id)),
        OrderReleased(**said(2, decision_id=decision_id, order_id=order_id)),
        CaseSnoozed(**said(3, case_id=case_id, until=datetime(2026, 3, 1, tzinfo=UTC))),
        CaseResolved(**said(4, case_id=case_id, note="done")),
    ]
    applied = data.draw(st.integers(1, len(reviews)))
    for review in reviews[:applied]:
        engine.process(record, review)
    before = record.to_bytes()
    history = [*HISTORY, *reviews[:applied]]
    again = data.draw(st.sampled_from(history))
    assert engine.process(record, again).all() == []
    assert record.to_bytes() == before
