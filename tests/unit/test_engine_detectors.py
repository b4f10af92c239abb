"""The engine's detectors: the interface a new one plugs into, and every output held to the
JSON Schema file of its type."""

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from jsonschema import Draft202012Validator

from features import Features
from schemas.codec import dumps
from schemas.events import (
    CaseAcknowledged,
    CaseAssigned,
    CaseResolved,
    CaseSnoozed,
    OrderPlaced,
    OrderRejected,
    OrderReleased,
    ProposalAccepted,
    ProposalDeclined,
    ReviewEvent,
)
from schemas.ids import derive_id
from schemas.jsonschema import SCHEMA_DIR
from schemas.money import Money
from schemas.outputs import Alert
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine
from streams.engine.detection import DETECTORS, Step
from streams.engine.replay import Replay

START = datetime(2026, 3, 1, tzinfo=UTC)


class LargeOrders:
    """A detector written for the test: an alert for every order of 10,000 or more."""

    def detect(self, step: Step) -> Iterable[Alert]:
        event = step.event
        if not isinstance(event, OrderPlaced) or event.amount.amount < Decimal("10000"):
            return ()
        return (
            Alert(
                alert_id=derive_id("alert", "large_order", step.cause),
                kind="rule",
                severity="info",
                message=f"order of {event.amount.amount} with {step.features.exposure} exposure",
                customer_id=step.record.customer_id,
                event_time=step.now,
                source_event_id=step.cause,
                versions=step.versions,
            ),
        )


class FeaturesSeen:
    """A detector written for the test: remembers the features each step gave it."""

    def __init__(self) -> None:
        self.seen: list[Features] = []

    def detect(self, step: Step) -> Iterable[Alert]:
        self.seen.append(step.features)
        return ()


def order(event_id: str, amount: str) -> OrderPlaced:
    return OrderPlaced(
        event_id=event_id,
        customer_id="c1",
        order_id=f"o-{event_id}",
        event_time=START,
        amount=Money(amount=amount, currency="EUR"),
    )


def test_a_detector_added_to_the_list_publishes_its_alerts_after_the_others():
    engine = Engine(detectors=(*DETECTORS, LargeOrders()))
    record = CustomerRecord.new("c1")
    small = engine.process(record, order("e1", "900.00"))
    large = engine.process(record, order("e2", "12000.00"))
    assert [alert.kind for alert in small.alerts] == []
    assert [alert.message for alert in large.alerts][-1] == (
        "order of 12000.00 with 12900.00 exposure"
    )
    assert len(large.decisions) == 1 and large.standing is not None


def test_every_detector_of_a_step_reads_the_same_features():
    first, second = FeaturesSeen(), FeaturesSeen()
    engine = Engine(detectors=(first, *DETECTORS, second))
    record = CustomerRecord.new("c1")
    for event_id in ("e1", "e2"):
        engine.process(record, order(event_id, "100.00"))
    assert len(first.seen) == 2
    assert all(a is b for a, b in zip(first.seen, second.seen, strict=True))
    assert first.seen[0] is not first.seen[1]


@pytest.fixture(scope="module")
def published() -> list[dict]:
    """Every output of a year of a few generated customers, as published (JSON), and of
    people's actions on their cases, held orders and credit proposals after it."""
    replay = Replay(Engine())
    documents = []
    history = generate_events(8, 365, datetime(2026, 1, 1, tzinfo=UTC), seed=3)
    reviews = people_acting_on(replay, datetime(2027, 1, 15, tzinfo=UTC))  # once history is in
    for event in itertools.chain(history, reviews):
        for step in replay.feed(event):
            documents += [orjson.loads(dumps(output)) for output in step.outputs.all()]
    return documents


def people_acting_on(replay: Replay, at: datetime) -> Iterable[ReviewEvent]:
    """Each customer's case acknowledged, assigned, snoozed and resolved; its held orders
    released and rejected in turn; its credit proposals accepted, but reviews declined."""
    for customer_id, record in sorted(replay.records.items()):
        memo, said = record.memo, {"customer_id": customer_id, "actor": "ann", "event_time": at}
        if memo.case is not None:
            case_id = memo.case.case_id
            yield CaseAcknowledged(event_id=f"{customer_id}-ack", case_id=case_id, **said)
            yield CaseAssigned(
                event_id=f"{customer_id}-assign", case_id=case_id, assignee="bob", **said
            )
            yield CaseSnoozed(
                event_id=f"{customer_id}-snooze", case_id=case_id, until=at + timedelta(days=2),
                **said,
            )  # fmt: skip
            yield CaseResolved(event_id=f"{customer_id}-resolve", case_id=case_id,
                               **said | {"note": "paid"})  # fmt: skip
        for n, (decision_id, order_id) in enumerate(list(memo.held.items())):
            review = OrderReleased if n % 2 else OrderRejected
            yield review(event_id=f"{customer_id}-order-{n}", decision_id=decision_id,
                         order_id=order_id, **said)  # fmt: skip
        for n, (action_id, proposal) in enumerate(list(memo.proposals.items())):
            review = ProposalDeclined if proposal["kind"] == "review" else ProposalAccepted
            yield review(event_id=f"{customer_id}-proposal-{n}", action_id=action_id, **said)


def test_every_output_is_valid_under_the_json_schema_file_of_its_type(published):
    validators = {
        path.name.removesuffix(".schema.json"): Draft202012Validator(
            orjson.loads(path.read_bytes())
        )
        for path in SCHEMA_DIR.glob("*.schema.json")
    }
    checked: set[str] = set()
    for document in published:
        validators[document["type"]].validate(document)
        checked.add(document["type"])
    assert checked >= {
        "alert", "risk_change", "order_decision", "credit_action", "customer_risk",
        "labelled_example", "case", "order_review", "proposal_review", "customer.credit_limit",
    }  # fmt: skip


def test_an_event_worked_on_again_after_another_makes_the_risk_change_of_the_same_id():
    # A worker killed before storing a batch's records reads its events again, each input
    # topic from its own committed offset: a customer's events of two topics may come in
    # another order the second time. An event's risk change is the same thing whatever came
    # before it, and must keep its id for Redis to take it once.
    engine = Engine()
    records: dict[str, CustomerRecord] = {}
    previous: dict[str, tuple[bytes, str]] = {}  # customer -> record before its last event
    compared = 0
    end = datetime(2026, 9, 1, tzinfo=UTC)
    for event in generate_events(customers=40, days=150, end=end, seed=4):
        record = records.setdefault(event.customer_id, CustomerRecord.new(event.customer_id))
        before = previous.get(event.customer_id)
        previous[event.customer_id] = record.to_bytes(), event.family
        after_it = engine.process(record, event).changes
        if before is None or before[1] == event.family:
            continue
        before_it = engine.process(CustomerRecord.from_bytes(before[0]), event).changes
        if after_it and before_it:
            assert [c.change_id for c in before_it] == [c.change_id for c in after_it]
            compared += 1
    assert compared > 10
