"""Throughput of one live worker catching up on a backlog, through Kafka, RocksDB and Redis.

    RISKSTREAM_TEST_BROKER=127.0.0.1:19092 RISKSTREAM_TEST_REDIS=redis://127.0.0.1:16379/0 \\
        python -m tests.bench.bench_worker --customers 200 --days 365

Writes ``--customers`` customers' generated history (``riskstream generate``) to the input
topics of an isolated app id (own topics and Redis prefix, like the integration tests) on the
broker and Redis named by the environment (else the local defaults), then starts one worker
and times, from the moment it is ready: every input event taken
(``riskstream_events_received_total`` but the clock's ticks), every customer at its final
revision in Redis. Events taken before ``/ready`` answers are left out of the rates. Prints
events/s of the wall clock and per second of the worker's CPU time (user and system, from
/proc), which tells a worker waiting on the broker from one bound by its own work.
"""

import argparse
import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import redis

from streams.cli.generate import generate_events
from tests.integration import harness


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=2)
    args = parser.parse_args()
    broker, redis_url = harness.given_services()

    with tempfile.TemporaryDirectory() as scratch:
        env = harness.isolated_env(broker, redis_url, Path(scratch) / "data", args.partitions)
        settings = harness.settings_of(env)
        harness.run(harness.create_topics(settings))
        events = list(generate_events(args.customers, args.days, end=datetime.now(UTC)))
        harness.run(harness.send(settings, events))
        revisions = Counter(event.customer_id for event in events)
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        key = f"{settings.redis_prefix}:customer:"

        def processed() -> float:
            taken = worker.metric("riskstream_events_received_total", "type")
            return sum(count for (kind,), count in taken.items() if kind != "tick")

        def in_redis() -> bool:
            with client.pipeline(transaction=False) as pipe:
                for customer in revisions:
                    pipe.hget(key + customer, "revision")
                stored = pipe.execute()
            return stored == [str(revisions[customer]) for customer in revisions]

        worker = harness.Worker(env, Path(scratch) / "worker.log").start()
        try:
            worker.wait_serving(180)
            assert worker.process is not None
            started, cpu_started = time.perf_counter(), cpu_seconds(worker.process.pid)
            # The worker may take events before /ready says so: time only those after.
            timed = len(events) - processed()
            done = harness.wait_for(lambda: processed() >= len(events), 1800, 0.2)
            assert done, worker.log_tail()
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(worker.process.pid) - cpu_started
            assert harness.wait_for(in_redis, 600, 0.5), worker.log_tail()
            redis_seconds = time.perf_counter() - started
        finally:
            worker.stop()
    print(f"{len(events):,} events of {len(revisions):,} customers over {args.days} days, "
          f"{args.partitions} partitions, one worker")  # fmt: skip
    if timed < len(events) / 2:
        raise SystemExit(f"only {timed:,.0f} events were taken after the worker was ready: "
                         "too few to time, give more --customers or --days")  # fmt: skip
    print(f"processed:      {seconds:7.1f} s   {timed / seconds:7,.0f} events/s "
          f"(wall clock)   {timed / cpu:7,.0f} events per CPU second "
          f"(worker busy {cpu / seconds:.0%})")  # fmt: skip
    print(f"all in Redis:   {redis_seconds:7.1f} s   {timed / redis_seconds:7,.0f} events/s")
    print(
        f"({len(events) - timed:,.0f} events were taken before the worker said it was ready, "
        "and are not timed)"
    )


if __name__ == "__main__":
    main()
