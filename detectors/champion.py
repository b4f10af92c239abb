"""Champion and challengers: late-payment models scored side by side on the same invoices.

Every model of a `Lineup` predicts every invoice at its issue; the *champion*'s probability
drives scores and decisions, the challengers' are kept beside it. When the outcome is known,
each model's own `ModelMonitor` is updated with the probability that model gave, so their
health (AUC, log loss, calibration error) is measured on the very same labels, and each
learns the example. Which model is the champion is a control document (``kind: model``,
`ModelChoice`); `promotion_refused` is the guard that refuses to promote a challenger that is
not ahead over enough labels.

>>> from detectors.late_payment import LatePaymentModel
>>> lineup = Lineup(LatePaymentModel("logreg"), [LatePaymentModel("arf")])
>>> lineup.predict({"limit_use": 0.4})
{'logreg': 0.5, 'arf': 0.5}
>>> promotion_refused("arf", lineup.champion, lineup.health(), min_labels=100)
'arf has 0 labels in common with logreg; the guard asks for 100'
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.delayed_labels import LabelledExample
from detectors.late_payment import MODELS, LatePaymentModel
from detectors.monitoring import ModelMonitor


class ModelChoice(BaseModel):
    """The ``model`` control document: which model is the champion (None: the worker's own
    setting), and how many labels a challenger must be ahead over to be promoted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    champion: str | None = None
    min_labels: int = Field(500, ge=1, le=10_000_000)

    @field_validator("champion")
    @classmethod
    def _known(cls, name: str | None) -> str | None:
        if name is not None and name not in MODELS:
            raise ValueError(f"unknown model {name!r}: choose one of {', '.join(sorted(MODELS))}")
        return name


class Lineup:
    """The champion and its challengers, each with its monitor; see the module."""

    def __init__(self, champion: LatePaymentModel, challengers: Iterable[LatePaymentModel] = ()):
        self.models: dict[str, LatePaymentModel] = {champion.name: champion}
        for challenger in challengers:
            if challenger.name in self.models:
                raise ValueError(f"two models named {challenger.name!r} in one lineup")
            self.models[challenger.name] = challenger
        self.monitors = {name: ModelMonitor() for name in self.models}
        self.champion = champion.name

    def install(self, model: LatePaymentModel) -> None:
        """Put ``model`` in place of the model of its name (a newer snapshot), or beside."""
        self.models[model.name] = model
        self.monitors.setdefault(model.name, ModelMonitor())

    def predict(self, features: dict[str, float]) -> dict[str, float]:
        """Every model's probability of paying late, the champion's first."""
        return {name: model.predict(features) for name, model in self._champion_first()}

    def judged(self, example: LabelledExample) -> Mapping[str, float]:
        """Each model's probability for the example's invoice: every model's when challengers
        ran, else the one model's, taken as the champion's."""
        return example.probabilities or {self.champion: example.probability}

    def observe(self, example: LabelledExample) -> None:
        """An outcome: each model that predicted it is judged on its own probability."""
        for name, probability in self.judged(example).items():
            if name in self.monitors:
                self.monitors[name].update(probability, example.label)

    def learn(self, example: LabelledExample) -> None:
        """Every model learns the outcome."""
        for model in self.models.values():
            model.learn(example.features, example.label, example.labelled_at,
                        example.invoice_id, example.due_date)  # fmt: skip

    def health(self) -> dict[str, dict[str, float | int | bool | None]]:
        """Each model's figures (`ModelMonitor.snapshot`), its version and whether it is the
        champion."""
        return {
            name: {**self.monitors[name].snapshot(), "version": model.version,
                   "champion": name == self.champion}
            for name, model in self.models.items()
        }  # fmt: skip

    def promote(self, name: str) -> None:
        """Make ``name`` the champion; raises ``ValueError`` if it is not in the lineup."""
        if name not in self.models:
            raise ValueError(f"{name} is not in this lineup ({', '.join(self.models)})")
        self.champion = name

    def _champion_first(self) -> list[tuple[str, LatePaymentModel]]:
        champion = self.models[self.champion]
        return [(self.champion, champion)] + [
            (name, model) for name, model in self.models.items() if name != self.champion
        ]


def promotion_refused(
    challenger: str, champion: str, health: Mapping[str, Mapping[str, Any]], min_labels: int
) -> str | None:
    """The guard: why ``challenger`` may not replace ``champion`` (None: it may), from each
    model's ``health`` (``n`` labels judged, ``auc`` over the latest): it must have been judged
    on at least ``min_labels`` labels beside the champion and rank them better.

    >>> health = {"logreg": {"n": 900, "auc": 0.81}, "arf": {"n": 900, "auc": 0.84}}
    >>> promotion_refused("arf", "logreg", health, 500) is None
    True
    >>> promotion_refused("arf", "logreg", health, 1000)
    'arf has 900 labels in common with logreg; the guard asks for 1000'
    >>> promotion_refused("logreg", "arf", health, 500)
    'logreg is not ahead: ROC AUC 0.81 against 0.84 of arf'
    """
    if challenger == champion:
        return None
    if challenger not in health:
        return f"no figures of {challenger}: is a worker scoring it (RISKSTREAM_CHALLENGERS)?"
    mine, theirs = health[challenger], health.get(champion, {})
    common = min(int(mine.get("n") or 0), int(theirs.get("n") or 0))
    if common < min_labels:
        return (
            f"{challenger} has {common} labels in common with {champion}; "
            f"the guard asks for {min_labels}"
        )
    auc, champion_auc = mine.get("auc"), theirs.get("auc")
    if auc is None or champion_auc is None or auc <= champion_auc:
        return f"{challenger} is not ahead: ROC AUC {auc} against {champion_auc} of {champion}"
    return None
