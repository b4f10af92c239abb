"""The console in a real browser: sign in, every page, actions that arrive on the reviews topic
with their actor and note, and a change that a second browser sees arrive without reloading.

Redis is seeded through the workers' own Redis sink (pictures, alerts, credit actions, cases,
held orders), and what a worker would write once it applied an action is written so too.
Each page's screenshot is taken, into ``RISKSTREAM_SCREENSHOTS`` when it names a folder
(``RISKSTREAM_SCREENSHOTS=docs/console`` refreshes the documentation's), else a temporary one.
"""

import csv
import io
import os
import re
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from schemas.money import Money
from schemas.outputs import (
    Alert,
    Case,
    CaseEntry,
    CreditAction,
    CustomerRisk,
    OrderDecision,
    OrderReview,
    ProposalReview,
    Reason,
)
from sinks.redis import RedisSink
from tests.browser.browsing import TOKEN, Console, off_loop, sign_in
from tests.integration import harness

pytestmark = pytest.mark.integration

SHOTS = Path(os.environ.get("RISKSTREAM_SCREENSHOTS") or tempfile.mkdtemp(prefix="console-"))
NOW = datetime.now(UTC).replace(microsecond=0)


def picture(
    customer_id: str,
    currency: str,
    exposure: str,
    overdue: str,
    score: float | None,
    limit: str | None = None,
    reasons: tuple[tuple[str, float, float], ...] = (),
) -> CustomerRisk:
    tier = None if score is None else "high" if score >= 70 else "medium" if score >= 40 else "low"
    return CustomerRisk(
        customer_id=customer_id, as_of=NOW, revision=3, currency=currency, exposure=exposure,
        credit_limit=limit, limit_use=None if limit is None else float(exposure) / float(limit),
        open_invoices=2, overdue_balance=overdue, days_past_due=12 if overdue != "0" else 0,
        score=score, tier=tier,
        reasons=[Reason(indicator=name, value=value, contribution=points)
                 for name, value, points in reasons],
    )  # fmt: skip


CUSTOMERS = [
    picture("c-eur-1", "EUR", "12000.00", "3000.00", 81.0, "10000.00",
            (("days_past_due", 0.4, 20.0), ("limit_use", 0.9, 13.5))),
    picture("c-eur-2", "EUR", "500.00", "0", 22.0),
    picture("c-usd-1", "USD", "9000.00", "4000.00", 55.0),
    picture("c-usd-2", "USD", "100.00", "100.00", None),
]  # fmt: skip


def case(case_id: str, customer_id: str, revision: int, status: str, *steps: CaseEntry,
         **extra: Any) -> Case:  # fmt: skip
    """A revision of a case opened two hours ago, its ``steps`` since in its history."""
    opened = CaseEntry(at=NOW - timedelta(hours=2), actor="riskstream", action="opened",
                       alert_id="a-1")  # fmt: skip
    return Case(
        case_id=case_id, customer_id=customer_id, event_time=NOW, revision=revision,
        status=status, opened_at=NOW - timedelta(hours=2), updated_at=NOW, severity="critical",
        alert_count=2, alert_ids=["a-1", "a-2"], alert_kinds={"overdue": 1, "limit_breach": 1},
        money_at_risk=Money(amount=Decimal("12000.00"), currency="EUR"),
        probability_of_loss=0.6, priority=7200.0, score=81.0, tier="high",
        history=[opened, *steps],
        source_event_id=f"src-{revision}", **extra,
    )  # fmt: skip


async def keep(settings, *outputs: Any) -> None:
    """Write ``outputs`` to Redis as a worker does: through its Redis sink."""
    sink = RedisSink(settings.redis_url, prefix=settings.redis_prefix)
    await sink.setup()
    await sink.write(outputs)
    await sink.close()


async def seed(settings) -> None:
    await keep(
        settings,
        *CUSTOMERS,
        Alert(alert_id="a-1", customer_id="c-eur-1", event_time=NOW - timedelta(hours=2),
              kind="overdue", severity="critical", message="invoice inv-1 is 12 days overdue",
              source_event_id="tick-1"),
        Alert(alert_id="a-2", customer_id="c-eur-1", event_time=NOW - timedelta(hours=1),
              kind="limit_breach", severity="warning", message="exposure above the limit",
              source_event_id="o-1"),
        CreditAction(action_id="p-1", customer_id="c-eur-1", event_time=NOW, kind="shorten_terms",
                     reasons=["late_payments"], terms_days=15, source_event_id="inv-1"),
        case("k-1", "c-eur-1", 1, "open"),
        OrderDecision(decision_id="d-1", customer_id="c-usd-1", order_id="o-77", outcome="review",
                      reasons=["limit_use_high"], event_time=NOW - timedelta(minutes=30),
                      source_event_id="o-77",
                      figures={"order_amount": "2500.00", "currency": "USD"}),
    )  # fmt: skip


@pytest.fixture(scope="module")
def seeded(console: Console) -> Console:
    off_loop(seed(console.settings))
    return console


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def reviews_on_topic(console: Console, kind: str, timeout: float = 30) -> list[dict[str, Any]]:
    """The review events of type ``kind`` on the reviews topic, once there is one (or after
    ``timeout`` seconds)."""
    events = off_loop(harness.collect(
        console.settings, console.settings.topics.reviews,
        lambda found: any(event["type"] == kind for event in found), timeout=timeout,
    ))  # fmt: skip
    return [event for event in events if event["type"] == kind]


def cells(page: Page, table: str, column: str) -> list[str]:
    return page.locator(f"#table-{table} td.{column}").all_inner_texts()


def test_signing_in_wants_the_token_and_the_signin_cookie_is_strict_and_http_only(
    seeded: Console, person: BrowserContext
):
    page = person.new_page()
    answer = page.goto(seeded.url + "/cases")
    expect(page).to_have_url(re.compile(r"/signin\?next=/cases$"))
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    shoot(page, "signin")
    page.fill("input[name=actor]", "ana.k")
    page.fill("input[name=token]", "not-the-token-at-all")
    page.click("button:text('Sign in')")
    expect(page.locator(".problem")).to_have_text("that is not the token")
    assert person.cookies() == []
    page.fill("input[name=actor]", "ana.k")
    page.fill("input[name=token]", TOKEN)
    page.click("button:text('Sign in')")
    expect(page).to_have_url(seeded.url + "/cases")
    [cookie] = person.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    # A POST without the CSRF token of the sign-in is refused, though the cookie goes with it.
    form = {"action": "acknowledge", "customer_id": "c-eur-1", "case_id": "k-1", "nonce": "x"}
    assert page.request.post(seeded.url + "/act", form=form).status == 403
    # With it, but from a page of another site: refused too.
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    foreign = page.request.post(seeded.url + "/act", form=form | {"csrf": csrf},
                                headers={"Origin": "https://elsewhere.example"})  # fmt: skip
    assert foreign.status == 403
    # Signed out, the cookie is gone and the pages want a sign-in again.
    page.click("button:text('Sign out')")
    expect(page).to_have_url(re.compile(r"/signin$"))
    assert person.cookies() == []


def test_the_portfolio_totals_money_per_currency_and_ranks_customers(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k")
    assert cells(page, "currencies", "currency") == ["EUR", "USD"]
    assert cells(page, "currencies", "exposure") == ["12,500.00", "9,100.00"]
    assert cells(page, "currencies", "overdue") == ["3,000.00", "4,100.00"]
    assert cells(page, "tiers", "tier") == ["high", "medium", "low", "unscored"]
    assert cells(page, "top-score", "customer_id") == ["c-eur-1", "c-usd-1", "c-eur-2", "c-usd-2"]
    shoot(page, "portfolio")
    export = page.request.get(seeded.url + "/export/portfolio/currencies.csv")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text())))
    assert [(row["currency"], row["exposure"]) for row in rows] == [
        ("EUR", "12500.00"), ("USD", "9100.00")
    ]  # fmt: skip


def test_the_worklist_ranks_overdue_money_by_probability_of_loss(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/worklist")
    # c-usd-1: 4000 x 0.55 (score); c-eur-1: 3000 x 0.6 (its case); c-usd-2: 100, no score.
    assert cells(page, "worklist", "customer_id") == ["c-usd-1", "c-eur-1", "c-usd-2"]
    assert cells(page, "worklist", "expected_loss") == ["2,200.00", "1,800.00", "100.00"]
    shoot(page, "worklist")
    export = page.request.get(seeded.url + "/export/worklist/worklist.csv")
    assert export.text().splitlines()[1].startswith("c-usd-1,USD,4000.00,")


def test_a_case_acknowledged_in_one_browser_reaches_the_topic_and_shows_in_another(
    seeded: Console, browser
):
    ana, bo = browser.new_context(), browser.new_context()
    try:
        watching = sign_in(bo, seeded, "bo.r", "/cases")
        expect(watching.locator("#table-cases td.status")).to_have_text(["open"])
        acting = sign_in(ana, seeded, "ana.k", "/cases")
        row = acting.locator("#table-cases tr[data-id='k-1']")
        row.locator("summary").click()
        row.locator("textarea[name=note]").fill("called the customer, payment promised")
        row.locator("button[value=acknowledge]").click()
        expect(acting.locator("#flash")).to_contain_text("Sent case.acknowledged")
        shoot(acting, "cases")
        [event] = reviews_on_topic(seeded, "case.acknowledged")
        assert (event["customer_id"], event["case_id"], event["actor"], event["note"]) == (
            "c-eur-1", "k-1", "ana.k", "called the customer, payment promised"
        )  # fmt: skip
        # The worker applies it: a new revision of the case; the other browser shows it live.
        step = CaseEntry(at=NOW, actor=event["actor"], action="acknowledged", note=event["note"])
        off_loop(keep(seeded.settings, case("k-1", "c-eur-1", 2, "acknowledged", step)))
        expect(watching.locator("#table-cases td.status")).to_have_text(["acknowledged"])
        expect(acting.locator("#table-cases td.status")).to_have_text(["acknowledged"])
        # A change while someone fills in a form waits until the form is closed.
        form = watching.locator("#table-cases tr[data-id='k-1']")
        form.locator("summary").click()
        form.locator("input[name=assignee]").fill("cy.d")
        assigned = CaseEntry(at=NOW + timedelta(minutes=1), actor="ana.k", action="assigned")
        revision = case("k-1", "c-eur-1", 3, "assigned", step, assigned, assignee="ana.k")
        off_loop(keep(seeded.settings, revision))
        expect(acting.locator("#table-cases td.assignee")).to_have_text(["ana.k"])
        expect(form.locator("input[name=assignee]")).to_have_value("cy.d")
        expect(watching.locator("#table-cases td.status")).to_have_text(["acknowledged"])
        form.locator("summary").click()
        expect(watching.locator("#table-cases td.status")).to_have_text(["assigned"])
    finally:
        ana.close()
        bo.close()


def test_an_order_released_with_a_note_reaches_the_topic_and_leaves_the_queue(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/reviews")
    row = page.locator("#table-reviews tr[data-id='d-1']")
    expect(row.locator("td.amount")).to_have_text("2,500.00")
    shoot(page, "reviews")
    row.locator("summary").click()
    row.locator("textarea[name=note]").fill("prepayment received by wire")
    row.locator("button[value=release]").click()
    expect(page.locator("#flash")).to_contain_text("Sent order.released")
    released = reviews_on_topic(seeded, "order.released")
    assert [(e["decision_id"], e["order_id"], e["actor"], e["note"]) for e in released] == [
        ("d-1", "o-77", "ana.k", "prepayment received by wire")
    ]
    off_loop(keep(seeded.settings, OrderReview(
        review_id="r-1", decision_id="d-1", order_id="o-77", customer_id="c-usd-1",
        outcome="released", actor="ana.k", event_time=NOW, source_event_id="e-1",
    )))  # fmt: skip
    expect(page.locator("#table-reviews .empty")).to_have_text("No order waits for review.")


def test_the_customer_page_shows_its_picture_and_accepts_a_proposal(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/customers/c-eur-1")
    expect(page.locator("dd.tier")).to_have_text("high")
    expect(page.locator(".reasons li")).to_have_count(2)
    assert cells(page, "alerts", "kind") == ["limit_breach", "overdue"]
    assert [
        (who, did, note)
        for who, did, note in zip(
            cells(page, "case-history", "actor"),
            cells(page, "case-history", "action"),
            cells(page, "case-history", "note"),
            strict=True,
        )
    ][-1] == ("riskstream", "opened", "-")
    expect(page.locator("#table-proposals td.proposal")).to_have_text("terms 15 days")
    shoot(page, "customer")
    export = page.request.get(seeded.url + "/export/customer/alerts.csv?customer=c-eur-1")
    assert [row["kind"] for row in csv.DictReader(io.StringIO(export.text()))] == [
        "limit_breach", "overdue"
    ]  # fmt: skip
    assert page.request.get(seeded.url + "/customers/nobody").status == 404
    row = page.locator("#table-proposals tr[data-id='p-1']")
    row.locator("summary").click()
    row.locator("button[value=accept]").click()
    expect(page.locator("#flash")).to_contain_text("Sent proposal.accepted")
    accepted = reviews_on_topic(seeded, "proposal.accepted")
    assert [(e["action_id"], e["customer_id"], e["actor"]) for e in accepted] == [
        ("p-1", "c-eur-1", "ana.k")
    ]
    off_loop(keep(seeded.settings, ProposalReview(
        review_id="pr-1", action_id="p-1", customer_id="c-eur-1", outcome="accepted",
        actor="ana.k", event_time=NOW, source_event_id=accepted[0]["event_id"],
    )))  # fmt: skip
    expect(row.locator("td.decided")).to_have_text("accepted by ana.k")
    expect(row.locator("details")).to_have_count(0)


def test_a_resolution_without_a_note_is_refused_and_nothing_is_sent(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/customers/c-eur-1")
    row = page.locator("#table-customer-cases tr[data-id='k-1']")
    row.locator("summary").click()
    row.locator("button[value=resolve]").click()
    expect(page.locator("#flash .problem")).to_contain_text("a resolution needs a note")
    assert reviews_on_topic(seeded, "case.resolved", timeout=3) == []


def test_every_page_runs_its_scripts_within_the_content_security_policy(
    seeded: Console, person: BrowserContext
):
    problems: list[str] = []
    page = sign_in(person, seeded, "ana.k")
    page.on("console", lambda message: problems.append(message.text)
            if message.type in ("error", "warning") else None)  # fmt: skip
    # Leaving a page aborts its live connection (/live, /live?reviews=1): any other failed
    # request is a problem.
    page.on("requestfailed", lambda request: None if urlsplit(request.url).path == "/live"
            else problems.append(f"failed: {request.url} {request.failure}"))  # fmt: skip
    for path in ("/", "/cases", "/reviews", "/worklist", "/customers/c-eur-1"):
        page.goto(seeded.url + path)
        assert page.evaluate("typeof htmx.version") == "string"
        page.wait_for_timeout(300)
    assert problems == []
