"""Credit actions: proposals to the credit team, never applied by riskstream itself.

From a customer's features and risk tier, a `CreditPolicy` proposes:

prepayment, shorten_terms
    for a high-risk customer not on prepayment terms: require prepayment when the oldest
    open invoice is more than ``prepayment_days_past_due`` days past due or the terms are
    already ``short_terms_days`` or shorter; otherwise shorten the terms to
    ``short_terms_days`` (also when no terms are known).
limit_increase
    for a low-risk customer with a good record (on-time share of at least
    ``increase_min_on_time_share``, nothing overdue, a tenure of at least
    ``increase_min_tenure_days``) that uses at least ``increase_min_limit_use`` of a positive
    credit limit: the new limit is the one at which the current exposure would use
    ``increase_target_limit_use`` of it, rounded *up* to a multiple of ``increase_step``:
    ``new_limit = ceil(exposure / target / step) * step``; ``amount`` is the increase.
review
    always: the date of the next credit review, ``review_months[tier]`` calendar months after
    the features' (event) time; a day past the end of a month is its last day.

Each action is a `schemas.outputs.CreditAction` whose id derives from (customer, kind,
source event id). The engine keeps the last proposal emitted of each kind in the customer's
memo and emits only those that `differs` says are new: see `CreditPolicy.changes`.

>>> from dataclasses import replace
>>> from datetime import UTC, datetime
>>> from features import CustomerState
>>> now = CustomerState.new("c1").features(datetime(2026, 1, 31, tzinfo=UTC))
>>> heavy = replace(now, exposure=Decimal("8500"), credit_limit=Decimal("10000"),
...                 on_time_share=0.95, tenure_days=400.0)
>>> [(a.kind, a.new_limit, a.review_date) for a in CreditPolicy().propose(heavy, "low", "e7")]
[('limit_increase', '15000.00', None), ('review', None, datetime.date(2027, 1, 31))]
"""

import calendar
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features import Features
from schemas.ids import derive_id
from schemas.money import money_text, money_words
from schemas.outputs import CreditAction, Tier, Versions

ActionKind = Literal["prepayment", "shorten_terms", "limit_increase", "review"]
_Found = tuple[ActionKind, dict[str, Any]]

__all__ = ["CreditAction", "CreditPolicy", "add_months", "differs"]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, or the last day of that month.

    >>> add_months(date(2026, 1, 31), 1), add_months(date(2026, 11, 15), 3)
    (datetime.date(2026, 2, 28), datetime.date(2027, 2, 15))
    """
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _exponent(amount: Decimal) -> int:
    return int(amount.as_tuple().exponent)


class CreditPolicy(BaseModel):
    """When to propose which credit action; the parameters are described in the module.

    `CreditPolicy.model_validate(document)` loads a control document.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    short_terms_days: int = Field(15, ge=0, le=365)
    prepayment_days_past_due: int = Field(60, ge=0)
    increase_min_limit_use: Decimal = Field(Decimal("0.8"), gt=0, allow_inf_nan=False)
    increase_min_on_time_share: float = Field(0.9, ge=0, le=1)
    increase_min_tenure_days: int = Field(180, ge=0)
    increase_target_limit_use: Decimal = Field(Decimal("0.6"), gt=0, allow_inf_nan=False)
    increase_step: Decimal = Field(Decimal(1000), gt=0, allow_inf_nan=False)
    review_months: dict[Tier, int] = Field(
        default_factory=lambda: {"high": 1, "medium": 3, "low": 12}
    )

    @model_validator(mode="after")
    def _consistent(self) -> "CreditPolicy":
        if self.increase_target_limit_use >= self.increase_min_limit_use:
            raise ValueError(
                "increase_target_limit_use must be below increase_min_limit_use, "
                "or an increase would not raise the limit"
            )
        missing = {"low", "medium", "high"} - self.review_months.keys()
        if missing:
            raise ValueError(f"review_months has no interval for {', '.join(sorted(missing))}")
        if min(self.review_months.values()) < 1:
            raise ValueError("review_months must be at least 1 month for every tier")
        return self

    def propose(
        self,
        features: Features,
        tier: Tier,
        source_event_id: str,
        *,
        prepayment_terms: bool = False,
        versions: Versions | None = None,
    ) -> list[CreditAction]:
        """The actions proposed for a customer of ``tier`` now (at ``features.as_of``).

        ``versions`` are those of the rest of the logic; the policy adds its own.
        """
        versions = self._versions(versions)
        return [
            self._action(features, kind, details, source_event_id, versions)
            for kind, details in self._found(features, tier, prepayment_terms)
        ]

    def changes(
        self,
        features: Features,
        tier: Tier,
        source_event_id: str,
        kept: Mapping[str, Mapping[str, Any]],
        *,
        prepayment_terms: bool = False,
        versions: Versions | None = None,
    ) -> tuple[list[CreditAction], dict[str, dict[str, Any]]]:
        """The proposals to emit, those that `differs` finds new against ``kept`` (what
        `differs` reads of the last emitted of each kind), and what to keep next: the same of
        the last emitted of each kind proposed. A kind no longer proposed is forgotten, so it
        is emitted again when it comes back. Only the proposals emitted are built, the rest is
        compared as plain data."""
        today = features.as_of.date().isoformat()
        emit, keep = [], {}
        for kind, details in self._found(features, tier, prepayment_terms):
            if differs(kind, details, kept.get(kind), today):
                action = self._action(
                    features, kind, details, source_event_id, self._versions(versions)
                )
                emit.append(action)
                emitted = action.model_dump(mode="json")
                keep[kind] = {key: emitted[key] for key in COMPARED if emitted[key] is not None}
            else:
                keep[kind] = dict(kept[kind])
        return emit, keep

    def _versions(self, versions: Versions | None) -> Versions:
        return (versions or Versions()).model_copy(update={"credit_policy": self.version})

    def _found(self, features: Features, tier: Tier, prepayment_terms: bool) -> list[_Found]:
        return [
            *self._high_risk(features, tier, prepayment_terms),
            *self._increase(features, tier),
            self._review(features, tier),
        ]

    @staticmethod
    def _action(
        features: Features,
        kind: ActionKind,
        details: dict[str, Any],
        source_event_id: str,
        versions: Versions,
    ) -> CreditAction:
        return CreditAction(
            action_id=derive_id("credit_action", features.customer_id, kind, source_event_id),
            customer_id=features.customer_id,
            event_time=features.as_of,
            kind=kind,
            source_event_id=source_event_id,
            versions=versions,
            **details,
        )

    def _high_risk(self, features: Features, tier: Tier, prepayment_terms: bool) -> list[_Found]:
        if tier != "high" or prepayment_terms:
            return []
        high = "the customer is in the high risk tier"
        days, most = features.days_past_due, self.prepayment_days_past_due
        terms, short = features.payment_terms_days, self.short_terms_days
        if days > most:
            why = f"an invoice is {days} days past due, over {most} days"
            return [("prepayment", {"reasons": [high, why]})]
        if terms is not None and terms <= short:
            why = f"its terms are already {terms} days, no more than {short}"
            return [("prepayment", {"reasons": [high, why]})]
        now = "no payment terms are known" if terms is None else f"its terms are {terms} days"
        why = f"{now}; shorten them to {short} days"
        return [("shorten_terms", {"reasons": [high, why], "terms_days": short})]

    def _increase(self, features: Features, tier: Tier) -> list[_Found]:
        limit, exposure = features.credit_limit, features.exposure
        share = features.on_time_share
        good = (
            tier == "low"
            and share is not None
            and share >= self.increase_min_on_time_share
            and features.overdue_balance == 0
            and features.tenure_days >= self.increase_min_tenure_days
        )
        if not good or not limit or exposure < limit * self.increase_min_limit_use:
            return []
        target, step = self.increase_target_limit_use, self.increase_step
        new_limit = (exposure / target / step).to_integral_value(ROUND_CEILING) * step
        new_limit = new_limit.quantize(min(new_limit, limit, key=_exponent))  # as many places
        reasons = [
            f"the customer is in the low risk tier, paid {share:.0%} of its invoices on time, "
            f"has nothing overdue and {features.tenure_days:.0f} days of history",
            f"exposure {money_words(exposure)} uses {exposure / limit:.0%} of the credit limit "
            f"{money_words(limit)}; at {money_words(new_limit)} it would use "
            f"{exposure / new_limit:.0%}",
        ]
        details = {
            "reasons": reasons,
            "amount": money_text(new_limit - limit),
            "new_limit": money_text(new_limit),
        }
        return [("limit_increase", details)]

    def _review(self, features: Features, tier: Tier) -> _Found:
        months = self.review_months[tier]
        why = f"{tier} risk tier: a review every {months} month{'s' if months > 1 else ''}"
        review_date = _review_date(features.as_of.date(), months)
        return "review", {"reasons": [why], "review_date": review_date}


@lru_cache(maxsize=1024)
def _review_date(day: date, months: int) -> str:
    """The ISO date of a review ``months`` after ``day``: asked on every step of every
    customer, for the few days a replay or a worker is at."""
    return add_months(day, months).isoformat()


COMPARED = ("terms_days", "amount", "new_limit", "review_date")
"""What is kept of the last proposal of a kind: what `differs` compares."""


def differs(
    kind: ActionKind, details: Mapping[str, Any], kept: Mapping[str, Any] | None, today: str
) -> bool:
    """Whether a proposal of ``kind`` says something new against ``kept``, the JSON of the last
    one of its kind emitted; ``today`` is the ISO date of the proposal.

    A review is new when it is due sooner than the kept one, or the kept one's date has come;
    other kinds when their terms, amount or new limit changed. Reasons alone do not count.

    >>> kept = {"review_date": "2026-06-30"}
    >>> sooner, later = {"review_date": "2026-04-30"}, {"review_date": "2026-09-30"}
    >>> differs("review", sooner, kept, "2026-03-30"), differs("review", later, kept, "2026-03-30")
    (True, False)
    >>> differs("review", later, kept, "2026-06-30")
    True
    """
    if kept is None:
        return True
    if kind == "review":  # ISO dates compare as their strings do
        return details["review_date"] < kept["review_date"] or kept["review_date"] <= today
    return any(details.get(key) != kept.get(key) for key in ("terms_days", "amount", "new_limit"))
