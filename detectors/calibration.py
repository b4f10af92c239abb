"""Online calibration: make a classifier's scores mean what they say, on a recent window.

`BetaCalibrator` keeps the last ``window`` pairs of a raw score s and its outcome and, every
``refit_every`` pairs, fits beta calibration (Kull, Silva Filho and Flach, 2017): the
probability is the logistic function of a·ln(s) - b·ln(1 - s) + c, which can stretch or
squeeze either end of the scores and shift them, and keeps their order (a, b >= 0; when the
fit wants one negative, it falls back to a = b, Platt scaling of the logit). Three numbers, so
it neither overfits a window nor makes ties of scores that differ, as isotonic steps would
(which cost ranking, so AUC). Pure and bounded: the window and the three numbers are all it
holds, and a pickle of it (the model's snapshot) carries both, so whoever loads it scores
calibrated.

Until it has labels enough to fit, a young classifier's scores mean nothing as
probabilities (a logistic regression that has learnt a few hundred outcomes may say 0.66 on
average where 0.21 are late), so it says for every score the late rate of the labels it holds,
with one pseudo-outcome of each kind: 0.5 before any.

>>> import random
>>> calibrator = BetaCalibrator(window=2000, refit_every=100, min_labels=200)
>>> calibrator(0.8)  # nothing seen yet
0.5
>>> for outcome in [True, False, False, False]:
...     calibrator.update(0.9, outcome)
>>> calibrator(0.8), calibrator(0.1)  # not fitted: the late rate, (1 + 1) / (4 + 2)
(0.3333333333333333, 0.3333333333333333)
>>> rng = random.Random(1)
>>> for _ in range(2000):  # scores twice the real probability: an overconfident model
...     real = rng.uniform(0, 0.5)
...     calibrator.update(2 * real, rng.random() < real)
>>> round(calibrator(0.2), 2), round(calibrator(0.8), 2)
(0.11, 0.41)
"""

import math
from collections import deque
from functools import lru_cache

import numpy as np

_EDGE = 1e-3
"""Scores are taken, and probabilities given, at least this far from 0 and 1: their
logarithms stay finite, and no invoice is certain (a forest's young trees say 0 or 1)."""


@lru_cache(maxsize=16_384)
def _inputs(score: float) -> tuple[float, float, float]:
    """The fit's inputs of a score: kept for a window's worth of scores, since every refit
    reads the whole window again."""
    s = min(max(score, _EDGE), 1 - _EDGE)
    return math.log(s), -math.log(1 - s), 1.0


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))  # no overflow


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, start: np.ndarray) -> np.ndarray:
    """Weights of a logistic regression of ``y`` on the columns of ``x`` (a small ridge
    ``l2``), by damped Newton steps from ``start``.

    >>> x = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    >>> w = fit_logistic(x, np.array([0.0, 1.0, 0.0, 1.0]), 1e-3, np.zeros(2))
    >>> bool(w[0] > 0)
    True
    """
    w = start.astype(float)
    ridge = l2 * np.eye(len(w))
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + l2 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        step /= max(1.0, float(np.abs(step).max()))  # no step longer than 1: no overshoot
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return w


class BetaCalibrator:
    """Beta calibration over the last ``window`` labelled scores, refitted every
    ``refit_every`` of them (every quarter of the window while it is younger) once at least
    ``min_labels`` with both outcomes are in, known on at least ``min_days`` days; the
    window's late rate until then. The outcomes known on one day are often one cohort (the
    invoices due together at a month end): a fit on them says how the scores rank within it,
    not whether that holds for the invoices of the next.
    """

    def __init__(
        self,
        window: int = 10_000,
        refit_every: int = 1_000,
        min_labels: int = 100,
        min_days: int = 2,
        l2: float = 1e-3,
    ) -> None:
        if window < min_labels or refit_every < 1 or min_labels < 2 or min_days < 1 or l2 < 0:
            raise ValueError(
                "need window >= min_labels >= 2, refit_every >= 1, min_days >= 1 and l2 >= 0"
            )
        self.refit_every, self.min_labels, self.l2 = refit_every, min_labels, l2
        self.min_days = min_days
        self._days: set[int] = set()
        """The days outcomes were known on, until there are ``min_days``."""
        self._window: deque[tuple[float, bool]] = deque(maxlen=window)
        self._since_fit = 0
        self._late = 0
        """Outcomes "late" in the window."""
        self.weights: tuple[float, float, float] | None = None
        """a, b, c of the last fit; None before the first."""

    def __setstate__(self, state: dict) -> None:
        """Unpickle, also one made before it counted its late outcomes and their days."""
        self.__dict__.update({"min_days": 1, "_days": set(), **state})
        if "_late" not in state:
            self._late = sum(outcome for _, outcome in self._window)

    def update(self, score: float, outcome: bool, day: int | None = None) -> None:
        """Add a score and what happened (on ``day``, an ordinal; None: a day of its own);
        refit when due."""
        if len(self._days) < self.min_days:
            self._days.add(day if day is not None else -len(self._window) - 1)
        if len(self._window) == self._window.maxlen:
            self._late -= self._window[0][1]
        self._late += outcome
        self._window.append((score, outcome))
        self._since_fit += 1
        due = min(self.refit_every, max(1, len(self._window) // 4))
        if (
            self._since_fit >= due
            and len(self._window) >= self.min_labels
            and len(self._days) >= self.min_days
        ):
            self._fit()

    def _fit(self) -> None:
        self._since_fit = 0
        y = np.fromiter((outcome for _, outcome in self._window), float, len(self._window))
        if y.min() == y.max():
            return  # one outcome only: keep what was fitted before
        x = np.array([_inputs(score) for score, _ in self._window])
        start = np.array(self.weights or (1.0, 1.0, 0.0))
        a, b, c = fit_logistic(x, y, self.l2, start)
        if a < 0 or b < 0:  # would not keep the order: Platt scaling of the logit instead
            logit = x[:, :2].sum(axis=1, keepdims=True)
            slope, c = fit_logistic(np.hstack([logit, x[:, 2:]]), y, self.l2, np.array([1.0, 0]))
            a = b = max(float(slope), 0.0)
        self.weights = (float(a), float(b), float(c))

    def __call__(self, score: float) -> float:
        """The calibrated probability of ``score``, at least ``_EDGE`` from 0 and 1; until a
        fit exists, the late rate of the window whatever the score."""
        if self.weights is None:
            return (self._late + 1) / (len(self._window) + 2)
        z = sum(w * v for w, v in zip(self.weights, _inputs(score), strict=True))
        return min(max(_sigmoid(z), _EDGE), 1 - _EDGE)
