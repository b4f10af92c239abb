"""What the detectors remember of one customer between its events.

Kept beside the customer's feature state in the same table entry, so it moves with the
customer's partition and survives restarts.

>>> memo = RiskMemo.new()
>>> memo.tier = "medium"
>>> RiskMemo.from_bytes(memo.to_bytes()).tier
'medium'
"""

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from detectors.delayed_labels import PendingPredictions
from schemas.outputs import CreditAction, Tier

MAX_PENDING_PER_CUSTOMER = 1_000
MAX_RECENT_ANOMALIES = 16


@dataclass(slots=True)
class RiskMemo:
    pending: PendingPredictions = field(
        default_factory=lambda: PendingPredictions(MAX_PENDING_PER_CUSTOMER)
    )
    tier: Tier | None = None
    published_score: float | None = None
    anomaly_times: list[int] = field(default_factory=list)
    """Event times (µs) of the customer's recent anomalies, newest last, bounded."""
    cooldowns: dict[str, datetime] = field(default_factory=dict)
    """Rule id -> event time of its last hit for this customer."""
    actions: dict[str, CreditAction] = field(default_factory=dict)
    """Credit action kind -> the last proposal of that kind emitted, while still proposed."""

    @classmethod
    def new(cls) -> "RiskMemo":
        return cls()

    def note_anomaly(self, micros: int) -> None:
        self.anomaly_times = [*self.anomaly_times, micros][-MAX_RECENT_ANOMALIES:]

    def anomalies_since(self, micros: int) -> int:
        return sum(1 for moment in self.anomaly_times if moment >= micros)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "pending": orjson.Fragment(self.pending.to_json()),
                "tier": self.tier,
                "published": self.published_score,
                "anomalies": self.anomaly_times,
                "cooldowns": self.cooldowns,
                "actions": {kind: a.model_dump(mode="json") for kind, a in self.actions.items()},
            }
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> "RiskMemo":
        document = orjson.loads(blob)
        return cls(
            pending=PendingPredictions.from_json(orjson.dumps(document["pending"])),
            tier=document["tier"],
            published_score=document["published"],
            anomaly_times=document["anomalies"],
            cooldowns={
                rule: datetime.fromisoformat(at) for rule, at in document["cooldowns"].items()
            },
            actions={
                kind: CreditAction.model_validate(action)
                for kind, action in document.get("actions", {}).items()
            },
        )
