"""Model health: how well the late-payment model ranks and is calibrated lately, whether its
errors drift, and whether the scores it feeds have shifted.

`ModelMonitor` is updated when a label arrives, with the probability predicted at issue:
exact ROC AUC, log loss and expected calibration error over the last N labels, and ADWIN on
the model's errors.
`ScoreMonitor` compares the latest scores with the first ones by population stability index.

>>> monitor = ModelMonitor(window=4)
>>> for probability, late in [(0.9, True), (0.2, False), (0.6, False), (0.6, True)]:
...     drifted = monitor.update(probability, late)
>>> monitor.snapshot()["auc"], monitor.auc()
(0.875, 0.875)
>>> roc_auc([0.3, 0.7], [True, True]) is None
True
"""

import math
from collections import deque
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter

from river import drift

_CLIP = 1e-15


def roc_auc(probabilities: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Exact ROC AUC by ranks, a tie between a positive and a negative counting half.

    None when ``labels`` do not hold both classes.
    """
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    rank_sum, below = 0.0, 0
    for _, tied in groupby(sorted(zip(probabilities, labels, strict=True)), key=itemgetter(0)):
        tied_labels = [label for _, label in tied]
        rank_sum += (below + (len(tied_labels) + 1) / 2) * sum(tied_labels)
        below += len(tied_labels)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(probabilities: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Mean log loss, probabilities clipped away from 0 and 1; None when empty."""
    if not labels:
        return None
    total = 0.0
    for probability, label in zip(probabilities, labels, strict=True):
        p = min(max(probability, _CLIP), 1 - _CLIP)
        total -= math.log(p if label else 1 - p)
    return total / len(labels)


def expected_calibration_error(
    probabilities: Sequence[float], labels: Sequence[bool], bins: int = 10
) -> float | None:
    """How far predicted probabilities are from the observed rates: in ``bins`` equal bins of
    the probability, the gap between the mean predicted and the observed share of positives,
    weighted by the bin's share of the predictions. None when empty.

    >>> expected_calibration_error([0.1, 0.1, 0.9, 0.9], [False, False, True, True])
    0.1
    >>> expected_calibration_error([0.5, 0.5], [True, True])
    0.5
    """
    if not labels:
        return None
    sums = [[0.0, 0, 0] for _ in range(bins)]  # predicted, positives, count
    for probability, label in zip(probabilities, labels, strict=True):
        tally = sums[min(max(int(probability * bins), 0), bins - 1)]
        tally[0] += probability
        tally[1] += label
        tally[2] += 1
    gap = sum(abs(predicted - positives) for predicted, positives, _ in sums)
    return round(gap / len(labels), 12)


class ModelMonitor:
    """Windowed AUC, log loss and calibration error of a probabilistic classifier, and ADWIN on
    its errors.

    Parameters
    ----------
    window
        AUC, log loss and calibration error are over the last this many labels.
    delta
        ADWIN's confidence: smaller detects fewer, surer drifts.
    threshold
        A probability of at least this predicts "late"; the error fed to ADWIN is 1 when that
        prediction was wrong, else 0.

    """

    def __init__(self, window: int = 1000, delta: float = 0.002, threshold: float = 0.5):
        self.threshold = threshold
        self.n = 0
        self.drifts_total = 0
        self.drift_detected = False
        self.error_rate_before = 0.0
        """ADWIN's error rate just before the last update: against `error_rate` after a drift,
        whether the model got worse or better."""
        self._window: deque[tuple[float, bool]] = deque(maxlen=window)
        self._adwin = drift.ADWIN(delta=delta)

    def update(self, probability: float, label: bool) -> bool:
        """Add one labelled prediction; True when ADWIN detects a drift in the error rate."""
        self.n += 1
        self._window.append((probability, label))
        self.error_rate_before = self._adwin.estimation
        self._adwin.update(float((probability >= self.threshold) != label))
        self.drift_detected = self._adwin.drift_detected
        self.drifts_total += self.drift_detected
        return self.drift_detected

    @property
    def error_rate(self) -> float:
        """The share of wrong predictions in ADWIN's window (since the last drift)."""
        return self._adwin.estimation

    def auc(self) -> float | None:
        """ROC AUC over the window, as in `snapshot` (None until it can be computed), alone."""
        return roc_auc(*self._columns())

    def _columns(self) -> tuple[list[float], list[bool]]:
        """The window's probabilities and labels."""
        return [p for p, _ in self._window], [label for _, label in self._window]

    def snapshot(self) -> dict[str, float | int | bool | None]:
        """The figures now: ``auc``, ``log_loss`` and ``ece`` (expected calibration error, 10
        bins) over the window (None until they can be computed), ``drift_detected`` by the
        last update, ``drifts_total`` and ``n`` labels.

        It sorts the window (about 1 ms for 1,000 labels): call it when metrics are read, not
        on every label.
        """
        probabilities, labels = self._columns()
        return {
            "auc": roc_auc(probabilities, labels),
            "log_loss": log_loss(probabilities, labels),
            "ece": expected_calibration_error(probabilities, labels),
            "drift_detected": self.drift_detected,
            "drifts_total": self.drifts_total,
            "n": self.n,
        }


def population_stability_index(
    reference: Sequence[int], current: Sequence[int], eps: float = 1e-4
) -> float:
    """PSI between two histograms with the same bins: Σ (cᵢ - rᵢ) ln(cᵢ / rᵢ) over the bins'
    shares, each share at least ``eps`` so that an empty bin does not make it infinite."""
    ref_total, cur_total = sum(reference), sum(current)
    psi = 0.0
    for ref_count, cur_count in zip(reference, current, strict=True):
        r = max(ref_count / ref_total, eps)
        c = max(cur_count / cur_total, eps)
        psi += (c - r) * math.log(c / r)
    return psi


class ScoreMonitor:
    """PSI of the latest ``window`` scores against the first ``window`` scores seen.

    Scores fall in ``bins`` equal bins between ``low`` and ``high`` (outside values go to the
    end bins). Start a new monitor when the scoring changes (new weights, new model family), so
    that the reference is made of scores of the same kind.

    >>> monitor = ScoreMonitor(window=4, bins=4, low=0, high=100)
    >>> for score in [10, 30, 60, 90, 10, 30, 60, 90]:
    ...     monitor.update(score)
    >>> monitor.snapshot()
    {'psi': 0.0, 'n': 8}
    """

    def __init__(self, window: int = 1000, bins: int = 10, low: float = 0.0, high: float = 100.0):
        if not low < high or bins < 1 or window < 1:
            raise ValueError("need low < high, at least one bin and a window of at least 1")
        self.window, self.bins, self.low, self.high = window, bins, low, high
        self.n = 0
        self._reference = [0] * bins
        self._current = [0] * bins
        self._recent: deque[int] = deque()

    def _bin(self, score: float) -> int:
        position = int((score - self.low) / (self.high - self.low) * self.bins)
        return min(max(position, 0), self.bins - 1)

    def update(self, score: float) -> None:
        self.n += 1
        bin_ = self._bin(score)
        if self.n <= self.window:
            self._reference[bin_] += 1
            return
        self._recent.append(bin_)
        self._current[bin_] += 1
        if len(self._recent) > self.window:
            self._current[self._recent.popleft()] -= 1

    def snapshot(self) -> dict[str, float | int | None]:
        """``psi`` (None until both windows are full) and ``n`` scores seen."""
        full = len(self._recent) == self.window
        psi = population_stability_index(self._reference, self._current) if full else None
        return {"psi": psi, "n": self.n}
