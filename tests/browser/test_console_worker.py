"""The console with a real worker: the worker makes a case and holds an order from input
events; people act on them in one browser; the worker applies what they did and another
browser sees it arrive, with nothing written by the test but the input events. A customer's
page lists its open invoices as the worker ages them, asked from the worker's query API."""

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from schemas import CreditLimitUpdated, InvoiceIssued, Money, OrderPlaced, PaymentReceived
from tests.browser.browsing import TOKEN, Console, off_loop, sign_in
from tests.browser.test_console_pages import shoot
from tests.integration import harness

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
START = datetime.now(UTC).replace(microsecond=0) - 60 * DAY
APPLIED = 90_000
"""Milliseconds a worker may take to apply an input and Redis to show it."""


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


@pytest.fixture(scope="module")
def worker(console: Console, folder: Path) -> Iterator[harness.Worker]:
    started = harness.Worker(console.env, folder / "worker.log").start()
    try:
        started.wait_ready()
        off_loop(harness.send(console.settings, [
            # Invoiced, overdue, then paid 12 days late: two alerts, one case.
            InvoiceIssued(event_id="cara-i1", customer_id="cara", invoice_id="cara-i1",
                          event_time=START, due_date=(START + 30 * DAY).date(),
                          amount=eur("800.00")),
            PaymentReceived(event_id="cara-p1", customer_id="cara", payment_id="cara-p1",
                            invoice_id="cara-i1", event_time=START + 42 * DAY,
                            amount=eur("800.00")),
            # An order over the credit limit: held for review.
            CreditLimitUpdated(event_id="orla-l1", customer_id="orla", event_time=START,
                               credit_limit=eur("1000.00")),
            OrderPlaced(event_id="orla-o1", customer_id="orla", order_id="o-1",
                        event_time=START + DAY, amount=eur("1500.00")),
            # Two open invoices: one overdue and partly paid, one not due yet.
            InvoiceIssued(event_id="ines-i1", customer_id="ines", invoice_id="ines-i1",
                          event_time=START, due_date=(START + 30 * DAY).date(),
                          amount=eur("1000.00")),
            PaymentReceived(event_id="ines-p1", customer_id="ines", payment_id="ines-p1",
                            invoice_id="ines-i1", event_time=START + 35 * DAY,
                            amount=eur("250.00")),
            InvoiceIssued(event_id="ines-i2", customer_id="ines", invoice_id="ines-i2",
                          event_time=START + 50 * DAY, due_date=(START + 80 * DAY).date(),
                          amount=eur("300.00")),
        ]))  # fmt: skip
        yield started
    finally:
        started.stop()


def test_what_people_do_in_one_browser_the_worker_applies_and_another_browser_shows(
    console: Console, worker: harness.Worker, browser: Browser
):
    ana, bo = browser.new_context(), browser.new_context()
    try:
        acting = sign_in(ana, console, "ana.k", "/cases")
        watching = sign_in(bo, console, "bo.r", "/cases")
        # orla's order over the limit makes a case too: act on cara's.
        row, seen = (
            page.locator("#table-cases tbody tr").filter(has=page.locator("a", has_text="cara"))
            for page in (acting, watching)
        )
        expect(row.locator("td.status")).to_have_text("open", timeout=APPLIED)
        expect(seen.locator("td.status")).to_have_text("open")
        row.locator("summary").click()
        row.locator("input[name=assignee]").fill("bo.r")
        row.locator("textarea[name=note]").fill("bo knows them")
        row.locator("button[value=assign]").click()
        expect(acting.locator("#flash")).to_contain_text("Sent case.assigned")
        expect(seen.locator("td.status")).to_have_text("assigned", timeout=APPLIED)
        expect(seen.locator("td.assignee")).to_have_text("bo.r")

        acting.goto(console.url + "/reviews")
        watching.goto(console.url + "/reviews")
        expect(watching.locator("#table-reviews td.order_id")).to_have_text(
            ["o-1"], timeout=APPLIED
        )
        row = acting.locator("#table-reviews tbody tr")
        row.locator("summary").click()
        row.locator("textarea[name=note]").fill("limit raise agreed by phone")
        row.locator("button[value=release]").click()
        expect(acting.locator("#flash")).to_contain_text("Sent order.released")
        expect(watching.locator("#table-reviews .empty")).to_be_visible(timeout=APPLIED)

        watching.goto(console.url + "/customers/cara")
        history = watching.locator("#table-case-history tbody tr").first
        expect(history.locator("td.actor")).to_have_text("ana.k")
        expect(history.locator("td.note")).to_have_text("bo knows them")
    finally:
        ana.close()
        bo.close()
    # The worker took every action: none was a dead letter.
    topic = console.settings.topics.deadletter
    assert off_loop(harness.collect(console.settings, topic, lambda found: bool(found), 3)) == []


def test_the_customer_page_lists_the_open_invoices_the_worker_ages_oldest_due_first(
    console: Console, worker: harness.Worker, browser: Browser
):
    def answered() -> list[dict]:
        status, answer = worker.get("/v1/customers/ines", TOKEN)
        return answer["open_items"] if status == 200 else []

    assert harness.wait_for(lambda: len(answered()) == 2, APPLIED / 1000), worker.log_tail()
    overdue, not_due = answered()
    assert overdue["days_past_due"] > 0 and not_due["days_past_due"] == 0
    ana = browser.new_context()
    try:
        page = sign_in(ana, console, "ana.k", "/customers/ines")
        table = page.locator("#table-open-items")
        expect(table.locator("td.invoice_id")).to_have_text(["ines-i1", "ines-i2"])
        expect(table.locator("td.outstanding")).to_have_text(["750.00", "300.00"])
        expect(table.locator("td.amount")).to_have_text(["1,000.00", "300.00"])
        expect(table.locator("td.due_date")).to_have_text(
            [str((START + 30 * DAY).date()), str((START + 80 * DAY).date())]
        )
        expect(table.locator("td.days_past_due")).to_have_text([str(overdue["days_past_due"]), "0"])
        expect(table.locator("td.bucket").last).to_have_text("current")
        shoot(page, "customer-open-items")
        export = page.request.get(console.url + "/export/customer/open-items.csv?customer=ines")
        rows = list(csv.DictReader(io.StringIO(export.text())))
        assert [(row["invoice"], row["currency"], row["outstanding"]) for row in rows] == [
            ("ines-i1", "EUR", "750.00"), ("ines-i2", "EUR", "300.00")
        ]  # fmt: skip
        page.goto(console.url + "/customers/cara")  # paid: nothing open
        expect(page.locator("#table-open-items .empty")).to_have_text("No open invoice.")
    finally:
        ana.close()
