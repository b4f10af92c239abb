"""The query API of running workers, over HTTP, with and without a bearer token."""

import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import jsonschema
import orjson
import pytest
import redis

from schemas import CustomerProfile
from schemas.events import InputEvent, InvoiceIssued, PaymentReceived, PaymentReversed
from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.worker.faust_app import SECURE_HEADERS
from tests.integration import harness
from tests.integration.harness import Worker, run, settings_of

pytestmark = pytest.mark.integration

TOKEN = "a-test-token-of-more-than-16-characters"
NAME, EMAIL = "Personal Name GmbH", "person@example.com"


def stream() -> list[InputEvent]:
    events = list(generate_events(customers=8, days=90, end=datetime.now(UTC), seed=5))
    first = events[0]
    profile = CustomerProfile(event_id="named", customer_id=first.customer_id, name=NAME,
                              email=EMAIL, event_time=first.event_time, currency="EUR")  # fmt: skip
    return [profile, *events]


def open_invoices(events: list[InputEvent]) -> dict[str, set[str]]:
    """Customer -> ids of its invoices not paid, or paid by a payment that bounced."""
    issued, paid_by = defaultdict(set), {}
    for event in events:
        if isinstance(event, InvoiceIssued):
            issued[event.customer_id].add(event.invoice_id)
        elif isinstance(event, PaymentReceived):
            paid_by[event.payment_id] = event.invoice_id
    bounced = {event.payment_id for event in events if isinstance(event, PaymentReversed)}
    paid = {invoice for payment, invoice in paid_by.items() if payment not in bounced}
    return {customer: ids - paid for customer, ids in issued.items()}


def redis_picture(client: redis.Redis, prefix: str, customer: str) -> dict[str, str]:
    return client.hgetall(f"{prefix}:customer:{customer}")


def check_against_redis(answer: dict, stored: dict[str, str]) -> None:
    """The answer is the picture the worker last wrote to Redis, or one as of a later time
    (the overdue check moves a customer's clock without a new picture when nothing changed)."""
    assert (answer["revision"], answer["exposure"]) == (int(stored["revision"]), stored["exposure"])
    as_of = datetime.fromisoformat(answer["as_of"])
    assert as_of >= datetime.fromisoformat(stored["as_of"])
    if as_of == datetime.fromisoformat(stored["as_of"]):
        figures = ("score", "tier", "days_past_due")
        assert {f: str(answer[f]) for f in figures} == {f: stored[f] for f in figures}


def test_two_workers_answer_for_every_customer_with_the_token(env, redis_url, tmp_path):
    env = {**env, "RISKSTREAM_API_TOKEN": TOKEN}
    settings = settings_of(env)
    second_env = {**env, "RISKSTREAM_WEB_PORT": str(free_port()),
                  "RISKSTREAM_DATA_DIR": str(tmp_path / "second"),
                  **FAUST_PAGES_ASKED_FOR}  # fmt: skip
    workers = [Worker(env, tmp_path / "first.log"), Worker(second_env, tmp_path / "second.log")]
    events = stream()
    revisions = Counter(event.customer_id for event in events)
    customers = sorted(revisions)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    prefix = settings.redis_prefix
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_serving()
        run(harness.send(settings, events))
        done = harness.wait_for(lambda: all(
            redis_picture(client, prefix, c).get("revision") == str(n) for c, n in revisions.items()
        ), timeout=90)  # fmt: skip
        assert done, workers[0].log_tail()
        time.sleep(3)  # the overdue ticks of what was past due
        alerts = run(harness.collect(settings, settings.topics.alerts, lambda r: False, timeout=5))

        owned = [partitions_read(worker, settings.topics.orders) for worker in workers]
        assert owned[0] and owned[1] and owned[0] | owned[1] == {"0", "1"}, owned  # forwarding
        for worker in workers:
            assert worker.get("/health") == (200, {"status": "ok"})
            assert worker.get("/ready") == (200, {"ready": True})
            assert worker.get(f"/v1/customers/{customers[0]}")[0] == 401
            assert worker.get(f"/v1/customers/{customers[0]}", "wrong-token-wrong-token")[0] == 401
            assert worker.get("/v1/customers")[0] == 401
            for customer in customers:  # half of them live on the other worker
                status, answer = worker.get(f"/v1/customers/{customer}", TOKEN)
                assert status == 200, (answer, worker.log_tail())
                check_against_redis(answer, redis_picture(client, prefix, customer))
                check_customer(answer, customer, events, alerts)
            check_no_faust_page(worker, customers[0])
            check_secure_headers(worker, customers[0])
            status, missing = worker.get("/v1/customers/nobody", TOKEN)
            assert status == 404 and "nobody" in missing["error"]
            check_ranking(worker, client, prefix)
            check_pages(worker, client, prefix, customers)
        check_as_documented(workers[0], customers)
    finally:
        for worker in workers:
            worker.stop()


FAUST_PAGES_ASKED_FOR = {
    "APP_WEB_TABLES_ENABLED": "true",
    "APP_WEB_ROUTER_ENABLED": "true",
    "APP_WEB_STATS_ENABLED": "true",
}
"""Faust's own settings of its pages, from the environment: they change nothing."""


def check_no_faust_page(worker: Worker, customer: str) -> None:
    """Issue 16: Faust's table page answered a customer's raw record without the token."""
    paths = [f"/table/customer-state/{customer}/", "/table/", "/router/", "/router/topics",
             f"/router/customer-state/{customer}/", "/", "/assignment/", "/graph/"]  # fmt: skip
    for path in paths:
        for token in (None, TOKEN):
            status, body = harness.http_get(worker.url(path), token)
            assert status == 404, (path, token is not None, status, body[:200])


def check_secure_headers(worker: Worker, customer: str) -> None:
    """Issue 16: every answer sets headers that keep browsers from sniffing, framing or caching
    it, and says nothing of the server's software."""
    paths = ["/health", "/ready", "/metrics", f"/v1/customers/{customer}", "/v1/customers",
             "/nowhere"]  # fmt: skip
    for path in paths:
        for token in (None, TOKEN):
            status, headers, _ = harness.http_response(worker.url(path), token)
            shown = {name: headers.get(name) for name in SECURE_HEADERS}
            assert shown == SECURE_HEADERS, (path, status, dict(headers))
            assert (headers["X-Content-Type-Options"], headers["Cache-Control"]) == (
                "nosniff", "no-store"
            )  # fmt: skip
            assert "aiohttp" not in headers["Server"].lower(), (path, dict(headers))


def partitions_read(worker: Worker, topic: str) -> set[str]:
    """The partitions of ``topic`` the worker consumes, from its consumer lag metric."""
    lags = worker.metric("riskstream_consumer_lag_messages", "topic", "partition")
    return {partition for lag_topic, partition in lags if lag_topic == topic}


def check_customer(answer: dict, customer: str, events: list, alerts: list[dict]) -> None:
    assert answer["customer_id"] == customer
    items = answer["open_items"]
    assert {item["invoice_id"] for item in items} == open_invoices(events)[customer]
    issued = {e.invoice_id: e for e in events if isinstance(e, InvoiceIssued)}
    for item in items:
        invoice = issued[item["invoice_id"]]
        assert item["due_date"] == invoice.due_date.isoformat()
        assert item["outstanding"] == format(invoice.amount.amount, "f")
        past_due = (datetime.fromisoformat(answer["as_of"]).date() - invoice.due_date).days
        assert item["days_past_due"] == max(0, past_due)
    own = [alert for alert in alerts if alert["customer_id"] == customer]
    expected = [alert["alert_id"] for alert in reversed(own[-5:])]
    assert [alert["alert_id"] for alert in answer["recent_alerts"]] == expected
    assert all(set(alert) == {"alert_id", "kind", "severity", "event_time", "message"}
               for alert in answer["recent_alerts"])  # fmt: skip
    text = str(answer)
    assert NAME not in text and EMAIL not in text


def check_ranking(worker: Worker, client: redis.Redis, prefix: str) -> None:
    status, top = worker.get("/v1/customers?limit=3", TOKEN)
    assert status == 200, top
    ranked = client.zrevrange(f"{prefix}:scores", 0, 2)
    assert [customer["customer_id"] for customer in top["customers"]] == ranked
    scores = [customer["score"] for customer in top["customers"]]
    assert scores == sorted(scores, reverse=True)
    for tier in ("low", "medium", "high"):
        status, listed = worker.get(f"/v1/customers?tier={tier}&limit=1000", TOKEN)
        assert status == 200, listed
        in_tier = {key.rsplit(":", 1)[1] for key in client.keys(f"{prefix}:customer:*")
                   if client.hget(key, "tier") == tier}  # fmt: skip
        assert {customer["customer_id"] for customer in listed["customers"]} == in_tier
    for bad in ("tier=huge", "limit=0", "limit=many"):
        status, error = worker.get(f"/v1/customers?{bad}", TOKEN)
        assert status == 400 and bad.split("=")[1] in error["error"]


def every_page(worker: Worker, path: str, items: str) -> list[dict]:
    """The items of every page of ``path``, following ``next``, two at a time."""
    found, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = worker.get(f"{path}{'&' if '?' in path else '?'}{query}", TOKEN)
        assert status == 200, page
        assert len(page[items]) <= 2
        found += page[items]
        if (cursor := page["next"]) is None:
            return found


def check_pages(worker: Worker, client: redis.Redis, prefix: str, customers: list[str]) -> None:
    """Pages of two, followed by their cursors, are the whole list, in order, once each."""
    ranked = client.zrevrange(f"{prefix}:scores", 0, -1)
    paged = every_page(worker, "/v1/customers", "customers")
    assert [customer["customer_id"] for customer in paged] == ranked
    high = client.zrevrange(f"{prefix}:scores:high", 0, -1)
    paged = every_page(worker, "/v1/customers?tier=high", "customers")
    assert [customer["customer_id"] for customer in paged] == high
    for stream in ("alerts", "actions", "decisions"):
        for customer in customers:
            kept = client.xrevrange(f"{prefix}:{stream}:{customer}", "+", "-")
            paged = every_page(worker, f"/v1/customers/{customer}/{stream}", stream)
            assert [orjson.loads(entry["json"]) for _, entry in kept] == paged
            assert all(item["customer_id"] == customer for item in paged)
    for stream in ("alerts", "decisions"):
        assert sum(1 for c in customers if client.xlen(f"{prefix}:{stream}:{c}") > 2) >= 2
    status, error = worker.get("/v1/customers?cursor=not-a-cursor", TOKEN)
    assert status == 400 and "cursor" in error["error"]


def check_as_documented(worker: Worker, customers: list[str]) -> None:
    """Every route of the OpenAPI document answers, in each status asked, a body its
    document's schema for that status accepts."""
    status, document = worker.get("/v1/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")
    filled = {"customer_id": customers[0]}
    asked = []
    for template in document["paths"]:
        path = template.format(**filled)
        asked += [(template, path, TOKEN), (template, path + "?limit=0", TOKEN)]
        asked += [(template, path, None), (template, template.format(customer_id="nobody"), TOKEN)]
    seen = set()
    for template, path, token in asked:
        status, _headers, body = harness.http_response(worker.url(path), token)
        answers = document["paths"][template]["get"]["responses"]
        assert str(status) in answers, (path, status, body[:200])
        content = answers[str(status)].get("content")
        if content is not None:
            schema = {**content["application/json"]["schema"], "components": document["components"]}
            jsonschema.validate(orjson.loads(body), schema)
        seen.add((template, status))
    assert {status for _, status in seen} == {200, 400, 401, 404}, seen


def test_without_a_token_the_api_is_open(env, tmp_path):
    settings = settings_of(env)
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_serving()
        run(harness.send(settings, stream()[:40]))
        customer = stream()[1].customer_id
        answer = harness.wait_for(
            lambda: worker.get(f"/v1/customers/{customer}")[0] == 200, timeout=60
        )
        assert answer, worker.log_tail()
        assert worker.get(f"/v1/customers/{customer}", "any-token-at-all-here")[0] == 200
        assert worker.get("/v1/customers?limit=5")[0] == 200
    finally:
        worker.stop()
