"""One model, many workers: examples reach the trainer, snapshots reach the scoring worker."""

import pickle
import urllib.request
from pathlib import Path

import pytest

from detectors.delayed_labels import LabelledExample
from detectors.snapshots import load
from schemas.codec import dumps
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
from tests.integration.test_pipeline import DAY, START, invoice, paid_invoices, payment

pytestmark = pytest.mark.integration


def test_trainer_snapshots_reach_the_scoring_worker_and_forged_ones_are_refused(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = {**isolated_env(kafka_bootstrap, redis_url, tmp_path / "data"),
           "RISKSTREAM_SNAPSHOT_EVERY": "4"}  # fmt: skip
    settings = settings_of(env)
    run(create_topics(settings))
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        history = paid_invoices(range(6))
        run(produce(settings, [as_message(settings, event) for event in history]))
        examples = run(collect(settings, settings.topics.training, lambda r: len(r) >= 6))
        assert sorted(example["invoice_id"] for example in examples) == [
            f"c{n}-i{n}" for n in range(6)
        ], worker.log_tail()
        snapshots = run(collect(settings, settings.topics.models, lambda r: len(r) >= 1,
                                decode=bytes))  # fmt: skip
        assert snapshots, worker.log_tail()

        forged = bytearray(snapshots[-1])
        forged[-1] ^= 0xFF
        unsigned = pickle.dumps({"not": "a model"})
        run(produce(settings, [(settings.topics.models, b"late_payment", bytes(forged)),
                               (settings.topics.models, b"late_payment", unsigned)]))  # fmt: skip
        metrics_url = f"http://127.0.0.1:{env['RISKSTREAM_WEB_PORT']}/metrics"
        rejected = 'riskstream_model_snapshots_total{result="rejected"} 2.0'
        assert wait_for(lambda: rejected in _read(metrics_url), 30), _read(metrics_url)
        # Six labels, three late (paid after day 20) and three on time: an AUC exists.
        quality = 'riskstream_model_auc{model="logreg"}'
        assert wait_for(lambda: quality in _read(metrics_url), 30), _read(metrics_url)

        late = [invoice("zz", 9, "70.00", START, 10), payment("zz", 9, "70.00", START + 30 * DAY)]
        run(produce(settings, [as_message(settings, event) for event in late]))
        alerts = run(collect(settings, settings.topics.alerts,
                             lambda r: any(a["customer_id"] == "zz" for a in r)))  # fmt: skip
        versions = {a["versions"]["model"] for a in alerts if a["customer_id"] == "zz"}
        learnt = {int(version.split("@")[1]) for version in versions}
        assert learnt and min(learnt) >= 4, (versions, worker.log_tail())
    finally:
        worker.stop()


def test_a_trainer_catching_up_on_a_backlog_publishes_a_few_snapshots_not_one_per_few_examples(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = {**isolated_env(kafka_bootstrap, redis_url, tmp_path / "data"),
           "RISKSTREAM_SNAPSHOT_EVERY": "4"}  # fmt: skip
    settings = settings_of(env)
    run(create_topics(settings))
    backlog = [_example(n) for n in range(400)]
    run(produce(settings, [(settings.topics.training, e.invoice_id.encode(), dumps(e))
                           for e in backlog]))  # fmt: skip
    key = settings.model_key.get_secret_value().encode()
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        snapshots = run(collect(settings, settings.topics.models,
                                lambda r: any(load(b, key)[1] == "logreg@400" for b in r),
                                decode=bytes))  # fmt: skip
    finally:
        worker.stop()
    versions = [load(blob, key)[1] for blob in snapshots]
    assert versions[-1] == "logreg@400", worker.log_tail()
    # One snapshot every 4 examples would be 100 of them, each signed by the trainer and
    # loaded by every worker.
    assert len(versions) <= 10, versions


def _example(n: int) -> LabelledExample:
    return LabelledExample(
        invoice_id=f"i{n}", features={"limit_use": n % 7 / 7}, probability=0.2,
        issued_at=START, due_date=START.date(), label=n % 3 == 0, labelled_at=START,
    )  # fmt: skip


def _read(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError as error:
        return f"unreachable: {error}"
