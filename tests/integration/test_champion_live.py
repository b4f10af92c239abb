"""Champion and challenger live on the real broker: both score every invoice, the trainer's
figures of each reach Redis, the guard refuses a promotion it cannot back, and a forced
promotion changes which model drives decisions without a restart."""

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import redis

from schemas import OrderPlaced
from tests.integration.harness import (
    Worker,
    as_message,
    collect,
    create_topics,
    isolated_env,
    produce,
    run,
    settings_of,
    wait_for,
)
from tests.integration.test_control import control, euros
from tests.integration.test_pipeline import START, paid_invoices

pytestmark = pytest.mark.integration

PROMOTE = "kind: model\nversion: arf-first\nbody: {{champion: arf, min_labels: {labels}}}\n"


def _order(customer: str, number: int) -> OrderPlaced:
    return OrderPlaced(event_id=f"{customer}-o{number}", customer_id=customer,
                       order_id=f"{customer}-o{number}", amount=euros("50.00"),
                       event_time=START + timedelta(days=59, minutes=number))  # fmt: skip


def test_a_challenger_scores_beside_the_champion_and_a_promotion_takes_over_live(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = {**isolated_env(kafka_bootstrap, redis_url, tmp_path / "data"),
           "RISKSTREAM_CHALLENGERS": "arf", "RISKSTREAM_SNAPSHOT_EVERY": "4"}  # fmt: skip
    settings = settings_of(env)
    run(create_topics(settings))
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        first = [*paid_invoices(range(6), "c"), _order("c0", 1)]
        run(produce(settings, [as_message(settings, event) for event in first]))
        examples = run(collect(settings, settings.topics.training, lambda r: len(r) >= 6))
        assert len(examples) == 6, worker.log_tail()
        for example in examples:
            assert set(example["probabilities"]) == {"logreg", "arf"}
            assert example["probability"] == example["probabilities"]["logreg"]

        health_key = f"{settings.redis_prefix}:model:health"
        client = redis.Redis.from_url(redis_url)
        health = wait_for(lambda: _health(client, health_key, 6), 60)
        assert health, worker.log_tail()
        assert health["logreg"]["champion"] and not health["arf"]["champion"]

        (tmp_path / "m.yaml").write_text(PROMOTE.format(labels=1000))
        refused = control(env, "publish", str(tmp_path / "m.yaml"))
        assert refused.returncode == 2, refused.stderr
        assert "not promoted: arf has 6 labels in common with logreg; the guard asks for 1000" in (
            refused.stderr
        )
        forced = control(env, "publish", "--force", str(tmp_path / "m.yaml"))
        assert forced.returncode == 0, forced.stderr
        assert forced.stdout.startswith("model arf-first in force (was the built-in default)")
        assert "forced past the guard" in forced.stdout

        champion = lambda: worker.metric("riskstream_model_champion", "model")  # noqa: E731
        assert wait_for(lambda: champion().get(("arf",)) == 1.0, 30), worker.log_tail()
        later = [*paid_invoices(range(6, 9), "d"), _order("d6", 1)]
        run(produce(settings, [as_message(settings, event) for event in later]))
        examples = run(collect(settings, settings.topics.training, lambda r: len(r) >= 9))
        after = [e for e in examples if e["invoice_id"].startswith("d")]
        assert len(after) == 3, worker.log_tail()
        assert all(e["probability"] == e["probabilities"]["arf"] for e in after)
        decisions = run(collect(settings, settings.topics.decisions, lambda r: len(r) >= 2))
        model_of = {d["order_id"]: d["versions"]["model"] for d in decisions}
        assert model_of["c0-o1"].startswith("logreg@"), model_of
        assert model_of["d6-o1"].startswith("arf@"), model_of
    finally:
        worker.stop()


def _health(client: redis.Redis, key: str, labels: int) -> dict | None:
    health = {name.decode(): orjson.loads(value) for name, value in client.hgetall(key).items()}
    enough = {"logreg", "arf"} <= set(health) and all(f["n"] >= labels for f in health.values())
    return health if enough else None
