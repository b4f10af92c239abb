"""The query API on the worker's web port; its routes and answers are in
`streams.worker.openapi`, whose document ``GET /v1/openapi.json`` serves.

- ``GET /health`` (liveness) and ``GET /ready`` (readiness: 503 while the worker
  rebalances or recovers its table).
- ``GET /v1/customers/{id}``: one customer's picture, open invoices and latest alerts, from
  the state table of the worker that owns the customer's partition; any worker takes the
  request and forwards it to that one once (the partition assignment says which it is).
- ``GET /v1/customers?tier=high&limit=20&cursor=...``: customers by score, from Redis' score
  rankings, which every worker's ``redis`` agent feeds: the same answer from any worker.
- ``GET /v1/customers/{id}/alerts``, ``.../actions`` and ``.../decisions``: the customer's
  alerts, proposed credit actions, and order decisions with their reviews, newest first, from
  Redis, a page at a time.

With ``RISKSTREAM_API_TOKEN`` set, every ``/v1`` route but the document wants
``Authorization: Bearer <token>`` (401 otherwise); health, readiness and ``/metrics`` stay
open. Faust's own pages are off (`streams.worker.faust_app`). Every error is JSON with an
``error``; a 503 says when to retry in ``Retry-After``.
"""

import hmac
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import faust
import orjson
from aiokafka.partitioner import DefaultPartitioner
from faust import web
from pydantic import SecretStr
from redis.exceptions import RedisError
from yarl import URL

from sinks.redis import TIERS, RankCursor, RedisSink
from streams.engine import Engine
from streams.settings import Settings
from streams.worker.answers import customer_answer
from streams.worker.openapi import DEFAULT_LIMIT, MAX_LIMIT, ROUTES, openapi_document
from streams.worker.records import Records

_PARTITIONER = DefaultPartitioner()
FORWARDED = "X-Riskstream-Forwarded"
RETRY_AFTER = "5"
"""Seconds a client waits before asking again after a 503: about a rebalance's length."""
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message says which and what is allowed."""


def authorised(header: str | None, token: SecretStr | None) -> bool:
    """Whether an ``Authorization`` header carries the bearer token (anything goes without one).

    >>> token = SecretStr("s3cret-token-of-16+")
    >>> authorised("Bearer s3cret-token-of-16+", token), authorised("Bearer nope", token)
    (True, False)
    >>> authorised(None, token), authorised(None, None)
    (False, True)
    """
    if token is None:
        return True
    scheme, _, given = (header or "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


def limit_query(query: Mapping[str, str]) -> int:
    """The ``limit`` of a page.

    >>> limit_query({"limit": "5"}), limit_query({})
    (5, 20)
    >>> for bad in ({"limit": "0"}, {"limit": "²"}):
    ...     try:
    ...         limit_query(bad)
    ...     except BadQuery as error:
    ...         print(error)
    limit must be a whole number from 1 to 1000, not '0'
    limit must be a whole number from 1 to 1000, not '²'
    """
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return int(raw)


def tier_query(query: Mapping[str, str]) -> str | None:
    """The ``tier`` of a ranking, or None for every tier.

    >>> tier_query({"tier": "high"}), tier_query({})
    ('high', None)
    >>> tier_query({"tier": "huge"})
    Traceback (most recent call last):
    streams.worker.views.BadQuery: tier must be one of low, medium, high, not 'huge'
    """
    tier = query.get("tier") or None
    if tier is not None and tier not in TIERS:
        raise BadQuery(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    return tier


def rank_cursor(cursor: RankCursor | None) -> str | None:
    """The text of a ranking's cursor, opaque to clients.

    >>> text = rank_cursor((42.5, "cust-7"))
    >>> rank_cursor_query({"cursor": text})
    (42.5, 'cust-7')
    """
    return None if cursor is None else urlsafe_b64encode(orjson.dumps(cursor)).decode()


def rank_cursor_query(query: Mapping[str, str]) -> RankCursor | None:
    """The ranking cursor a query gives, if any.

    >>> rank_cursor_query({"cursor": "bm9wZQ"})
    Traceback (most recent call last):
    streams.worker.views.BadQuery: cursor must be the `next` of a previous page, not 'bm9wZQ'
    """
    text = query.get("cursor")
    if text is None:
        return None
    try:
        score, customer_id = orjson.loads(urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if isinstance(score, int | float) and isinstance(customer_id, str):
            return float(score), customer_id
    except (ValueError, TypeError):
        pass
    raise BadQuery(f"cursor must be the `next` of a previous page, not {text!r}")


def stream_cursor_query(query: Mapping[str, str]) -> str | None:
    """The stream cursor a query gives (a Redis stream entry id), if any.

    >>> stream_cursor_query({"cursor": "1767225600000-0"}), stream_cursor_query({})
    ('1767225600000-0', None)
    """
    text = query.get("cursor")
    if text is not None and not _STREAM_ID.fullmatch(text):
        raise BadQuery(f"cursor must be the `next` of a previous page, not {text!r}")
    return text


def install_query_api(
    app: faust.App,
    settings: Settings,
    *,
    engine: Engine,
    records: Records,
    redis: RedisSink,
    not_ready: Callable[[], str | None],
) -> None:
    """Register the API's pages on ``app``; call before the app starts.

    Customers are answered from ``records`` with ``engine``'s configuration, rankings,
    alerts and actions from ``redis``; ``not_ready`` says what the worker still waits for,
    if anything.
    """
    token = settings.api_token

    def refused(view: web.View, request: web.Request) -> web.Response | None:
        if authorised(request.headers.get("Authorization"), token):
            return None
        return view.json(
            {"error": "a valid bearer token is needed: Authorization: Bearer <token>"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="riskstream"'},
        )

    def page(name: str) -> Callable[[Any], Any]:
        return app.page(ROUTES[name].path, name=f"riskstream-{name}")

    @page("health")
    async def health(view: web.View, request: web.Request) -> web.Response:
        return view.json({"status": "ok"})

    @page("ready")
    async def ready(view: web.View, request: web.Request) -> web.Response:
        waiting = not_ready()
        if waiting:
            return unavailable(view, {"ready": False, "waiting_for": waiting})
        return view.json({"ready": True})

    @page("openapi")
    async def document(view: web.View, request: web.Request) -> web.Response:
        return view.json(openapi_document())

    async def from_redis(
        view: web.View, request: web.Request, answer: Callable[[], Awaitable[dict[str, Any]]]
    ) -> web.Response:
        if (refusal := refused(view, request)) is not None:
            return refusal
        try:
            return view.json(await answer())
        except BadQuery as error:
            return view.json({"error": str(error)}, status=400)
        except (RedisError, OSError) as error:
            return unavailable(view, {"error": f"Redis is not reachable: {error}"})

    @page("ranking")
    async def ranking(view: web.View, request: web.Request) -> web.Response:
        async def answer() -> dict[str, Any]:
            query = request.query
            tier, limit = tier_query(query), limit_query(query)
            pictures, after = await redis.ranking_page(tier, limit, rank_cursor_query(query))
            customers = [picture.model_dump(mode="json", exclude={"type"}) for picture in pictures]
            return {"tier": tier, "limit": limit, "customers": customers,
                    "next": rank_cursor(after)}  # fmt: skip

        return await from_redis(view, request, answer)

    def stream_page(stream: str) -> Callable[..., Awaitable[web.Response]]:
        async def answer_page(
            view: web.View, request: web.Request, customer_id: str
        ) -> web.Response:
            async def answer() -> dict[str, Any]:
                query = request.query
                limit, before = limit_query(query), stream_cursor_query(query)
                events, after = await redis.stream_page(stream, customer_id, limit, before)
                return {"customer_id": customer_id, stream: events, "next": after}

            return await from_redis(view, request, answer)

        return answer_page

    page("alerts")(stream_page("alerts"))
    page("actions")(stream_page("actions"))
    page("decisions")(stream_page("decisions"))

    class Customer(web.View):
        async def get(self, request: web.Request, customer_id: str) -> web.Response:
            if (refusal := refused(self, request)) is not None:
                return refusal
            owner = owner_url(app, settings, customer_id)
            if owner is None or not_ready():
                return unavailable(self, {"error": "the workers are sharing out the "
                                          "partitions: retry in a few seconds"})  # fmt: skip
            if str(owner) == str(app.conf.canonical_url):
                return self.answer(customer_id)
            if FORWARDED in request.headers:  # the assignment moved on meanwhile: no ping-pong
                return unavailable(self, {"error": "the customer's partition is moving to "
                                          "another worker: retry in a few seconds"})  # fmt: skip
            return await self.forward(request, owner)

        def answer(self, customer_id: str) -> web.Response:
            record = records.stored(customer_id)
            if record is None:
                return self.json(
                    {"error": f"no customer {customer_id!r} is known", "customer_id": customer_id},
                    status=404,
                )
            return self.json(customer_answer(engine, record))

        async def forward(self, request: web.Request, owner: URL) -> web.Response:
            """Ask the owner, with the caller's token, and pass its answer on."""
            url = request.url.with_host(owner.host).with_port(owner.port)
            headers = {name: value for name, value in request.headers.items()
                       if name.lower() != "host"}  # fmt: skip
            try:
                async with app.http_client.get(url, headers={**headers, FORWARDED: "1"}) as got:
                    body = await got.text()
                    retry = {"Retry-After": RETRY_AFTER} if got.status == 503 else {}
                    return self.text(body, content_type=got.content_type, status=got.status,
                                     headers=retry)  # fmt: skip
            except (aiohttp.ClientError, TimeoutError) as error:
                return unavailable(self, {"error": f"the worker at {owner} that has this "
                                          f"customer did not answer: {error}"})  # fmt: skip

    page("customer")(Customer)


def unavailable(view: web.View, body: dict[str, Any]) -> web.Response:
    """A 503 with ``body``, telling the client when to ask again."""
    return view.json(body, status=503, headers={"Retry-After": RETRY_AFTER})


def partition_of(customer_id: str, partitions: int) -> int:
    """The partition of a customer's events and state: Kafka's default partitioner (murmur2).

    >>> partition_of("cust-042", 4)
    3
    """
    every = list(range(partitions))
    return int(_PARTITIONER(customer_id.encode(), every, every))


def owner_url(app: faust.App, settings: Settings, customer_id: str) -> URL | None:
    """The web address of the worker that owns the customer's partition, as last assigned.

    The customers agent reads the ticks topic beside the inputs, co-partitioned with the
    state table, so the owner of the customer's ticks partition owns its record.
    """
    ticks = settings.topics.ticks
    partition = partition_of(customer_id, settings.partitions)
    for url, topics in app.router.external_topics_metadata().items():
        if partition in topics.get(ticks, ()):
            return URL(url)
    return None
