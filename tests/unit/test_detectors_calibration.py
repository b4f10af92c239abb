"""Online beta calibration: keeps the order of scores, is bounded, and is right on average."""

import itertools
import random

import numpy as np
import pytest

from detectors.calibration import BetaCalibrator, fit_logistic
from detectors.monitoring import expected_calibration_error, roc_auc


def _distorted(n: int, seed: int, distort) -> list[tuple[float, bool]]:
    """Scores that are ``distort`` of the real probability: what an uncalibrated model says."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        real = rng.uniform(0.01, 0.6)
        pairs.append((distort(real), rng.random() < real))
    return pairs


@pytest.mark.parametrize(
    "distort",
    [lambda p: min(1.0, 2 * p), lambda p: p**0.5, lambda p: p / 3],
    ids=["twice", "square root", "a third"],
)
def test_calibrated_scores_mean_what_they_say_and_keep_their_order(distort):
    calibrator = BetaCalibrator(window=5000, refit_every=100, min_labels=300)
    for score, outcome in _distorted(5000, 2, distort):
        calibrator.update(score, outcome)
    test = _distorted(5000, 3, distort)
    scores, outcomes = [s for s, _ in test], [o for _, o in test]
    calibrated = [calibrator(s) for s in scores]
    assert expected_calibration_error(scores, outcomes) > 0.08
    assert expected_calibration_error(calibrated, outcomes) < 0.03
    assert roc_auc(calibrated, outcomes) == pytest.approx(roc_auc(scores, outcomes), abs=1e-3)
    probes = [calibrator(x / 50) for x in range(1, 50)]
    assert all(a <= b for a, b in itertools.pairwise(probes)) and probes[0] < probes[-1]


def test_memory_is_bounded_by_the_window_and_it_follows_a_change():
    calibrator = BetaCalibrator(window=1000, refit_every=50, min_labels=100)
    rng = random.Random(4)
    for _ in range(3000):
        score = rng.random()
        calibrator.update(score, rng.random() < score / 4)
    assert calibrator(0.8) == pytest.approx(0.2, abs=0.06)
    for _ in range(1000):  # the same scores now mean twice as likely
        score = rng.random()
        calibrator.update(score, rng.random() < score / 2)
    assert len(calibrator._window) == 1000
    assert calibrator(0.8) == pytest.approx(0.4, abs=0.08)


def test_it_says_the_late_rate_of_its_window_until_it_has_seen_both_outcomes():
    calibrator = BetaCalibrator(window=400, refit_every=10, min_labels=100)
    for _ in range(400):
        calibrator.update(0.3, False)
    assert calibrator.weights is None
    assert calibrator(0.3) == calibrator(0.9) == pytest.approx(1 / 402)


def test_the_late_rate_before_a_fit_counts_only_the_window():
    calibrator = BetaCalibrator(window=400, refit_every=1_000, min_labels=400)
    for late in [False] * 400 + [True] * 300:
        calibrator.update(0.3, late, day=1)  # all on one day: no fit
    assert calibrator.weights is None
    assert calibrator(0.3) == pytest.approx(301 / 402)  # 100 on time and 300 late left


def test_a_calibrator_pickled_before_it_counted_late_outcomes_counts_them_when_loaded():
    calibrator = BetaCalibrator(window=400, refit_every=1_000, min_labels=400)
    for late in [True, False, False]:
        calibrator.update(0.3, late)
    state = calibrator.__dict__.copy()
    del state["_late"]
    old = BetaCalibrator.__new__(BetaCalibrator)
    old.__setstate__(state)
    assert old(0.3) == calibrator(0.3) == pytest.approx(2 / 5)


def test_scores_of_exactly_zero_and_one_give_finite_probabilities():
    calibrator = BetaCalibrator(window=400, refit_every=100, min_labels=100)
    for i in range(400):
        calibrator.update(float(i % 2), i % 4 == 1)
    assert 0 < calibrator(0.0) < calibrator(1.0) < 1


def test_the_logistic_fit_finds_the_weights_that_made_the_outcomes():
    rng = np.random.default_rng(5)
    x = np.column_stack([rng.normal(size=20_000), np.ones(20_000)])
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.5)))).astype(float)
    assert fit_logistic(x, y, 1e-3, np.zeros(2)) == pytest.approx([1.5, -0.5], abs=0.08)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="window >= min_labels"):
        BetaCalibrator(window=10, min_labels=100)


def test_outcomes_known_on_one_day_are_not_enough_to_fit():
    """One day's outcomes are often one cohort (a month end's invoices): how scores rank
    within it says little of the next."""
    calibrator = BetaCalibrator(window=1000, refit_every=100, min_labels=100)
    pairs = _distorted(600, 5, lambda p: p)
    for score, outcome in pairs[:500]:
        calibrator.update(score, outcome, day=10)
    assert calibrator.weights is None
    for score, outcome in pairs[500:]:
        calibrator.update(score, outcome, day=11)
    assert calibrator.weights is not None
