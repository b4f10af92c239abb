"""The Faust app of a worker and its topics, as the settings say."""

from typing import Any

import faust
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from aiokafka import AIOKafkaConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.web.base import BlueprintManager

from streams.settings import Settings

FAUST_PAGES_OFF = {
    "web_tables_enabled": False,
    "web_router_enabled": False,
    "web_stats_enabled": False,
    "web_graph_enabled": False,
    "web_metrics_enabled": False,
}
"""Faust's own web pages (table data, routes, statistics, the dependency graph): off. The
worker serves only the query API, health, readiness and metrics (`streams.worker.views`)."""
SECURE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Server": "riskstream",
}
"""Headers of every answer: answers are JSON or metrics of the moment, never a page to frame,
cache or sniff; and the server's software is nobody's business."""


FETCH_MIN_BYTES = 64 * 1024
"""What a fetch of the worker's consumer asks the broker to gather before it answers, unless
``fetch_wait_ms`` passes first."""


def fetching(wait_ms: int) -> type[Consumer]:
    """Faust's consumer, whose fetches wait up to ``wait_ms`` for `FETCH_MIN_BYTES`.

    Faust leaves aiokafka's minimum of 1 byte (and fixes the wait at 1.5 s): a fetch is
    answered as soon as any one message is there, so a live worker sent a fetch request over
    all its partitions for every few messages, hundreds a second, and their requests and
    answers took a fifth of its CPU at 100 events/s (`docs/benchmarks.md`, bench_worker). A
    backlog still comes at once; a live message waits at most ``wait_ms``.
    """

    class Thread(AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
            consumer = super()._create_worker_consumer(transport)
            # Read by aiokafka when the consumer starts and builds its fetcher.
            consumer._fetch_min_bytes = FETCH_MIN_BYTES
            consumer._fetch_max_wait_ms = wait_ms
            return consumer

    class Fetching(Consumer):
        def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
            return Thread(self, loop=self.loop, beacon=self.beacon)

    return Fetching


def create_app(settings: Settings) -> faust.App:
    """The Faust app: consumer group, table store and web port from the settings; none of
    Faust's own web pages."""
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.advertised_web_host,
        broker_credentials=settings.kafka.faust_credentials(),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        **settings.faust_options(),
        **FAUST_PAGES_OFF,
    )
    app.transport.Consumer = fetching(settings.fetch_wait_ms)
    # Faust's environment variables (APP_WEB_TABLES_ENABLED, APP_DEBUG...) take precedence
    # over those settings, and its index page at / has no setting: serve no built-in page.
    app.web.blueprints = BlueprintManager()
    app.web.web_app.on_response_prepare.append(_secure)
    app.web.web_app.middlewares.append(_json_errors)
    return app


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own errors (no such path, no such method) as JSON, like the API's."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {name: value for name, value in error.headers.items()
                   if name.lower() not in ("content-type", "content-length")}  # fmt: skip
        message = f"{error.reason.lower()}: {request.method} {request.path}"
        if error.status == 405:
            message += f"; it answers {headers.get('Allow', 'nothing')}"
        return web.json_response({"error": message}, status=error.status, headers=headers,
                                 dumps=lambda value: orjson.dumps(value).decode())  # fmt: skip


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURE_HEADERS)


def raw_topic(app: faust.App, settings: Settings, *names: str) -> faust.TopicT:
    """The topics ``names``, read and written as bytes: the codecs are riskstream's own."""
    return app.topic(
        *names,
        partitions=settings.partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
