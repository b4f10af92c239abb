"""The console whose workers' query API does not answer (a closed port): a customer's page
still shows all that Redis holds, and says in one line why its open invoices are missing."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, expect

from schemas.outputs import Alert, CustomerRisk
from sinks.redis import RedisSink
from streams.cli.embedded import free_port
from tests.browser.browsing import Console, off_loop, sign_in

pytestmark = pytest.mark.integration

CLOSED = f"http://127.0.0.1:{free_port()}"
"""Where nobody listens."""
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def console_env(console_env: dict[str, str]) -> dict[str, str]:
    return console_env | {"RISKSTREAM_CONSOLE_API_URL": CLOSED}


async def keep(console: Console, *outputs: CustomerRisk | Alert) -> None:
    """Write ``outputs`` to Redis as a worker does: through its Redis sink."""
    sink = RedisSink(console.settings.redis_url, prefix=console.settings.redis_prefix)
    await sink.setup()
    await sink.write(outputs)
    await sink.close()


def test_the_customer_page_says_why_open_invoices_are_missing_and_shows_the_rest(
    console: Console, person: BrowserContext
):
    off_loop(keep(console,
                  CustomerRisk(customer_id="c-eur-1", as_of=NOW, revision=1, currency="EUR",
                               exposure="12000.00", open_invoices=2, overdue_balance="3000.00",
                               days_past_due=12, score=81.0, tier="high"),
                  Alert(alert_id="a-1", customer_id="c-eur-1", event_time=NOW, kind="overdue",
                        severity="critical", message="invoice inv-1 is 12 days overdue",
                        source_event_id="tick-1")))  # fmt: skip
    page = sign_in(person, console, "ana.k", "/customers/c-eur-1")
    expect(page.locator("dd.tier")).to_have_text("high")
    expect(page.locator("#table-alerts td.kind")).to_have_text(["overdue"])
    missing = page.locator("#table-open-items .empty")
    expect(missing).to_contain_text(
        f"Open invoices are unavailable: the workers' API at {CLOSED} did not answer: "
    )
    assert "\n" not in missing.inner_text()
    export = page.request.get(console.url + "/export/customer/open-items.csv?customer=c-eur-1")
    assert export.status == 503
    assert export.text().startswith(f"open items are unavailable: the workers' API at {CLOSED}")
