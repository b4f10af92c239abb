"""A customer's open invoices on the console: the rows it makes of the workers' answer, and
what the page is told when the workers' API does not give them (a stand-in API on loopback)."""

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from streams.cli.embedded import free_port
from streams.console.tables import csv_text, open_items_table
from streams.console.workers import WorkersApi, WorkersUnavailable

TOKEN = "console-unit-test-token"
ITEM = {"invoice_id": "inv-7", "amount": "3400.00", "outstanding": "1200.50", "currency": "EUR",
        "issued": "2026-01-25", "due_date": "2026-02-24", "days_past_due": 13, "overdue": True,
        "disputed": "0.00"}  # fmt: skip
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def item(**fields: Any) -> dict[str, Any]:
    return ITEM | fields


def test_open_items_are_oldest_due_first_exact_and_in_their_aging_bucket():
    table = open_items_table([
        item(invoice_id="inv-9", due_date="2026-03-16", days_past_due=0, outstanding="980.10"),
        item(invoice_id="inv-3", due_date="2025-11-20", days_past_due=109),
        item(invoice_id="inv-7"),
        item(invoice_id="inv-5", due_date="2026-01-01", days_past_due=67),
    ])  # fmt: skip
    assert [(row["invoice_id"], row["days_past_due"], row["bucket"]) for row in table.rows] == [
        ("inv-3", 109, "90+"), ("inv-5", 67, "61-90"), ("inv-7", 13, "1-30"),
        ("inv-9", 0, "current"),
    ]  # fmt: skip
    assert table.rows[3]["outstanding"] == Decimal("980.10")
    assert csv_text(table).splitlines()[:2] == [
        "invoice,issued,due,days past due,aging,currency,amount,outstanding",
        "inv-3,2026-01-25,2025-11-20,109,90+,EUR,3400.00,1200.50",
    ]


def asked(answer: Answer, customer_id: str = "cust-1", timeout: float = 3.0) -> Any:
    """What `WorkersApi.open_items` gives for ``customer_id`` from a stand-in API that answers
    every request with ``answer``: the items, or the `WorkersUnavailable` raised."""

    async def ask() -> Any:
        app = web.Application()
        app.router.add_get("/{path:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        workers = WorkersApi(f"http://127.0.0.1:{port}", SecretStr(TOKEN), timeout)
        await workers.start()
        try:
            return await workers.open_items(customer_id)
        except WorkersUnavailable as error:
            return error
        finally:
            await workers.close()
            await runner.cleanup()

    return asyncio.run(ask())


def test_the_console_asks_for_the_customer_with_its_token_and_gets_its_open_items():
    seen = []

    async def answer(request: web.Request) -> web.Response:
        seen.append((request.raw_path, request.headers.get("Authorization")))
        return web.json_response({"customer_id": "cust/1", "open_items": [ITEM]})

    items = asked(answer, "cust/1")
    assert seen == [("/v1/customers/cust%2F1", f"Bearer {TOKEN}")]
    assert [(item["invoice_id"], item["outstanding"], str(item["due_date"])) for item in items] == [
        ("inv-7", "1200.50", "2026-02-24")
    ]


def test_a_customer_the_workers_do_not_know_has_no_open_invoice():
    async def answer(request: web.Request) -> web.Response:
        body = {"error": "no customer 'cust-1' is known", "customer_id": "cust-1"}
        return web.json_response(body, status=404)

    assert asked(answer) == []


def reply(status: int, body: Any) -> Answer:
    async def answer(request: web.Request) -> web.Response:
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)

    return answer


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (reply(503, {"error": "the workers are sharing out the partitions: retry in a few\n"
                     "seconds"}),
         "answered 503: the workers are sharing out the partitions: retry in a few seconds"),
        (reply(401, {"error": "a bearer token is wanted"}),
         "refused the console's token (401): give both the same RISKSTREAM_API_TOKEN"),
        (reply(404, {"error": "not found: GET /v1/customers/cust-1"}),
         "answered 404: not found: GET /v1/customers/cust-1"),
        (reply(502, "<html>Bad Gateway</html>"), "answered 502: <html>Bad Gateway</html>"),
        (reply(200, {"customer_id": "cust-1"}), "answered no list of open items"),
        (reply(200, {"open_items": [{"invoice_id": "inv-7", "amount": 12}]}),
         "answered no list of open items"),
    ],
)  # fmt: skip
def test_an_answer_without_open_items_says_why_in_one_line(answer: Answer, problem: str):
    error = asked(answer)
    assert isinstance(error, WorkersUnavailable)
    assert str(error).startswith("the workers' API at http://127.0.0.1:")
    assert str(error).endswith(problem) and "\n" not in str(error)


def test_workers_that_do_not_answer_in_time_or_at_all_are_said_so():
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"open_items": []})

    assert str(asked(slow, timeout=0.2)).endswith("did not answer within 0.2 s")

    async def closed() -> str:
        workers = WorkersApi(f"http://127.0.0.1:{free_port()}", None)
        await workers.start()
        try:
            await workers.open_items("cust-1")
        except WorkersUnavailable as error:
            return str(error)
        finally:
            await workers.close()
        return "answered"

    problem = asyncio.run(closed())
    assert problem.startswith("the workers' API at http://127.0.0.1:") and "did not answer: " in (
        problem
    )
