"""Order decisions: approve, hold for review, require prepayment, or reject, with the figures.

Every order placed is decided from the customer's features as they were *before* the order
(so ``features.exposure`` does not include it yet), its risk tier and score, and its terms.
Every rule of a `DecisionPolicy` that applies gives a reason; the most severe outcome wins:

reject
    only by a hard rule: the customer is blocked, or ``reject_days_past_due`` is set and the
    oldest open invoice is more days past due than that.
prepay
    the tier is one of ``prepay_tiers`` (high), the customer is on prepayment terms, or no
    credit limit is set and ``without_limit`` is ``"prepay"``.
review
    the exposure with the order is over the credit limit times ``review_limit_ratio`` (with the
    default ratio of 1 an order that brings the exposure exactly *to* the limit is approved,
    a cent over it is held); the oldest open invoice is more than ``review_days_past_due``
    days past due; the tier is medium and the order would use more than
    ``medium_review_limit_use`` of the limit; no credit limit is set and ``without_limit`` is
    ``"review"`` (the default); or the order is not in the account's currency.
approve
    when none of these applies.

A credit limit of 0 is a limit: any order crosses it. "No credit limit" means none was set.

>>> from dataclasses import replace
>>> from datetime import UTC, datetime
>>> from features import CustomerState
>>> from schemas.money import Money
>>> before = CustomerState.new("c1").features(datetime(2026, 3, 2, tzinfo=UTC))
>>> before = replace(before, exposure=Decimal("6000"), credit_limit=Decimal("10000"))
>>> order = Money(amount="4000.00", currency="EUR")
>>> decision = DecisionPolicy().decide(order, before, tier="low", score=12.0)
>>> decision.outcome, decision.reasons
('approve', ['exposure with this order 10,000.00 is within the credit limit 10,000.00 (100% used)'])
>>> a_cent_more = replace(before, exposure=Decimal("6000.01"))
>>> DecisionPolicy().decide(order, a_cent_more, tier="low", score=12.0).reasons
['exposure with this order 10,000.01 would be over the credit limit 10,000.00 by 0.01']
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from features import Features
from schemas.events import OrderPlaced
from schemas.ids import derive_id
from schemas.money import Money, money_text, money_words
from schemas.outputs import OrderDecision, Scalar, Tier, Versions

Outcome = Literal["approve", "review", "prepay", "reject"]
OUTCOMES: tuple[Outcome, ...] = ("approve", "review", "prepay", "reject")
"""Outcomes from the least to the most severe."""

Finding = tuple[Outcome, str]


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one order, every reason that applies (most severe first) and the figures.

    ``figures`` holds what the decision used, as JSON scalars: money as decimal strings,
    ``limit_use_with_order`` as a float (None without a positive credit limit).
    """

    outcome: Outcome
    reasons: list[str]
    figures: dict[str, Scalar]
    policy_version: str

    def order_decision(self, order: OrderPlaced, versions: Versions | None = None) -> OrderDecision:
        """The decision as an output event; its id derives from the order event's id."""
        return OrderDecision(
            decision_id=derive_id("decision", order.event_id),
            customer_id=order.customer_id,
            event_time=order.event_time,
            order_id=order.order_id,
            outcome=self.outcome,
            reasons=self.reasons,
            figures=self.figures,
            source_event_id=order.event_id,
            versions=versions or Versions(),
        )


@dataclass(frozen=True, slots=True)
class _Order:
    """What the rules look at, computed once."""

    amount: Money
    features: Features
    tier: Tier | None
    score: float | None
    exposure_with_order: Decimal

    @property
    def limit_use(self) -> Decimal | None:
        """The share of the limit used, 0 for a customer in credit (owing less than nothing)."""
        limit = self.features.credit_limit
        return max(self.exposure_with_order, Decimal(0)) / limit if limit else None

    def figures(self, policy_version: str) -> dict[str, Scalar]:
        features, limit, use = self.features, self.features.credit_limit, self.limit_use
        return {
            "order_amount": money_text(self.amount.amount),
            "currency": self.amount.currency,
            "exposure_before": money_text(features.exposure),
            "exposure_with_order": money_text(self.exposure_with_order),
            "credit_limit": None if limit is None else money_text(limit),
            "limit_use_with_order": None if use is None else round(float(use), 4),
            "days_past_due": features.days_past_due,
            "overdue_balance": money_text(features.overdue_balance),
            "tier": self.tier,
            "score": self.score,
            "policy": policy_version,
        }


class DecisionPolicy(BaseModel):
    """How orders are decided; `DecisionPolicy.model_validate(document)` loads a control document.

    Parameters
    ----------
    version
        Names this policy in every decision it makes.
    reject_days_past_due
        Hard rule: reject when the oldest open invoice is more days past due than this.
        None (the default): past-due invoices never reject by themselves.
    prepay_tiers
        Tiers whose orders require prepayment.
    without_limit
        The outcome when no credit limit is set.
    review_limit_ratio
        Review when the exposure with the order is over the credit limit times this.
    review_days_past_due
        Review when the oldest open invoice is more days past due than this; None: never.
    medium_review_limit_use
        Review a medium-tier customer's order that would use more than this share of the
        limit; None: never.

    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    reject_days_past_due: int | None = Field(None, ge=0)
    prepay_tiers: frozenset[Tier] = frozenset({"high"})
    without_limit: Literal["approve", "review", "prepay"] = "review"
    review_limit_ratio: Decimal = Field(Decimal(1), gt=0, allow_inf_nan=False)
    review_days_past_due: int | None = Field(30, ge=0)
    medium_review_limit_use: Decimal | None = Field(Decimal("0.8"), gt=0, allow_inf_nan=False)

    def decide(
        self,
        amount: Money,
        features: Features,
        tier: Tier | None,
        score: float | None,
        *,
        prepayment_terms: bool = False,
        blocked: bool = False,
    ) -> Decision:
        """Decide an order of ``amount`` for a customer whose features are from before it.

        ``tier`` and ``score`` are None for a customer not scored yet.
        """
        order = _Order(amount, features, tier, score, features.exposure + amount.amount)
        findings = [
            *self._rejections(order, blocked),
            *self._prepayments(order, prepayment_terms),
            *self._reviews(order),
        ]
        findings.sort(key=lambda finding: OUTCOMES.index(finding[0]), reverse=True)
        outcome = findings[0][0] if findings else "approve"
        reasons = [reason for _, reason in findings] or [_approval(order)]
        return Decision(outcome, reasons, order.figures(self.version), self.version)

    def _rejections(self, order: _Order, blocked: bool) -> list[Finding]:
        found: list[Finding] = [("reject", "the customer is blocked")] if blocked else []
        days, most = order.features.days_past_due, self.reject_days_past_due
        if most is not None and days > most:
            found.append(("reject", f"an invoice is {days} days past due, over {most} days"))
        return found

    def _prepayments(self, order: _Order, prepayment_terms: bool) -> list[Finding]:
        found: list[Finding] = []
        if order.tier in self.prepay_tiers:
            score = "" if order.score is None else f" (score {order.score:.1f})"
            found.append(("prepay", f"the customer is in the {order.tier} risk tier{score}"))
        if prepayment_terms:
            found.append(("prepay", "the customer is on prepayment terms"))
        if order.features.credit_limit is None and self.without_limit == "prepay":
            found.append(("prepay", "no credit limit is set"))
        return found

    def _reviews(self, order: _Order) -> list[Finding]:
        found = self._limit_reviews(order)
        features = order.features
        days, most = features.days_past_due, self.review_days_past_due
        if most is not None and days > most:
            overdue = money_words(features.overdue_balance)
            found.append(("review", f"an invoice is {days} days past due, over {most} days "
                                    f"(overdue balance {overdue})"))  # fmt: skip
        ours, theirs = features.currency, order.amount.currency
        if ours is not None and ours != theirs:
            found.append(("review", f"the order is in {theirs} but the account is kept in {ours}"))
        return found

    def _limit_reviews(self, order: _Order) -> list[Finding]:
        limit, use = order.features.credit_limit, order.limit_use
        if limit is None:
            return [("review", "no credit limit is set")] if self.without_limit == "review" else []
        found: list[Finding] = []
        exposure, ratio = order.exposure_with_order, self.review_limit_ratio
        if (excess := exposure - limit * ratio) > 0:
            share = "" if ratio == 1 else f"{ratio:.0%} of "
            over = f"over {share}the credit limit {money_words(limit)} by {money_words(excess)}"
            found.append(
                ("review", f"exposure with this order {money_words(exposure)} would be {over}")
            )
        most = self.medium_review_limit_use
        if order.tier == "medium" and most is not None and use is not None and use > most:
            uses = f"this order would use {use:.0%} of its credit limit, over {most:.0%}"
            found.append(("review", f"the customer is in the medium risk tier and {uses}"))
        return found


def _approval(order: _Order) -> str:
    limit, use = order.features.credit_limit, order.limit_use
    if limit is None:
        return "no credit limit is set; this policy approves orders without one"
    if order.exposure_with_order < 0:  # unapplied payments exceed what is owed
        credit = money_words(-order.exposure_with_order)
        return f"with this order the customer is still in credit by {credit}"
    exposure = money_words(order.exposure_with_order)
    used = "" if use is None else f" ({use:.0%} used)"
    return (
        f"exposure with this order {exposure} is within the credit limit {money_words(limit)}{used}"
    )
