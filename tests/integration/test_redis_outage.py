"""Redis stopped and restarted mid-stream: Kafka outputs go on, and once Redis is back it
holds every alert and credit action exactly once and every customer at its final revision.

The test runs its own redis-server (``deploy/local/redis.sh`` on a free port), never the
shared one, and has it save its data when stopped so that a restart brings it back.
"""

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from streams.cli.embedded import free_port
from streams.cli.generate import generate_events
from streams.settings import Settings
from tests.integration import harness
from tests.integration.harness import REPO, Worker, run, settings_of

pytestmark = pytest.mark.integration


class OwnRedis:
    """A redis-server of this test alone, stopped and started by ``deploy/local/redis.sh``."""

    def __init__(self, run_dir: Path) -> None:
        self.env = {**os.environ, "REDIS_PORT": str(free_port()), "PYTHON": sys.executable,
                    "RISKSTREAM_RUN_DIR": str(run_dir)}  # fmt: skip
        self.url = ""

    def _script(self, command: str) -> str:
        done = subprocess.run([str(REPO / "deploy/local/redis.sh"), command], env=self.env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> redis.Redis:
        self.url = self._script("start").splitlines()[-1]
        client = redis.Redis.from_url(self.url, decode_responses=True)
        client.config_set("save", "3600 1")  # a clean shutdown saves, a restart loads it
        return client

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.stop()


def test_nothing_is_lost_or_doubled_across_a_redis_restart(kafka_bootstrap, own_redis, tmp_path):
    client = own_redis.start()
    env = harness.isolated_env(kafka_bootstrap, own_redis.url, tmp_path / "data")
    settings = settings_of(env)
    run(harness.create_topics(settings))
    prefix, topics = settings.redis_prefix, settings.topics
    events = list(generate_events(customers=20, days=150, end=datetime.now(UTC), seed=23))
    revisions = Counter(event.customer_id for event in events)
    half = len(events) // 2
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        worker.wait_serving()
        run(harness.send(settings, events[:half]))
        assert harness.wait_for(lambda: len(client.keys(f"{prefix}:customer:*")) >= 10, 60)

        own_redis.stop()
        run(harness.send(settings, events[half:]))
        # Kafka outputs go on: every customer reaches its final revision on risk.customers.
        pictures = run(harness.collect(settings, topics.customers_out,
                                       lambda r: final(r) == revisions))  # fmt: skip
        assert final(pictures) == revisions, worker.log_tail()
        failed = sample(worker, "riskstream_redis_write_errors_total")
        assert failed > 0 and sample(worker, "riskstream_redis_pending_outputs") > 0

        client = own_redis.start()
        caught_up = harness.wait_for(lambda: stored_revisions(client, prefix) == revisions, 90)
        assert caught_up, worker.log_tail()
        assert sample(worker, "riskstream_redis_write_retries_total") > 0
        # Overdue alerts may still come from the clock: wait until Redis has what Kafka has.
        alerts = harness.wait_for(lambda: in_both(client, settings), 60)
    finally:
        worker.stop()
    assert alerts, worker.log_tail()
    assert {output["type"] for output in alerts} == {"alert", "credit_action"}
    for customer in revisions:
        for stream, id_name in STREAMS:
            ids = [entry[id_name] for _, entry in client.xrange(f"{prefix}:{stream}:{customer}")]
            assert len(ids) == len(set(ids)), f"{customer}: one of its {stream} twice in Redis"
        tier = client.hget(f"{prefix}:customer:{customer}", "tier")
        ranked_in = {t for t in ("low", "medium", "high")
                     if client.zscore(f"{prefix}:scores:{t}", customer) is not None}  # fmt: skip
        assert ranked_in == {tier}, customer


STREAMS = (("alerts", "alert_id"), ("actions", "action_id"))
"""The outputs Redis keeps a stream of per customer: the topic, and the id of an output."""


def in_both(client: redis.Redis, settings: Settings) -> list[dict]:
    """The alerts and credit actions on their topics if Redis' streams hold exactly their ids,
    else []."""
    found = []
    for stream, id_name in STREAMS:
        topic = getattr(settings.topics, stream)
        outputs = run(harness.collect(settings, topic, lambda r: False, timeout=2))
        if stored_ids(client, f"{settings.redis_prefix}:{stream}:*", id_name) != {
            output[id_name] for output in outputs
        }:
            return []
        found += outputs
    return found


def stored_ids(client: redis.Redis, pattern: str, id_name: str) -> set[str]:
    ids = set()
    for key in client.keys(pattern):
        ids |= {entry[id_name] for _, entry in client.xrange(key)}
    return ids


def final(pictures: list[dict]) -> Counter[str]:
    """Customer -> the highest revision among its pictures."""
    highest: Counter[str] = Counter()
    for picture in pictures:
        customer = picture["customer_id"]
        highest[customer] = max(highest[customer], picture["revision"])
    return highest


def stored_revisions(client: redis.Redis, prefix: str) -> Counter[str]:
    keys = client.keys(f"{prefix}:customer:*")
    return Counter({key.rsplit(":", 1)[1]: int(client.hget(key, "revision")) for key in keys})


def sample(worker: Worker, name: str) -> float:
    return sum(worker.metric(name).values())
