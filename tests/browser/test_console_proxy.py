"""The console behind a sign-in proxy (``RISKSTREAM_CONSOLE_USER_HEADER``): the proxy's header
names who acts; people give only the token."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, expect

from schemas.money import Money
from schemas.outputs import Case, CaseEntry
from sinks.redis import RedisSink
from tests.browser.browsing import TOKEN, Console, off_loop
from tests.integration import harness

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def console_env(console_env: dict[str, str]) -> dict[str, str]:
    return console_env | {"RISKSTREAM_CONSOLE_USER_HEADER": "X-Forwarded-User"}


async def open_case(console: Console) -> None:
    sink = RedisSink(console.settings.redis_url, prefix=console.settings.redis_prefix)
    await sink.setup()
    await sink.write([Case(
        case_id="k-9", customer_id="c-9", event_time=NOW, revision=1, status="open",
        opened_at=NOW, updated_at=NOW, severity="warning", alert_count=1, alert_ids=["a-9"],
        alert_kinds={"overdue": 1}, money_at_risk=Money(amount=Decimal("10"), currency="EUR"),
        probability_of_loss=0.5, priority=5.0, source_event_id="a-9",
        history=[CaseEntry(at=NOW, actor="riskstream", action="opened", alert_id="a-9")],
    )])  # fmt: skip
    await sink.close()


def test_the_proxy_names_who_acts(console: Console, browser: Browser):
    off_loop(open_case(console))
    context = browser.new_context(extra_http_headers={"X-Forwarded-User": "proxy.user"})
    try:
        page = context.new_page()
        page.goto(console.url + "/cases")
        expect(page.locator(".signin")).to_contain_text("Signed in by your company as proxy.user")
        expect(page.locator("input[name=actor]")).to_have_count(0)
        page.fill("input[name=token]", TOKEN)
        page.click("button:text('Sign in')")
        expect(page.locator("nav .who")).to_have_text("proxy.user")
        row = page.locator("#table-cases tr[data-id='k-9']")
        row.locator("summary").click()
        row.locator("button[value=acknowledge]").click()
        expect(page.locator("#flash")).to_contain_text("as proxy.user")
    finally:
        context.close()
    events = off_loop(harness.collect(console.settings, console.settings.topics.reviews,
                                      harness.at_least(1), timeout=30))  # fmt: skip
    assert [(e["type"], e["case_id"], e["actor"]) for e in events] == [
        ("case.acknowledged", "k-9", "proxy.user")
    ]
