"""The late-payment model: choice by name, versions, learning and determinism."""

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from detectors.late_payment import MODELS, LatePaymentModel
from detectors.monitoring import expected_calibration_error, roc_auc

LATE = {"days_past_due": 45.0, "limit_use": 1.1, "on_time_share": 0.2}
ON_TIME = {"days_past_due": 0.0, "limit_use": 0.3, "on_time_share": 0.95}


def _examples(n: int, seed: int) -> list[tuple[dict[str, float], bool]]:
    """Invoices paid late exactly when over the credit limit, with noise in the other features."""
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        limit_use = rng.uniform(0.0, 1.5)
        features = {"limit_use": limit_use, "noise": rng.gauss(0, 1)}
        examples.append((features, limit_use > 1.0))
    return examples


def test_unknown_model_name_is_refused():
    with pytest.raises(ValueError, match="unknown model 'gbm'"):
        LatePaymentModel("gbm")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_version_counts_what_was_learnt_and_not_what_was_predicted(name):
    model = LatePaymentModel(name)
    assert model.version == f"{name}@0"
    model.predict(LATE)
    assert model.version == f"{name}@0"
    model.learn(LATE, True)
    model.learn(ON_TIME, False)
    assert model.version == f"{name}@2"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_model_that_has_learnt_nothing_says_one_half(name):
    assert LatePaymentModel(name).predict(LATE) == 0.5


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_learns_that_going_over_the_limit_means_paying_late(name):
    model = LatePaymentModel(name, seed=3)
    for features, late in _examples(600, seed=1):
        model.learn(features, late)
    assert model.score({"limit_use": 1.4, "noise": 0.0}) > 0.5
    assert model.score({"limit_use": 0.2, "noise": 0.0}) < 0.5


@pytest.mark.parametrize("name", sorted(MODELS))
def test_until_its_calibration_is_fitted_a_model_says_the_late_rate_it_has_seen(name):
    """Until its calibration has outcomes enough (100), the probability is the late rate of
    what it learnt, whatever the invoice."""
    model = LatePaymentModel(name, seed=3)
    examples = _examples(99, seed=1)
    for features, late in examples:
        model.learn(features, late)
    rate = (sum(late for _, late in examples) + 1) / (len(examples) + 2)
    assert model.predict({"limit_use": 1.4, "noise": 0.0}) == pytest.approx(rate)
    assert model.predict({"limit_use": 0.2, "noise": 0.0}) == pytest.approx(rate)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_seed_and_examples_give_the_same_predictions(name):
    first, second = LatePaymentModel(name, seed=5), LatePaymentModel(name, seed=5)
    for features, late in _examples(200, seed=2):
        first.learn(features, late)
        second.learn(features, late)
    probes = [features for features, _ in _examples(20, seed=9)]
    assert [first.predict(x) for x in probes] == [second.predict(x) for x in probes]


def test_a_forest_that_only_saw_on_time_payments_scores_zero_yet_is_not_sure():
    model = LatePaymentModel("arf", mix=1)  # learnt at once, not kept for mixing
    model.learn(ON_TIME, False)
    assert model.score(ON_TIME) == 0.0
    assert model.predict(ON_TIME) == pytest.approx(1 / 3)  # one outcome: not sure of anything


def test_an_outcome_on_time_is_learnt_once_its_due_date_has_passed():
    """Paid on time is known the day of the payment, late only after the due date: learnt as
    they came, the first outcomes would all be "on time". Held to the due date, the invoices
    due on one day are learnt together, late and on time alike."""
    model = LatePaymentModel("logreg")
    due = datetime(2026, 1, 10, tzinfo=UTC).date()

    def day(n: int) -> datetime:
        return datetime(2026, 1, n, 9, tzinfo=UTC)

    for key in ("a", "b", "c"):
        model.learn(ON_TIME, False, day(1), key, due)  # paid early
    model.learn(LATE, True, day(1), "d", due)  # due earlier, not paid
    model.learn(LATE, True, day(5), "e")
    assert model.predict(ON_TIME) == pytest.approx(2 / 3)  # learnt: "d", the early payers wait
    model.learn(LATE, True, day(10), "f")  # on the due date itself they still wait
    model.learn(LATE, True, day(11), "g")
    assert model.predict(ON_TIME) == pytest.approx(4 / 5)  # "d", "e", "f"
    model.learn(LATE, True, day(12), "h")
    assert model.predict(ON_TIME) == pytest.approx(5 / 9)  # and "g" with "a", "b", "c"
    assert model.version == "logreg@8"


def _blocks(examples, size: int) -> list[list[tuple[str, dict[str, float], bool]]]:
    """The examples as a calendar delivers them: blocks of one outcome, known at one moment."""
    keyed = [(f"inv-{i}", features, late) for i, (features, late) in enumerate(examples)]
    late = [e for e in keyed if e[2]]
    on_time = [e for e in keyed if not e[2]]
    blocks = []
    while late or on_time:
        blocks += [on_time[:size], late[: size // 3]]
        on_time, late = on_time[size:], late[size // 3 :]
    return [block for block in blocks if block]


def _learn_blocks(model: LatePaymentModel, blocks, order) -> None:
    for day, block in enumerate(blocks):
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
        for key, features, late in order(block):
            model.learn(features, late, at, key)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_order_within_a_block_does_not_decide_the_model(name):
    blocks = _blocks(_examples(1200, seed=4), size=90)
    rng = random.Random(8)
    first, second = LatePaymentModel(name, seed=2), LatePaymentModel(name, seed=2)
    _learn_blocks(first, blocks, list)
    _learn_blocks(second, blocks, lambda block: rng.sample(block, len(block)))
    probes = [features for features, _ in _examples(50, seed=9)]
    assert [first.predict(x) for x in probes] == [second.predict(x) for x in probes]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_blocks_of_one_outcome_do_not_make_the_model_say_one_constant(name):
    """Months of: a payment run's block of on-time invoices, then a month end's block of
    overdue ones. Learnt as they came, the forest's trees restarted at every block."""
    model = LatePaymentModel(name, seed=3)
    _learn_blocks(model, _blocks(_examples(6000, seed=5), size=150), list)
    test = _examples(1000, seed=6)
    predictions = [model.predict(features) for features, _ in test]
    assert roc_auc(predictions, [late for _, late in test]) > 0.9
    assert statistics.pstdev(predictions) > 0.2
    assert expected_calibration_error(predictions, [late for _, late in test]) < 0.1


def test_the_trainer_learns_blocks_whatever_order_the_workers_send_them_in():
    """The trainer reads the labelled examples of every worker from one topic: the order
    within a block of outcomes known at one moment is the workers' timing, not the model's."""
    from detectors.champion import Lineup
    from detectors.delayed_labels import LabelledExample
    from streams.worker.models import Trainer

    examples = []
    for day, block in enumerate(_blocks(_examples(900, seed=7), size=90)):
        at = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=day)
        examples.append([
            LabelledExample(invoice_id=key, features=features, probability=0.5, label=late,
                            issued_at=at - timedelta(days=30), due_date=at.date(), labelled_at=at)
            for key, features, late in block
        ])  # fmt: skip
    first, second = (
        Trainer(Lineup(LatePaymentModel("logreg")), snapshot_every=100) for _ in range(2)
    )
    rng = random.Random(3)
    for block in examples:
        for example in block:
            first.learn(example)
        for example in rng.sample(block, len(block)) + block[:5]:  # and five redelivered
            second.learn(example)
    assert first.model.version == second.model.version == "logreg@900"
    probes = [features for features, _ in _examples(30, seed=11)]
    assert [first.model.predict(x) for x in probes] == [second.model.predict(x) for x in probes]
