"""The named features: each is named here once, and rules, the scorecard and the model read
it by that name.

A :class:`Feature` says what kind of value it is (money, a number, a text) and how to read it
from a customer's :class:`~features.view.Features`. ``model`` marks the ones the late-payment
model takes, as floats (an absent value as 0, beside a ``has_*`` flag where absence says
something); rules read every one as ``features.<name>``; the scorecard reads its indicators
by the same names.

>>> FEATURES["aging_1_30"].kind, FEATURES["limit_use"].model
('money', True)
>>> from features import CustomerState
>>> from datetime import UTC, datetime
>>> now = datetime(2026, 1, 1, tzinfo=UTC)
>>> inputs = model_features(CustomerState.new("c1").features(now))
>>> inputs["has_credit_limit"], inputs["exposure"], len(inputs) == len(MODEL_FEATURES)
(0.0, 0.0, True)
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from features.view import Features

Kind = Literal["money", "number", "text"]


@dataclass(frozen=True, slots=True)
class Feature:
    """One named feature: its kind, how it is read, and whether the model takes it."""

    name: str
    kind: Kind
    read: Callable[[Features], Any]
    model: bool = True


def _money(*names: str) -> list[Feature]:
    return [Feature(name, "money", operator.attrgetter(name)) for name in names]


def _numbers(*names: str, model: bool = True) -> list[Feature]:
    return [Feature(name, "number", operator.attrgetter(name), model) for name in names]


def _per_day_ratio(features: Features) -> float | None:
    """The last day's order amount over the average daily amount of the last 30 days."""
    month = features.order_amounts.get("30d", 0.0)
    return features.order_amounts.get("1d", 0.0) / (month / 30) if month > 0 else None


def _aging(bucket: str) -> Callable[[Features], Any]:
    return operator.attrgetter(f"aging.{bucket}")


def _bureau(field: str) -> Callable[[Features], Any]:
    return operator.attrgetter(f"bureau.{field}")


_WINDOWS = ("1h", "1d", "30d")

_CATALOG: list[Feature] = [
    *_money("exposure"),
    Feature("has_credit_limit", "number", lambda f: f.credit_limit is not None),
    *_money("credit_limit"),
    *_numbers("limit_use"),
    *_money("open_order_amount"),
    *_numbers("open_order_count"),
    *_money("open_balance"),
    *_numbers("open_invoice_count"),
    *_money("unapplied_credit", "disputed_balance"),
    Feature("aging_current", "money", _aging("current")),
    Feature("aging_1_30", "money", _aging("days_1_30")),
    Feature("aging_31_60", "money", _aging("days_31_60")),
    Feature("aging_61_90", "money", _aging("days_61_90")),
    Feature("aging_over_90", "money", _aging("over_90")),
    *_numbers("days_past_due"),
    *_money("overdue_balance"),
    *_numbers("overdue_invoice_count", "invoice_count"),
    Feature("has_payment_history", "number", lambda f: f.settled_invoice_count > 0),
    *_numbers(
        "settled_invoice_count",
        "avg_days_late",
        "avg_days_after_due",
        "days_late_trend",
        "days_late_spread",
        "on_time_share",
        "late_payments_90d",
        "dso",
        "dispute_rate",
        "bounced_payments",
    ),
    Feature("order_amount_mean", "number", lambda f: f.order_amount_stats.mean),
    Feature("order_amount_std", "number", lambda f: f.order_amount_stats.std),
    Feature("payment_amount_mean", "number", lambda f: f.payment_amount_stats.mean),
    Feature("payment_gap_mean_days", "number", lambda f: f.payment_gap_stats.mean),
    *_numbers("days_since_last_payment", "payment_terms_days", "tenure_days"),
    *[
        feature
        for window in _WINDOWS
        for feature in (
            Feature(f"orders_{window}", "number", lambda f, w=window: f.order_counts.get(w)),
            Feature(f"order_amount_{window}", "number", lambda f, w=window: f.order_amounts.get(w)),
        )
    ],
    # Read by rules only:
    Feature("payment_amount_std", "number", lambda f: f.payment_amount_stats.std, model=False),
    Feature("order_amount_1d_vs_30d_avg", "number", _per_day_ratio, model=False),
    Feature(
        "disputed_invoices",
        "number",
        lambda f: round(f.dispute_rate * f.invoice_count),
        model=False,
    ),
    Feature(
        "dso_excess_days",
        "number",
        lambda f: None if f.payment_terms_days is None else f.dso - f.payment_terms_days,
        model=False,
    ),
    *[
        Feature(name, "text", operator.attrgetter(name), False)
        for name in ("currency", "country", "segment")
    ],
    # From credit reports (absent without one):
    Feature("has_credit_report", "number", lambda f: f.bureau.score is not None),
    *[
        Feature(name, kind, _bureau(field), model=kind == "number")
        for name, kind, field in (
            ("bureau_score", "number", "score"),
            ("report_age_days", "number", "report_age_days"),
            ("payment_index", "number", "payment_index"),
            ("leverage", "number", "leverage"),
            ("negative_equity", "number", "negative_equity"),
            ("bureau_score_drop", "number", "score_drop"),
            ("bureau_rating_drop", "number", "rating_drop"),
            ("bureau_rating", "text", "rating"),
            ("industry_code", "text", "industry_code"),
        )
    ],
    *_numbers("industry_risk"),
]

FEATURES: dict[str, Feature] = {feature.name: feature for feature in _CATALOG}
"""Every named feature, by name."""
MODEL_FEATURES: tuple[Feature, ...] = tuple(feature for feature in _CATALOG if feature.model)
"""The features the late-payment model takes, in the order it is given them."""


def model_features(features: Features) -> dict[str, float]:
    """The model's features as floats, an absent value as 0."""
    return {feature.name: float(feature.read(features) or 0) for feature in MODEL_FEATURES}
