"""The query API on the worker's web port: health, readiness and customers' current risk.

- ``GET /health``: 200 while the worker process serves requests (liveness).
- ``GET /ready``: 200 once the worker has its partitions and has recovered its table,
  503 while it rebalances or recovers (readiness).
- ``GET /customers/{id}``: one customer's picture, open invoices and latest alerts, from
  the state table of the worker that owns the customer's partition; any worker takes the
  request and forwards it to that one once (the partition assignment says which it is).
- ``GET /customers?tier=high&limit=20``: the customers of highest score, from Redis' score
  rankings, which every worker's ``redis`` agent feeds: the same answer from any worker.

With ``RISKSTREAM_API_TOKEN`` set, ``/customers*`` wants ``Authorization: Bearer <token>``
(401 otherwise); health, readiness and ``/metrics`` stay open. Faust's own pages are off
(`streams.worker.faust_app`).
"""

import hmac
from collections.abc import Callable, Mapping

import aiohttp
import faust
from aiokafka.partitioner import DefaultPartitioner
from faust import web
from pydantic import SecretStr
from redis.exceptions import RedisError
from yarl import URL

from sinks.redis import TIERS, RedisSink
from streams.engine import Engine
from streams.settings import Settings
from streams.worker.answers import customer_answer
from streams.worker.records import Records

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
_PARTITIONER = DefaultPartitioner()
FORWARDED = "X-Riskstream-Forwarded"


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


def ranking_query(query: Mapping[str, str]) -> tuple[str | None, int]:
    """``tier`` (or None: every tier) and ``limit`` of a ``/customers`` query.

    >>> ranking_query({"tier": "high", "limit": "5"}), ranking_query({})
    (('high', 5), (None, 20))
    >>> for bad in ({"limit": "0"}, {"limit": "²"}, {"tier": "huge"}):
    ...     try:
    ...         ranking_query(bad)
    ...     except BadQuery as error:
    ...         print(error)
    limit must be a whole number from 1 to 1000, not '0'
    limit must be a whole number from 1 to 1000, not '²'
    tier must be one of low, medium, high, not 'huge'
    """
    tier = query.get("tier") or None
    if tier is not None and tier not in TIERS:
        raise BadQuery(f"tier must be one of {', '.join(TIERS)}, not {tier!r}")
    raw = query.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}")
    return tier, int(raw)


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

    Customers are answered from ``records`` with ``engine``'s configuration, rankings from
    ``redis``; ``not_ready`` says what the worker still waits for, if anything.
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

    @app.page("/health", name="riskstream-health")
    async def health(view: web.View, request: web.Request) -> web.Response:
        return view.json({"status": "ok"})

    @app.page("/ready", name="riskstream-ready")
    async def ready(view: web.View, request: web.Request) -> web.Response:
        waiting = not_ready()
        if waiting:
            return view.json({"ready": False, "waiting_for": waiting}, status=503)
        return view.json({"ready": True})

    @app.page("/customers", name="riskstream-customers")
    async def ranking(view: web.View, request: web.Request) -> web.Response:
        if (refusal := refused(view, request)) is not None:
            return refusal
        try:
            tier, limit = ranking_query(request.query)
            pictures = await redis.top(tier, limit)
        except BadQuery as error:
            return view.json({"error": str(error)}, status=400)
        except (RedisError, OSError) as error:
            return view.json({"error": f"the ranking in Redis is not reachable: {error}"},
                             status=503)  # fmt: skip
        customers = [picture.model_dump(mode="json", exclude={"type"}) for picture in pictures]
        return view.json({"tier": tier, "limit": limit, "customers": customers})

    class Customer(web.View):
        async def get(self, request: web.Request, customer_id: str) -> web.Response:
            if (refusal := refused(self, request)) is not None:
                return refusal
            owner = owner_url(app, settings, customer_id)
            if owner is None or not_ready():
                return self.json({"error": "the workers are sharing out the partitions: "
                                  "retry in a few seconds"}, status=503)  # fmt: skip
            if str(owner) == str(app.conf.canonical_url):
                return self.answer(customer_id)
            if FORWARDED in request.headers:  # the assignment moved on meanwhile: no ping-pong
                return self.json({"error": "the customer's partition is moving to another "
                                  "worker: retry in a few seconds"}, status=503)  # fmt: skip
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
                    return self.text(body, content_type=got.content_type, status=got.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                return self.json({"error": f"the worker at {owner} that has this customer did "
                                  f"not answer: {error}"}, status=503)  # fmt: skip

    app.page("/customers/{customer_id}", name="riskstream-customer")(Customer)


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
