"""Order decisions: the limit, past-due invoices, terms, tiers, hard rules and the figures.

Policy defaults: review over the limit (ratio 1) or past 30 days past due, prepay for the high
tier, review without a credit limit, review a medium-tier order over 80% of the limit, no
reject by days past due.
"""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.decisions import DecisionPolicy
from detectors.rules import describe_invalid
from features import CustomerState, Features
from schemas.events import OrderPlaced
from schemas.ids import derive_id
from schemas.money import Money

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
BLANK = CustomerState.new("c1").features(T0)
POLICY = DecisionPolicy()


def customer(
    exposure: str = "0",
    limit: str | None = "10000",
    days_past_due: int = 0,
    overdue: str = "0",
    currency: str | None = "EUR",
) -> Features:
    """A customer's features before the order."""
    aging = replace(
        BLANK.aging,
        days_past_due=days_past_due,
        overdue_balance=Decimal(overdue),
        overdue_count=int(Decimal(overdue) > 0),
    )
    return replace(
        BLANK,
        exposure=Decimal(exposure),
        credit_limit=None if limit is None else Decimal(limit),
        currency=currency,
        aging=aging,
    )


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def test_an_order_that_brings_the_exposure_exactly_to_the_limit_is_approved():
    decision = POLICY.decide(eur("4000.00"), customer(exposure="6000"), tier="low", score=10.0)
    assert decision.outcome == "approve"
    assert decision.reasons == [
        "exposure with this order 10,000.00 is within the credit limit 10,000.00 (100% used)"
    ]


def test_an_order_a_cent_over_the_limit_is_held_for_review():
    decision = POLICY.decide(eur("4000.01"), customer(exposure="6000"), tier="low", score=10.0)
    assert decision.outcome == "review"
    assert decision.reasons == [
        "exposure with this order 10,000.01 would be over the credit limit 10,000.00 by 0.01"
    ]


def test_an_order_that_crosses_the_limit_is_held_with_the_figures():
    decision = POLICY.decide(eur("2500.00"), customer(exposure="9000"), tier="low", score=22.5)
    assert decision.outcome == "review"
    assert decision.reasons == [
        "exposure with this order 11,500.00 would be over the credit limit 10,000.00 by 1,500.00"
    ]
    assert decision.figures == {
        "order_amount": "2500.00",
        "currency": "EUR",
        "exposure_before": "9000.00",
        "exposure_with_order": "11500.00",
        "credit_limit": "10000.00",
        "limit_use_with_order": 1.15,
        "days_past_due": 0,
        "overdue_balance": "0.00",
        "tier": "low",
        "score": 22.5,
        "policy": "default",
    }


def test_a_lower_review_ratio_holds_orders_before_the_limit():
    policy = DecisionPolicy(review_limit_ratio=Decimal("0.9"))
    decision = policy.decide(eur("1001"), customer(exposure="8000"), tier="low", score=5.0)
    assert decision.outcome == "review"
    assert decision.reasons == [
        "exposure with this order 9,001.00 would be over 90% of the credit limit 10,000.00 by 1.00"
    ]
    assert policy.decide(eur("1000"), customer(exposure="8000"), "low", 5.0).outcome == "approve"


def test_overdue_but_under_the_limit_is_approved_up_to_the_review_days():
    features = customer(exposure="3000", days_past_due=30, overdue="1200")
    decision = POLICY.decide(eur("1000"), features, tier="low", score=20.0)
    assert decision.outcome == "approve"
    assert decision.figures["days_past_due"] == 30
    assert decision.figures["overdue_balance"] == "1200.00"


def test_overdue_past_the_review_days_is_held_even_under_the_limit():
    features = customer(exposure="3000", days_past_due=45, overdue="1200")
    decision = POLICY.decide(eur("1000"), features, tier="low", score=20.0)
    assert decision.outcome == "review"
    assert decision.reasons == [
        "an invoice is 45 days past due, over 30 days (overdue balance 1,200.00)"
    ]


def test_a_customer_on_prepayment_terms_prepays_even_under_the_limit():
    decision = POLICY.decide(
        eur("100"), customer(exposure="0"), tier="low", score=3.0, prepayment_terms=True
    )
    assert decision.outcome == "prepay"
    assert decision.reasons == ["the customer is on prepayment terms"]


@pytest.mark.parametrize(
    ("without_limit", "outcome", "reason"),
    [
        ("review", "review", "no credit limit is set"),
        ("prepay", "prepay", "no credit limit is set"),
        ("approve", "approve", "no credit limit is set; this policy approves orders without one"),
    ],
)
def test_without_a_credit_limit_the_policy_decides(without_limit, outcome, reason):
    policy = DecisionPolicy(without_limit=without_limit)
    decision = policy.decide(eur("500"), customer(limit=None), tier="low", score=1.0)
    assert (decision.outcome, decision.reasons) == (outcome, [reason])
    assert decision.figures["credit_limit"] is None
    assert decision.figures["limit_use_with_order"] is None


def test_a_credit_limit_of_zero_is_a_limit_every_order_crosses():
    decision = POLICY.decide(eur("0.01"), customer(limit="0"), tier="low", score=1.0)
    assert decision.outcome == "review"
    assert decision.reasons == [
        "exposure with this order 0.01 would be over the credit limit 0.00 by 0.01"
    ]


def test_the_high_tier_prepays_and_every_reason_is_given_most_severe_first():
    decision = POLICY.decide(eur("2000"), customer(exposure="9000"), tier="high", score=82.0)
    assert decision.outcome == "prepay"
    assert decision.reasons == [
        "the customer is in the high risk tier (score 82.0)",
        "exposure with this order 11,000.00 would be over the credit limit 10,000.00 by 1,000.00",
    ]


def test_the_high_tier_prepays_under_the_limit_too():
    decision = POLICY.decide(eur("10"), customer(), tier="high", score=75.0)
    assert decision.outcome == "prepay"


@pytest.mark.parametrize(
    ("exposure", "tier", "outcome"),
    [
        ("7000", "medium", "review"),  # 8,500 of 10,000: 85% > 80%
        ("6500", "medium", "approve"),  # 8,000: exactly 80% is not above it
        ("7000", "low", "approve"),  # the low tier may use the whole limit
    ],
)
def test_a_medium_tier_order_over_80_percent_of_the_limit_is_held(exposure, tier, outcome):
    decision = POLICY.decide(eur("1500"), customer(exposure=exposure), tier=tier, score=50.0)
    assert decision.outcome == outcome
    if outcome == "review":
        assert decision.reasons == [
            "the customer is in the medium risk tier and this order would use 85% of its "
            "credit limit, over 80%"
        ]


def test_a_blocked_customer_is_rejected():
    decision = POLICY.decide(eur("10"), customer(), tier="low", score=1.0, blocked=True)
    assert (decision.outcome, decision.reasons) == ("reject", ["the customer is blocked"])


def test_reject_by_days_past_due_only_where_the_hard_rule_is_configured():
    features = customer(exposure="1000", days_past_due=75, overdue="800")
    assert POLICY.decide(eur("10"), features, "low", 30.0).outcome == "review"
    strict = DecisionPolicy(reject_days_past_due=60)
    decision = strict.decide(eur("10"), features, "low", 30.0)
    assert decision.outcome == "reject"
    assert decision.reasons[0] == "an invoice is 75 days past due, over 60 days"
    at_the_rule = customer(exposure="1000", days_past_due=60, overdue="800")
    assert strict.decide(eur("10"), at_the_rule, "low", 30.0).outcome == "review"


def test_an_order_in_another_currency_than_the_account_is_held():
    order = Money(amount="10", currency="USD")
    decision = POLICY.decide(order, customer(), tier="low", score=1.0)
    assert decision.outcome == "review"
    assert decision.reasons == ["the order is in USD but the account is kept in EUR"]


def test_an_unscored_customer_is_decided_on_its_limit():
    decision = POLICY.decide(eur("10"), customer(), tier=None, score=None)
    assert decision.outcome == "approve"
    assert (decision.figures["tier"], decision.figures["score"]) == (None, None)


money = st.decimals(min_value=0, max_value=10**7, places=2)


@given(exposure=money, amount=money, limit=money)
def test_a_low_risk_customer_is_approved_exactly_while_within_the_limit(exposure, amount, limit):
    features = customer(exposure=str(exposure), limit=str(limit))
    decision = POLICY.decide(eur(str(amount)), features, tier="low", score=0.0)
    assert decision.outcome == ("approve" if exposure + amount <= limit else "review")


@given(
    tier=st.sampled_from(["low", "medium", "high", None]),
    days=st.integers(0, 400),
    limit=st.one_of(st.none(), money),
    prepayment_terms=st.booleans(),
)
def test_without_a_hard_rule_nothing_is_rejected(tier, days, limit, prepayment_terms):
    features = customer(limit=None if limit is None else str(limit), days_past_due=days)
    decision = POLICY.decide(
        eur("100"), features, tier=tier, score=50.0, prepayment_terms=prepayment_terms
    )
    assert decision.outcome != "reject"
    assert decision.reasons


def test_the_decision_becomes_an_output_event_with_an_id_from_the_order_event():
    order = OrderPlaced(
        event_id="e-41", customer_id="c1", order_id="o-9", event_time=T0, amount=eur("2500.00")
    )
    decision = POLICY.decide(order.amount, customer(exposure="9000"), tier="low", score=22.5)
    output = decision.order_decision(order)
    assert output.decision_id == derive_id("decision", "e-41")
    assert (output.order_id, output.outcome, output.source_event_id) == ("o-9", "review", "e-41")
    assert output.reasons == decision.reasons
    assert output.figures["exposure_with_order"] == "11500.00"


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"review_limit_ratio": 0}, "review_limit_ratio: Input should be greater than 0"),
        ({"without_limit": "maybe"}, "without_limit: Input should be 'approve', 'review' or"),
        ({"prepay_tiers": ["severe"]}, "prepay_tiers.0: Input should be 'low', 'medium' or"),
        ({"reject_days_past_due": -1}, "reject_days_past_due: Input should be greater than"),
        ({"version": ""}, "version: String should have at least 1 character"),
        ({"review_days": 30}, "review_days: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_policy_is_refused_with_a_reason(document, problem):
    with pytest.raises(ValidationError) as refused:
        DecisionPolicy.model_validate(document)
    assert problem in describe_invalid(refused.value)


def test_a_policy_document_round_trips_through_json():
    policy = DecisionPolicy(version="2026-03", reject_days_past_due=90, without_limit="prepay")
    assert DecisionPolicy.model_validate_json(policy.model_dump_json()) == policy
    assert POLICY.decide(eur("1"), customer(), "low", 1.0).figures["policy"] == "default"


def test_a_customer_in_credit_uses_none_of_its_limit_and_is_told_so():
    """Unapplied payments larger than what is owed: exposure below zero, no negative share."""
    decision = POLICY.decide(eur("200.30"), customer(exposure="-4000"), tier="low", score=1.0)
    assert decision.outcome == "approve"
    assert decision.reasons == ["with this order the customer is still in credit by 3,799.70"]
    assert decision.figures["limit_use_with_order"] == 0.0
    assert decision.figures["exposure_with_order"] == "-3799.70"
