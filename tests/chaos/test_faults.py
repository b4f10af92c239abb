"""Workers under faults, on the real broker and Redis: SIGKILLed at random points, one of two
SIGKILLed, the broker stopped and restarted. Nothing lost, nothing doubled, every customer's
final state that of the pure engine's replay of the same stream (`tests.chaos.faults`).

The short forms of ``tests/bench/bench_chaos.py`` (about 10,000 events each here).
"""

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.faults import (
    Comparison,
    OwnBroker,
    Run,
    broker_outage,
    compare,
    one_of_two_killed,
    random_kills,
)

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS = 150, 180
"""About 10,000 events."""


def settled(run: Run) -> Comparison:
    """Wait until the run settles, stop its workers, and compare what it left with the truth."""
    try:
        run.settle()
        left = run.left()
    finally:
        run.stop()
    comparison = compare(run.truth, left)
    print(comparison.figures())  # shown with -s: repeats and the rest, kind by kind
    # Not vacuous: the truth's alerts and decisions were there to find.
    assert comparison.tallies["alert"].expected > 100, comparison.figures()
    assert comparison.tallies["order_decision"].expected > 1000, comparison.figures()
    return comparison


def faulted(run: Run, fault: Callable[[], object]) -> Comparison:
    """Run ``fault`` on ``run``, then `settled`."""
    try:
        fault()
    except BaseException:
        run.stop()
        raise
    return settled(run)


def test_a_worker_killed_at_three_random_points_loses_and_doubles_nothing(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    run = Run.of(kafka_bootstrap, redis_url, tmp_path, CUSTOMERS, DAYS)
    comparison = faulted(run, lambda: random_kills(run, kills=3, rng=random.Random(3)))
    # A redelivered event's outputs keep their ids, but may not keep their content (the
    # model's version, and what it decides): an open bug, see docs/benchmarks.md.
    assert comparison.failures(changed=False) == "", comparison.figures()


def test_the_survivor_of_two_workers_takes_the_partitions_and_state_of_the_killed_one(
    kafka_bootstrap: str, redis_url: str, tmp_path: Path
):
    run = Run.of(kafka_bootstrap, redis_url, tmp_path, CUSTOMERS, DAYS, partitions=4)
    comparison = faulted(run, lambda: one_of_two_killed(run, random.Random(5)))
    assert comparison.failures(changed=False) == "", comparison.figures()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path / "kafka")
    yield broker
    broker.stop(clean=True)


def test_a_worker_resumes_by_itself_after_the_broker_is_down_ten_seconds(
    own_broker: OwnBroker, redis_url: str, tmp_path: Path
):
    run = Run.of(own_broker.start(), redis_url, tmp_path, CUSTOMERS, DAYS)
    comparison = faulted(run, lambda: broker_outage(run, own_broker, down=10))
    assert comparison.failures(changed=False) == "", comparison.figures()
