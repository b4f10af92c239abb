"""Response times of the query API over HTTP, on two running workers.

    RISKSTREAM_TEST_BROKER=127.0.0.1:19092 RISKSTREAM_TEST_REDIS=redis://127.0.0.1:16379/0 \\
        python -m tests.bench.bench_api_http --customers 200 --requests 400

Starts two workers in one group (own app id, topics and Redis prefix, like the integration
tests) on the broker and Redis named by the environment (else the local defaults), sends
``--customers`` customers' synthetic history, waits until Redis shows every customer at its
final revision, then asks one worker, one request at a time (a new connection each), for
customers it owns, customers the other worker owns (forwarded), and the top 20 of the
ranking, the three in turn. Prints the median and 99th percentile of each, in milliseconds,
and as its last line one JSON object of them.
"""

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import redis

from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.worker.views import partition_of
from tests.integration import harness


def timed_ms(asks: dict[str, Callable[[], tuple[int, object]]], rounds: int) -> dict:
    """Milliseconds of each request, the kinds asked in turn so that they share the noise."""
    took: dict[str, list[float]] = {name: [] for name in asks}
    for _ in range(rounds):
        for name, ask in asks.items():
            started = time.perf_counter()
            status, body = ask()
            took[name].append((time.perf_counter() - started) * 1000)
            assert status == 200, body
    return took


def p99(took: list[float]) -> float:
    return statistics.quantiles(took, n=100)[98]


def summary(name: str, took: list[float]) -> str:
    return f"{name:<32} median {statistics.median(took):6.2f} ms   p99 {p99(took):6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    broker, redis_url = harness.given_services()

    with tempfile.TemporaryDirectory() as scratch:
        env = harness.isolated_env(broker, redis_url, Path(scratch) / "first")
        settings = harness.settings_of(env)
        harness.run(harness.create_topics(settings))
        other = {**env, "RISKSTREAM_WEB_PORT": str(free_port()),
                 "RISKSTREAM_DATA_DIR": str(Path(scratch) / "second")}  # fmt: skip
        workers = [harness.Worker(env, Path(scratch) / "first.log"),
                   harness.Worker(other, Path(scratch) / "second.log")]  # fmt: skip
        try:
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.wait_serving()
            events = list(generate_events(args.customers, 120, end=datetime.now(UTC)))
            harness.run(harness.send(settings, events))
            revisions = Counter(event.customer_id for event in events)
            client = redis.Redis.from_url(redis_url, decode_responses=True)
            key = f"{settings.redis_prefix}:customer:"
            assert harness.wait_for(lambda: all(
                client.hget(key + c, "revision") == str(n) for c, n in revisions.items()
            ), 300), workers[0].log_tail()  # fmt: skip

            first = workers[0]
            lags = first.metric("riskstream_consumer_lag_messages", "topic", "partition")
            owned = {int(p) for topic, p in lags if topic == settings.topics.ticks}
            mine = [c for c in revisions if partition_of(c, settings.partitions) in owned]
            theirs = [c for c in revisions if c not in mine]
            rounds = iter(range(10**9))

            def customer_of(pool: list[str]) -> Callable[[], tuple[int, object]]:
                return lambda: first.get(f"/v1/customers/{pool[next(rounds) % len(pool)]}")

            print(f"{len(revisions)} customers, {len(events)} events, {args.requests} requests "
                  f"each, one worker asked ({len(mine)} customers its own)")  # fmt: skip
            took = timed_ms({
                "GET /customers/{id}, own": customer_of(mine),
                "GET /customers/{id}, forwarded": customer_of(theirs),
                "GET /customers?limit=20": lambda: first.get("/v1/customers?limit=20"),
            }, args.requests)  # fmt: skip
            for name, times in took.items():
                print(summary(name, times))
            figures = {"bench": "api_http", "customers": len(revisions), "events": len(events),
                       "requests": args.requests}  # fmt: skip
            for kind, times in zip(("own", "forwarded", "ranking"), took.values(), strict=True):
                figures[f"{kind}_p50_ms"] = round(statistics.median(times), 3)
                figures[f"{kind}_p99_ms"] = round(p99(times), 3)
            print(orjson.dumps(figures).decode())
        finally:
            for worker in workers:
                worker.stop()


if __name__ == "__main__":
    main()
