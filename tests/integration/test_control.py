"""The control plane on the real broker: rules change without a restart, bad ones are refused."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.credit_actions import add_months
from schemas import CreditLimitUpdated, Money, OrderPlaced
from streams.settings import Settings
from tests.integration import harness
from tests.integration.harness import collect, produce, run

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
ORDER_RULES = """
kind: rules
version: orders-1
body:
  rules:
    - id: every_order
      description: Every order placed.
      when: {field: event.type, op: "==", value: order.placed}
      severity: info
      cooldown: PT0S
      message: an order of {event.amount:,.2f}
"""
BROKEN_RULES = b"""
kind: rules
version: broken-2
body:
  rules:
    - id: every_order
      when: {field: event.type, op: "==", value: order.placed}
      severity: loud
      cooldown: PT0S
      message: an order
"""


def euros(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def order(number: int) -> OrderPlaced:
    return OrderPlaced(event_id=f"o{number}", customer_id="c1", order_id=f"o{number}",
                       event_time=NOW + timedelta(minutes=number),
                       amount=euros("100.00"))  # fmt: skip


def control(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "control", *arguments],
        env={**os.environ, **env},
        cwd=harness.REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rule_alerts(records: list[dict], order_id: str) -> list[dict]:
    return [r for r in records if r["source_event_id"] == order_id and r["kind"] == "rule"]


@pytest.fixture
def isolated(kafka_bootstrap: str, redis_url: str, tmp_path: Path) -> tuple[dict, Settings]:
    """The environment and settings of a worker of this test alone, its topics created."""
    env = harness.isolated_env(kafka_bootstrap, redis_url, tmp_path / "data")
    settings = harness.settings_of(env)
    run(harness.create_topics(settings))
    return env, settings


def credit_limit() -> CreditLimitUpdated:
    return CreditLimitUpdated(
        event_id="limit", customer_id="c1", event_time=NOW, credit_limit=euros("5000.00")
    )


def test_a_published_rule_set_takes_effect_without_a_restart_and_a_broken_one_is_refused(
    isolated: tuple[dict, Settings], tmp_path: Path
):
    env, settings = isolated
    topics = settings.topics
    worker = harness.Worker(env, tmp_path / "worker.log").start()
    try:
        run(
            produce(settings, [harness.as_message(settings, e) for e in (credit_limit(), order(1))])
        )
        decisions = run(collect(settings, topics.decisions, lambda r: len(r) >= 1))
        assert [d["versions"]["ruleset"] for d in decisions] == ["default-6"], worker.log_tail()
        actions = run(collect(settings, topics.actions, lambda r: len(r) >= 1))
        assert [(a["kind"], a["customer_id"]) for a in actions] == [("review", "c1")]
        assert actions[0]["review_date"] == add_months(NOW.date(), 12).isoformat()

        (tmp_path / "orders.yaml").write_text(ORDER_RULES)
        published = control(env, "publish", str(tmp_path / "orders.yaml"))
        assert published.returncode == 0, published.stderr
        assert "rules orders-1 in force (was the built-in default)" in published.stdout
        assert harness.wait_for(lambda: "in force: rules orders-1" in worker.log_tail(200), 30)
        run(produce(settings, [harness.as_message(settings, order(2))]))
        alerts = run(collect(settings, topics.alerts, lambda r: rule_alerts(r, "o2")))
        (hit,) = rule_alerts(alerts, "o2")
        assert (hit["details"]["rule_id"], hit["versions"]["ruleset"]) == (
            "every_order",
            "orders-1",
        )
        assert rule_alerts(alerts, "o1") == []

        # A rule set without rules, rolled back at once: orders-1 is in force again.
        (tmp_path / "none.yaml").write_text("kind: rules\nversion: orders-2\nbody: {rules: []}")
        assert control(env, "publish", str(tmp_path / "none.yaml")).returncode == 0
        rolled_back = control(env, "rollback", "rules")
        assert rolled_back.stdout == "rules orders-1 in force (was orders-2)\n", rolled_back.stderr
        assert harness.wait_for(lambda: worker.log_tail(300).count("in force: rules orders-1") == 2)
        assert "version: orders-1\n" in control(env, "show", "rules").stdout

        # Another producer than the CLI (which refuses it) puts a broken rule set in force.
        run(produce(settings, [(topics.control, b"document/rules/broken-2", BROKEN_RULES),
                               (topics.control, b"active/rules",
                                b'{"version": "broken-2", "history": ["orders-1"]}')]))  # fmt: skip
        letters = run(collect(settings, topics.deadletter, lambda r: len(r) >= 2))
        reasons = [
            letter["reason"] for letter in letters if letter["source_topic"] == topics.control
        ]
        assert sorted(reasons) == [
            "active/rules names version broken-2, which is no valid rules document on the topic; "
            "orders-1 stays in force",
            "document/rules/broken-2: body.rules.0.description: Field required; "
            "body.rules.0.severity: Input should be 'info', 'warning' or 'critical'",
        ]
        assert "refused a control record" in worker.log_tail(200)
        run(produce(settings, [harness.as_message(settings, order(3))]))
        alerts = run(collect(settings, topics.alerts, lambda r: rule_alerts(r, "o3")))
        assert [a["versions"]["ruleset"] for a in rule_alerts(alerts, "o3")] == ["orders-1"]

        assert worker.process is not None and worker.process.poll() is None  # never restarted
        listed = control(env, "list")
        assert "rules: orders-1 in force; versions: orders-1, orders-2" in listed.stdout

        # A new worker reads the control topic before its first event.
        worker.stop()
        run(produce(settings, [harness.as_message(settings, order(4))]))
        worker = harness.Worker(env, tmp_path / "worker-2.log").start()
        alerts = run(collect(settings, topics.alerts, lambda r: rule_alerts(r, "o4")))
        assert [a["versions"]["ruleset"] for a in rule_alerts(alerts, "o4")] == ["orders-1"]
    finally:
        worker.stop()


def test_rolling_back_past_the_first_version_puts_the_built_in_default_back_in_force(
    isolated: tuple[dict, Settings], tmp_path: Path
):
    env, settings = isolated
    topics = settings.topics
    (tmp_path / "orders.yaml").write_text(ORDER_RULES)
    assert control(env, "publish", str(tmp_path / "orders.yaml")).returncode == 0
    worker = harness.Worker(env, tmp_path / "worker.log").start()

    def decided(order_id: str) -> str:
        """The rule set the order was decided with."""
        run(produce(settings, [harness.as_message(settings, order(int(order_id[1:])))]))
        decisions = run(collect(settings, topics.decisions,
                                lambda r: any(d["order_id"] == order_id for d in r)))  # fmt: skip
        (decision,) = [d for d in decisions if d["order_id"] == order_id]
        return decision["versions"]["ruleset"]

    try:
        run(produce(settings, [harness.as_message(settings, credit_limit())]))
        assert decided("o1") == "orders-1", worker.log_tail()

        rolled_back = control(env, "rollback", "rules")
        assert rolled_back.stdout == (
            "rules default-6 (the built-in default) in force (was orders-1)\n"
        ), rolled_back.stderr
        assert harness.wait_for(lambda: "in force: rules default-6" in worker.log_tail(300), 30)
        assert decided("o2") == "default-6"

        assert control(env, "publish", str(tmp_path / "orders.yaml")).returncode == 0
        assert harness.wait_for(lambda: worker.log_tail(300).count("in force: rules orders-1") == 2)
        assert decided("o3") == "orders-1"
        by_name = control(env, "rollback", "rules", "--to", "default")
        assert by_name.stdout == "rules default-6 (the built-in default) in force (was orders-1)\n"
        assert harness.wait_for(
            lambda: worker.log_tail(300).count("in force: rules default-6") == 2
        )
        assert decided("o4") == "default-6"
        listed = control(env, "list").stdout
        assert "rules: built-in default in force; versions: orders-1" in listed
    finally:
        worker.stop()


FX = """
kind: fx
version: fx-{n}
body:
  reporting: EUR
  rates: {{USD: "0.92", GBP: "{gbp}"}}
"""


def test_exchange_rates_are_published_refused_when_bad_and_rolled_back(
    isolated: tuple[dict, Settings], tmp_path: Path
):
    env, _ = isolated
    for n, gbp in ((1, "1.17"), (2, "1.18")):
        (tmp_path / f"fx-{n}.yaml").write_text(FX.format(n=n, gbp=gbp))
    (tmp_path / "bad.yaml").write_text(FX.format(n=3, gbp="-1.18"))
    bad = control(env, "validate", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"riskstream: {tmp_path / 'bad.yaml'}: body.rates.GBP: a rate is digits and a "
        "decimal point, e.g. \"0.92\", not '-1.18'"
    ]
    assert control(env, "publish", str(tmp_path / "bad.yaml")).returncode == 2

    first = control(env, "publish", str(tmp_path / "fx-1.yaml"))
    assert first.stdout == "fx fx-1 in force (was the built-in default)\n", first.stderr
    assert control(env, "publish", str(tmp_path / "fx-2.yaml")).stdout == (
        "fx fx-2 in force (was fx-1)\n"
    )
    assert "GBP: '1.18'" in control(env, "show", "fx").stdout
    assert control(env, "rollback", "fx").stdout == "fx fx-1 in force (was fx-2)\n"
    assert "fx: fx-1 in force; versions: fx-1, fx-2" in control(env, "list").stdout
    assert control(env, "rollback", "fx", "--to", "default").stdout == (
        "fx default (the built-in default) in force (was fx-1)\n"
    )
