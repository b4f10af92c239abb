"""The query API's pages on a worker's web app that is not started: what they answer before
the worker has partitions, with and without the token. Answers of a running worker are
tested in tests/integration/test_api.py."""

import asyncio
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from sinks.metrics import Metrics
from streams.settings import Settings, SettingsError, load_settings
from streams.worker.app import RiskApp
from streams.worker.openapi import ROUTES, openapi_document

TOKEN = "unit-test-token-0123456789"


OPEN = {route.path for route in ROUTES.values() if not route.token}
FAUST_PAGES = [
    "/", "/table/", "/table/customer-state/", "/table/customer-state/c1/", "/router/",
    "/router/topics", "/router/customer-state/", "/router/customer-state/c1/", "/graph/",
    "/assignment/", "/performance/", "/stats/",
]  # fmt: skip
"""Faust's own pages, which a worker must not serve: table data, topology, statistics."""


def worker_app(tmp_path: Path, token: str | None) -> RiskApp:
    settings = Settings(api_token=token, store="memory://", broker="kafka://127.0.0.1:1",
                        data_dir=tmp_path)  # fmt: skip
    return RiskApp(settings, metrics=Metrics(CollectorRegistry(), faust_sensors=False))


def ask_all(
    tmp_path: Path, token: str | None, requests: list[tuple[str, str, str | None]]
) -> list[tuple[int, dict[str, str], Any]]:
    """(status, headers, JSON body or bytes) of each (method, path, bearer token) asked of a
    fresh worker app."""
    risk = worker_app(tmp_path, token)

    async def ask() -> list:
        answers = []
        async with TestClient(TestServer(await risk.faust.web.wsgi())) as client:
            for method, path, bearer in requests:
                headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
                response = await client.request(method, path, headers=headers)
                body = await response.read()
                is_json = response.content_type == "application/json"
                answers.append((response.status, dict(response.headers),
                                orjson.loads(body) if is_json else body))  # fmt: skip
        return answers

    return asyncio.run(ask())


def get_all(tmp_path: Path, token: str | None, requests: list[tuple[str, str | None]]) -> list:
    """(status, JSON body) of each (path, bearer token) asked of a fresh worker app."""
    asked = ask_all(tmp_path, token, [("GET", path, bearer) for path, bearer in requests])
    return [(status, body) for status, _, body in asked]


def test_with_a_token_customers_want_it_and_the_rest_stays_open(tmp_path: Path) -> None:
    answers = get_all(tmp_path, TOKEN, [
        ("/health", None), ("/ready", None), ("/metrics", None),
        ("/v1/customers/c1", None), ("/v1/customers/c1", "wrong-token-0123456789"),
        ("/v1/customers?tier=high", None), ("/v1/customers?tier=huge", TOKEN),
        ("/v1/customers?limit=5000", TOKEN), ("/v1/customers/c1", TOKEN),
    ])  # fmt: skip
    health, ready, metrics, *refused, huge, too_many, unassigned = answers

    assert health == (200, {"status": "ok"})
    assert ready[0] == 503 and ready[1]["ready"] is False and ready[1]["waiting_for"]
    assert metrics[0] == 200 and b"riskstream_events_received_total" in metrics[1]
    assert [status for status, _ in refused] == [401, 401, 401]
    assert all("bearer token" in body["error"] for _, body in refused)
    assert huge == (400, {"error": "tier must be one of low, medium, high, not 'huge'"})
    assert too_many[0] == 400 and "limit" in too_many[1]["error"]
    assert unassigned[0] == 503 and "partition" in unassigned[1]["error"]


def served_paths(tmp_path: Path) -> list[str]:
    """A path of every route the worker's web app serves, its parameters filled in."""
    web_app = asyncio.run(worker_app(tmp_path, TOKEN).faust.web.wsgi())
    routes = {resource.canonical for resource in web_app.router.resources()}
    return sorted(re.sub(r"\{[^}]*\}", "c1", route) for route in routes)


def test_every_path_wants_the_token_but_health_readiness_and_metrics(tmp_path: Path) -> None:
    """Issue 16: Faust's table pages answered a customer's raw record without the token."""
    paths = sorted({*served_paths(tmp_path), *FAUST_PAGES})
    answers = get_all(tmp_path, TOKEN, [(path, None) for path in paths])
    unprotected = {
        path: status
        for path, (status, _) in zip(paths, answers, strict=True)
        if path not in OPEN and status not in (401, 404)
    }
    assert unprotected == {}
    assert {path for path, (status, _) in zip(paths, answers, strict=True) if status == 404} == {
        *FAUST_PAGES
    }
    assert set(paths) >= OPEN


def test_the_document_names_every_route_served_and_no_other(tmp_path: Path) -> None:
    web_app = asyncio.run(worker_app(tmp_path, TOKEN).faust.web.wsgi())
    served = {resource.canonical for resource in web_app.router.resources()}
    assert served == set(openapi_document()["paths"])


def test_errors_of_the_web_server_itself_are_json_too(tmp_path: Path) -> None:
    nowhere, post = ask_all(tmp_path, TOKEN, [("GET", "/nowhere", None),
                                              ("POST", "/v1/customers/c1", TOKEN)])  # fmt: skip
    assert (nowhere[0], nowhere[2]) == (404, {"error": "not found: GET /nowhere"})
    assert (post[0], post[1]["Allow"]) == (405, "GET,HEAD")
    assert post[2] == {"error": "method not allowed: POST /v1/customers/c1; it answers GET,HEAD"}


def test_a_503_says_when_to_ask_again(tmp_path: Path) -> None:
    answers = ask_all(tmp_path, TOKEN, [("GET", "/ready", None),
                                        ("GET", "/v1/customers/c1", TOKEN)])  # fmt: skip
    assert [(status, headers.get("Retry-After")) for status, headers, _ in answers] == [
        (503, "5"), (503, "5")
    ]  # fmt: skip


def test_without_a_token_customers_are_open(tmp_path: Path) -> None:
    (unassigned,) = get_all(tmp_path, None, [("/v1/customers/c1", None)])
    assert unassigned[0] == 503


def test_a_short_token_is_refused_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKSTREAM_API_TOKEN", "short-secret")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert str(refused.value) == (
        "RISKSTREAM_API_TOKEN: use 16 characters or more, e.g. from: openssl rand -hex 24"
    )


def test_the_api_page_lists_every_route() -> None:
    page = (Path(__file__).parents[2] / "docs/api.md").read_text()
    listed = set(re.findall(r"^\| `GET ([^`?]+)", page, flags=re.MULTILINE))
    assert listed == {route.path for route in ROUTES.values()}
