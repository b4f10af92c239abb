"""The late-payment model: the probability that an invoice will be paid late, learnt online.

It predicts when an invoice is issued and learns when the outcome is known (see
`detectors.delayed_labels`). The model behind it is chosen by name from `MODELS`: the
baseline is a standardised logistic regression; the challenger is an adaptive random forest,
which can follow thresholds and interactions (say, late only when over the limit *and* already
overdue), at about 100 times the cost per example.

Real outcomes come in blocks: invoices fall due at month ends and customers pay in weekly or
monthly payment runs, so a whole block of "on time" arrives at once, then a block of "late"
when the month's unpaid invoices turn overdue. Learnt as they come, such blocks swing a model
from one answer to the other, and a forest's drift detectors take every block for a drift and
restart its trees. So the model learns the way a stationary stream would teach it:

- an invoice paid on time is known as such the day it is paid, one paid late only once its
  due date has passed: learnt as they come, the first weeks' outcomes are nearly all "on
  time", and the model learns a late rate far below the real one. So an outcome "on time" is
  *held until its due date has passed* (in the time of the outcomes the model is given), when
  the invoices due with it are known either way: the model learns each due date's invoices
  together, late and on time, in their true proportion;
- the outcomes known at the same moment are one *block*, learnt in an order drawn from their
  invoice ids and the seed, never in the order they came in (nor sorted by outcome);
- blocks go through a *mixing buffer* of `MIX` examples: each new example takes the place of
  one drawn at random, which is learnt, so the model sees the last few hundred outcomes in a
  random order instead of a run of one kind then a run of the other;
- every example is scored by the classifier as it is when the outcome comes (before it
  learns it), and a `BetaCalibrator` over the last 10,000 of those scores maps them to
  probabilities that mean what they say (`predict` returns the calibrated one).

The buffers and the calibration are part of the model, so of its snapshot: workers that load
one score calibrated, and the trainer goes on where it was.

>>> model = LatePaymentModel("logreg", mix=1)
>>> for _ in range(1_000):
...     model.learn({"days_past_due": 40.0, "limit_use": 1.1}, True)
...     model.learn({"days_past_due": 0.0, "limit_use": 0.2}, False)
>>> model.version
'logreg@2000'
>>> model.predict({"days_past_due": 35.0, "limit_use": 1.0}) > 0.5
True
>>> model.predict({"days_past_due": 0.0, "limit_use": 0.3}) < 0.5
True
"""

import hashlib
import heapq
import random
from array import array
from collections.abc import Callable
from datetime import date, datetime

from river import base, drift, forest, linear_model, optim, preprocessing, tree

from detectors.calibration import BetaCalibrator
from detectors.delayed_labels import shared_names

MIX = 2_000
"""Examples in the mixing buffer (a quarter of those seen until then, so that a young model
does not wait): about a month of outcomes of a few hundred customers, so more than a payment
run's or a month end's block, few enough that learning trails the outcomes by little."""
MAX_BLOCK = 20_000
"""A block that grows past this many examples (all known at one moment) is learnt as it is."""


def _logreg(seed: int) -> base.Classifier:
    # AdaGrad: a step per feature that shrinks as the feature is learnt, so rare features
    # (disputes, old overdue buckets) are not drowned by frequent ones.
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.AdaGrad(0.05)
    )


def _arf(seed: int) -> base.Classifier:
    # Depth and histogram splitters bound the size of a snapshot (about 4 MB, 1.3 MB zipped);
    # with the default Gaussian splitters it passes 40 MB within a few thousand examples.
    # Drift: a calendar is not a drift. With River's default detectors (ADWIN at 0.01 and
    # 0.001 on each tree's errors) every month end restarted every tree and the forest said
    # one constant; with the mixing buffer and far surer detectors a tree is replaced only
    # when its errors really change (see docs/benchmarks.md for the figures).
    return forest.ARFClassifier(
        n_models=10,
        max_features=0.5,
        max_depth=8,
        grace_period=100,
        splitter=tree.splitter.HistogramSplitter(n_bins=16),
        drift_detector=drift.ADWIN(delta=1e-6),
        warning_detector=drift.ADWIN(delta=1e-5),
        seed=seed,
    )


MODELS: dict[str, Callable[[int], base.Classifier]] = {"logreg": _logreg, "arf": _arf}
"""The models to choose from, by name; each is made from a random seed."""

Example = tuple[dict[str, float], bool]
Held = tuple[int, bytes, tuple[str, ...], array]
"""An outcome "on time" waiting for its due date: the date's ordinal, its draw, and its
features as names (shared) and values."""


class LatePaymentModel:
    """A River classifier of late payment, calibrated, with a version that changes as it learns.

    Parameters
    ----------
    name
        A key of `MODELS`.
    seed
        Random seed of the models that draw random numbers, of the order within a block and of
        the mixing buffer; the same seed and the same examples give the same model.
    mix
        Examples in the mixing buffer at most (1: each example is learnt at once); until it
        has been given four times as many, a quarter of those it has been given.
    calibrator
        The calibration of the classifier's scores (default: beta calibration over the last 10,000).

    """

    def __init__(
        self,
        name: str = "logreg",
        seed: int = 0,
        mix: int = MIX,
        calibrator: BetaCalibrator | None = None,
    ):
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
        if mix < 1:
            raise ValueError("the mixing buffer holds at least one example")
        self.name = name
        self.seed = seed
        self.mix = mix
        self.classifier = MODELS[name](seed)
        self.calibrator = calibrator or BetaCalibrator()
        self.n_learned = 0
        self._rng = random.Random(seed)
        self._block: list[tuple[bytes, Example]] = []
        self._block_at: datetime | None = None
        self._mixing: list[Example] = []
        self._held: list[Held] = []
        self._today = 0
        """The ordinal of the latest date an outcome was given at."""

    def __setstate__(self, state: dict) -> None:
        """Unpickle, also a snapshot made before blocks, mixing and calibration: it goes on
        with them from here, its calibration unfitted (its raw scores) until enough outcomes
        come."""
        seed = state.get("seed", 0)
        self.__dict__.update(
            {"seed": seed, "mix": MIX, "calibrator": BetaCalibrator(), "_rng": random.Random(seed),
             "_block": [], "_block_at": None, "_mixing": [], "_held": [], "_today": 0, **state}
        )  # fmt: skip

    @property
    def version(self) -> str:
        """The model's name and how many examples it has been given, e.g. ``"logreg@1200"``."""
        return f"{self.name}@{self.n_learned}"

    def score(self, features: dict[str, float]) -> float:
        """The classifier's own probability of paying late, uncalibrated; 0.5 before learning."""
        proba = self.classifier.predict_proba_one(features)
        return proba.get(True, 1.0 - proba.get(False, 0.5))

    def predict(self, features: dict[str, float]) -> float:
        """The calibrated probability that the invoice described by ``features`` will be paid
        late. A model that has learnt nothing yet says 0.5."""
        return self.calibrator(self.score(features))

    def learn(
        self,
        features: dict[str, float],
        label: bool,
        at: datetime | None = None,
        key: str = "",
        due: date | None = None,
    ) -> None:
        """Learn that the invoice described by ``features`` was (``True``) or was not paid late.

        ``at``: when the outcome became known; the examples of one moment form a block, learnt
        in an order drawn from their ``key`` (the invoice id) and the seed once a later moment
        comes. Without ``at`` the example is a block of its own. ``due``: the invoice's due
        date; an outcome "on time" known before it passed waits until an outcome is given on a
        later day, and joins that moment's block.
        """
        self.n_learned += 1
        if at is None or at != self._block_at or len(self._block) >= MAX_BLOCK:
            self._end_block()
        self._block_at = at
        draw = hashlib.blake2b(f"{self.seed}:{key}".encode(), digest_size=8).digest()
        if at is not None:
            self._today = max(self._today, at.toordinal())
            if not label and due is not None and due.toordinal() >= self._today:
                names = shared_names(tuple(features))
                heapq.heappush(
                    self._held, (due.toordinal(), draw, names, array("d", features.values()))
                )
            else:
                self._block.append((draw, (features, label)))
            self._release_due()
        else:
            self._block.append((draw, (features, label)))
            self._end_block()

    def _release_due(self) -> None:
        """Move the outcomes "on time" whose due date has passed into the block."""
        while self._held and self._held[0][0] < self._today:
            _, draw, names, values = heapq.heappop(self._held)
            self._block.append((draw, (dict(zip(names, values, strict=True)), False)))

    def _end_block(self) -> None:
        """Learn the block waiting, in the order of its draws (then of its features)."""
        block, self._block = self._block, []
        day = self._block_at.toordinal() if self._block_at is not None else None
        if len({draw for draw, _ in block}) == len(block):
            block.sort(key=lambda drawn: drawn[0])  # distinct draws: the features never decide
        else:
            block.sort(key=lambda drawn: (drawn[0], sorted(drawn[1][0].items())))
        for _, example in block:
            self.calibrator.update(self.score(example[0]), example[1], day)
            self._mix(example)

    def _mix(self, example: Example) -> None:
        """Put ``example`` in the mixing buffer; when it is full, learn one drawn at random."""
        if len(self._mixing) < min(self.mix, 1 + self.n_learned // 4) - 1:
            self._mixing.append(example)
            return
        if self._mixing:
            i = self._rng.randrange(len(self._mixing) + 1)
            if i < len(self._mixing):
                example, self._mixing[i] = self._mixing[i], example
        self.classifier.learn_one(*example)
