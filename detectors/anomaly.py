"""Anomalies: a payment unusual for this customer, or a customer unusual among all customers.

`ZScoreDetector` compares a value with the customer's own history (running mean, standard
deviation and count, kept with the customer's features). `HalfSpaceTreesDetector` learns what
customers' feature vectors usually look like across all customers and flags the rare ones.

>>> amounts = ZScoreDetector("amount", kind="amount", template="payment of {value}")
>>> amounts.check(9_800.0, mean=1_050.0, std=1_400.0, count=40).message
"payment of 9,800.00 is 6.2σ above this customer's usual 1,050.00"
>>> amounts.check(1_200.0, mean=1_050.0, std=1_400.0, count=40) is None
True
"""  # noqa: RUF002

import abc
from dataclasses import dataclass

from river import anomaly, preprocessing, stats


@dataclass(frozen=True, slots=True)
class Anomaly:
    """What was unusual, by how much, and a message for people."""

    kind: str
    feature: str
    value: float
    expected: float | None
    score: float
    message: str


@dataclass(frozen=True, slots=True)
class ZScoreDetector:
    """Flags a value more than ``threshold`` standard deviations from the customer's mean.

    Parameters
    ----------
    feature
        The name of what is measured, e.g. ``"amount"`` or ``"days_late"``.
    kind
        The kind of anomaly, e.g. ``"amount"`` or ``"timing"``.
    template
        How the message names the value, with ``{feature}`` and ``{value}``.
    number_format
        Format spec of the value and the mean in the message.
    threshold
        Flag when ``|z|`` is at least this.
    min_count
        Stay silent until the history holds at least this many values.
    min_std
        The standard deviation is taken as at least this, so that a customer who always paid
        exactly the same has a finite z-score (in the value's unit: currency units, days...).

    """

    feature: str
    kind: str
    template: str = "{feature} of {value}"
    number_format: str = ",.2f"
    threshold: float = 4.0
    min_count: int = 10
    min_std: float = 1.0

    def check(self, value: float, mean: float, std: float, count: int) -> Anomaly | None:
        """An `Anomaly` if ``value`` is unusual against a history of ``count`` values."""
        if count < self.min_count:
            return None
        z = (value - mean) / max(std, self.min_std)
        if abs(z) < self.threshold:
            return None
        shown = format(value, self.number_format)
        what = self.template.format(feature=self.feature, value=shown)
        usual = format(mean, self.number_format)
        side = "above" if z > 0 else "below"
        message = f"{what} is {abs(z):.1f}σ {side} this customer's usual {usual}"  # noqa: RUF001
        return Anomaly(self.kind, self.feature, value, mean, z, message)


class AnomalyDetector(abc.ABC):
    """A detector that learns what is usual from feature vectors and scores new ones."""

    @abc.abstractmethod
    def learn_one(self, x: dict[str, float]) -> None:
        """Learn from one feature vector."""

    @abc.abstractmethod
    def score_one(self, x: dict[str, float]) -> float:
        """How unusual ``x`` is; higher is more unusual."""

    @abc.abstractmethod
    def check_one(self, x: dict[str, float]) -> Anomaly | None:
        """An `Anomaly` if ``x`` is unusual enough to report, else None."""

    def check_and_learn_one(self, x: dict[str, float]) -> Anomaly | None:
        """Check ``x`` against what was learnt before it, then learn it."""
        found = self.check_one(x)
        self.learn_one(x)
        return found


class HalfSpaceTreesDetector(AnomalyDetector):
    """Half-space trees over min-max scaled features, across all customers.

    A vector is reported when its score is above the ``q`` quantile of the scores of the
    vectors learnt so far, so the detector calibrates itself to whatever its features look
    like (with many noisy features ordinary scores sit near 1, with few steady ones near 0.5).

    Parameters
    ----------
    q
        Report scores above this quantile of the scores seen (0.999: about one in a thousand).
    warm_up
        Report nothing before this many scores are known. The trees score nothing (0) until
        they have learnt their first window, so scores count from then on.
    n_trees, height, window_size
        Passed to River's `anomaly.HalfSpaceTrees`; the cost doubles with each level of height.
    seed
        Random seed; the same seed and the same vectors give the same scores.

    >>> import random
    >>> rng = random.Random(7)
    >>> names = ["limit_use", "dso", "avg_days_late", "dispute_rate", "on_time_share"]
    >>> detector = HalfSpaceTreesDetector(warm_up=500, seed=7)
    >>> for _ in range(1000):
    ...     detector.learn_one({name: rng.gauss(0, 1) for name in names})
    >>> detector.check_one({name: 0.0 for name in names}) is None
    True
    >>> outlier = {name: 3.0 for name in names} | {"limit_use": 6.0}
    >>> detector.check_one(outlier).feature
    'limit_use'

    """

    def __init__(
        self,
        q: float = 0.999,
        warm_up: int = 1000,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 250,
        seed: int = 0,
    ):
        self.warm_up = warm_up
        self.window_size = window_size
        self.n_learned = 0
        self.scaler = preprocessing.MinMaxScaler()
        self.trees = anomaly.HalfSpaceTrees(
            n_trees=n_trees, height=height, window_size=window_size, seed=seed
        )
        self.usual_scores = stats.Quantile(q)
        self.n_scores = 0

    def learn_one(self, x: dict[str, float]) -> None:
        self._learn(x, self.score_one(x))

    def score_one(self, x: dict[str, float]) -> float:
        return self.trees.score_one(self.scaler.transform_one(x))

    def check_one(self, x: dict[str, float]) -> Anomaly | None:
        return self._report(x, self.score_one(x))

    def check_and_learn_one(self, x: dict[str, float]) -> Anomaly | None:
        score = self.score_one(x)  # once, for both
        found = self._report(x, score)
        self._learn(x, score)
        return found

    def _learn(self, x: dict[str, float], score: float) -> None:
        if self.n_learned >= self.window_size:
            self.usual_scores.update(score)
            self.n_scores += 1
        self.scaler.learn_one(x)
        self.trees.learn_one(self.scaler.transform_one(x))
        self.n_learned += 1

    def _report(self, x: dict[str, float], score: float) -> Anomaly | None:
        usual = self.usual_scores.get()
        if self.n_scores < self.warm_up or score <= usual:
            return None
        low, high = self.scaler.min, self.scaler.max
        scaled = self.scaler.transform_one(x)
        varied = [name for name in scaled if high[name].get() > low[name].get()] or list(scaled)
        feature = max(varied, key=lambda name: abs(scaled[name] - 0.5))
        low, high = low[feature].get(), high[feature].get()
        message = (
            f"unusual among all customers (score {score:.2f}, usually at most {usual:.2f}); "
            f"most extreme: {feature} {x[feature]:,.2f}, range seen {low:,.2f} to {high:,.2f}"
        )
        return Anomaly("cross_customer", feature, x[feature], None, score, message)
