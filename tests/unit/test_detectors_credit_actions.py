"""Credit actions: prepayment or shorter terms for high risk, limit increases, review dates.

Policy defaults: terms shortened to 15 days, prepayment past 60 days past due; an increase
for the low tier at 80% of the limit or more, 90% paid on time, nothing overdue, 180 days of
history, to a limit the exposure would use 60% of, rounded up to 1,000; reviews every 1, 3
and 12 months for the high, medium and low tiers.
"""

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.credit_actions import CreditPolicy, add_months
from detectors.rules import describe_invalid
from features import CustomerState, Features
from schemas.ids import derive_id

T0 = datetime(2026, 1, 31, 15, tzinfo=UTC)
POLICY = CreditPolicy()


def customer(
    at: datetime = T0,
    exposure: str = "0",
    limit: str | None = "10000",
    terms: int | None = 30,
    days_past_due: int = 0,
    overdue: str = "0",
    on_time_share: float | None = 0.95,
    tenure_days: float = 400.0,
) -> Features:
    blank = CustomerState.new("c1").features(at)
    aging = replace(blank.aging, days_past_due=days_past_due, overdue_balance=Decimal(overdue))
    return replace(
        blank,
        exposure=Decimal(exposure),
        credit_limit=None if limit is None else Decimal(limit),
        payment_terms_days=terms,
        aging=aging,
        on_time_share=on_time_share,
        tenure_days=tenure_days,
    )


def by_kind(actions):
    return {action.kind: action for action in actions}


def test_high_risk_shortens_the_terms_to_the_configured_days():
    actions = by_kind(POLICY.propose(customer(terms=30, days_past_due=10), "high", "e1"))
    assert set(actions) == {"shorten_terms", "review"}
    shorten = actions["shorten_terms"]
    assert shorten.terms_days == 15
    assert shorten.reasons == [
        "the customer is in the high risk tier",
        "its terms are 30 days; shorten them to 15 days",
    ]


def test_high_risk_without_known_terms_gets_short_terms():
    actions = by_kind(POLICY.propose(customer(terms=None), "high", "e1"))
    assert actions["shorten_terms"].terms_days == 15


@pytest.mark.parametrize(
    ("terms", "days_past_due", "why"),
    [
        (30, 61, "an invoice is 61 days past due, over 60 days"),
        (15, 0, "its terms are already 15 days, no more than 15"),
        (0, 0, "its terms are already 0 days, no more than 15"),
    ],
)
def test_high_risk_requires_prepayment_when_far_past_due_or_terms_are_already_short(
    terms, days_past_due, why
):
    features = customer(terms=terms, days_past_due=days_past_due, overdue="500")
    actions = by_kind(POLICY.propose(features, "high", "e1"))
    assert set(actions) == {"prepayment", "review"}
    assert actions["prepayment"].reasons == ["the customer is in the high risk tier", why]


def test_sixty_days_past_due_is_not_yet_prepayment():
    actions = by_kind(POLICY.propose(customer(days_past_due=60, overdue="500"), "high", "e1"))
    assert "shorten_terms" in actions


def test_a_customer_already_on_prepayment_terms_gets_no_new_terms():
    actions = POLICY.propose(customer(days_past_due=90), "high", "e1", prepayment_terms=True)
    assert [action.kind for action in actions] == ["review"]


@pytest.mark.parametrize(
    ("exposure", "new_limit"),
    [
        ("8500", "15000"),  # 8,500 / 0.6 = 14,166.67, up to 15,000
        ("9000", "15000"),  # 9,000 / 0.6 = 15,000 exactly: no rounding
        ("9000.01", "16000"),  # 15,000.02, up to 16,000
        ("8000", "14000"),  # exactly 80% used qualifies: 13,333.33, up to 14,000
        ("12000", "20000"),  # over the limit with a good record: 20,000
    ],
)
def test_a_low_risk_heavy_user_gets_a_limit_increase(exposure, new_limit):
    actions = by_kind(POLICY.propose(customer(exposure=exposure), "low", "e1"))
    increase = actions["limit_increase"]
    assert Decimal(increase.new_limit) == Decimal(new_limit)
    assert Decimal(increase.amount) == Decimal(new_limit) - Decimal("10000")


def test_the_increase_names_its_figures():
    increase = by_kind(POLICY.propose(customer(exposure="8500"), "low", "e1"))["limit_increase"]
    assert increase.reasons == [
        "the customer is in the low risk tier, paid 95% of its invoices on time, "
        "has nothing overdue and 400 days of history",
        "exposure 8,500.00 uses 85% of the credit limit 10,000.00; at 15,000.00 it would use 57%",
    ]


def test_the_step_and_the_target_use_are_configurable():
    policy = CreditPolicy(increase_step=Decimal(500), increase_target_limit_use=Decimal("0.5"))
    increase = by_kind(policy.propose(customer(exposure="8500"), "low", "e1"))["limit_increase"]
    assert (Decimal(increase.new_limit), Decimal(increase.amount)) == (17000, 7000)


@pytest.mark.parametrize(
    ("tier", "instead"),
    [
        ("low", {"exposure": "7999.99"}),  # under 80% of the limit
        ("medium", {}),
        ("low", {"overdue": "0.01", "days_past_due": 3}),
        ("low", {"on_time_share": 0.89}),
        ("low", {"on_time_share": None}),  # no record yet
        ("low", {"tenure_days": 179.9}),
        ("low", {"limit": None}),
        ("low", {"limit": "0"}),
    ],
)
def test_no_increase_without_a_good_record_and_a_heavy_use(tier, instead):
    features = customer(**{"exposure": "9000", **instead})
    assert "limit_increase" not in by_kind(POLICY.propose(features, tier, "e1"))


@pytest.mark.parametrize(
    ("at", "tier", "review_date"),
    [
        (T0, "high", date(2026, 2, 28)),  # monthly; February has no 31st
        (T0, "medium", date(2026, 4, 30)),  # quarterly
        (T0, "low", date(2027, 1, 31)),  # yearly
        (datetime(2026, 3, 15, 23, 59, tzinfo=UTC), "high", date(2026, 4, 15)),
        (datetime(2026, 11, 30, tzinfo=UTC), "medium", date(2027, 2, 28)),
    ],
)
def test_the_review_date_follows_the_tier_in_event_time(at, tier, review_date):
    review = by_kind(POLICY.propose(customer(at=at), tier, "e1"))["review"]
    assert review.review_date == review_date
    assert review.event_time == at


def test_review_intervals_are_configurable():
    policy = CreditPolicy(review_months={"high": 2, "medium": 6, "low": 24})
    review = by_kind(policy.propose(customer(), "medium", "e1"))["review"]
    assert review.review_date == date(2026, 7, 31)
    assert review.reasons == ["medium risk tier: a review every 6 months"]


def test_ids_derive_from_customer_kind_and_trigger_event():
    first = by_kind(POLICY.propose(customer(), "high", "e1"))
    again = by_kind(POLICY.propose(customer(), "high", "e1"))
    other = by_kind(POLICY.propose(customer(), "high", "e2"))
    assert first["review"].action_id == derive_id("credit_action", "c1", "review", "e1")
    assert first["shorten_terms"].action_id == again["shorten_terms"].action_id
    assert first["shorten_terms"].action_id != other["shorten_terms"].action_id
    assert first["review"].source_event_id == "e1"
    assert first["review"].versions.credit_policy == "default"


def kept_after(*steps: tuple[Features, str, str], policy: CreditPolicy = POLICY):
    """What is kept after emitting the proposals of each (features, tier, event id) in turn."""
    kept: dict = {}
    for features, tier, event_id in steps:
        _, kept = policy.changes(features, tier, event_id, kept)
    return kept


def emitted(features: Features, tier: str, kept: dict, policy: CreditPolicy = POLICY) -> list:
    return [action.kind for action in policy.changes(features, tier, "e9", kept)[0]]


def test_the_same_proposal_later_is_not_a_change():
    kept = kept_after((customer(exposure="8500"), "low", "e1"))
    later = customer(at=T0 + timedelta(days=3), exposure="8600")  # still 15,000
    assert emitted(later, "low", kept) == []  # a later review date: the kept one stays


def test_a_different_amount_or_terms_is_a_change():
    kept = kept_after((customer(exposure="8500"), "low", "e1"))
    assert emitted(customer(exposure="9100"), "low", kept) == ["limit_increase"]  # 16,000
    kept = kept_after((customer(), "high", "e1"))
    assert emitted(customer(), "high", kept, CreditPolicy(short_terms_days=7)) == ["shorten_terms"]
    assert emitted(customer(), "high", {}) == ["shorten_terms", "review"]


def test_a_sooner_review_or_a_review_date_reached_is_a_change():
    yearly = kept_after((customer(), "low", "e1"))  # 2027-01-31
    assert emitted(customer(), "high", yearly) == ["shorten_terms", "review"]  # 2026-02-28
    assert emitted(customer(at=datetime(2027, 1, 31, tzinfo=UTC)), "low", yearly) == ["review"]
    assert emitted(customer(at=datetime(2027, 1, 30, 23, tzinfo=UTC)), "low", yearly) == []


def test_changes_emits_what_is_new_and_keeps_the_last_emitted_of_each_kind():
    emit, kept = POLICY.changes(customer(exposure="8500"), "low", "e1", {})
    assert [action.kind for action in emit] == ["limit_increase", "review"]
    first_review = by_kind(emit)["review"].review_date.isoformat()
    # Kept: only what tells a later proposal from this one.
    assert kept == {
        "limit_increase": {"amount": by_kind(emit)["limit_increase"].amount,
                           "new_limit": by_kind(emit)["limit_increase"].new_limit},
        "review": {"review_date": first_review},
    }  # fmt: skip
    second = customer(at=T0 + timedelta(days=1), exposure="8500")
    emit, kept = POLICY.changes(second, "low", "e2", kept)
    assert emit == []
    assert kept["review"]["review_date"] == first_review  # the emitted one stays kept
    quiet = customer(at=T0 + timedelta(days=2), exposure="1000")
    emit, kept = POLICY.changes(quiet, "low", "e3", kept)
    assert (emit, set(kept)) == ([], {"review"})  # the increase is no longer proposed
    back = customer(at=T0 + timedelta(days=3), exposure="8500")
    emit, kept = POLICY.changes(back, "low", "e4", kept)
    assert [action.kind for action in emit] == ["limit_increase"]


def test_changes_emits_exactly_what_propose_proposes_the_first_time():
    for tier in ("low", "medium", "high"):
        features = customer(exposure="8500", days_past_due=70, overdue="100")
        emit, _ = POLICY.changes(features, tier, "e1", {})
        assert emit == POLICY.propose(features, tier, "e1")


def test_proposals_serialise_for_the_kept_state():
    kept = POLICY.propose(customer(exposure="8500"), "low", "e1")
    for action in kept:
        assert type(action).model_validate_json(action.model_dump_json()) == action


@given(day=st.dates(date(1990, 1, 1), date(2100, 12, 31)), months=st.integers(1, 36))
def test_add_months_keeps_the_day_or_takes_the_last_of_the_month(day, months):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    last = calendar.monthrange(later.year, later.month)[1]
    assert later.day == min(day.day, last)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"increase_target_limit_use": "0.8"}, "increase_target_limit_use must be below"),
        ({"review_months": {"high": 1, "low": 12}}, "review_months has no interval for medium"),
        ({"review_months": {"high": 0, "medium": 3, "low": 12}}, "at least 1 month"),
        ({"short_terms_days": 400}, "short_terms_days: Input should be less than or equal"),
        ({"increase_step": "0"}, "increase_step: Input should be greater than 0"),
        ({"version": ""}, "version: String should have at least 1 character"),
    ],
)
def test_an_invalid_policy_is_refused_with_a_reason(document, problem):
    with pytest.raises(ValidationError) as refused:
        CreditPolicy.model_validate(document)
    assert problem in describe_invalid(refused.value)
