"""What the console reads from Redis: the keys of docs/redis.md, read-only."""

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis.asyncio as aioredis

from schemas.fx import FxRates
from streams.console.tables import NO_RATES, customer_row

PAGE = 200
"""Rows a page of a queue shows; its export reads the documents this many at a time."""
QUEUES = {"cases": ("cases:open", "case", True), "reviews": ("reviews:pending", "decision", False)}
"""A queue -> its sorted set, the kind of document its members name, and whether it lists the
highest score first (the case inbox: by priority) or the lowest (the order reviews: oldest
first)."""
FRESH = 2.0
"""Seconds the portfolio's pictures, read whole, serve every page."""
FEEDS = {
    "cases": "cases",
    "alerts": "alerts",
    "actions": "actions",
    "proposal-reviews": "actions",
    "risk-changes": "customers",
    "decisions": "decisions",
}
"""A portfolio change feed -> the live event it raises on the console's pages."""
HISTORY_LENGTH = 10_000
"""Samples of the portfolio's history kept: over a year at one an hour."""
ANSWERS = ("cases", "decisions", "proposal-reviews")
"""The feeds of the outputs that answer people's review events (their ``source_event_id``)."""


class Store:
    """Reads of one Redis (``client`` decodes responses) under one key prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._portfolio: tuple[float, list[dict[str, Any]]] = (0.0, [])
        self._reading = asyncio.Lock()
        self.fx: FxRates = NO_RATES
        """The ``fx`` control document in force (the console follows the control topic)."""

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def customers(self) -> list[dict[str, Any]]:
        """Every customer's picture (its hash), in no particular order; read at most once in
        ``FRESH`` seconds (or four times as long as the last read took, for a large
        portfolio), however many pages want it."""
        async with self._reading:
            fresh_until, rows = self._portfolio
            if time.monotonic() >= fresh_until:
                started = time.monotonic()
                rows = await self._read_customers()
                took = time.monotonic() - started
                self._portfolio = (time.monotonic() + max(FRESH, 4 * took), rows)
            return rows

    async def _read_customers(self) -> list[dict[str, Any]]:
        names = [name async for name in self.client.scan_iter(self.key("customer", "*"), 1000)]
        start = len(self.key("customer", ""))
        async with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(name)
            hashes = await pipe.execute()
        return [
            customer_row(name[start:], fields)
            for name, fields in zip(names, hashes, strict=True)
            if fields
        ]

    async def customer(self, customer_id: str) -> dict[str, Any] | None:
        fields = await self.client.hgetall(self.key("customer", customer_id))
        return customer_row(customer_id, fields) if fields else None

    async def stream(self, kind: str, customer_id: str, count: int = 20) -> list[dict[str, Any]]:
        """The customer's latest ``alerts``, ``actions`` or ``proposal-reviews``, newest
        first."""
        entries = await self.client.xrevrange(self.key(kind, customer_id), count=count)
        return [orjson.loads(fields["json"]) for _, fields in entries]

    async def feed_since(self, feed: str, since: float) -> list[dict[str, Any]]:
        """The outputs of the portfolio's ``feed`` written since ``since`` (epoch seconds),
        oldest first."""
        entries = await self.client.xrange(self.key("feed", feed), min=f"{int(since * 1000)}-0")
        return [orjson.loads(fields["json"]) for _, fields in entries]

    async def answers_since(self, since: float) -> dict[str, dict[str, Any]]:
        """Review event id -> the versions in force in the output that answered it (a case
        revision, an order or proposal review), of those written since ``since``."""
        answers = {}
        for feed in ANSWERS:
            for output in await self.feed_since(feed, since):
                answers[output["source_event_id"]] = output.get("versions") or {}
        return answers

    async def history(self, count: int = 1000) -> list[dict[str, Any]]:
        """The portfolio's latest ``count`` samples (see `sample_once`), oldest first."""
        entries = await self.client.xrevrange(self.key("history", "portfolio"), count=count)
        samples = [orjson.loads(fields["json"]) for _, fields in entries]
        return sorted(samples, key=lambda point: point["at"])

    async def sample_once(self, sample: dict[str, Any], every: float) -> bool:
        """Add ``sample`` to the portfolio's history unless one was added in the last
        ``every`` seconds (by this console or another): one sample per interval, however
        many consoles run."""
        taken = await self.client.set(self.key("history", "taken"), "1", nx=True,
                                      ex=max(1, int(every) - 1))  # fmt: skip
        if taken:
            await self.client.xadd(self.key("history", "portfolio"),
                                   {"at": sample["at"], "json": orjson.dumps(sample).decode()},
                                   maxlen=HISTORY_LENGTH, approximate=True)  # fmt: skip
        return bool(taken)

    async def _documents(self, kind: str, ids: list[str]) -> list[dict[str, Any]]:
        """The JSON documents ``{prefix}:{kind}:{id}`` of ``ids``, in order, those gone left
        out."""
        if not ids:
            return []
        found = await self.client.mget([self.key(kind, one) for one in ids])
        return [orjson.loads(document) for document in found if document]

    async def _members(self, queue: str, start: int, stop: int) -> list[str]:
        """The ids of ``queue`` from rank ``start`` to ``stop`` (both included, -1: the last),
        in the queue's order."""
        name, _, highest_first = QUEUES[queue]
        read = self.client.zrevrange if highest_first else self.client.zrange
        return await read(self.key(name), start, stop)

    async def queue(self, queue: str) -> list[dict[str, Any]]:
        """Every document of ``queue`` (``cases``, ``reviews``), in its order: the ids in one
        read, an order that holds while the queue moves, the documents `PAGE` at a time."""
        ids, kind = await self._members(queue, 0, -1), QUEUES[queue][1]
        documents = []
        for start in range(0, len(ids), PAGE):
            documents += await self._documents(kind, ids[start : start + PAGE])
        return documents

    async def _page_members(self, queue: str, number: int) -> tuple[list[str], int]:
        """The ids of page ``number`` (from 1, `PAGE` rows a page) of ``queue``, and how many
        the queue has: a page beyond the last has none."""
        total = await self.client.zcard(self.key(QUEUES[queue][0]))
        start = (number - 1) * PAGE
        ids = await self._members(queue, start, start + PAGE - 1) if start < total else []
        return ids, total

    async def queue_page(self, queue: str, number: int) -> tuple[list[dict[str, Any]], int]:
        """The documents of page ``number`` of ``queue``, and how many rows the queue has."""
        ids, total = await self._page_members(queue, number)
        return await self._documents(QUEUES[queue][1], ids), total

    async def open_cases(self) -> list[dict[str, Any]]:
        """Every open case, highest priority first."""
        return await self.queue("cases")

    async def customer_cases(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's cases, latest opened first."""
        ids = await self.client.zrevrange(self.key("cases", "customer", customer_id), 0, 49)
        return await self._documents("case", ids)

    async def pending_reviews(self) -> list[dict[str, Any]]:
        """Every order decision waiting for release or rejection, oldest first."""
        return await self.queue("reviews")

    async def case_probabilities(self) -> dict[str, float]:
        """Customer -> the highest probability of loss of its open cases, of every page."""
        probabilities: dict[str, float] = {}
        for case in await self.open_cases():
            customer, probability = case["customer_id"], case.get("probability_of_loss", 0.0)
            probabilities[customer] = max(probability, probabilities.get(customer, 0.0))
        return probabilities

    async def _pending_fingerprint(self, page: int | None) -> str:
        """What page ``page`` of the pending orders shows (nothing without a page): its ids
        and how many there are. A change on another page changes it only as far as it
        changes this one (rows moving in or out, the count)."""
        if page is None:
            return ""
        ids, total = await self._page_members("reviews", page)
        return hashlib.blake2b("\x1f".join([str(total), *ids]).encode(),
                               digest_size=8).hexdigest()  # fmt: skip

    async def _last_id(self, stream: str) -> str:
        last = await self.client.xrevrange(stream, count=1)
        return last[0][0] if last else "0-0"

    async def changes(
        self, block_ms: int = 1000, reviews_page: int | None = None
    ) -> AsyncIterator[set[str]]:
        """The live events of what changed from now on: ``cases``, ``alerts``, ``actions``,
        ``customers`` (a risk change), ``decisions`` (an order decided or reviewed), and, for
        a ``reviews_page`` of the pending orders, ``reviews`` (what that page shows); an
        empty set when nothing changed for ``block_ms`` (a heartbeat). Only that something
        changed is read, never the entries themselves: a busy feed costs a page nothing more."""
        feeds = {self.key("feed", feed): "" for feed in FEEDS}
        for stream in feeds:
            feeds[stream] = await self._last_id(stream)
        start = len(self.key("feed", ""))
        pending = await self._pending_fingerprint(reviews_page)
        while True:
            read = await self.client.xread(feeds, count=1, block=block_ms)
            changed = set()
            for name, _ in read:
                feeds[name] = await self._last_id(name)
                changed.add(FEEDS[name[start:]])
            now_pending = await self._pending_fingerprint(reviews_page)
            if now_pending != pending:
                pending = now_pending
                changed.add("reviews")
            yield changed
