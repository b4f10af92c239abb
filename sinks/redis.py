"""Redis sink: the current risk of each customer and bounded streams of its alerts and actions.

Keys (``prefix`` defaults to ``riskstream``):

- ``{prefix}:customer:{customer_id}``: hash of the customer's current risk picture;
  a picture of an older revision than the one stored is ignored.
- ``{prefix}:scores``: sorted set of customers by current score, updated with the hash.
- ``{prefix}:scores:{tier}``: the same, of the customers now in ``tier`` only.
- ``{prefix}:alerts:{customer_id}``: stream of the customer's alerts, trimmed to about
  ``stream_length`` entries; each alert id is appended once (``{prefix}:seen:{alert_id}``
  remembers it for ``seen_ttl`` seconds).
- ``{prefix}:actions:{customer_id}``: stream of the credit actions proposed for the customer,
  trimmed and appended once by ``action_id`` in the same way.
- ``{prefix}:proposal-reviews:{customer_id}``: stream of the reviews (accepted, declined) of
  the customer's credit proposals, trimmed and appended once by ``review_id`` likewise.
- ``{prefix}:risk-changes:{customer_id}``: stream of the customer's risk changes (its score
  history, with the reasons of each), trimmed and appended once by ``change_id`` likewise.
- ``{prefix}:risk-changes``: pub/sub channel; each risk change is published once, as JSON.
- ``{prefix}:feed:alerts``, ``{prefix}:feed:actions``, ``{prefix}:feed:risk-changes``,
  ``{prefix}:feed:proposal-reviews``, ``{prefix}:feed:cases``: the portfolio's change feed, a
  stream of each kind trimmed to about ``feed_length`` entries, each output (each case
  revision) appended once: a subscriber that restarts (a consumer group) reads on from its
  last id instead of losing what pub/sub sent meanwhile.
- ``{prefix}:case:{case_id}``: JSON of the case's latest revision (an older one is ignored);
  ``{prefix}:cases:open``: sorted set of the cases not resolved, by priority;
  ``{prefix}:cases:customer:{customer_id}``: sorted set of the customer's cases, by the time
  they opened (epoch seconds).
- ``{prefix}:reviews:pending``: sorted set of the decision ids of orders decided ``review``
  or ``prepay`` and not yet released or rejected, by event time (epoch seconds);
  ``{prefix}:decision:{decision_id}``: JSON of such an order decision. Its order review takes
  it out of the set (and lets the decision's JSON expire after ``seen_ttl``), and
  ``{prefix}:reviewed:{decision_id}`` (for ``seen_ttl``) keeps a redelivered decision out.

Writes are pipelined. When Redis is down or slow the outputs wait (newest customer picture
per customer, events in order) and are retried with backoff; the worker's ``redis`` agent
takes no new batch meanwhile, so its topic offsets hold what Redis has not taken.
"""

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any, get_args

import orjson
from pydantic import BaseModel

from schemas.codec import dumps
from schemas.outputs import (
    HELD,
    Alert,
    Case,
    CreditAction,
    CustomerRisk,
    OrderDecision,
    OrderReview,
    ProposalReview,
    RiskChange,
    Tier,
)
from sinks.base import Sink
from streams.engine.kinds import REDIS_KINDS

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ImportError as error:  # pragma: no cover - redis is a core dependency
    raise ImportError('The Redis sink needs the redis package: pip install "redis>=5"') from error

log = logging.getLogger(__name__)

Client = aioredis.Redis | aioredis.RedisCluster


def connect(url: str, *, cluster: bool = False, **options: Any) -> Client:
    """A client of the Redis at ``url``, or of the Redis Cluster it is a node of; ``options``
    as redis-py takes them (TLS files, timeouts, ``decode_responses``)."""
    if cluster:
        return aioredis.RedisCluster.from_url(url, **options)
    return aioredis.from_url(url, **options)


TIERS = get_args(Tier)
MODEL_HEALTH = "model:health"
"""The hash of each late-payment model's health (JSON by model name), as the trainer, which
learns every worker's labels, measures it; the promotion guard reads it."""


async def read_model_health(client: Client, prefix: str) -> dict[str, dict[str, Any]]:
    """Each model's health as the trainer last wrote it; empty before it did."""
    fields = await client.hgetall(f"{prefix}:{MODEL_HEALTH}")
    return {_text(name): orjson.loads(value) for name, value in fields.items()}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


RankCursor = tuple[float, str]
"""Where a page of a ranking ends: the score and customer id of its last customer."""
_JSON_FIELDS = {"reasons", "versions"}
StreamEvent = Alert | CreditAction | RiskChange | ProposalReview | OrderDecision | OrderReview
"""An output appended to its customer's stream and the portfolio's feed once (and maybe
published)."""
Event = StreamEvent | Case
"""An output that happens once: appended to its customer's stream (and maybe published); or a case
revision, or an order decision or review: kept as its kind says (`streams.engine.kinds`)."""

# KEYS: hash, scores, scores of each tier; ARGV: revision, customer id, score, tier, fields.
_PUT_IF_NEWER = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'revision') or '-1')
if tonumber(ARGV[1]) < stored then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2]) end
for i = 3, #KEYS do
  if KEYS[i] == KEYS[2] .. ':' .. ARGV[4] and ARGV[3] ~= '' then
    redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2])
  else
    redis.call('ZREM', KEYS[i], ARGV[2])
  end
end
return 1
"""

# KEYS: seen, portfolio feed, and the customer's stream if it has one; ARGV: seen ttl, stream
# length, feed length, channel to publish the last field on (or ''), fields.
_APPEND_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 5))
  if KEYS[3] then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 5))
  end
  if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[#ARGV]) end
  return 1
end
return 0
"""


# KEYS: case, open cases, the customer's cases, case feed, seen (of this revision); ARGV:
# revision, case id, priority, opened at (epoch s), status, seen ttl, feed length, fields
# (the JSON last).
_PUT_CASE = """
local stored = redis.call('GET', KEYS[1])
if not stored or tonumber(ARGV[1]) > tonumber(cjson.decode(stored)['revision']) then
  redis.call('SET', KEYS[1], ARGV[#ARGV])
  if ARGV[5] == 'resolved' then
    redis.call('ZREM', KEYS[2], ARGV[2])
  else
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  end
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
end
if redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[6]) then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', unpack(ARGV, 8))
end
return 1
"""

# KEYS: decision, pending reviews, reviewed; ARGV: decision id, event time (epoch s), JSON.
_HOLD = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: decision, pending reviews, reviewed; ARGV: decision id, ttl.
_RELEASE = """
redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


class RedisSink(Sink):
    """Writes :class:`CustomerRisk` pictures, :class:`Alert`, :class:`CreditAction`,
    :class:`RiskChange` and :class:`ProposalReview` events, :class:`Case` revisions, and
    :class:`OrderDecision` and :class:`OrderReview` events for the orders held for review."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "riskstream",
        stream_length: int = 1000,
        feed_length: int = 100_000,
        seen_ttl: int = 7 * 24 * 3600,
        max_backoff: float = 5.0,
        options: dict[str, str] | None = None,
        cluster: bool = False,
    ) -> None:
        self.url = url
        self.options = options or {}
        """More for the client: TLS files (``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``)."""
        self.cluster = cluster
        """``url`` is a node of a Redis Cluster: ``prefix`` must then be a hash tag, so that
        every key a script writes together is in one slot."""
        self.prefix = prefix
        self.stream_length = stream_length
        self.feed_length = feed_length
        self.seen_ttl = seen_ttl
        self.max_backoff = max_backoff
        self._pictures: OrderedDict[str, CustomerRisk] = OrderedDict()
        self._events: deque[Event] = deque()
        self._failures = 0
        self._retry_at = 0.0
        self._client: Client | None = None
        self.errors = 0
        self.retries = 0

    async def setup(self) -> None:
        self._client = connect(self.url, cluster=self.cluster, socket_timeout=2.0,
                               socket_connect_timeout=2.0, **self.options)  # fmt: skip
        self._put_if_newer = self._client.register_script(_PUT_IF_NEWER)
        self._append_once = self._client.register_script(_APPEND_ONCE)
        self._put_case = self._client.register_script(_PUT_CASE)
        self._hold = self._client.register_script(_HOLD)
        self._release = self._client.register_script(_RELEASE)
        self._scripts_loaded = not self.cluster

    async def _load_scripts(self) -> None:
        """A cluster's pipelines call scripts by their digest alone, without loading them as a
        plain pipeline does: load them on every primary first, and again after a node said it
        has not got one (it restarted, or a replica took over)."""
        client = self._connected()
        for script in (_PUT_IF_NEWER, _APPEND_ONCE, _PUT_CASE, _HOLD, _RELEASE):
            await client.script_load(script)
        self._scripts_loaded = True

    @property
    def pending(self) -> int:
        return len(self._pictures) + len(self._events)

    async def write(self, batch: Sequence[BaseModel]) -> None:
        for output in batch:
            kind = REDIS_KINDS.get(output.type)  # type: ignore[attr-defined]
            if kind is None:
                continue
            if kind.redis == "picture":
                self._pictures.pop(output.customer_id, None)  # type: ignore[attr-defined]
                self._pictures[output.customer_id] = output  # type: ignore[attr-defined,assignment]
            else:
                self._events.append(output)  # type: ignore[arg-type]
        await self.flush()

    async def flush(self) -> bool:
        """Send what is pending; False if Redis failed and it stays pending for a retry."""
        if not self.pending or time.monotonic() < self._retry_at:
            return not self.pending
        pictures, events = list(self._pictures.values()), list(self._events)
        if self._failures:
            self.retries += 1
        try:
            if not self._scripts_loaded:
                await self._load_scripts()
            await self._send(pictures, events)
        except (RedisError, OSError) as error:
            self._scripts_loaded = not self.cluster
            self._note_failure(error)
            return False
        self._failures = 0
        for picture in pictures:
            if self._pictures.get(picture.customer_id) is picture:
                del self._pictures[picture.customer_id]
        for _ in events:
            self._events.popleft()
        return True

    def retry_in(self) -> float:
        """Seconds until the next attempt after a failure (0 when none is pending)."""
        return max(0.0, self._retry_at - time.monotonic())

    async def close(self) -> None:
        self._retry_at = 0.0
        await self.flush()
        if self._client is not None:
            await self._client.aclose()

    async def _send(self, pictures: list[CustomerRisk], events: list[Event]) -> None:
        assert self._client is not None, "setup() first"
        async with self._client.pipeline(transaction=False) as pipe:
            for picture in pictures:
                score = "" if picture.score is None else picture.score
                await self._put_if_newer(
                    keys=[
                        self.key("customer", picture.customer_id),
                        self.ranking(),
                        *map(self.ranking, TIERS),
                    ],
                    args=[
                        picture.revision,
                        picture.customer_id,
                        score,
                        picture.tier or "",
                        *_picture_fields(picture),
                    ],
                    client=pipe,
                )
            for event in events:
                how = REDIS_KINDS[event.type].redis
                if how == "case":
                    await self._write_case(event, pipe)  # type: ignore[arg-type]
                    continue
                if how == "decision":
                    await self._write_decision(event, pipe)  # type: ignore[arg-type]
                elif how == "review":
                    await self._write_review(event, pipe)  # type: ignore[arg-type]
                await self._append(event, pipe, published=how == "published")  # type: ignore[arg-type]
            await pipe.execute()

    async def _append(self, event: StreamEvent, pipe: Any, published: bool) -> None:
        """Append ``event`` to its customer's stream and the portfolio's feed, and publish it
        if ``published``, once (its ``seen`` key says whether it was)."""
        stream, event_id, fields = _stream_entry(event)
        await self._append_once(
            keys=[
                self.key("seen", event_id),
                self.key("feed", stream),
                self.key(stream, event.customer_id),
            ],
            args=[
                self.seen_ttl,
                self.stream_length,
                self.feed_length,
                f"{self.prefix}:risk-changes" if published else "",
                *fields,
            ],
            client=pipe,
        )

    async def _write_case(self, case: Case, pipe: Any) -> None:
        named = {
            "case_id": case.case_id,
            "customer_id": case.customer_id,
            "status": case.status,
            "revision": case.revision,
            "json": dumps(case),
        }
        await self._put_case(
            keys=[
                self.key("case", case.case_id),
                f"{self.prefix}:cases:open",
                self.key("cases:customer", case.customer_id),
                self.key("feed", "cases"),
                self.key("seen", f"case:{case.case_id}:{case.revision}"),
            ],
            args=[
                case.revision,
                case.case_id,
                case.priority,
                case.opened_at.timestamp(),
                case.status,
                self.seen_ttl,
                self.feed_length,
                *(item for pair in named.items() for item in pair),
            ],
            client=pipe,
        )

    async def _write_decision(self, decision: OrderDecision, pipe: Any) -> None:
        if decision.outcome not in HELD:
            return
        await self._hold(
            keys=self._decision_keys(decision.decision_id),
            args=[decision.decision_id, decision.event_time.timestamp(), dumps(decision)],
            client=pipe,
        )

    async def _write_review(self, review: OrderReview, pipe: Any) -> None:
        await self._release(
            keys=self._decision_keys(review.decision_id),
            args=[review.decision_id, self.seen_ttl],
            client=pipe,
        )

    def _decision_keys(self, decision_id: str) -> list[str]:
        return [
            self.key("decision", decision_id),
            f"{self.prefix}:reviews:pending",
            self.key("reviewed", decision_id),
        ]

    async def write_model_health(self, health: dict[str, dict[str, Any]]) -> None:
        """Put each model's health where `read_model_health` finds it."""
        mapping = {name: orjson.dumps(figures) for name, figures in health.items()}
        await self._connected().hset(f"{self.prefix}:{MODEL_HEALTH}", mapping=mapping)

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def ranking(self, tier: str | None = None) -> str:
        """The sorted set of customers by score: all of them, or those of one tier."""
        return f"{self.prefix}:scores" + (f":{tier}" if tier else "")

    async def ranking_page(
        self, tier: str | None, limit: int, after: RankCursor | None = None
    ) -> tuple[list[CustomerRisk], RankCursor | None]:
        """The current pictures of the ``limit`` customers of highest score (in ``tier``) that
        rank below ``after``, and the cursor of the next page (None after the last).

        A cursor is the (score, customer id) of the last customer of a page, so a page does
        not shift when customers above it change score meanwhile.
        """
        client = self._connected()
        ranking = self.ranking(tier)
        if after is None:
            ranked = await client.zrevrange(ranking, 0, limit, withscores=True)
        else:
            score, customer_id = after
            tied = await client.zrevrangebyscore(ranking, score, score, withscores=True)
            below = [(member, s) for member, s in tied if member.decode() < customer_id]
            ranked = below[: limit + 1]
            if len(ranked) <= limit:
                ranked += await client.zrevrangebyscore(
                    ranking, f"({score}", "-inf", start=0, num=limit + 1 - len(ranked),
                    withscores=True,
                )  # fmt: skip
        page = [(member.decode(), float(score)) for member, score in ranked[:limit]]
        async with client.pipeline(transaction=False) as pipe:
            for customer_id, _ in page:
                pipe.hgetall(self.key("customer", customer_id))
            hashes = await pipe.execute()
        pictures = [
            _picture_of(customer_id, fields)
            for (customer_id, _), fields in zip(page, hashes, strict=True)
            if fields  # gone since the ranking was read
        ]
        last_id, last_score = page[-1] if page else ("", 0.0)
        return pictures, ((last_score, last_id) if len(ranked) > limit else None)

    async def stream_page(
        self, stream: str, customer_id: str, limit: int, before: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The customer's newest ``limit`` entries of ``stream`` (``alerts``, ``actions``)
        older than the entry id ``before``, as the events they hold, newest first; and the
        entry id to ask ``before`` for the next page (None after the last)."""
        client = self._connected()
        entries = await client.xrevrange(
            self.key(stream, customer_id), f"({before}" if before else "+", "-", count=limit + 1
        )
        page = entries[:limit]
        events = [orjson.loads(fields[b"json"]) for _, fields in page]
        return events, (page[-1][0].decode() if len(entries) > limit else None)

    def _connected(self) -> Client:
        assert self._client is not None, "setup() first"
        return self._client

    def _note_failure(self, error: Exception) -> None:
        self.errors += 1
        self._failures += 1
        backoff = min(self.max_backoff, 0.05 * 2**self._failures)
        self._retry_at = time.monotonic() + backoff
        log.warning(
            "Redis write failed (%s); %d outputs wait, retry in %.2fs", error, self.pending, backoff
        )


def _picture_fields(picture: CustomerRisk) -> list[Any]:
    document = picture.model_dump(mode="json", exclude={"type", "customer_id"})
    fields: list[Any] = []
    for name, value in document.items():
        encoded = orjson.dumps(value).decode() if isinstance(value, list | dict) else value
        fields += [name, "" if encoded is None else encoded]
    return fields


def _picture_of(customer_id: str, fields: dict[bytes, bytes]) -> CustomerRisk:
    """A customer's picture back from its hash (see ``_picture_fields``)."""
    document: dict[str, Any] = {"customer_id": customer_id}
    for name, raw in fields.items():
        key, value = name.decode(), raw.decode()
        document[key] = orjson.loads(value) if key in _JSON_FIELDS else value or None
    return CustomerRisk.model_validate(document)


def _stream_entry(event: StreamEvent) -> tuple[str, str, list[Any]]:
    """The stream an output goes to, its id, and the fields of its entry (its JSON last)."""
    named: dict[str, Any]
    if isinstance(event, Alert):
        stream, event_id = "alerts", event.alert_id
        named = {"alert_id": event_id, "kind": event.kind, "severity": event.severity}
    elif isinstance(event, CreditAction):
        stream, event_id = "actions", event.action_id
        named = {"action_id": event_id, "kind": event.kind}
    elif isinstance(event, ProposalReview):
        stream, event_id = "proposal-reviews", event.review_id
        named = {"review_id": event_id, "action_id": event.action_id, "outcome": event.outcome}
    elif isinstance(event, OrderDecision):
        stream, event_id = "decisions", event.decision_id
        named = {"decision_id": event_id, "order_id": event.order_id, "outcome": event.outcome}
    elif isinstance(event, OrderReview):
        stream, event_id = "decisions", event.review_id
        named = {"review_id": event_id, "decision_id": event.decision_id, "outcome": event.outcome}
    else:
        stream, event_id = "risk-changes", event.change_id
        named = {"change_id": event_id, "customer_id": event.customer_id, "tier": event.tier}
    named |= {"event_time": event.event_time.isoformat(), "json": dumps(event)}
    return stream, event_id, [item for pair in named.items() for item in pair]
