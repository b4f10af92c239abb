"""Open cases and held orders, numbered, for tests of the console's queues: case ``number``
has the ``number``-th highest priority (and a probability of loss of ``number`` / 1000), held
order ``number`` is the ``number``-th oldest; ids are ``k-007``, ``d-007``, of customer
``c-007``."""

from datetime import datetime, timedelta
from decimal import Decimal

from schemas.money import Money
from schemas.outputs import Case, CaseEntry, OrderDecision, OrderReview


def open_case(number: int, at: datetime, status: str = "open") -> Case:
    """Case ``number`` as of ``at``, in ``status`` (a revision past the first if not open)."""
    return Case(
        case_id=f"k-{number:03}", customer_id=f"c-{number:03}", event_time=at,
        revision=1 if status == "open" else 2, status=status, opened_at=at, updated_at=at,
        severity="warning", alert_count=1, alert_ids=[f"a-{number}"], alert_kinds={"overdue": 1},
        money_at_risk=Money(amount=Decimal(100), currency="EUR"),
        probability_of_loss=number / 1000, priority=float(10_000 - number),
        history=[CaseEntry(at=at, actor="riskstream", action="opened")],
        source_event_id=f"src-{number}-{status}",
    )  # fmt: skip


def held_order(number: int, at: datetime) -> OrderDecision:
    """Order ``number`` held for review ``number`` seconds after ``at``."""
    return OrderDecision(
        decision_id=f"d-{number:03}", customer_id=f"c-{number:03}", order_id=f"o-{number:03}",
        outcome="review", reasons=["limit_use_high"], event_time=at + timedelta(seconds=number),
        source_event_id=f"o-{number}", figures={"order_amount": "10.00", "currency": "EUR"},
    )  # fmt: skip


def released(number: int, at: datetime) -> OrderReview:
    """Held order ``number`` released by ana.k at ``at``."""
    return OrderReview(
        review_id=f"r-{number}", decision_id=f"d-{number:03}", order_id=f"o-{number:03}",
        customer_id=f"c-{number:03}", outcome="released", actor="ana.k", event_time=at,
        source_event_id=f"e-{number}",
    )  # fmt: skip
