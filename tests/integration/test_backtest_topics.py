"""History on the real broker: generated onto the input topics at a rate, backtested from them
over a time range, with the same outputs as the backtest of the same history from a file."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.commands import app
from tests.integration.harness import (
    at_least,
    collect,
    create_topics,
    isolated_env,
    produce,
    run,
    settings_of,
)

pytestmark = pytest.mark.integration

GENERATE = ["generate", "--customers", "6", "--days", "200", "--end", "2026-06-01",
            "--events", "300"]  # fmt: skip
OUTPUTS = ("alerts", "changes", "decisions", "actions", "invoices", "deadletter")


def test_history_sent_to_the_topics_backtests_like_the_same_history_from_a_file(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    env = isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    settings = settings_of(env)
    run(create_topics(settings))
    runner = CliRunner(env=env)
    old = settings.topics.orders
    run(produce(settings, [(old, b"c-old", b'{"type":"order.placed"}')]))  # before the range
    time.sleep(1.1)
    start = datetime.now(UTC)
    started = time.monotonic()
    sent = runner.invoke(app, [*GENERATE, "--to-topics", "--rate", "400"])
    assert sent.exit_code == 0, sent.stderr
    assert "sent 300 events" in sent.stderr
    assert time.monotonic() - started >= 300 / 400 * 0.9, "not paced at the target rate"
    bad = (settings.topics.payments, b"c-1", b'{"type":"payment.received","amount":1}')
    run(produce(settings, [bad]))
    end = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.1)
    run(produce(settings, [(old, b"c-new", b'{"type":"order.placed"}')]))  # after it

    moments = ["--start", start.isoformat(), "--end", end.isoformat()]
    prefix = settings.topics.orders.split(".")[0] + ".backtest."
    from_topics = runner.invoke(app, ["backtest", "-q", *moments, "-o", str(tmp_path / "topics"),
                                      "--topic-prefix", prefix])  # fmt: skip
    assert from_topics.exit_code == 0, from_topics.stderr
    assert "300 events" in from_topics.stderr and "1 rejected" in from_topics.stderr
    history = tmp_path / "history.jsonl"
    assert runner.invoke(app, [*GENERATE, "--output", str(history)]).exit_code == 0
    from_file = runner.invoke(app, ["backtest", "-q", str(history), "--output",
                                    str(tmp_path / "file")])  # fmt: skip
    assert from_file.exit_code == 0, from_file.stderr
    for kind in OUTPUTS[:-1]:
        topics_lines = (tmp_path / "topics" / f"{kind}.jsonl").read_bytes()
        assert topics_lines == (tmp_path / "file" / f"{kind}.jsonl").read_bytes(), kind
    for kind in OUTPUTS:
        written = (tmp_path / "topics" / f"{kind}.jsonl").read_bytes().splitlines()
        sent = run(collect(settings, prefix + kind, at_least(len(written)), 20, bytes))
        assert sorted(sent) == sorted(written), kind
    [letter] = (tmp_path / "topics" / "deadletter.jsonl").read_bytes().splitlines()
    assert b'"source_topic":"' + settings.topics.payments.encode() in letter
    assert b'"reason_code":"invalid"' in letter


def test_missing_input_topics_are_named_in_one_line(kafka_bootstrap, redis_url, tmp_path: Path):
    env = isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")  # topics never created
    output = tmp_path / "out"
    result = CliRunner(env=env).invoke(
        app, ["backtest", "-q", "--start", "2026-01-01", "-o", str(output)]
    )
    assert result.exit_code == 2
    assert f"no topic {env['RISKSTREAM_TOPIC_CUSTOMERS']}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not output.exists(), "nothing is written when the source cannot be read"
