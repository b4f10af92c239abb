"""The composite risk score: a weighted scorecard over named indicators, with its reasons.

Each indicator reads one or more inputs (model probability, days past due, ...), normalises
each to 0-1 with a transform and takes the worst of them. The score is
``100 * Σ wᵢ·xᵢ / Σ wᵢ``; indicator i adds ``100 * wᵢ·xᵢ / Σ wᵢ`` points to it, and the
indicators that add the most are the reasons. An input that is absent (missing, None or NaN,
say no credit limit) adds nothing, while its weight still counts: absence is not risk. The
weight of an *optional* indicator (one reading credit reports) counts only for customers with
one of its inputs: customers without a report are scored as if it were not there, and a good
report lowers a customer's score as a bad one raises it.

>>> card = Scorecard()
>>> result = card.score({"late_payment_probability": 0.8, "days_past_due": 30, "limit_use": 0.5})
>>> round(result.score, 2)
34.0
>>> [(reason.indicator, round(reason.contribution, 2)) for reason in result.reasons]
[('late_payment_probability', 24.0), ('days_past_due', 10.0)]
"""

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from detectors.frozen import Frozen
from features.catalog import FEATURES
from schemas.outputs import Reason


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


class Identity(Frozen):
    """The value itself, clipped to 0-1: for probabilities and shares."""

    kind: Literal["identity"] = "identity"

    def __call__(self, value: float) -> float:
        return _clip(value)

    def bounds(self) -> tuple[float, float]:
        """The transform as a ramp's start and width: the identity rises from 0 over 1."""
        return 0.0, 1.0


class Ramp(Frozen):
    """0 at ``low``, 1 at ``high``, linear between and flat outside.

    ``low`` above ``high`` makes a falling ramp, for inputs where more is better (on-time share).
    """

    kind: Literal["ramp"] = "ramp"
    low: float
    high: float

    @model_validator(mode="after")
    def _distinct_bounds(self) -> "Ramp":
        if self.low == self.high:
            raise ValueError("a ramp needs two different bounds")
        return self

    def __call__(self, value: float) -> float:
        low, width = self.bounds()
        return _clip((value - low) / width)

    def bounds(self) -> tuple[float, float]:
        """The ramp's start and its signed width, for `_worst`."""
        return self.low, self.high - self.low


Transform = Annotated[Identity | Ramp, Field(discriminator="kind")]


GIVEN_INPUTS = frozenset({"late_payment_probability", "recent_anomalies"})
"""Inputs that are not named features: the engine gives them, from what the customer's record
remembers (the highest late-payment probability of its open invoices, its recent anomalies)."""


class Term(Frozen):
    """One input of an indicator (a named feature of :mod:`features.catalog`, or one of
    `GIVEN_INPUTS`) and how it is normalised."""

    input: str
    transform: Transform

    @field_validator("input")
    @classmethod
    def _named(cls, name: str) -> str:
        if name in GIVEN_INPUTS or (name in FEATURES and FEATURES[name].kind != "text"):
            return name
        known = sorted(GIVEN_INPUTS | {n for n, f in FEATURES.items() if f.kind != "text"})
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "see features.catalog"
        raise ValueError(f"no numeric feature or given input is named {name!r} ({hint})")


class Indicator(Frozen):
    """A weighted part of the score: the worst (highest) of its normalised terms."""

    weight: float = Field(ge=0)
    terms: tuple[Term, ...] = Field(min_length=1)
    optional: bool = False
    """Whether its weight counts only when one of its inputs is present."""

    def value(self, inputs: Mapping[str, float | None]) -> float:
        """The indicator's normalised value, 0-1; absent inputs count as 0."""
        return _worst(self.plan(), inputs)

    def plan(self) -> "_Terms":
        """The terms as (input, ramp start, ramp width), for `_worst`."""
        return tuple((term.input, *term.transform.bounds()) for term in self.terms)


_Terms = tuple[tuple[str, float, float], ...]
_Weighted = tuple[str, float, _Terms]
"""An indicator's name, weight and terms."""


def _worst(terms: _Terms, inputs: Mapping[str, float | None]) -> float:
    """The highest of the terms' ramps, clipped to 0-1: ``_clip((raw - low) / width)`` inlined,
    since it runs for every indicator on every step of every customer."""
    worst = 0.0
    for name, low, width in terms:
        raw = inputs.get(name)
        if raw is not None and not math.isnan(raw):
            value = (raw - low) / width
            if value > worst:
                worst = value if value < 1.0 else 1.0
    return worst


def _present(terms: _Terms, inputs: Mapping[str, float | None]) -> bool:
    """Whether one of the terms' inputs is present (not missing, None or NaN)."""
    for name, _, _ in terms:
        raw = inputs.get(name)
        if raw is not None and not math.isnan(raw):
            return True
    return False


def _indicator(
    weight: float, *terms: tuple[str, Identity | Ramp], optional: bool = False
) -> Indicator:
    return Indicator(
        weight=weight,
        terms=tuple(Term(input=name, transform=how) for name, how in terms),
        optional=optional,
    )


DEFAULT_INDICATORS: dict[str, Indicator] = {
    "late_payment_probability": _indicator(30, ("late_payment_probability", Identity())),
    "days_past_due": _indicator(20, ("days_past_due", Ramp(low=0, high=60))),
    "limit_use": _indicator(15, ("limit_use", Ramp(low=0.5, high=1.2))),
    "payment_behaviour": _indicator(
        15,
        ("avg_days_late", Ramp(low=0, high=30)),
        ("on_time_share", Ramp(low=1.0, high=0.5)),
    ),
    "bounced_payments": _indicator(10, ("bounced_payments", Ramp(low=0, high=2))),
    "recent_anomalies": _indicator(5, ("recent_anomalies", Ramp(low=0, high=3))),
    "disputes": _indicator(5, ("dispute_rate", Ramp(low=0, high=0.3))),
    "bureau_score": _indicator(10, ("bureau_score", Ramp(low=0.5, high=0.1)), optional=True),
    "payment_index": _indicator(5, ("payment_index", Ramp(low=5, high=30)), optional=True),
    "leverage": _indicator(
        5, ("leverage", Ramp(low=2, high=6)), ("negative_equity", Identity()), optional=True
    ),
    "industry_risk": _indicator(5, ("industry_risk", Identity()), optional=True),
}
"""The default indicators; the weights of those that always count add up to 100, so for a
customer without a credit report a weight is the most points an indicator can add. Full risk
is reached at: a late-payment probability of 1; 60 days past due; 120% of the credit limit
used (none below 50%); paying 30 days late on average or only half the invoices on time; 2
bounced payments; 3 recent anomalies; 30% of invoices disputed. The optional ones read credit
reports: a normalised bureau score of 0.1 (none from 0.5 up); paying 30 days beyond terms
with other suppliers (none up to 5); debt 6 times the equity (none up to 2) or a negative
equity; a high-risk industry (half for a medium one)."""


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A 0-100 score and the indicators that add the most to it, largest first."""

    score: float
    reasons: tuple[Reason, ...]


class Scorecard(Frozen):
    """A weighted scorecard; `Scorecard.model_validate(a_dict)` loads one from a control document.

    Parameters
    ----------
    version
        Names this scorecard in every output scored with it.
    indicators
        The indicators by name.
    top_reasons
        How many reasons a score carries at most; indicators that add nothing are never reasons.

    """

    version: str = Field("default", min_length=1)
    indicators: dict[str, Indicator] = Field(default_factory=lambda: dict(DEFAULT_INDICATORS))
    top_reasons: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> "Scorecard":
        if not any(i.weight > 0 and not i.optional for i in self.indicators.values()):
            raise ValueError("at least one indicator that is not optional needs a weight above 0")
        return self

    @cached_property
    def inputs(self) -> tuple[str, ...]:
        """The named features its indicators read (besides `GIVEN_INPUTS`)."""
        named = {term.input for i in self.indicators.values() for term in i.terms}
        return tuple(sorted(named - GIVEN_INPUTS))

    @cached_property
    def plan(self) -> tuple[float, tuple[_Weighted, ...], tuple[_Weighted, ...]]:
        """The weight that always counts, and the weighted indicators, those always counted
        and the optional ones, as plain functions: made once (a cached property, not a private
        attribute, which pydantic reads slowly)."""
        weighted = [(name, i) for name, i in self.indicators.items() if i.weight > 0]
        return (
            sum(i.weight for i in self.indicators.values() if not i.optional),
            tuple((name, i.weight, i.plan()) for name, i in weighted if not i.optional),
            tuple((name, i.weight, i.plan()) for name, i in weighted if i.optional),
        )

    def score(self, inputs: Mapping[str, float | None]) -> ScoreResult:
        """Score one customer from its inputs (indicator inputs by name)."""
        total, indicators, optional = self.plan
        if optional:
            present = tuple(part for part in optional if _present(part[2], inputs))
            indicators += present
            total += sum(part[1] for part in present)
        points_per_weight = 100.0 / total
        parts = [
            (weight * value * points_per_weight, name, value)
            for name, weight, terms in indicators
            if (value := _worst(terms, inputs)) > 0
        ]
        parts.sort(key=lambda part: (-part[0], part[1]))
        # Reasons are read by people: 4 decimals of a 0-1 value, 2 of the 0-100 points.
        reasons = tuple(
            _reason(name, round(value, 4), round(points, 2))
            for points, name, value in parts[: self.top_reasons]
        )
        return ScoreResult(min(sum(part[0] for part in parts), 100.0), reasons)


@lru_cache(maxsize=4096)
def _reason(indicator: str, value: float, contribution: float) -> Reason:
    """A reason, shared (it is frozen): a customer's reasons change less often than it is
    scored, and a pydantic model costs more to make than to look up."""
    return Reason(indicator=indicator, value=value, contribution=contribution)
