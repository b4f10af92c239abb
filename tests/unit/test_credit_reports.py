"""Credit reports: the contract of ``customer.credit_report``, how the state keeps reports
whatever their order, and the features read from them."""

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from typer.testing import CliRunner

from features import CustomerState
from features.catalog import FEATURES, model_features
from features.config import FeatureConfig
from features.industry import IndustryRisk
from schemas import CreditLimitUpdated, CreditReport, InvalidEvent, Money, OrderPlaced, parse_event
from schemas.events import InputEvent
from schemas.jsonschema import SCHEMA_DIR
from schemas.money import SignedMoney
from streams.cli.commands import app
from streams.engine import CustomerRecord, Engine, RiskConfig
from streams.engine.control import InvalidDocument, apply_document, parse_document

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPORT_FEATURES = (
    "bureau_score", "report_age_days", "payment_index", "leverage", "negative_equity",
    "bureau_score_drop", "bureau_rating_drop", "bureau_rating", "industry_code", "industry_risk",
)  # fmt: skip
CONFIG = FeatureConfig()
REPORT = {
    "type": "customer.credit_report",
    "event_id": "r-1",
    "customer_id": "c1",
    "event_time": "2026-03-02T09:00:00Z",
    "source": "creditsafe",
    "as_of": "2026-03-01",
    "score": 62,
    "score_min": 0,
    "score_max": 100,
}


def raw(**changes: object) -> bytes:
    document = {**REPORT, **changes}
    return orjson.dumps({k: v for k, v in document.items() if v is not None})


def report(event_id: str, as_of: date, score: float, source: str = "creditsafe", **fields):
    return CreditReport(
        event_id=event_id, customer_id="c1", event_time=T0, source=source, as_of=as_of,
        score=score, score_min=0, score_max=100, **fields,
    )  # fmt: skip


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def negative(amount: str) -> SignedMoney:
    return SignedMoney(amount=amount, currency="EUR")


def test_a_report_is_read_with_its_score_normalised():
    event = parse_event(
        raw(payment_index=12, rating="B+", industry_code="C10.7"), family="customer"
    )
    assert isinstance(event, CreditReport)
    assert (event.normalised_score, event.payment_index, event.rating) == (0.62, 12, "B+")
    inverted = parse_event(raw(score=200, score_min=100, score_max=600, higher_is_safer=False))
    assert inverted.normalised_score == 0.8


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"score": 101}, "outside the source's scale"),
        ({"score": -1}, "outside the source's scale"),
        ({"score_min": 100, "score_max": 100, "score": 100}, "must be below score_max"),
        ({"score_min": 100, "score_max": 0}, "must be below score_max"),
        ({"score": "62"}, "score"),
        ({"score": True}, "score"),
        ({"payment_index": -3}, "payment_index"),
        ({"payment_index": 2.5}, "payment_index"),
        ({"employees": -1}, "employees"),
        ({"industry_code": "C 10"}, "industry_code"),
        ({"industry_code": "C" * 17}, "industry_code"),
        ({"source": "s" * 33}, "source"),
        ({"rating": "r" * 17}, "rating"),
        ({"as_of": "2026-03-03"}, "after the event's date"),
        ({"equity": {"amount": 12.5, "currency": "EUR"}}, "floats"),
        ({"equity": {"amount": "+12.50", "currency": "EUR"}}, "minus sign if negative"),
        ({"equity": {"amount": "--12.50", "currency": "EUR"}}, "minus sign if negative"),
        ({"equity": {"amount": "\u221212.50", "currency": "EUR"}}, "minus sign if negative"),
        ({"revenue": {"amount": "-1.00", "currency": "EUR"}}, "revenue.amount"),
        ({"total_debt": {"amount": "-1.00", "currency": "EUR"}}, "total_debt.amount"),
        (
            {
                "equity": {"amount": "-1.00", "currency": "USD"},
                "total_debt": {"amount": "1.00", "currency": "EUR"},
            },
            "one currency",
        ),
        (
            {
                "equity": {"amount": "1.00", "currency": "EUR"},
                "total_debt": {"amount": "1.00", "currency": "USD"},
            },
            "one currency",
        ),
    ],
)
def test_an_invalid_report_is_refused_saying_why(changes, words):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw(**changes))
    assert caught.value.code == "invalid"
    assert words in str(caught.value)


def test_an_invalid_report_is_a_dead_letter_and_the_replay_goes_on(tmp_path):
    events = [
        REPORT,
        {**REPORT, "event_id": "r-2", "score": 140},
        {**REPORT, "event_id": "r-3", "equity": {"amount": "10.00", "currency": "EUR"}},
        {**REPORT, "event_id": "r-4", "equity": {"amount": "10.00", "currency": "USD"}},
    ]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    result = CliRunner().invoke(
        app, ["backtest", "--quiet", str(source), "--output", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.stderr
    letters = [
        orjson.loads(line)
        for line in (tmp_path / "out" / "deadletter.jsonl").read_bytes().splitlines()
    ]
    assert [(letter["source_offset"], letter["reason_code"]) for letter in letters] == [
        (2, "invalid"),
        (4, "inconsistent"),  # a USD report of a customer in EUR
    ]
    assert "outside the source's scale" in letters[0]["reason"]


NEGATIVE_EQUITY = {
    "total_debt": {"amount": "1500000.00", "currency": "EUR"},
    "equity": {"amount": "-250000.0001", "currency": "EUR"},
}


def test_a_negative_equity_is_accepted_and_kept_exact():
    event = parse_event(raw(**NEGATIVE_EQUITY), family="customer")
    assert event.equity.amount == Decimal("-250000.0001")
    state = state_of([event])
    equity = state.reports.sources["creditsafe"][0][8]  # as of, time, id, score, ..., equity
    assert equity == -2_500_000_001  # in units of 1/10,000
    assert CustomerState.from_bytes(state.to_bytes()).reports.sources == state.reports.sources


def test_the_json_schema_allows_a_negative_equity_and_no_other_negative_amount():
    schema = Draft202012Validator(
        orjson.loads((SCHEMA_DIR / "customer.credit_report.schema.json").read_bytes())
    )
    assert schema.is_valid(orjson.loads(raw(**NEGATIVE_EQUITY)))
    for field in ("revenue", "total_debt"):
        assert not schema.is_valid({**REPORT, field: {"amount": "-1.00", "currency": "EUR"}})
    for amount in ("+1.00", "--1.00", "-", "-.5"):
        assert not schema.is_valid({**REPORT, "equity": {"amount": amount, "currency": "EUR"}})


def test_negative_signed_money_is_refused_where_money_is_never_negative():
    with pytest.raises(ValidationError, match=r"credit_limit\.amount"):
        CreditLimitUpdated(
            event_id="l1", customer_id="c1", event_time=T0,
            credit_limit=SignedMoney(amount="-1.00", currency="EUR"),
        )  # fmt: skip


def test_a_negative_equity_is_flagged_and_has_no_leverage():
    features = state_of([parse_event(raw(**NEGATIVE_EQUITY))]).features(T0, CONFIG)
    assert (features.bureau.negative_equity, features.bureau.leverage) == (True, None)
    assert model_features(features)["negative_equity"] == 1.0
    positive = state_of(REPORTS).features(T0, CONFIG).bureau
    assert (positive.negative_equity, positive.leverage) == (False, 3.0)


def test_a_report_without_accounts_names_no_currency_and_with_them_names_theirs():
    assert report("r1", date(2026, 3, 1), 50).currency is None
    assert report("r1", date(2026, 3, 1), 50, equity=eur("10.00")).currency == "EUR"


REPORTS = [
    report("a1", date(2026, 1, 1), 80, rating="A", payment_index=3),
    report("a2", date(2026, 2, 1), 55, rating="C", total_debt=eur("900"), equity=eur("300")),
    report("a0", date(2025, 12, 1), 90),
    report("b1", date(2026, 1, 15), 70, source="dnb", payment_index=20, industry_code="C10"),
    report("b2", date(2026, 1, 10), 60, source="dnb", employees=12),
]


def state_of(events) -> CustomerState:
    state = CustomerState.new("c1")
    for event in events:
        state.apply(event, CONFIG)
    return state


def test_the_features_read_the_newest_report_and_the_drop_since_the_one_before():
    bureau = state_of(REPORTS).features(T0, CONFIG).bureau
    assert bureau.score == 0.55  # creditsafe's report of February is the newest
    assert round(bureau.score_drop, 4) == 0.25  # 0.80 in January
    assert bureau.rating == "C"
    assert bureau.payment_index == 20  # the newest report that gives one: dnb's of 15 January
    assert bureau.leverage == 3.0
    assert bureau.industry_code == "C10"
    assert bureau.report_age_days == (T0 - datetime(2026, 2, 1, tzinfo=UTC)) / timedelta(days=1)


IN_DEBT = [
    *REPORTS[2:],
    report("a3", date(2026, 2, 15), 20, total_debt=eur("900"), equity=negative("-300.0050")),
    report("a4", date(2026, 2, 1), 35, total_debt=eur("900"), equity=eur("300")),
]
"""Reports, the newest of which says that the liabilities exceed the assets."""


RATED = [
    report("c1", date(2026, 1, 1), 80, rating="A"),
    report("c2", date(2026, 2, 1), 60, rating="C"),
    report("d1", date(2026, 1, 10), 70, source="dnb", rating="2"),
    report("d2", date(2026, 1, 20), 70, source="dnb", rating="1"),
    report("c0", date(2025, 12, 1), 85, rating="A"),
]
"""creditsafe fell from A to C in February (and was A in December); dnb rose from 2 to 1."""
SCALES = IndustryRisk(rating_scales={"creditsafe": ("A", "B", "C", "D"), "dnb": ("1", "2", "3")})


@pytest.mark.parametrize(
    "reports", [REPORTS, IN_DEBT, RATED], ids=["positive", "negative-equity", "rated"]
)
def test_reports_in_any_order_make_the_same_state_and_bytes(reports):
    expected = state_of(reports).to_bytes()
    features = state_of(reports).features(T0, CONFIG, SCALES)
    for order in itertools.permutations(reports):
        assert state_of(order).to_bytes() == expected
        assert state_of(order).features(T0, CONFIG, SCALES) == features
    assert CustomerState.from_bytes(expected).features(T0, CONFIG, SCALES) == features


def test_a_newer_negative_equity_is_not_hidden_by_an_older_leverage():
    bureau = state_of(IN_DEBT).features(T0, CONFIG).bureau
    assert (bureau.negative_equity, bureau.leverage) == (True, None)  # not a4's 3.0


def test_at_most_five_sources_are_kept_the_oldest_forgotten():
    sources = [report(f"s{n}", date(2026, 1, n + 1), 50, source=f"s{n}") for n in range(7)]
    random.Random(5).shuffle(sources)
    state = state_of(sources)
    assert sorted(state.reports.sources) == ["s2", "s3", "s4", "s5", "s6"]


def test_without_reports_the_features_are_absent_and_the_bytes_as_before():
    state = CustomerState.new("c1")
    features = state.features(T0, CONFIG)
    assert set(features.bureau) == {None}
    assert b"reports" not in state.to_bytes()


def test_a_report_in_another_currency_than_the_customers_is_inconsistent():
    state = state_of([report("r1", date(2026, 3, 1), 50, equity=eur("10"))])
    usd = report("r2", date(2026, 3, 1), 50, equity=Money(amount="10", currency="USD"))
    with pytest.raises(InvalidEvent, match="inconsistent"):
        state.apply(usd, CONFIG)


def test_the_catalog_names_the_report_features_for_rules_and_the_scorecard():
    features = state_of(REPORTS).features(T0, CONFIG)
    read = {name: FEATURES[name].read(features) for name in REPORT_FEATURES}
    assert read == {
        "bureau_score": 0.55,
        "report_age_days": features.bureau.report_age_days,
        "payment_index": 20,
        "leverage": 3.0,
        "negative_equity": False,
        "bureau_score_drop": features.bureau.score_drop,
        "bureau_rating_drop": 0,  # A to C, but the built-in default has no creditsafe scale
        "bureau_rating": "C",
        "industry_code": "C10",
        "industry_risk": None,  # the built-in industry document maps nothing
    }
    empty = CustomerState.new("c1").features(T0, CONFIG)
    assert {FEATURES[name].read(empty) for name in REPORT_FEATURES} == {None}


def test_the_industry_document_sets_industry_risk_by_the_longest_prefix():
    document = parse_document(
        "kind: industry\nversion: nace-1\nbody: {levels: {C: medium, C10: low, F41: high}}"
    )
    engine = Engine(risk=apply_document(RiskConfig(), document))
    risks = [
        engine.features(state_of([report("r1", date(2026, 3, 1), 50, industry_code=code)]), T0)
        for code in ("C10.7", "C20", "F41.2", "A01")
    ]
    assert [features.industry_risk for features in risks] == [0.0, 0.5, 1.0, None]
    assert Engine().features(state_of(REPORTS), T0).industry_risk is None  # maps nothing


def test_an_industry_document_with_an_unknown_level_is_refused():
    with pytest.raises(InvalidDocument, match=r"body\.levels\.C10"):
        parse_document("kind: industry\nversion: nace-1\nbody: {levels: {C10: severe}}")


def scales(body: str) -> Engine:
    """An engine with an ``industry`` document whose rating scales are ``body``."""
    document = parse_document(f"kind: industry\nversion: scales-1\nbody: {{rating_scales: {body}}}")
    return Engine(risk=apply_document(RiskConfig(), document))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{dnb: [A, B, A]}", "body.rating_scales.dnb: 'A' is listed twice: a scale lists each"),
        ("{dnb: [A]}", "body.rating_scales.dnb: a scale orders at least two ratings, best first"),
        ("{dnb: []}", "body.rating_scales.dnb: a scale orders at least two ratings"),
        ("{dnb: [1, 2, 3]}", "body.rating_scales.dnb: ratings are strings (quote those like"),
        ("{dnb: [A, 'B B']}", "body.rating_scales.dnb.1: String should match pattern"),
        ("{dnb: A}", "body.rating_scales.dnb: a scale is a list of ratings, best first, not str"),
        (f"{{{'s' * 33}: [A, B]}}", "String should have at most 32 characters"),
    ],
)
def test_a_bad_rating_scale_is_refused_saying_where_and_why(body, problem):
    with pytest.raises(InvalidDocument) as refused:
        scales(body)
    assert problem in str(refused.value)


def rating_drop(engine: Engine, *reports: CreditReport) -> int | None:
    return engine.features(state_of(reports), T0).bureau.rating_drop


def test_the_rating_drop_is_counted_on_the_newest_sources_own_scale():
    engine = scales("{creditsafe: [A, B, C, D], dnb: ['1', '2', '3']}")
    assert rating_drop(engine, *RATED) == 2  # creditsafe's report of February is the newest
    assert rating_drop(engine, *RATED[2:]) == -1  # dnb alone: up one
    assert rating_drop(Engine(), *RATED) == 0  # the built-in default has no creditsafe scale
    assert rating_drop(engine) is None  # no report


@pytest.mark.parametrize(
    ("reports", "why"),
    [
        ([RATED[1]], "no earlier report of the source"),
        ([RATED[0], report("c2", date(2026, 2, 1), 60)], "the newest gives no rating"),
        ([RATED[0], report("c2", date(2026, 2, 1), 60, rating="E")], "E is not on the scale"),
        ([RATED[0], report("c2", date(2026, 2, 1), 60, rating="C", source="dnb")], "two sources"),
    ],
)
def test_a_rating_drop_that_cannot_be_told_is_zero(reports, why):
    engine = scales("{creditsafe: [A, B, C, D], dnb: [A, B, C, D]}")
    assert rating_drop(engine, *reports) == 0, why


def test_a_bad_report_raises_the_engines_score_by_the_scorecards_weight():
    """Over the limit (limit_use 1.2: 15 of 100 points), then a report at the bottom of its
    scale: the bureau indicator adds its weight, 10, of 110 points."""
    engine, record = Engine(), CustomerRecord.new("c1")
    engine.process(record, CreditLimitUpdated(
        event_id="l1", customer_id="c1", event_time=T0 - timedelta(days=2),
        credit_limit=eur("1000"),
    ))  # fmt: skip
    over = engine.process(record, OrderPlaced(
        event_id="o1", customer_id="c1", event_time=T0 - timedelta(days=1), order_id="o1",
        amount=eur("1200"),
    ))  # fmt: skip
    assert over.picture.score == 15.0
    reported = engine.process(record, report("r1", date(2026, 3, 1), 0))
    assert reported.picture.score == round(100 * (15 + 10) / 110, 2)
    assert [(r.indicator, r.contribution) for r in reported.picture.reasons] == [
        ("limit_use", round(100 * 15 / 110, 2)),
        ("bureau_score", round(100 * 10 / 110, 2)),
    ]


def alerts_of(rule_id: str, *events: InputEvent, engine: Engine | None = None) -> list[str]:
    """The messages of the alerts of rule ``rule_id`` as ``engine`` processes the events."""
    engine, record = engine or Engine(), CustomerRecord.new("c1")
    alerts = [alert for event in events for alert in engine.process(record, event).alerts]
    return [alert.message for alert in alerts if alert.details["rule_id"] == rule_id]


def downgrades(*reports: CreditReport) -> list[str]:
    return alerts_of("bureau_downgrade", *reports)


def test_a_negative_equity_puts_the_leverage_indicator_at_its_worst():
    engine, record = Engine(), CustomerRecord.new("c1")
    levered = engine.process(record, parse_event(raw(**NEGATIVE_EQUITY)))
    assert ("leverage", 1.0) in [(r.indicator, r.value) for r in levered.picture.reasons]


def test_a_bureau_downgrade_alerts_once_with_its_drop():
    assert downgrades(
        report("r1", date(2026, 1, 1), 70),
        report("r2", date(2026, 2, 1), 40, rating="C"),
        report("r3", date(2026, 2, 1), 35, source="dnb"),  # another bureau: no earlier report
    ) == ["bureau score fell by 30% of its scale, to 40%; rating C"]


def test_a_small_drop_does_not_alert_and_a_drop_shown_late_does():
    assert downgrades(report("r1", date(2026, 1, 1), 70), report("r2", date(2026, 2, 1), 60)) == []
    # The report before the newest, coming late, shows the drop then.
    assert downgrades(report("r2", date(2026, 2, 1), 70), report("r1", date(2026, 1, 1), 90)) == [
        "bureau score fell by 20% of its scale, to 70%; rating n/a"
    ]


def test_a_downgrade_alerts_once_in_thirty_days():
    assert len(downgrades(
        report("r1", date(2026, 1, 1), 90),
        report("r2", date(2026, 2, 1), 70),
        report("r3", date(2026, 1, 15), 50, source="dnb"),  # creditsafe's drop still newest
    )) == 1  # fmt: skip


def test_a_rating_downgrade_alerts_once_on_the_sources_scale():
    engine = scales("{creditsafe: [A, B, C, D], dnb: [A, B, C, D]}")
    alerts = alerts_of(
        "bureau_rating_downgrade",
        report("r1", date(2026, 1, 1), 70, rating="A"),
        report("r2", date(2026, 2, 1), 68, rating="C"),  # down two: a score nearly the same
        OrderPlaced(event_id="o1", customer_id="c1", event_time=T0, order_id="o1",
                    amount=eur("100")),
        report("r3", date(2026, 2, 2), 68, source="dnb", rating="D"),  # another source
        engine=engine,
    )  # fmt: skip
    assert alerts == ["bureau rating fell to C (down 2 on its source's scale)"]


@pytest.mark.parametrize(
    ("ratings", "sources"),
    [
        (("C", "A"), ("creditsafe", "creditsafe")),  # an upgrade
        (("A", "A"), ("creditsafe", "creditsafe")),
        (("A", "D"), ("creditsafe", "dnb")),  # each source's first report
        (("A", "E"), ("creditsafe", "creditsafe")),  # E is on no scale
    ],
)
def test_no_rating_downgrade_without_a_fall_on_one_sources_scale(ratings, sources):
    engine = scales("{creditsafe: [A, B, C, D], dnb: [A, B, C, D]}")
    events = [
        report(f"r{n}", date(2026, n, 1), 70, source=source, rating=rating)
        for n, (rating, source) in enumerate(zip(ratings, sources, strict=True), start=1)
    ]
    assert alerts_of("bureau_rating_downgrade", *events, engine=engine) == []


def test_the_built_in_scale_is_the_generators_and_a_late_report_shows_its_fall():
    bureau = {"source": "bureau"}
    assert alerts_of(
        "bureau_rating_downgrade",
        report("r2", date(2026, 2, 1), 50, rating="C", **bureau),
        report("r1", date(2026, 1, 1), 80, rating="A", **bureau),  # dated before, came late
    ) == ["bureau rating fell to C (down 2 on its source's scale)"]


def test_the_late_payment_model_takes_the_report_numbers_absent_as_zero_beside_a_flag():
    taken = model_features(state_of(REPORTS).features(T0, CONFIG))
    assert (taken["has_credit_report"], taken["bureau_score"], taken["leverage"]) == (
        1.0,
        0.55,
        3.0,
    )
    assert taken["negative_equity"] == 0.0
    without = model_features(CustomerState.new("c1").features(T0, CONFIG))
    names = ("has_credit_report", "bureau_score", "report_age_days", "payment_index",
             "leverage", "negative_equity", "bureau_score_drop", "bureau_rating_drop",
             "industry_risk")  # fmt: skip
    assert {without[name] for name in names} == {0.0}
