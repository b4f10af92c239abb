"""The late-payment model: the probability that an invoice will be paid late, learnt online.

It predicts when an invoice is issued and learns when the outcome is known (see
`detectors.delayed_labels`). The model behind it is chosen by name from `MODELS`: the
baseline is a standardised logistic regression; the challenger is an adaptive random forest,
which can follow thresholds and interactions (say, late only when over the limit *and* already
overdue) and replaces trees whose error drifts, at about 100 times the cost per example.

>>> model = LatePaymentModel("logreg")
>>> for _ in range(50):
...     model.learn({"days_past_due": 40.0, "limit_use": 1.1}, True)
...     model.learn({"days_past_due": 0.0, "limit_use": 0.2}, False)
>>> model.version
'logreg@100'
>>> model.predict({"days_past_due": 35.0, "limit_use": 1.0}) > 0.5
True
>>> model.predict({"days_past_due": 0.0, "limit_use": 0.3}) < 0.5
True
"""

from collections.abc import Callable

from river import base, forest, linear_model, optim, preprocessing, tree


def _logreg(seed: int) -> base.Classifier:
    # AdaGrad: a step per feature that shrinks as the feature is learnt, so rare features
    # (disputes, old overdue buckets) are not drowned by frequent ones.
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.AdaGrad(0.05)
    )


def _arf(seed: int) -> base.Classifier:
    # Depth and histogram splitters bound the size of a snapshot (about 4 MB, 1.3 MB zipped);
    # with the default Gaussian splitters it passes 40 MB within a few thousand examples.
    return forest.ARFClassifier(
        n_models=10,
        max_features=0.5,
        max_depth=8,
        grace_period=100,
        splitter=tree.splitter.HistogramSplitter(n_bins=16),
        seed=seed,
    )


MODELS: dict[str, Callable[[int], base.Classifier]] = {"logreg": _logreg, "arf": _arf}
"""The models to choose from, by name; each is made from a random seed."""


class LatePaymentModel:
    """A River classifier of late payment, with a version that changes as it learns.

    Parameters
    ----------
    name
        A key of `MODELS`.
    seed
        Random seed of the models that draw random numbers; the same seed and the same examples
        give the same model.

    """

    def __init__(self, name: str = "logreg", seed: int = 0):
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
        self.name = name
        self.classifier = MODELS[name](seed)
        self.n_learned = 0

    @property
    def version(self) -> str:
        """The model's name and how many examples it has learnt, e.g. ``"logreg@1200"``."""
        return f"{self.name}@{self.n_learned}"

    def predict(self, features: dict[str, float]) -> float:
        """The probability that the invoice described by ``features`` will be paid late.

        A model that has learnt nothing yet says 0.5.
        """
        proba = self.classifier.predict_proba_one(features)
        return proba.get(True, 1.0 - proba.get(False, 0.5))

    def learn(self, features: dict[str, float], label: bool) -> None:
        """Learn that the invoice described by ``features`` was (``True``) or was not paid late."""
        self.classifier.learn_one(features, label)
        self.n_learned += 1
