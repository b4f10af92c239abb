"""Every kind of output in one table: its contract, the topic it goes to, and how Redis keeps it.

A worker sends each output to the topic of its kind, its Redis agent follows the topics of
the kinds Redis keeps and writes each as its kind says, and a backtest names its files and
prefixed topics after the same topics. A new kind of output is one row here.

>>> OUTPUT_KINDS["alert"].topic, OUTPUT_KINDS["alert"].redis
('alerts', 'stream')
>>> sorted(k for k, kind in OUTPUT_KINDS.items() if kind.redis)  # doctest: +NORMALIZE_WHITESPACE
['alert', 'case', 'credit_action', 'customer_risk', 'order_decision', 'order_review',
 'proposal_review', 'risk_change']
"""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from detectors.delayed_labels import LabelledExample
from schemas.events import CreditLimitUpdated, PaymentTermsUpdated
from schemas.outputs import (
    Alert,
    Case,
    CreditAction,
    CustomerRisk,
    DeadLetter,
    ModelDrift,
    OrderDecision,
    OrderReview,
    ProposalReview,
    RiskChange,
)

RedisWrite = Literal["picture", "stream", "published", "case", "decision", "review"]
"""How Redis keeps an output: as the customer's picture (the newest revision wins), as an
entry of the customer's stream of its kind (once), that and published to the risk changes
channel (once), as a case (its newest revision wins, ranked while open), as an order decision (those
held for review wait in the pending set) or as the review that takes one out of it."""


@dataclass(frozen=True, slots=True)
class OutputKind:
    """One kind of output."""

    contract: type[BaseModel]
    topic: str
    """The field of the settings' topics that names its topic (a backtest's file, too)."""
    redis: RedisWrite | None = None
    """How Redis keeps it; None: Redis does not."""


OUTPUT_KINDS: dict[str, OutputKind] = {
    "alert": OutputKind(Alert, "alerts", redis="stream"),
    "risk_change": OutputKind(RiskChange, "changes", redis="published"),
    "order_decision": OutputKind(OrderDecision, "decisions", redis="decision"),
    "order_review": OutputKind(OrderReview, "decisions", redis="review"),
    "credit_action": OutputKind(CreditAction, "actions", redis="stream"),
    "proposal_review": OutputKind(ProposalReview, "actions", redis="stream"),
    "case": OutputKind(Case, "cases", redis="case"),
    "customer_risk": OutputKind(CustomerRisk, "customers_out", redis="picture"),
    "labelled_example": OutputKind(LabelledExample, "training"),
    "model_drift": OutputKind(ModelDrift, "model_health"),
    "dead_letter": OutputKind(DeadLetter, "deadletter"),
    # What an accepted credit proposal changes goes back in as the customer's input event.
    "customer.credit_limit": OutputKind(CreditLimitUpdated, "customers"),
    "customer.payment_terms": OutputKind(PaymentTermsUpdated, "customers"),
}
"""Every kind of output, by its ``type``."""

REDIS_KINDS: dict[str, OutputKind] = {
    name: kind for name, kind in OUTPUT_KINDS.items() if kind.redis is not None
}
"""The kinds Redis keeps, by ``type``."""
