"""The late-payment model: choice by name, versions, learning and determinism."""

import random

import pytest

from detectors.late_payment import MODELS, LatePaymentModel

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
    assert model.predict({"limit_use": 1.4, "noise": 0.0}) > 0.5
    assert model.predict({"limit_use": 0.2, "noise": 0.0}) < 0.5


@pytest.mark.parametrize("name", sorted(MODELS))
def test_same_seed_and_examples_give_the_same_predictions(name):
    first, second = LatePaymentModel(name, seed=5), LatePaymentModel(name, seed=5)
    for features, late in _examples(200, seed=2):
        first.learn(features, late)
        second.learn(features, late)
    probes = [features for features, _ in _examples(20, seed=9)]
    assert [first.predict(x) for x in probes] == [second.predict(x) for x in probes]


def test_a_model_that_only_saw_on_time_payments_says_zero_not_one_half():
    model = LatePaymentModel("arf")
    model.learn(ON_TIME, False)
    assert model.predict(ON_TIME) == 0.0
