"""Delayed labels: keep each prediction until the invoice's outcome is known, then label it once.

The late-payment model predicts when an invoice is issued, from the features as they were
then; whether it was paid late is known only weeks later (paid, or past due). Until then the
prediction waits here. Resolving it gives a `LabelledExample` exactly once; an invoice that is
never resolved is never learnt.

>>> from datetime import UTC, date, datetime
>>> pending = PendingPredictions(max_pending=1000)
>>> pending.record("inv-1", {"limit_use": 0.9}, 0.7, datetime(2026, 1, 5, tzinfo=UTC),
...                date(2026, 2, 4))
>>> example = pending.resolve("inv-1", late=True, at=datetime(2026, 2, 20, tzinfo=UTC))
>>> example.features, example.label, example.probability
({'limit_use': 0.9}, True, 0.7)
>>> pending.resolve("inv-1", late=True, at=datetime(2026, 2, 21, tzinfo=UTC)) is None
True
>>> LabelledExample.from_json(example.to_json()) == example
True
"""

from array import array
from datetime import date, datetime
from typing import Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, FiniteFloat


class Prediction(BaseModel):
    """A prediction made when an invoice was issued, from the features as they were then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice_id: str = Field(min_length=1)
    features: dict[str, FiniteFloat]
    probability: float = Field(ge=0, le=1, description="Predicted probability of paying late")
    issued_at: AwareDatetime
    due_date: date
    probabilities: dict[str, FiniteFloat] = Field(
        default_factory=dict,
        description="Every model's probability, by name, when challengers ran beside the "
        "champion (whose probability is `probability`); empty with one model",
    )


class LabelledExample(Prediction):
    """A prediction with its outcome: what the trainer learns from, sent on ``risk.training``."""

    type: Literal["labelled_example"] = "labelled_example"
    label: bool = Field(description="True when the invoice was paid late (or not paid when due)")
    labelled_at: AwareDatetime

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump())

    @classmethod
    def from_json(cls, data: bytes | str) -> "LabelledExample":
        """Decode one; raises ``ValueError`` for bad JSON or an invalid example."""
        return cls.model_validate(orjson.loads(data))


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
"""The tuples of feature names that kept examples share (a model has one or two)."""


def shared_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple object for every kept example with these feature names (the first 64 kinds),
    so that thousands of them do not each hold a copy."""
    return _NAMES.setdefault(names, names) if len(_NAMES) < 64 else names


class _Waiting:
    """A prediction as it waits: its feature values in an array, beside names shared with the
    other predictions (a fifth of the memory of a `Prediction` with its dict of floats)."""

    __slots__ = (
        "due_date", "invoice_id", "issued_at", "names", "probabilities", "probability", "values"
    )  # fmt: skip

    def __init__(self, prediction: Prediction) -> None:
        features = prediction.features
        names = tuple(features)
        self.names = shared_names(names)
        self.values = array("d", features.values())
        self.invoice_id = prediction.invoice_id
        self.probability = prediction.probability
        self.issued_at = prediction.issued_at
        self.due_date = prediction.due_date
        self.probabilities = prediction.probabilities or None

    def features(self) -> dict[str, float]:
        return dict(zip(self.names, self.values, strict=True))

    def fields(self) -> dict[str, object]:
        """The fields of the `Prediction` it is."""
        return {"invoice_id": self.invoice_id, "features": self.features(),
                "probability": self.probability, "issued_at": self.issued_at,
                "due_date": self.due_date, "probabilities": self.probabilities or {}}  # fmt: skip


class PendingPredictions:
    """The predictions whose outcome is not known yet, by invoice id.

    Parameters
    ----------
    max_pending
        At most this many predictions wait at once. When full, a new prediction is not kept (it
        will not be learnt) and `dropped` counts it; the waiting ones stay. Evicting the oldest
        instead would bias learning towards on-time payers, since the invoices open longest are
        the ones most likely to be paid late. Predictions leave when resolved or discarded, so
        the engine should resolve every invoice by its due date plus grace at the latest.

    """

    def __init__(self, max_pending: int = 100_000):
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.max_pending = max_pending
        self.dropped = 0
        self._pending: dict[str, _Waiting] = {}
        self._highest: float | None = None
        self._highest_known = True
        """Whether `_highest` is up to date (the engine asks on every step of the customer; the
        waiting predictions change only at an invoice's issue and outcome): it is not once the
        prediction that had it leaves."""

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, invoice_id: str) -> bool:
        return invoice_id in self._pending

    def record(
        self,
        invoice_id: str,
        features: dict[str, float],
        probability: float,
        issued_at: datetime,
        due_date: date,
        probabilities: dict[str, float] | None = None,
    ) -> None:
        """Keep a prediction until its outcome is known (``probabilities``: every model's, when
        challengers ran).

        An invoice id already waiting changes nothing. One resolved before waits anew: the
        engine predicts once per invoice, dropping repeated events before they get here.
        """
        if invoice_id in self._pending:
            return
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        checked = Prediction(invoice_id=invoice_id, features=features, probability=probability,
                             issued_at=issued_at, due_date=due_date,
                             probabilities=probabilities or {})  # fmt: skip
        prediction = self._pending[invoice_id] = _Waiting(checked)
        if self._highest is None or prediction.probability > self._highest:
            self._highest = prediction.probability

    def resolve(self, invoice_id: str, late: bool, at: datetime) -> LabelledExample | None:
        """The labelled example of an invoice whose outcome is now known, or None if it is not
        waiting (never recorded, dropped, discarded or already resolved)."""
        prediction = self._pending.pop(invoice_id, None)
        if prediction is None:
            return None
        self._forget(prediction)
        return LabelledExample(**prediction.fields(), label=late, labelled_at=at)

    def predictions(self) -> list[Prediction]:
        """The predictions waiting, oldest first."""
        return [Prediction.model_construct(**p.fields()) for p in self._pending.values()]

    def highest_probability(self) -> float | None:
        """The highest probability of paying late of the predictions waiting; None without one.

        >>> from datetime import UTC, date, datetime
        >>> pending = PendingPredictions()
        >>> for invoice_id, probability in [("inv-1", 0.2), ("inv-2", 0.7)]:
        ...     pending.record(invoice_id, {}, probability, datetime(2026, 1, 5, tzinfo=UTC),
        ...                    date(2026, 2, 4))
        >>> pending.highest_probability()
        0.7
        >>> pending.discard("inv-2")
        >>> pending.highest_probability()
        0.2
        """
        if not self._highest_known:
            self._highest = max((p.probability for p in self._pending.values()), default=None)
            self._highest_known = True
        return self._highest

    def to_json(self) -> bytes:
        """Compact JSON: feature names once, then one row of values per prediction."""
        names = sorted({name for p in self._pending.values() for name in p.names})
        rows = []
        for p in self._pending.values():
            features = p.features()
            values = [features.get(name) for name in names]
            row = [p.invoice_id, p.probability, p.issued_at.isoformat(),
                   p.due_date.isoformat(), values]  # fmt: skip
            rows.append([*row, p.probabilities] if p.probabilities else row)
        return orjson.dumps({"max": self.max_pending, "dropped": self.dropped,
                             "names": names, "rows": rows})  # fmt: skip

    @classmethod
    def from_json(cls, data: bytes | str) -> "PendingPredictions":
        document = orjson.loads(data)
        pending = cls(document["max"])
        pending.dropped = document["dropped"]
        names = document["names"]
        for invoice_id, probability, issued_at, due_date, values, *others in document["rows"]:
            features = {name: v for name, v in zip(names, values, strict=True) if v is not None}
            stored = Prediction.model_construct(  # our own bytes: not checked again
                invoice_id=invoice_id, features=features, probability=probability,
                issued_at=datetime.fromisoformat(issued_at), due_date=date.fromisoformat(due_date),
                probabilities=others[0] if others else {},
            )  # fmt: skip
            pending._pending[invoice_id] = _Waiting(stored)
        pending._highest_known = False
        return pending

    def discard(self, invoice_id: str) -> None:
        """Forget an invoice that will have no outcome (cancelled, say); it is never learnt."""
        prediction = self._pending.pop(invoice_id, None)
        if prediction is not None:
            self._forget(prediction)

    def _forget(self, prediction: _Waiting) -> None:
        if prediction.probability == self._highest:
            self._highest_known = False
