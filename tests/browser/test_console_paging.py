"""The console's queues beyond one page, in a real browser: the case inbox and the order review
queue page by page (which rows of how many, the links to the pages around, a page that is not
one), the live refresh that reloads the page shown, and exports that hold every row.

Redis is seeded through the workers' own Redis sink with more than two pages of open cases and
more than one page of held orders.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from schemas.money import Money
from schemas.outputs import Case, CaseEntry, OrderDecision, OrderReview
from streams.console.store import PAGE
from tests.browser.browsing import Console, off_loop, sign_in
from tests.browser.test_console_pages import keep

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
CASES = 2 * PAGE + 50
ORDERS = PAGE + 50
DASH = "\N{EN DASH}"


def case(number: int, status: str = "open") -> Case:
    """Case ``k-{number}``: the higher the number, the lower its priority."""
    return Case(
        case_id=f"k-{number:03}", customer_id=f"c-{number:03}", event_time=NOW,
        revision=1 if status == "open" else 2, status=status, opened_at=NOW, updated_at=NOW,
        severity="warning", alert_count=1, alert_ids=[f"a-{number}"], alert_kinds={"overdue": 1},
        money_at_risk=Money(amount=Decimal(100), currency="EUR"), probability_of_loss=0.5,
        priority=float(10_000 - number),
        history=[CaseEntry(at=NOW, actor="riskstream", action="opened")],
        source_event_id=f"src-{number}-{status}",
    )  # fmt: skip


def held(number: int) -> OrderDecision:
    """Order decision ``d-{number}``: the higher the number, the later it was decided."""
    return OrderDecision(
        decision_id=f"d-{number:03}", customer_id=f"c-{number:03}", order_id=f"o-{number:03}",
        outcome="review", reasons=["limit_use_high"],
        event_time=NOW - timedelta(hours=1) + timedelta(seconds=number),
        source_event_id=f"o-{number}",
        figures={"order_amount": "10.00", "currency": "EUR"},
    )  # fmt: skip


def ids(prefix: str, numbers: range) -> list[str]:
    return [f"{prefix}-{number:03}" for number in numbers]


@pytest.fixture(scope="module")
def seeded(console: Console) -> Console:
    off_loop(keep(console.settings, *map(case, range(CASES)), *map(held, range(ORDERS))))
    return console


def row_ids(page: Page, table: str) -> list[str]:
    return page.locator(f"#table-{table} tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.id)"
    )


def exported(page: Page, url: str, column: str) -> list[str]:
    answer = page.request.get(url)
    assert answer.headers["content-type"].startswith("text/csv")
    return [row[column] for row in csv.DictReader(io.StringIO(answer.text()))]


def test_the_case_inbox_goes_page_by_page_and_exports_every_case(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/cases?page=2")
    pager = page.locator("nav.pager").first
    expect(pager.locator(".rows")).to_have_text(f"rows 201{DASH}400 of 450")
    assert row_ids(page, "cases") == ids("k", range(PAGE, 2 * PAGE))
    back = page.locator("#table-cases tbody tr").first.locator("input[name=back]")
    expect(back).to_have_value("/cases?page=2")  # an action sent without script comes back here
    pager.locator("a[rel=next]").click()
    expect(page).to_have_url(seeded.url + "/cases?page=3")
    expect(pager.locator(".rows")).to_have_text(f"rows 401{DASH}450 of 450")
    expect(pager.locator("a[rel=next]")).to_have_count(0)
    assert row_ids(page, "cases") == ids("k", range(2 * PAGE, CASES))
    pager.locator("a[rel=prev]").click()
    pager.locator("a[rel=prev]").click()
    expect(page).to_have_url(seeded.url + "/cases?page=1")
    expect(pager.locator(".rows")).to_have_text(f"rows 1{DASH}200 of 450")
    expect(pager.locator("a[rel=prev]")).to_have_count(0)
    assert row_ids(page, "cases") == ids("k", range(PAGE))
    everything = exported(page, seeded.url + "/export/cases/cases.csv", "case")
    assert everything == ids("k", range(CASES))


def test_a_page_that_is_not_one_is_refused_and_one_past_the_last_links_back(
    seeded: Console, person: BrowserContext
):
    page = sign_in(person, seeded, "ana.k", "/cases?page=9")
    expect(page.locator("nav.pager .rows")).to_have_text("no rows on page 9: the last page is 3")
    expect(page.locator("#table-cases .empty")).to_have_text("No case on this page.")
    page.locator("nav.pager a[rel=prev]").click()
    expect(page).to_have_url(seeded.url + "/cases?page=3")
    for query in ("page=abc", "page=0", "page=-1"):
        answer = page.request.get(f"{seeded.url}/reviews?{query}")
        assert answer.status == 400
        assert re.fullmatch(r"page must be a whole number from 1, not '.*'", answer.text())
    assert page.request.get(seeded.url + "/live?reviews=x").status == 400


def test_a_later_page_refreshes_live_as_itself(seeded: Console, person: BrowserContext):
    cases = sign_in(person, seeded, "ana.k", "/cases?page=2")
    changed = cases.locator(f"#table-cases tr[data-id='k-{PAGE + 7:03}'] td.status")
    expect(changed).to_have_text("open")
    off_loop(keep(seeded.settings, case(PAGE + 7, "acknowledged")))
    expect(changed).to_have_text("acknowledged")
    expect(cases.locator("nav.pager .rows").first).to_have_text(f"rows 201{DASH}400 of 450")
    # The pending orders have no feed: page 2 follows its own rows, one of which is released.
    reviews = person.new_page()
    reviews.goto(seeded.url + "/reviews?page=2")
    expect(reviews.locator("nav.pager .rows").first).to_have_text(f"rows 201{DASH}250 of 250")
    assert row_ids(reviews, "reviews") == ids("d", range(PAGE, ORDERS))
    assert exported(reviews, seeded.url + "/export/reviews/reviews.csv", "order") == ids(
        "o", range(ORDERS)
    )
    last = ORDERS - 1
    off_loop(keep(seeded.settings, OrderReview(
        review_id="r-1", decision_id=f"d-{last}", order_id=f"o-{last}", customer_id=f"c-{last}",
        outcome="released", actor="ana.k", event_time=NOW, source_event_id="e-1",
    )))  # fmt: skip
    expect(reviews.locator("nav.pager .rows").first).to_have_text(f"rows 201{DASH}249 of 249")
    expect(reviews).to_have_url(seeded.url + "/reviews?page=2")
    assert row_ids(reviews, "reviews") == ids("d", range(PAGE, last))
