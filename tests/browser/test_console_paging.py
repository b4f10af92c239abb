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

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from schemas.outputs import Case, OrderDecision
from streams.console.store import PAGE
from tests.browser.browsing import Console, off_loop, sign_in
from tests.browser.test_console_pages import keep
from tests.integration.queues import held_order, open_case, released

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
CASES = 2 * PAGE + 50
ORDERS = PAGE + 50
DASH = "\N{EN DASH}"


def case(number: int, status: str = "open") -> Case:
    return open_case(number, NOW, status)


def held(number: int) -> OrderDecision:
    return held_order(number, NOW - timedelta(hours=1))


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
    off_loop(keep(seeded.settings, released(last, NOW)))
    expect(reviews.locator("nav.pager .rows").first).to_have_text(f"rows 201{DASH}249 of 249")
    expect(reviews).to_have_url(seeded.url + "/reviews?page=2")
    assert row_ids(reviews, "reviews") == ids("d", range(PAGE, last))
