"""The rule language, its validation, cooldowns, and every rule of the default pack."""

import operator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.rules import (
    FIELDS,
    GIVEN,
    RuleSet,
    describe_invalid,
    load_rulepack,
    parse_duration,
    rule_inputs,
)
from features import CustomerState, Features
from features.bureau import Bureau
from features.stats import Moments
from features.units import UNIT, to_units
from schemas.events import (
    EVENT_TYPES,
    CreditReport,
    InputEvent,
    InvoiceDisputed,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)
from schemas.ids import derive_id
from schemas.money import Money
from schemas.outputs import Versions

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
BLANK = CustomerState.new("c1").features(T0)
SEASONED = replace(BLANK, tenure_days=120.0)
"""A customer with a quarter of history and more: old enough for DSO to mean something."""
PACK = load_rulepack()
HISTORY = [1000, 1100, 900, 1050, 950, 1000, 1100, 900, 1050, 950]
"""Mean 1,000; squared deviations add up to 50,000, so the sample std is √(50000/9) ≈ 74.54
and 4 standard deviations are ≈ 298.14: 1,300 is 4.02 of them above, 1,290 only 3.89."""


def slipping(trend: float | None, spread: float | None, settled: int = 6):
    """A customer paying ``trend`` days after due more lately than in the long run."""
    return replace(BLANK, settled_invoice_count=settled, days_late_trend=trend,
                   days_late_spread=spread)  # fmt: skip


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def order(amount: str) -> OrderPlaced:
    return OrderPlaced(
        event_id="e1", customer_id="c1", event_time=T0, order_id="o1", amount=eur(amount)
    )


def payment(amount: str) -> PaymentReceived:
    return PaymentReceived(
        event_id="e1", customer_id="c1", event_time=T0, payment_id="p1", amount=eur(amount)
    )


def reversal(reason: str) -> PaymentReversed:
    return PaymentReversed(
        event_id="e1", customer_id="c1", event_time=T0, payment_id="p1", reason=reason
    )


DISPUTE = InvoiceDisputed(event_id="e1", customer_id="c1", event_time=T0, invoice_id="i1")
REPORT = CreditReport(
    event_id="e1", customer_id="c1", event_time=T0, source="creditsafe", as_of=T0.date(),
    score=40, score_min=0, score_max=100,
)  # fmt: skip


def downgraded(drop: float | None) -> Features:
    return replace(BLANK, bureau=Bureau(score=0.4, score_drop=drop))


def rated(steps: int | None) -> Features:
    return replace(BLANK, bureau=Bureau(score=0.4, rating="C", rating_drop=steps))


def stats_with(values: list[float], event_amount: float):
    """The customer's running statistics once the event's own amount was recorded."""
    stats = Moments()
    for value in [*values, event_amount]:
        stats.add(to_units(Decimal(str(value))))
    return stats.summary(UNIT, min_count=5)


def past_due(days: int, overdue: str = "1200", count: int = 2) -> Features:
    aging = replace(
        BLANK.aging, days_past_due=days, overdue_balance=Decimal(overdue), overdue_count=count
    )
    return replace(BLANK, aging=aging)


def over_limit(exposure: str, limit: str = "10000") -> Features:
    use = float(Decimal(exposure) / Decimal(limit))
    return replace(BLANK, exposure=Decimal(exposure), credit_limit=Decimal(limit), limit_use=use)


def spike(
    amount_1d: float, tenure: float = 40.0, orders_30d: int = 6, orders_1d: int = 2
) -> Features:
    return replace(
        BLANK,
        tenure_days=tenure,
        order_counts={"1h": 1, "1d": orders_1d, "30d": orders_30d},
        order_amounts={"1h": 100.0, "1d": amount_1d, "30d": 30_000.0},
    )


def fired(features: Features, event: InputEvent | None, given: dict | None = None) -> list[str]:
    inputs = rule_inputs(features, event, PACK.fields, given or {})
    return [hit.rule_id for hit in PACK.evaluate(inputs, {}, T0).hits]


CASES = {
    "payment_over_30_days_late": [
        (past_due(31), None, ["payment_over_30_days_late"]),
        (past_due(30), None, []),
        (past_due(60), order("10"), ["payment_over_30_days_late"]),
    ],
    "payment_over_60_days_late": [
        (past_due(61), None, ["payment_over_60_days_late"]),
    ],
    "payment_received_over_30_days_late": [
        (BLANK, payment("100"), ["payment_received_over_30_days_late"], {"event.days_late": 31}),
        (BLANK, payment("100"), [], {"event.days_late": 30}),
        (BLANK, payment("100"), [], {"event.days_late": None}),  # it settled no invoice
    ],
    "bounced_payment": [
        (replace(BLANK, bounced_payments=1), reversal("bounced"), ["bounced_payment"]),
        (BLANK, reversal("reversed"), []),
    ],
    "exposure_over_limit": [
        (over_limit("10000.01"), None, ["exposure_over_limit"]),
        (over_limit("10000.00"), None, []),
    ],
    "order_amount_unusual": [
        (replace(BLANK, order_amount_stats=stats_with(HISTORY, 1300)), order("1300.00"),
         ["order_amount_unusual"]),
        (replace(BLANK, order_amount_stats=stats_with(HISTORY, 1290)), order("1290.00"), []),
        # four earlier orders are too few for a z-score (min_count 5), however large the order
        (replace(BLANK, order_amount_stats=stats_with(HISTORY[:4], 9000)), order("9000"), []),
    ],
    "order_volume_spike": [
        (spike(4000.0), order("100"), ["order_volume_spike"]),  # 4,000 / (30,000 / 30) = 4
        (spike(3990.0), order("100"), []),
        (spike(6000.0, tenure=29.0), order("100"), []),
        (spike(6000.0, orders_30d=4), order("100"), []),
        (spike(6000.0, orders_1d=1), order("100"), []),  # one order a day is no spike
        (spike(6000.0), None, []),  # only on an order
    ],
    "payment_amount_unusual": [
        (replace(BLANK, payment_amount_stats=stats_with(HISTORY, 1300)), payment("1300"),
         ["payment_amount_unusual"]),
        (replace(BLANK, payment_amount_stats=stats_with(HISTORY, 700)), payment("700"),
         ["payment_amount_unusual"]),
        (replace(BLANK, payment_amount_stats=stats_with(HISTORY, 710)), payment("710"), []),
    ],
    "repeated_disputes": [
        (replace(BLANK, invoice_count=20, dispute_rate=0.15), DISPUTE, ["repeated_disputes"]),
        (replace(BLANK, invoice_count=20, dispute_rate=0.10), DISPUTE, []),  # 2 disputed
        (replace(BLANK, invoice_count=40, dispute_rate=0.075), DISPUTE, []),  # 3, but 7.5%
        (replace(BLANK, invoice_count=20, dispute_rate=0.15), None, []),  # only on a dispute
    ],
    "payment_slipping": [
        (slipping(7.0, 12.0), None, ["payment_slipping"]),
        (slipping(6.9, 12.0), None, []),
        (slipping(7.0, 12.1), None, []),  # pays too irregularly to tell a slide
        (slipping(9.0, 3.0, settled=5), None, []),  # too few settled invoices
        (slipping(None, None), None, []),
    ],
    "dso_worsening": [
        (replace(SEASONED, dso=50.0), None, ["dso_worsening"], {"features.dso_change_30d": 15.0}),
        (replace(SEASONED, dso=50.0), None, [], {"features.dso_change_30d": 14.5}),
        (replace(SEASONED, dso=50.0), None, [], {"features.dso_change_30d": None}),
        (replace(BLANK, dso=50.0), None, [], {"features.dso_change_30d": 40.0}),  # too new
    ],
    "dso_high": [
        (replace(SEASONED, payment_terms_days=30, dso=61.0), None, ["dso_high"]),
        (replace(SEASONED, payment_terms_days=30, dso=60.0), None, []),  # 30 days beyond terms
        (replace(SEASONED, payment_terms_days=None, dso=60.5), None, ["dso_high"]),
        (replace(SEASONED, payment_terms_days=None, dso=60.0), None, []),
        (replace(SEASONED, payment_terms_days=45, dso=70.0), None, []),  # 25 beyond, over 60
        (replace(BLANK, payment_terms_days=30, dso=90.0), None, []),  # too new to judge
    ],
    "bureau_downgrade": [
        (downgraded(0.15), REPORT, ["bureau_downgrade"]),
        (downgraded(0.14), REPORT, []),
        (downgraded(None), REPORT, []),  # no earlier report of the source
        (downgraded(0.3), None, []),  # only on a report
    ],
    "bureau_rating_downgrade": [
        (rated(1), REPORT, ["bureau_rating_downgrade"]),
        (rated(0), REPORT, []),  # the same rating, or one that cannot be compared
        (rated(-2), REPORT, []),  # an upgrade
        (rated(None), REPORT, []),
        (rated(2), None, []),  # only on a report
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("features", "event", "expected", "context"),
    [(*case, None)[:4] for cases in CASES.values() for case in cases],
    ids=[f"{rule}-{i}" for rule, cases in CASES.items() for i in range(len(cases))],
)
def test_each_default_rule_fires_on_its_case_and_not_on_a_near_miss(
    features, event, expected, context
):
    assert fired(features, event, context) == expected


def test_every_default_rule_has_a_case():
    assert set(CASES) == {rule.id for rule in PACK.rules}


@pytest.mark.parametrize(
    ("features", "event", "message"),
    [
        (past_due(31), None, "oldest open invoice is 31 days past due; 1,200.00 overdue on 2 "
                             "invoices"),
        (over_limit("10500"), None, "exposure 10,500.00 is over the credit limit 10,000.00 "
                                    "(105% used)"),
        (replace(BLANK, order_amount_stats=stats_with(HISTORY, 1300)), order("1300.00"),
         "order of 1,300.00 is 4.0 standard deviations above this customer's usual 1,000.00"),
        (replace(BLANK, payment_amount_stats=stats_with(HISTORY, 700)), payment("700.00"),
         "payment of 700.00 is -4.0 standard deviations from this customer's usual 1,000.00"),
        (spike(4000.0), order("100"), "orders of the last day total 4,000.00, 4.0 times the "
                                      "average day of the last 30"),
        (replace(SEASONED, payment_terms_days=30, dso=61.0), None,
         "days sales outstanding is 61 days; payment terms in days: 30"),
        (replace(SEASONED, dso=75.0), None,
         "days sales outstanding is 75 days; payment terms in days: n/a"),
        (rated(2), REPORT, "bureau rating fell to C (down 2 on its source's scale)"),
    ],
)  # fmt: skip
def test_messages_name_the_figures(features, event, message):
    hits = PACK.evaluate(rule_inputs(features, event), {}, T0).hits
    assert [hit.message for hit in hits] == [message]
    assert hits[0].ruleset_version == "default-6"


def test_the_default_pack_loads_from_yaml():
    assert PACK.version == "default-6"
    assert [rule.severity for rule in PACK.rules if rule.id == "bounced_payment"] == ["critical"]
    assert RuleSet.model_validate_json(PACK.model_dump_json()) == PACK


def test_a_hit_becomes_an_alert_naming_its_rule_and_rule_set_version():
    inputs = rule_inputs(over_limit("10500"), None)
    hit = PACK.evaluate(inputs, {}, T0).hits[0]
    alert = hit.alert("c1", T0, "e9", Versions(model="m3"))
    assert alert.alert_id == derive_id("alert", "rule", "exposure_over_limit", "c1", "e9")
    assert (alert.kind, alert.severity) == ("rule", "critical")
    assert (alert.versions.model, alert.versions.ruleset) == ("m3", "default-6")
    assert alert.details == {
        "rule_id": "exposure_over_limit",
        "features.limit_use": 1.05,
        "features.exposure": "10500.00",
        "features.credit_limit": "10000.00",
    }


def test_a_cooldown_suppresses_a_second_hit_and_lets_one_through_after_it():
    inputs = rule_inputs(over_limit("10500"), None, PACK.fields)  # cooldown P1D
    first = PACK.evaluate(inputs, {}, T0)
    assert first.cooldowns == {"exposure_over_limit": T0}
    almost = T0 + timedelta(days=1) - timedelta(microseconds=1)
    quiet = PACK.evaluate(inputs, first.cooldowns, almost)
    assert (quiet.hits, quiet.cooldowns) == ([], first.cooldowns)
    again = PACK.evaluate(inputs, quiet.cooldowns, T0 + timedelta(days=1))
    assert [hit.rule_id for hit in again.hits] == ["exposure_over_limit"]
    assert again.cooldowns == {"exposure_over_limit": T0 + timedelta(days=1)}


def test_an_event_older_than_the_last_hit_stays_quiet():
    inputs = rule_inputs(over_limit("10500"), None, PACK.fields)
    assert PACK.evaluate(inputs, {"exposure_over_limit": T0}, T0 - timedelta(days=3)).hits == []


def test_a_cooldown_is_per_rule_and_rules_no_longer_in_the_set_are_forgotten():
    inputs = rule_inputs(past_due(31), None, PACK.fields)
    cooldowns = {"exposure_over_limit": T0, "retired_rule": T0}
    result = PACK.evaluate(inputs, cooldowns, T0)
    assert [hit.rule_id for hit in result.hits] == ["payment_over_30_days_late"]
    assert result.cooldowns == {"exposure_over_limit": T0, "payment_over_30_days_late": T0}


def test_a_zero_cooldown_alerts_every_bounce():
    inputs = rule_inputs(BLANK, reversal("bounced"), PACK.fields)
    first = PACK.evaluate(inputs, {}, T0)
    assert [hit.rule_id for hit in PACK.evaluate(inputs, first.cooldowns, T0).hits] == [
        "bounced_payment"
    ]


def test_rule_inputs_are_flat_and_absent_values_are_none():
    inputs = rule_inputs(replace(BLANK, invoice_count=20, dispute_rate=0.15), None)
    assert set(inputs) == set(FIELDS)
    assert inputs["features.disputed_invoices"] == 3
    assert inputs["features.dso_excess_days"] is None  # no terms
    assert inputs["features.order_amount_1d_vs_30d_avg"] is None  # no orders in 30 days
    assert inputs["features.exposure"] == Decimal(0)
    assert all(inputs[name] is None for name in FIELDS if name.startswith("event."))
    assert rule_inputs(BLANK, order("12.50"), ["event.type", "event.amount"]) == {
        "event.type": "order.placed",
        "event.amount": Decimal("12.50"),
    }


def test_the_given_fields_come_from_the_caller_and_are_none_when_it_lacks_them():
    given = {"event.days_late": 31, "unasked": 1}
    inputs = rule_inputs(BLANK, order("12.50"), [*GIVEN, "event.type"], given)
    assert inputs == {
        "event.days_late": 31,
        "features.dso_change_30d": None,
        "event.type": "order.placed",
    }
    assert set(GIVEN) <= set(FIELDS)


def single(when: dict, message: str = "hit") -> RuleSet:
    return RuleSet.model_validate(
        {
            "version": "t",
            "rules": [
                {"id": "r", "description": "d", "when": when, "severity": "info",
                 "cooldown": "PT0S", "message": message},
            ],
        }
    )  # fmt: skip


ORDERING = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
            "==": operator.eq, "!=": operator.ne}  # fmt: skip


@given(op=st.sampled_from(sorted(ORDERING)), actual=st.integers(-5, 5), value=st.integers(-5, 5))
def test_a_comparison_compares_like_python(op, actual, value):
    rules = single({"field": "features.days_past_due", "op": op, "value": value})
    hits = rules.evaluate({"features.days_past_due": actual}, {}, T0).hits
    assert bool(hits) == ORDERING[op](actual, value)


@pytest.mark.parametrize("op", sorted(ORDERING))
def test_an_absent_value_compares_false(op):
    rules = single({"field": "features.credit_limit", "op": op, "value": 0})
    assert rules.evaluate({"features.credit_limit": None}, {}, T0).hits == []


@pytest.mark.parametrize(
    ("op", "actual", "holds"),
    [("==", None, True), ("==", "DE", False), ("!=", None, False), ("!=", "DE", True)],
)
def test_null_tests_absence(op, actual, holds):
    rules = single({"field": "features.country", "op": op, "value": None})
    assert bool(rules.evaluate({"features.country": actual}, {}, T0).hits) == holds


@pytest.mark.parametrize(("country", "holds"), [("DE", True), ("FR", True), ("IT", False),
                                                (None, False)])  # fmt: skip
def test_in_matches_a_list(country, holds):
    rules = single({"field": "features.country", "op": "in", "value": ["DE", "FR"]})
    assert bool(rules.evaluate({"features.country": country}, {}, T0).hits) == holds


def test_money_thresholds_are_exact_decimals():
    rules = single({"field": "features.exposure", "op": "==", "value": 0.1})
    assert rules.evaluate({"features.exposure": Decimal("0.1")}, {}, T0).hits
    above = single({"field": "features.exposure", "op": ">", "value": "1000.00"})
    assert above.evaluate({"features.exposure": Decimal("1000.01")}, {}, T0).hits
    assert not above.evaluate({"features.exposure": Decimal("1000.00")}, {}, T0).hits


def test_any_and_all_nest():
    rules = single(
        {"any": [{"field": "features.dso", "op": ">", "value": 90},
                 {"all": [{"field": "event.type", "op": "in", "value": ["order.placed"]},
                          {"field": "features.limit_use", "op": ">=", "value": 0.9}]}]}
    )  # fmt: skip
    assert rules.evaluate({"features.dso": 91.0}, {}, T0).hits
    heavy_order = {"event.type": "order.placed", "features.limit_use": 0.9}
    assert rules.evaluate(heavy_order, {}, T0).hits
    assert not rules.evaluate({**heavy_order, "features.limit_use": 0.8}, {}, T0).hits


def test_an_absent_placeholder_shows_n_a():
    when = {"field": "features.dso", "op": ">", "value": 1}
    rules = single(when, "limit {features.credit_limit}")
    assert rules.evaluate({"features.dso": 2.0}, {}, T0).hits[0].message == "limit n/a"


RULE = {
    "id": "late",
    "description": "late",
    "when": {"field": "features.days_past_due", "op": ">", "value": 30},
    "severity": "warning",
    "cooldown": "P7D",
    "message": "{features.days_past_due} days",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"when": {"field": "features.days_late", "op": ">", "value": 3}},
         "unknown field 'features.days_late'"),
        ({"when": {"field": "features.dso", "op": "=~", "value": 3}},
         "op: Input should be '>', '>=', '<', '<=', '==', '!=' or 'in'"),
        ({"cooldown": "7 days"}, "cooldown: '7 days' is not an ISO 8601 duration"),
        ({"cooldown": "P1M"}, "cooldown: 'P1M' is not an ISO 8601 duration"),
        ({"severity": "urgent"}, "severity: Input should be 'info', 'warning' or 'critical'"),
        ({"when": {"field": "event.type", "op": "==", "value": "payment.recieved"}},
         "unknown event type 'payment.recieved' (did you mean 'payment.received'?)"),
        ({"when": {"field": "features.country", "op": ">", "value": "DE"}},
         "'>' compares numbers; features.country holds text"),
        ({"when": {"field": "features.dso", "op": ">", "value": "high"}},
         "features.dso holds numbers, not 'high'"),
        ({"when": {"field": "features.dso", "op": "in", "value": 3}},
         "'in' needs a non-empty list"),
        ({"when": {"all": []}}, "when.all.all: Tuple should have at least 1 item"),
        ({"message": "{features.dso_days}"}, "placeholder {features.dso_days}: unknown field"),
        ({"message": "{features.country:.2f}"}, "bad format for text"),
        ({"id": "has space"}, "id: String should match pattern"),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_an_invalid_rule_is_refused_with_a_reason_naming_the_problem(change, problem):
    with pytest.raises(ValidationError) as refused:
        RuleSet.model_validate({"version": "v2", "rules": [{**RULE, **change}]})
    reason = describe_invalid(refused.value)
    assert problem in reason
    assert reason.startswith("rules.0.")
    assert "\n" not in reason


def test_duplicate_ids_and_a_missing_version_are_refused():
    with pytest.raises(ValidationError) as refused:
        RuleSet.model_validate({"version": "v2", "rules": [RULE, RULE]})
    assert describe_invalid(refused.value) == "<document>: duplicate rule id 'late'"
    with pytest.raises(ValidationError) as refused:
        RuleSet.model_validate({"rules": [RULE]})
    assert describe_invalid(refused.value) == "version: Field required"


def test_yaml_that_does_not_parse_is_refused_in_one_line():
    with pytest.raises(ValueError, match=r"^not valid YAML: ") as refused:
        RuleSet.from_yaml("version: [unclosed")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "span"),
    [("PT0S", timedelta(0)), ("PT30M", timedelta(minutes=30)), ("P2W", timedelta(days=14)),
     ("P1DT12H", timedelta(days=1, hours=12)), ("PT1.5S", timedelta(seconds=1.5))],
)  # fmt: skip
def test_durations(text, span):
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "1D", "P1Y", "P-1D", "pt1h"])
def test_bad_durations(text):
    with pytest.raises(ValueError, match="is not an ISO 8601 duration"):
        parse_duration(text)


TYPES = sorted(EVENT_TYPES)
TYPE_CONDITIONS = st.one_of(
    st.builds(lambda op, value: {"field": "event.type", "op": op, "value": value},
              st.sampled_from(["==", "!="]), st.sampled_from([*TYPES, None])),
    st.builds(lambda values: {"field": "event.type", "op": "in", "value": values},
              st.lists(st.sampled_from(TYPES), min_size=1, max_size=3)),
    st.just({"field": "features.days_past_due", "op": ">=", "value": 0}),
)  # fmt: skip
CONDITIONS = st.recursive(
    TYPE_CONDITIONS,
    lambda inner: st.builds(lambda key, parts: {key: parts}, st.sampled_from(["all", "any"]),
                            st.lists(inner, min_size=1, max_size=3)),
    max_leaves=6,
)  # fmt: skip


@given(CONDITIONS)
def test_a_rule_is_passed_over_only_for_event_types_it_cannot_fire_on(when: dict):
    rules = single(when)
    for event_type in [*TYPES, None]:
        inputs = {"event.type": event_type, "features.days_past_due": 0}
        fires = rules.active[0].check.holds(inputs)
        assert bool(rules.evaluate(inputs, {}, T0).hits) == fires, event_type
