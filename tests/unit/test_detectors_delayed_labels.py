"""Delayed labels: predictions wait for their outcome and are labelled once, from the features
as they were at prediction time."""

from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.delayed_labels import LabelledExample, PendingPredictions
from detectors.late_payment import LatePaymentModel

ISSUED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
DUE = date(2026, 2, 4)
PAID = datetime(2026, 2, 10, 14, 0, tzinfo=UTC)


def _record(pending: PendingPredictions, invoice_id: str, probability: float = 0.4) -> None:
    pending.record(invoice_id, {"limit_use": 0.5}, probability, ISSUED, DUE)


def test_the_example_holds_the_features_and_probability_of_prediction_time():
    pending = PendingPredictions()
    features = {"limit_use": 0.5, "days_past_due": 0.0}
    pending.record("inv-1", features, 0.3, ISSUED, DUE)
    features["limit_use"] = 1.4  # the customer's state moves on after the prediction

    example = pending.resolve("inv-1", late=True, at=PAID)

    assert example == LabelledExample(
        invoice_id="inv-1",
        features={"limit_use": 0.5, "days_past_due": 0.0},
        probability=0.3,
        issued_at=ISSUED,
        due_date=DUE,
        label=True,
        labelled_at=PAID,
    )


def test_nothing_is_learnt_before_the_outcome_and_an_example_is_learnt_once():
    model, pending = LatePaymentModel(), PendingPredictions()
    features = {"limit_use": 0.9}
    pending.record("inv-1", features, model.predict(features), ISSUED, DUE)
    assert model.n_learned == 0 and "inv-1" in pending

    for at in (PAID, PAID + timedelta(days=1)):  # the payment event, then its redelivery
        if (example := pending.resolve("inv-1", late=True, at=at)) is not None:
            model.learn(example.features, example.label)

    assert model.n_learned == 1
    assert "inv-1" not in pending and len(pending) == 0


def test_resolving_twice_gives_one_example():
    pending = PendingPredictions()
    _record(pending, "inv-1")
    assert pending.resolve("inv-1", late=False, at=PAID) is not None
    assert pending.resolve("inv-1", late=True, at=PAID) is None


def test_an_invoice_never_recorded_or_discarded_gives_no_example():
    pending = PendingPredictions()
    _record(pending, "inv-1")
    pending.discard("inv-1")
    assert pending.resolve("inv-1", late=True, at=PAID) is None
    assert pending.resolve("inv-2", late=True, at=PAID) is None


def test_a_repeated_record_keeps_the_first_prediction():
    pending = PendingPredictions()
    _record(pending, "inv-1", probability=0.2)
    _record(pending, "inv-1", probability=0.9)
    assert len(pending) == 1
    assert pending.resolve("inv-1", late=False, at=PAID).probability == 0.2


def test_when_full_new_predictions_are_dropped_and_counted_while_waiting_ones_stay():
    pending = PendingPredictions(max_pending=2)
    for invoice_id in ("inv-1", "inv-2", "inv-3"):
        _record(pending, invoice_id)

    assert len(pending) == 2 and pending.dropped == 1
    assert pending.resolve("inv-3", late=True, at=PAID) is None
    assert pending.resolve("inv-1", late=True, at=PAID) is not None
    _record(pending, "inv-4")  # resolving made room
    assert "inv-4" in pending and pending.dropped == 1


@given(
    st.lists(
        st.tuples(st.sampled_from(["record", "resolve", "discard"]), st.integers(0, 5)),
        max_size=60,
    ),
    st.integers(1, 4),
)
def test_only_a_kept_waiting_prediction_is_labelled_and_the_bound_holds(steps, bound):
    pending = PendingPredictions(max_pending=bound)
    waiting: set[str] = set()
    for action, number in steps:
        invoice_id = f"inv-{number}"
        if action == "record":
            _record(pending, invoice_id)
            if len(waiting) < bound:
                waiting.add(invoice_id)
        elif action == "resolve":
            example = pending.resolve(invoice_id, late=True, at=PAID)
            assert (example is not None) == (invoice_id in waiting)
            waiting.discard(invoice_id)
        else:
            pending.discard(invoice_id)
            waiting.discard(invoice_id)
        assert len(pending) == len(waiting) <= bound


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["record", "resolve", "discard", "reload"]),
            st.integers(0, 5),
            st.sampled_from([0.0, 0.2, 0.5, 0.5, 0.9, 1.0]),
        ),
        max_size=60,
    ),
)
def test_the_highest_probability_is_that_of_the_predictions_waiting(steps):
    pending = PendingPredictions(max_pending=4)
    for action, number, probability in steps:
        invoice_id = f"inv-{number}"
        if action == "record":
            _record(pending, invoice_id, probability)
        elif action == "resolve":
            pending.resolve(invoice_id, late=True, at=PAID)
        elif action == "discard":
            pending.discard(invoice_id)
        else:
            pending = PendingPredictions.from_json(pending.to_json())
        waiting = [prediction.probability for prediction in pending.predictions()]
        assert pending.highest_probability() == max(waiting, default=None)


def test_a_labelled_example_round_trips_through_json():
    example = LabelledExample(
        invoice_id="inv-7",
        features={"limit_use": 0.25, "dso": 41.5},
        probability=0.62,
        issued_at=ISSUED,
        due_date=DUE,
        label=False,
        labelled_at=PAID,
    )
    encoded = example.to_json()
    assert orjson.loads(encoded) == {
        "type": "labelled_example",
        "invoice_id": "inv-7",
        "features": {"limit_use": 0.25, "dso": 41.5},
        "probability": 0.62,
        "probabilities": {},
        "issued_at": "2026-01-05T09:30:00+00:00",
        "due_date": "2026-02-04",
        "label": False,
        "labelled_at": "2026-02-10T14:00:00+00:00",
    }
    assert LabelledExample.from_json(encoded) == example


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b'{"invoice_id": "inv-7"}',
        orjson.dumps(
            {
                "invoice_id": "inv-7",
                "features": {"limit_use": 0.25},
                "probability": 1.5,
                "issued_at": "2026-01-05T09:30:00+00:00",
                "due_date": "2026-02-04",
                "label": False,
                "labelled_at": "2026-02-10T14:00:00+00:00",
            }
        ),
    ],
    ids=["not-json", "missing-fields", "probability-above-one"],
)
def test_an_invalid_example_on_the_topic_is_refused(payload):
    with pytest.raises(ValueError):
        LabelledExample.from_json(payload)


def test_features_that_json_cannot_carry_or_naive_times_are_refused_at_record():
    pending = PendingPredictions()
    with pytest.raises(ValidationError):
        pending.record("inv-1", {"limit_use": float("nan")}, 0.5, ISSUED, DUE)
    with pytest.raises(ValidationError):
        pending.record("inv-1", {"limit_use": 0.5}, 0.5, datetime(2026, 1, 5), DUE)
    assert len(pending) == 0


def test_max_pending_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        PendingPredictions(max_pending=0)


def test_every_models_probability_waits_with_the_prediction_and_survives_the_record():
    pending = PendingPredictions()
    both = {"logreg": 0.3, "arf": 0.6}
    pending.record("inv-1", {"limit_use": 0.5}, 0.3, ISSUED, DUE, both)
    pending.record("inv-2", {"limit_use": 0.5}, 0.4, ISSUED, DUE)  # one model
    restored = PendingPredictions.from_json(pending.to_json())
    first = restored.resolve("inv-1", late=True, at=PAID)
    second = restored.resolve("inv-2", late=False, at=PAID)
    assert first.probability == 0.3 and first.probabilities == both
    assert second.probabilities == {}
    assert LabelledExample.from_json(first.to_json()) == first
