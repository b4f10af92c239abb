"""The console's analytics in a real browser: totals in the reporting currency of the ``fx``
document published with ``riskstream control`` (followed live), aging, tier migrations, money
at risk, the history's charts, a customer's score history and orders, and the audit export.
Redis is seeded through the workers' own Redis sink, review events are produced on the
reviews topic as the console sends them."""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import redis
from playwright.sync_api import BrowserContext, expect

from schemas.codec import dumps
from schemas.events import CaseAcknowledged, OrderReleased
from schemas.outputs import (
    CaseEntry,
    CustomerRisk,
    OrderDecision,
    OrderReview,
    Reason,
    RiskChange,
    Versions,
)
from tests.browser.browsing import Console, off_loop, sign_in
from tests.browser.test_console_pages import case, cells, keep, shoot
from tests.integration import harness
from tests.integration.test_control import control

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
FX = """
kind: fx
version: fx-test-1
body:
  reporting: EUR
  rates: {USD: "0.5"}
"""


def picture(customer_id: str, currency: str, exposure: str, score: float, dso: float,
            **aging: str) -> CustomerRisk:  # fmt: skip
    tier = "high" if score >= 70 else "medium" if score >= 40 else "low"
    return CustomerRisk(
        customer_id=customer_id, as_of=NOW, revision=2, currency=currency, exposure=exposure,
        open_invoices=1, overdue_balance=aging.get("aging_31_60", "0"), days_past_due=40,
        score=score, tier=tier, dso=dso, avg_days_late=4.5, on_time_share=0.8, **aging,
    )  # fmt: skip


def change(customer_id: str, number: int, score: float, tier: str, before: str | None,
           hours_ago: int) -> RiskChange:  # fmt: skip
    return RiskChange(
        change_id=f"rc-{customer_id}-{number}", customer_id=customer_id,
        event_time=NOW - timedelta(hours=hours_ago), score=score, tier=tier,
        previous_tier=before, previous_score=None if before is None else 20.0,
        reasons=[Reason(indicator="days_past_due", value=40.0, contribution=score - 10)],
        source_event_id=f"e-{number}", versions=Versions(scorecard="default", tiers="default"),
    )  # fmt: skip


async def seed(settings) -> None:
    await keep(
        settings,
        picture("a-eur", "EUR", "1000.00", 80.0, 60.0,
                aging_current="400.00", aging_31_60="600.00"),
        picture("a-usd", "USD", "4000.00", 30.0, 20.0, aging_current="4000.00"),
        picture("a-jpy", "JPY", "90000", 50.0, 45.0, aging_over_90="90000"),
        change("a-eur", 1, 35.0, "low", None, 30),
        change("a-eur", 2, 80.0, "high", "low", 2),
        change("a-jpy", 3, 50.0, "medium", "low", 1),
        OrderDecision(decision_id="d-9", customer_id="a-eur", order_id="o-9", outcome="review",
                      reasons=["limit_breach"], event_time=NOW - timedelta(hours=1),
                      source_event_id="o-9", figures={"order_amount": "300.00",
                      "currency": "EUR"}, versions=Versions(decisions="default")),
    )  # fmt: skip


@pytest.fixture(scope="module")
def seeded(console: Console) -> Console:
    off_loop(seed(console.settings))
    return console


def history(console: Console) -> list[dict]:
    client = redis.Redis.from_url(console.settings.redis_url, decode_responses=True)
    key = f"{console.settings.redis_prefix}:history:portfolio"
    return [orjson.loads(fields["json"]) for _, fields in client.xrange(key)]


def currencies(page) -> list[str]:
    page.reload()
    return cells(page, "currencies", "currency")


def rates_shown(page, text: str) -> bool:
    page.reload()
    return text in page.locator("#rates").inner_text()


def test_totals_follow_the_rates_in_force_and_the_portfolio_shows_its_history(
    seeded: Console, person: BrowserContext, tmp_path: Path
):
    # The console sampled the portfolio when it started, with no rates in force.
    [first] = history(seeded)
    assert first["fx"] == "default" and first["reporting"] is None
    page = sign_in(person, seeded, "ana.k")
    expect(page.locator("#rates")).to_contain_text("No exchange rates in force")
    # What was read for that sample serves the pages for 2 seconds.
    assert harness.wait_for(lambda: currencies(page) == ["EUR", "JPY", "USD"], 10)
    assert page.locator("svg").count() == 0  # one sample: no line yet

    (tmp_path / "fx.yaml").write_text(FX)
    published = control(seeded.env, "publish", str(tmp_path / "fx.yaml"))
    assert published.stdout == "fx fx-test-1 in force (was the built-in default)\n"
    # Two samples of the past, as the console would have taken them, make a line (its own
    # sample, taken while the test seeded Redis, is left out).
    client = redis.Redis.from_url(seeded.settings.redis_url, decode_responses=True)
    client.delete(f"{seeded.settings.redis_prefix}:history:portfolio")
    for days, index, dso in ((2, 40.0, 30.0), (1, 50.0, 35.0)):
        at = (NOW - timedelta(days=days)).isoformat().replace("+00:00", "Z")
        point = {
            "at": at,
            "fx": "fx-test-1",
            "reporting": "EUR",
            "groups": {
                "EUR": {"customers": 2, "exposure": "3000.00", "risk_index": index, "dso": dso}
            },
        }
        client.xadd(f"{seeded.settings.redis_prefix}:history:portfolio",
                    {"at": at, "json": orjson.dumps(point).decode()})  # fmt: skip

    # The console follows the control topic: the rates are in force without a restart.
    assert harness.wait_for(lambda: rates_shown(page, "Totals in EUR at rates fx-test-1"), 30)
    expect(page.locator("#rates")).to_contain_text("1 USD = 0.5 EUR")
    # EUR 1000 + USD 4000 x 0.5; JPY has no rate and stays in its own currency.
    assert cells(page, "currencies", "currency") == ["EUR", "JPY"]
    assert cells(page, "currencies", "exposure") == ["3,000.00", "90,000.00"]
    assert cells(page, "currencies", "rates") == ["fx-test-1", "-"]
    assert list(zip(cells(page, "aging", "bucket"), cells(page, "aging", "currency"),
                    cells(page, "aging", "amount"), strict=True)) == [
        ("current", "EUR", "2,400.00"), ("31-60", "EUR", "600.00"), ("90+", "JPY", "90,000.00")
    ]  # fmt: skip
    # Written to the feed in the last 7 days: a-eur low -> high, a-jpy low -> medium, and
    # a-eur's first tier.
    assert list(zip(cells(page, "migrations", "from"), cells(page, "migrations", "to"),
                    cells(page, "migrations", "direction"), strict=True)) == [
        ("low", "high", "riskier"), ("low", "medium", "riskier"), ("unscored", "low", "first tier")
    ]  # fmt: skip
    # Money at risk, exposure x score/100: a-eur 800 EUR, a-usd 1200 USD = 600 EUR; a-jpy
    # 45000 JPY has no rate and comes after those compared in EUR.
    assert cells(page, "top-at-risk", "customer_id") == ["a-eur", "a-usd", "a-jpy"]
    assert cells(page, "top-at-risk", "reported") == ["800.00", "600.00", "45,000.00"]
    chart = page.locator("#chart-risk-index")
    expect(chart.locator("figcaption")).to_have_text(
        "Risk index (exposure-weighted mean score): 50.0 score now"
    )
    assert chart.locator("polyline").get_attribute("points").count(",") == 2
    assert "40.0" in chart.locator("text").all_text_contents()
    expect(page.locator("#chart-dso figcaption")).to_contain_text("35.0 days now")
    shoot(page, "portfolio-analytics")
    export = page.request.get(seeded.url + "/export/portfolio/tiers.csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    assert [(row["tier"], row["currency"], row["exposure"], row["rates"]) for row in rows] == [
        ("high", "EUR", "1000.00", "fx-test-1"), ("medium", "JPY", "90000", ""),
        ("low", "EUR", "2000.000", "fx-test-1"),
    ]  # fmt: skip

    rolled_back = control(seeded.env, "rollback", "fx")
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert harness.wait_for(lambda: rates_shown(page, "No exchange rates in force"), 30)
    assert cells(page, "currencies", "currency") == ["EUR", "JPY", "USD"]


def test_a_customer_page_shows_its_score_history_orders_and_aging(
    seeded: Console, person: BrowserContext
):
    off_loop(keep(seeded.settings, OrderReview(
        review_id="or-9", decision_id="d-9", order_id="o-9", customer_id="a-eur",
        outcome="released", actor="bo.r", note="guarantee received", event_time=NOW,
        source_event_id="rev-9",
    )))  # fmt: skip
    page = sign_in(person, seeded, "ana.k", "/customers/a-eur")
    assert cells(page, "score-history", "change") == ["low -> high", "unscored -> low"]
    assert cells(page, "score-history", "reason_text") == [
        "days_past_due +70.0", "days_past_due +25.0"
    ]  # fmt: skip
    assert list(zip(cells(page, "decisions", "outcome"), cells(page, "decisions", "by"),
                    cells(page, "decisions", "why"), strict=True)) == [
        ("released", "bo.r", "guarantee received"), ("review", "riskstream", "limit_breach")
    ]  # fmt: skip
    assert page.locator("#customer-aging td").all_inner_texts() == [
        "400.00 EUR", "0.00 EUR", "600.00 EUR", "0.00 EUR", "0.00 EUR"
    ]  # fmt: skip
    expect(page.locator("dd.dso")).to_have_text("60.0 days")
    shoot(page, "customer-history")


def test_the_audit_trail_exports_every_action_of_the_range_with_the_versions_in_force(
    seeded: Console, person: BrowserContext
):
    settings = seeded.settings
    acknowledged = CaseAcknowledged(event_id="rev-ack-1", customer_id="a-eur", case_id="k-9",
                                    actor="ana.k", note="=called", event_time=NOW)  # fmt: skip
    released = OrderReleased(
        event_id="rev-rel-1",
        customer_id="a-eur",
        decision_id="d-9",
        order_id="o-9",
        actor="bo.r",
        event_time=NOW + timedelta(seconds=1),
    )
    old = CaseAcknowledged(event_id="rev-old", customer_id="a-eur", case_id="k-9", actor="cy.d",
                           event_time=NOW - timedelta(days=40))  # fmt: skip
    off_loop(harness.produce(settings, [
        (settings.topics.reviews, b"a-eur", dumps(event)) for event in (acknowledged, released, old)
    ]))  # fmt: skip
    # The worker applied the acknowledgement: its case revision names the versions in force.
    step = CaseEntry(at=NOW, actor="ana.k", action="acknowledged", note="=called")
    off_loop(keep(settings, case("k-9", "a-eur", 2, "acknowledged", step).model_copy(update={
        "source_event_id": "rev-ack-1", "customer_id": "a-eur",
        "versions": Versions(ruleset="default-3", scorecard="default")})))  # fmt: skip

    page = sign_in(person, seeded, "ana.k", "/audit")
    today = NOW.date().isoformat()
    expect(page.locator("input[name=to]")).to_have_value(today)
    with page.expect_download() as download:
        page.click("button:text('Export CSV')")
    text = Path(download.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["who"], row["did"], row["on"], row["note"], row["applied"],
             row["versions in force"]) for row in rows] == [
        ("ana.k", "case.acknowledged", "case k-9", "'=called", "yes",
         "ruleset default-3; scorecard default"),
        ("bo.r", "order.released", "decision d-9", "", "not yet", ""),
    ]  # fmt: skip
    assert download.value.suggested_filename.startswith("riskstream-audit-")
    older = (NOW - timedelta(days=41)).date().isoformat()
    then = page.request.get(f"{seeded.url}/export/audit.csv?from={older}&to={older}")
    assert then.ok and then.text().count("\n") == 1  # the header alone: rev-old is a day later
    wrong = page.request.get(f"{seeded.url}/export/audit.csv?from={today}&to={older}")
    assert wrong.status == 400
    assert wrong.text() == f"the range ends before it starts: from {today} to {older}"
