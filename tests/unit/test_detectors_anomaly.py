"""Anomalies: per-customer z-scores and the cross-customer half-space trees."""

# ruff: noqa: RUF001, RUF003 (σ in the messages is meant)

import random

import pytest

from detectors.anomaly import Anomaly, HalfSpaceTreesDetector, ZScoreDetector

AMOUNTS = ZScoreDetector("amount", kind="amount", template="payment of {value}", min_count=10)
NAMES = [f"f{i}" for i in range(10)]


def _inliers(rng: random.Random, n: int) -> list[dict[str, float]]:
    return [{name: rng.gauss(0, 1) for name in NAMES} for _ in range(n)]


def test_z_score_is_silent_before_the_minimum_history():
    assert AMOUNTS.check(1_000_000.0, mean=1_000.0, std=100.0, count=9) is None


def test_z_score_fires_on_a_clear_outlier_once_the_history_is_long_enough():
    # (9,050 - 1,050) / 2,000 = 4.0 standard deviations: at the threshold, so it fires.
    assert AMOUNTS.check(9_050.0, mean=1_050.0, std=2_000.0, count=10) == Anomaly(
        kind="amount",
        feature="amount",
        value=9_050.0,
        expected=1_050.0,
        score=4.0,
        message="payment of 9,050.00 is 4.0σ above this customer's usual 1,050.00",
    )


def test_z_score_is_silent_just_below_the_threshold():
    assert AMOUNTS.check(9_030.0, mean=1_050.0, std=2_000.0, count=50) is None


def test_z_score_flags_values_far_below_the_usual_too():
    anomaly = AMOUNTS.check(0.0, mean=1_050.0, std=200.0, count=30)
    assert anomaly.score == -5.25
    assert anomaly.message == "payment of 0.00 is 5.2σ below this customer's usual 1,050.00"


def test_a_customer_who_always_paid_the_same_gets_a_finite_z_score():
    # std 0 is taken as min_std = 1 (currency unit): 1,010 is 10σ above 1,000, 1,000 is not unusual.
    assert AMOUNTS.check(1_010.0, mean=1_000.0, std=0.0, count=20).score == 10.0
    assert AMOUNTS.check(1_000.0, mean=1_000.0, std=0.0, count=20) is None


def test_timing_anomalies_read_in_days():
    timing = ZScoreDetector(
        "days_late", kind="timing", template="payment {value} days late", number_format=".0f"
    )
    anomaly = timing.check(26.0, mean=2.0, std=4.0, count=12)
    assert (anomaly.kind, anomaly.score) == ("timing", 6.0)
    assert anomaly.message == "payment 26 days late is 6.0σ above this customer's usual 2"


def test_half_space_trees_report_nothing_during_warm_up():
    detector = HalfSpaceTreesDetector(warm_up=300, seed=1)
    for x in _inliers(random.Random(1), 299):
        detector.learn_one(x)
    assert detector.check_one({name: 50.0 for name in NAMES}) is None


def test_half_space_trees_are_deterministic_with_a_seed():
    def scores(seed: int) -> list[float]:
        detector = HalfSpaceTreesDetector(seed=seed)
        for x in _inliers(random.Random(2), 600):
            detector.learn_one(x)
        return [detector.score_one(x) for x in _inliers(random.Random(3), 50)]

    assert scores(seed=11) == scores(seed=11)
    assert scores(seed=11) != scores(seed=12)


def test_an_obvious_outlier_scores_above_every_inlier_and_is_reported():
    rng = random.Random(0)
    detector = HalfSpaceTreesDetector(warm_up=500, seed=0)
    for x in _inliers(rng, 1000):
        detector.learn_one(x)
    inlier_scores = [detector.score_one(x) for x in _inliers(rng, 200)]
    outlier = {name: 4.0 for name in NAMES} | {"f3": 6.0}

    assert detector.score_one(outlier) > max(inlier_scores)
    anomaly = detector.check_one(outlier)
    assert (anomaly.kind, anomaly.feature, anomaly.value) == ("cross_customer", "f3", 6.0)
    assert anomaly.score == pytest.approx(detector.score_one(outlier))
    assert anomaly.message.startswith("unusual among all customers")
