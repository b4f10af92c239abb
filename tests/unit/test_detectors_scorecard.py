"""The composite scorecard: arithmetic, reasons, absent inputs and configuration."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.scorecard import DEFAULT_INDICATORS, Ramp, Scorecard

TWO_INDICATORS = {
    "indicators": {
        "model": {
            "weight": 3,
            "terms": [{"input": "late_payment_probability", "transform": {"kind": "identity"}}],
        },
        "overdue": {
            "weight": 1,
            "terms": [
                {"input": "days_past_due", "transform": {"kind": "ramp", "low": 0, "high": 10}}
            ],
        },
    },
    "top_reasons": 5,
}


def _reasons(result) -> list[tuple[str, float, float]]:
    return [(r.indicator, round(r.value, 9), round(r.contribution, 9)) for r in result.reasons]


def test_default_weights_that_always_count_add_up_to_one_hundred_points():
    always = [i.weight for i in DEFAULT_INDICATORS.values() if not i.optional]
    assert sum(always) == 100


CREDIT_INPUTS = {"bureau_score": 0.3, "payment_index": 10, "leverage": 3.0, "industry_risk": 0.5}
SOME_RISK = {"late_payment_probability": 0.5, "days_past_due": 15, "limit_use": 0.85}


def test_without_a_credit_report_the_optional_indicators_change_nothing():
    without = Scorecard(
        indicators={k: i for k, i in DEFAULT_INDICATORS.items() if not i.optional}
    ).score(SOME_RISK)
    assert Scorecard().score(SOME_RISK) == without
    assert Scorecard().score({**SOME_RISK, "bureau_score": math.nan}) == without


def test_a_report_moves_the_score_by_the_documents_weights():
    """The bureau score 0.3 is half-way down its ramp (0.5 to 0.1): 0.5 of its weight; the
    payment index 10 days a fifth of its ramp (5 to 30), the leverage 3 a quarter (2 to 6)."""
    card = Scorecard()
    before = card.score(SOME_RISK).score  # 15 + 5 + 7.5 points of 100
    after = card.score({**SOME_RISK, **CREDIT_INPUTS}).score
    assert before == pytest.approx(27.5)
    assert after == pytest.approx(100 * (27.5 + 10 * 0.5 + 5 * 0.2 + 5 * 0.25 + 5 * 0.5) / 125)
    bureau = DEFAULT_INDICATORS["bureau_score"].model_copy(update={"weight": 40})
    heavier = Scorecard(indicators={**DEFAULT_INDICATORS, "bureau_score": bureau})
    only_bureau = heavier.score({**SOME_RISK, "bureau_score": 0.3}).score
    assert only_bureau == pytest.approx(100 * (27.5 + 40 * 0.5) / 140)


def test_a_negative_equity_is_the_worst_leverage_whatever_the_leverage():
    card = Scorecard(top_reasons=1)
    for leverage in (None, 1.5):
        result = card.score({"leverage": leverage, "negative_equity": 1.0})
        assert _reasons(result) == [("leverage", 1.0, round(100 * 5 / 105, 2))]
    assert card.score({"leverage": 1.5, "negative_equity": 0.0}).reasons == ()


def test_a_good_report_lowers_the_score():
    card = Scorecard()
    assert card.score({**SOME_RISK, "bureau_score": 0.9}).score == pytest.approx(100 * 27.5 / 110)


def test_a_scorecard_of_optional_indicators_alone_is_refused():
    with pytest.raises(ValidationError, match="not optional"):
        Scorecard(indicators={k: i for k, i in DEFAULT_INDICATORS.items() if i.optional})


def test_default_scorecard_arithmetic_and_reasons():
    result = Scorecard().score(
        {
            "late_payment_probability": 0.5,  # 0.5 of 30 points = 15
            "days_past_due": 15,  # 15/60 = 0.25 of 20 = 5
            "limit_use": 0.85,  # (0.85-0.5)/0.7 = 0.5 of 15 = 7.5
            "avg_days_late": 6,  # 6/30 = 0.2 ...
            "on_time_share": 0.9,  # (1-0.9)/0.5 = 0.2; worst of the two: 0.2 of 15 = 3
            "bounced_payments": 1,  # 1/2 = 0.5 of 10 = 5
            "recent_anomalies": 0,  # nothing
            "dispute_rate": 0.06,  # 0.06/0.3 = 0.2 of 5 = 1
        }
    )
    assert result.score == pytest.approx(15 + 5 + 7.5 + 3 + 5 + 1)
    # days_past_due and bounced_payments tie at 5 points: by name.
    assert _reasons(result) == [
        ("late_payment_probability", 0.5, 15.0),
        ("limit_use", 0.5, 7.5),
        ("bounced_payments", 0.5, 5.0),
    ]


def test_payment_behaviour_takes_the_worse_of_its_terms():
    card = Scorecard(top_reasons=1)
    # avg 3 days late -> 0.1; on-time share 0.6 -> (1-0.6)/0.5 = 0.8: 0.8 of 15 = 12 points.
    result = card.score({"avg_days_late": 3, "on_time_share": 0.6})
    assert _reasons(result) == [("payment_behaviour", 0.8, 12.0)]


def test_a_scorecard_loads_from_a_dict_and_weights_are_relative():
    card = Scorecard.model_validate(TWO_INDICATORS)
    result = card.score({"late_payment_probability": 0.5, "days_past_due": 5})
    # 100 * (3*0.5 + 1*0.5) / 4 = 50; model adds 37.5, overdue 12.5
    assert result.score == 50.0
    assert _reasons(result) == [("model", 0.5, 37.5), ("overdue", 0.5, 12.5)]


def test_a_copy_with_other_indicators_scores_with_its_own():
    card = Scorecard.model_validate(TWO_INDICATORS)
    inputs = {"late_payment_probability": 0.5, "days_past_due": 5}
    assert card.score(inputs).score == 50.0  # the plan is made, and cached
    overdue_only = {"overdue": card.indicators["overdue"]}
    copy = card.model_copy(update={"indicators": overdue_only})
    assert copy.score(inputs).score == 50.0 and _reasons(copy.score(inputs)) == [
        ("overdue", 0.5, 50.0)
    ]
    assert copy.inputs == ("days_past_due",)
    assert card.score(inputs).score == 50.0 and len(card.score(inputs).reasons) == 2


def test_values_are_clipped_to_zero_and_one():
    card = Scorecard.model_validate(TWO_INDICATORS)
    assert card.score({"late_payment_probability": 1.7, "days_past_due": -3}).score == 75.0
    assert card.score({"late_payment_probability": 0.0, "days_past_due": 400}).score == 25.0


@pytest.mark.parametrize(
    "absent",
    [{}, {"late_payment_probability": None}, {"late_payment_probability": math.nan}],
    ids=["missing", "none", "nan"],
)
def test_an_absent_input_adds_nothing_but_its_weight_still_counts(absent):
    card = Scorecard.model_validate(TWO_INDICATORS)
    result = card.score({"days_past_due": 10} | absent)
    assert result.score == 25.0
    assert _reasons(result) == [("overdue", 1.0, 25.0)]


def test_nothing_at_risk_scores_zero_with_no_reasons():
    result = Scorecard().score({"late_payment_probability": 0.0, "days_past_due": 0})
    assert (result.score, result.reasons) == (0.0, ())


def test_an_indicator_of_weight_zero_is_never_a_reason():
    config = {**TWO_INDICATORS, "indicators": {**TWO_INDICATORS["indicators"]}}
    config["indicators"]["model"] = {**config["indicators"]["model"], "weight": 0}
    result = Scorecard.model_validate(config).score(
        {"late_payment_probability": 1.0, "days_past_due": 5}
    )
    assert result.score == 50.0
    assert _reasons(result) == [("overdue", 0.5, 50.0)]


def test_a_falling_ramp_scores_more_as_the_input_falls():
    on_time = Ramp(low=1.0, high=0.5)
    assert [on_time(share) for share in (1.0, 0.75, 0.5, 0.1)] == [0.0, 0.5, 1.0, 1.0]


def _one(weight: float = 1, transform: dict | None = None, terms: list | None = None) -> dict:
    """A configuration of one indicator "a" reading the limit use."""
    if terms is None:
        terms = [{"input": "limit_use", "transform": transform or {"kind": "identity"}}]
    return {"indicators": {"a": {"weight": weight, "terms": terms}}}


@pytest.mark.parametrize(
    "change",
    [
        _one(weight=-1),
        _one(weight=0),
        {"indicators": {}},
        _one(terms=[]),
        _one(transform={"kind": "ramp", "low": 2, "high": 2}),
        _one(transform={"kind": "log"}),
        {"top_reasons": -1},
        {"weights": {"a": 1}},
    ],
    ids=["negative-weight", "all-zero", "no-indicator", "no-term", "flat-ramp", "unknown-transform",
         "negative-top", "unknown-field"],
)  # fmt: skip
def test_invalid_configurations_are_refused(change):
    with pytest.raises(ValidationError):
        Scorecard.model_validate(change)


def test_an_input_that_is_no_named_numeric_feature_is_refused_with_the_closest_name():
    def reading(name: str) -> dict:
        term = {"input": name, "transform": {"kind": "identity"}}
        return {"indicators": {"x": {"weight": 1, "terms": [term]}}}

    with pytest.raises(ValidationError, match="did you mean 'days_past_due'"):
        Scorecard.model_validate(reading("days_pastdue"))
    with pytest.raises(ValidationError, match="no numeric feature or given input"):
        Scorecard.model_validate(reading("country"))


inputs = st.fixed_dictionaries(
    {},
    optional={
        "late_payment_probability": st.floats(-1, 2),
        "days_past_due": st.floats(-10, 500),
        "limit_use": st.floats(0, 5),
        "avg_days_late": st.floats(-5, 100),
        "on_time_share": st.floats(0, 1),
        "bounced_payments": st.integers(0, 10).map(float),
        "recent_anomalies": st.integers(0, 10).map(float),
        "dispute_rate": st.floats(0, 1),
    },
)


@given(inputs)
def test_scores_stay_in_range_and_all_reasons_add_up_to_the_score(values):
    result = Scorecard(top_reasons=len(DEFAULT_INDICATORS)).score(values)
    assert 0.0 <= result.score <= 100.0
    contributions = [reason.contribution for reason in result.reasons]
    # Each contribution is rounded to 2 decimals, each value to 4.
    assert sum(contributions) == pytest.approx(result.score, abs=0.005 * len(contributions))
    assert contributions == sorted(contributions, reverse=True)
    assert all(0 <= reason.value <= 1 for reason in result.reasons)
    assert all(round(r.value, 4) == r.value and round(r.contribution, 2) == r.contribution
               for r in result.reasons)  # fmt: skip
