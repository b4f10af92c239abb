"""Model monitoring: exact windowed AUC, log loss, ADWIN on errors, PSI of scores."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors.monitoring import (
    ModelMonitor,
    ScoreMonitor,
    expected_calibration_error,
    log_loss,
    population_stability_index,
    roc_auc,
)


def _pairwise_auc(probabilities: list[float], labels: list[bool]) -> float:
    """The definition: the share of (positive, negative) pairs ranked right, ties counting half."""
    positives = [p for p, label in zip(probabilities, labels, strict=True) if label]
    negatives = [p for p, label in zip(probabilities, labels, strict=True) if not label]
    wins = sum((pos > neg) + 0.5 * (pos == neg) for pos in positives for neg in negatives)
    return wins / (len(positives) * len(negatives))


# Probabilities from a few values, so that ties are common.
labelled = st.lists(st.tuples(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), st.booleans()))


@given(labelled.filter(lambda pairs: len({label for _, label in pairs}) == 2))
def test_auc_equals_the_pairwise_definition_with_ties(pairs):
    probabilities, labels = [p for p, _ in pairs], [label for _, label in pairs]
    assert roc_auc(probabilities, labels) == pytest.approx(_pairwise_auc(probabilities, labels))


@given(labelled, st.integers(1, 30))
def test_the_monitor_auc_is_over_the_last_window_of_labels(pairs, window):
    monitor = ModelMonitor(window=window)
    for probability, label in pairs:
        monitor.update(probability, label)
    last = pairs[-window:]
    labels = [label for _, label in last]
    expected = _pairwise_auc([p for p, _ in last], labels) if len(set(labels)) == 2 else None
    assert monitor.snapshot()["auc"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "labels", [[True, True, True], [False, False], []], ids=["all-late", "all-on-time", "empty"]
)
def test_auc_of_a_window_with_one_class_is_none(labels):
    assert roc_auc([0.4] * len(labels), labels) is None


def test_auc_of_perfect_reversed_and_constant_rankings():
    labels = [False, False, True, True]
    assert roc_auc([0.1, 0.2, 0.8, 0.9], labels) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], labels) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], labels) == 0.5


def test_log_loss_by_hand():
    # -(ln 0.8 + ln(1 - 0.25)) / 2
    expected = -(math.log(0.8) + math.log(0.75)) / 2
    assert log_loss([0.8, 0.25], [True, False]) == pytest.approx(expected)
    assert log_loss([], []) is None


def test_a_sure_wrong_prediction_has_a_large_but_finite_log_loss():
    assert log_loss([0.0], [True]) == pytest.approx(-math.log(1e-15))


def _errors(monitor: ModelMonitor, steps: range, error_every: int, flipped: bool) -> list[int]:
    """Predict 0.2 ("on time") throughout; every ``error_every``-th invoice is late (an error),
    or, ``flipped``, every one but those is."""
    drifts = []
    for step in steps:
        late = (step % error_every == 0) != flipped
        if monitor.update(0.2, late):
            drifts.append(step)
    return drifts


def test_adwin_flags_a_clear_rise_in_the_error_rate():
    monitor = ModelMonitor(window=500)
    assert _errors(monitor, range(1500), error_every=10, flipped=False) == []  # 10% errors
    drifts = _errors(monitor, range(1500, 2000), error_every=10, flipped=True)  # 90% errors
    assert drifts and drifts[0] < 1600
    figures = monitor.snapshot()
    assert figures["drifts_total"] == len(drifts)
    assert figures["n"] == 2000


def test_snapshot_before_and_after_labels():
    monitor = ModelMonitor(window=3)
    assert monitor.snapshot() == {
        "auc": None,
        "log_loss": None,
        "ece": None,
        "drift_detected": False,
        "drifts_total": 0,
        "n": 0,
    }
    monitor.update(0.8, True)
    monitor.update(0.25, False)
    figures = monitor.snapshot()
    assert figures["auc"] == 1.0
    assert figures["log_loss"] == pytest.approx(-(math.log(0.8) + math.log(0.75)) / 2)
    assert figures["ece"] == pytest.approx((0.2 + 0.25) / 2)  # bins of one: 0.8 and 0.25 off


def test_the_calibration_error_weighs_each_bin_by_its_share():
    # bin 0.1-0.2: 0.15 predicted, 1 of 4 late (0.25); bin 0.9-1: 0.95 predicted, 1 of 1
    probabilities = [0.15, 0.15, 0.15, 0.15, 0.95]
    labels = [True, False, False, False, True]
    expected = (4 * abs(0.15 - 0.25) + abs(0.95 - 1)) / 5
    assert expected_calibration_error(probabilities, labels) == pytest.approx(expected)
    assert expected_calibration_error([1.0, 0.0], [True, False]) == 0.0  # the ends are in bins
    assert expected_calibration_error([], []) is None


def test_psi_by_hand():
    # shares 0.5/0.5 against 0.75/0.25: 0.25 ln 1.5 + (-0.25) ln 0.5
    expected = 0.25 * math.log(1.5) - 0.25 * math.log(0.5)
    assert population_stability_index([50, 50], [75, 25]) == pytest.approx(expected)
    assert population_stability_index([30, 70], [3, 7]) == 0.0


def test_psi_of_an_empty_bin_is_large_but_finite():
    psi = population_stability_index([100, 0], [50, 50])
    assert 1.0 < psi < math.inf


def _monitor_scores(reference: list[float], current: list[float]) -> ScoreMonitor:
    monitor = ScoreMonitor(window=len(reference))
    for score in reference + current:
        monitor.update(score)
    return monitor


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shifted_one():
    rng = random.Random(4)
    reference = [rng.betavariate(2, 5) * 100 for _ in range(5000)]
    same = [rng.betavariate(2, 5) * 100 for _ in range(5000)]
    shifted = [rng.betavariate(5, 2) * 100 for _ in range(5000)]
    assert _monitor_scores(reference, same).snapshot()["psi"] < 0.02
    assert _monitor_scores(reference, shifted).snapshot()["psi"] > 1.0


def test_psi_waits_for_both_windows_and_follows_the_latest_scores():
    monitor = ScoreMonitor(window=4, bins=4)
    for score in [10, 30, 60, 90, 10, 30, 60]:
        monitor.update(score)
    assert monitor.snapshot() == {"psi": None, "n": 7}
    monitor.update(90)
    assert monitor.snapshot()["psi"] == 0.0
    for score in [95, 99, 100, 96]:  # the window now holds only top-bin scores
        monitor.update(score)
    assert monitor.snapshot()["psi"] > 1.0
    for score in [10, 30, 60, 90]:  # and now the reference's shape again
        monitor.update(score)
    assert monitor.snapshot()["psi"] == 0.0


def test_scores_outside_the_range_fall_in_the_end_bins():
    monitor = _monitor_scores([0.0, 100.0], [-5.0, 150.0])
    assert monitor.snapshot()["psi"] == 0.0


def test_score_monitor_refuses_an_empty_range():
    with pytest.raises(ValueError):
        ScoreMonitor(low=10, high=10)
