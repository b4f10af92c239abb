"""What the detectors remember of one customer between its events.

Kept beside the customer's feature state in the same table entry, so it moves with the
customer's partition and survives restarts.

>>> memo = RiskMemo.new()
>>> memo.tier = "medium"
>>> RiskMemo.from_bytes(memo.to_bytes()).tier
'medium'
>>> from datetime import UTC
>>> memo.note_alerts([Alert(alert_id="a1", kind="overdue", severity="warning", message="late",
...     customer_id="c1", event_time=datetime(2026, 3, 2, tzinfo=UTC), source_event_id="e1")])
>>> RiskMemo.from_bytes(memo.to_bytes()).recent_alerts[0].kind
'overdue'
>>> memo.note_review("r1")
>>> memo.has_reviewed("r1"), memo.has_reviewed("r2"), memo.review_count
(True, False, 1)
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import zstandard

from detectors.delayed_labels import PendingPredictions
from schemas.outputs import HELD, Alert, Case, CreditAction, OrderDecision, Tier

MAX_PENDING_PER_CUSTOMER = 1_000
MAX_RECENT_ANOMALIES = 16
DSO_MARK_EVERY_DAYS = 7
DSO_MARKS = 10
"""Weekly DSO marks kept: ten weeks, enough to look 30 days back (and a gap) at any time."""
MAX_RECENT_ALERTS = 5
MAX_HELD_ORDERS = 100
"""Orders held for review (or prepayment) remembered, awaiting a person's release or
rejection; the oldest are forgotten beyond it (a late review of one is an unknown decision)."""
MAX_PROPOSALS_PER_KIND = 3
"""Credit proposals of each kind remembered, awaiting a person's acceptance or refusal: the
latest, which supersede the older ones."""
MAX_REVIEWS = 64
"""Ids of the latest review events applied: a redelivered one changes nothing."""
_PACK = zstandard.ZstdCompressor(level=1)
_UNPACK = zstandard.ZstdDecompressor()


class RecentAlert(NamedTuple):
    """What the query API shows of one of the customer's latest alerts."""

    alert_id: str
    kind: str
    severity: str
    event_time: datetime
    message: str


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
    dso_marks: list[tuple[int, float]] = field(default_factory=list)
    """(event day, DSO) about once a week, oldest first, bounded: how DSO moved."""
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Credit action kind -> what is compared of the last proposal of that kind emitted
    (`detectors.credit_actions.COMPARED`), while it is still proposed."""
    recent_alerts: list[RecentAlert] = field(default_factory=list)
    """The customer's latest alerts, newest last, bounded."""
    case_wakes: datetime | None = None
    """When the current case, snoozed, is due back: known without reading the case."""
    stored_case: bytes | None = field(default=None, repr=False)
    """The JSON (UTF-8) of the latest revision of the customer's current case
    (`detectors.cases`), resolved or not; None before its first alert, while a revision is
    not yet serialised, or while it is kept only compressed (:attr:`packed_case`). Each form
    is made from the other once, when first asked for: a step reads the case more often than
    its record is written, and a record is written more often than its case changes."""
    kept_case: Case | None = field(default=None, repr=False)
    """The same case parsed, or None until a step reads it."""
    packed_case: bytes | None = field(default=None, repr=False)
    """The same JSON as one zstd frame, while :meth:`compact` keeps the case only so."""
    held: dict[str, str] = field(default_factory=dict)
    """Decision id -> order id of the orders held for review or prepayment, oldest first."""
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Action id -> kind, terms_days, new_limit and currency of the credit proposals not yet
    reviewed, oldest first."""
    reviews: list[str] = field(default_factory=list)
    """Event ids of the latest review events applied, newest last."""
    review_count: int = 0
    """Review events applied: grows with each, so a step that applied one is seen to change
    the record."""

    @classmethod
    def new(cls) -> "RiskMemo":
        return cls()

    def note_anomaly(self, micros: int) -> None:
        self.anomaly_times = [*self.anomaly_times, micros][-MAX_RECENT_ANOMALIES:]

    def anomalies_since(self, micros: int) -> int:
        return sum(1 for moment in self.anomaly_times if moment >= micros)

    def note_dso(self, day: int, dso: float) -> None:
        """Keep the DSO of event day ``day`` when the newest mark is a week old or more."""
        if not self.dso_marks or day >= self.dso_marks[-1][0] + DSO_MARK_EVERY_DAYS:
            self.dso_marks = [*self.dso_marks, (day, dso)][-DSO_MARKS:]

    def dso_change(self, day: int, dso: float, days: int = 30) -> float | None:
        """DSO now minus the newest mark at least ``days`` before ``day``; None without one.

        >>> memo = RiskMemo.new()
        >>> for day, dso in [(0, 40.0), (7, 41.0), (14, 45.0), (21, 50.0), (28, 52.0)]:
        ...     memo.note_dso(day, dso)
        >>> memo.dso_change(35, 60.0), memo.dso_change(29, 60.0)
        (20.0, None)
        """
        for then, dso_then in reversed(self.dso_marks):  # the marks are oldest first
            if then <= day - days:
                return dso - dso_then
        return None

    def note_alerts(self, alerts: Iterable[Alert]) -> None:
        """Remember the customer's new alerts, dropping the oldest beyond the bound."""
        new = [RecentAlert(a.alert_id, a.kind, a.severity, a.event_time, a.message) for a in alerts]
        if new:
            self.recent_alerts = [*self.recent_alerts, *new][-MAX_RECENT_ALERTS:]

    @property
    def case(self) -> Case | None:
        """The latest revision of the customer's current case."""
        if self.kept_case is None and (case_json := self.case_json) is not None:
            self.kept_case = Case.model_validate_json(case_json)
        return self.kept_case

    @property
    def case_json(self) -> bytes | None:
        """The JSON of :attr:`case` (UTF-8), as the record stores it."""
        if self.stored_case is None:
            if self.packed_case is not None:
                self.stored_case = _UNPACK.decompress(self.packed_case)
            elif self.kept_case is not None:
                self.stored_case = self.kept_case.__pydantic_serializer__.to_json(self.kept_case)
        return self.stored_case

    def compact(self) -> None:
        """Keep the case only as its JSON compressed: a replay that holds every customer's
        record in memory calls this after each step (a full case takes about 60 KB parsed,
        10 KB as JSON, 2.3 KB compressed), at the cost of reading it again (about 10 µs to
        decompress, 74 µs to parse a case of 50 history entries) when a later step asks for it."""
        if self.packed_case is None and (case_json := self.case_json) is not None:
            # A copy: the frame zstandard returns holds a buffer the size of the JSON.
            self.packed_case = bytes(memoryview(_PACK.compress(case_json)))
        self.stored_case = self.kept_case = None

    def keep_case(self, case: Case) -> None:
        """Keep ``case`` as the customer's current case."""
        self.kept_case, self.stored_case, self.packed_case = case, None, None
        self.case_wakes = case.snoozed_until if case.status == "snoozed" else None

    def note_decisions(self, decisions: Iterable[OrderDecision]) -> None:
        """Hold the orders decided ``review`` or ``prepay`` until a person reviews them."""
        for decision in decisions:
            if decision.outcome in HELD:
                self.held[decision.decision_id] = decision.order_id
        while len(self.held) > MAX_HELD_ORDERS:
            del self.held[next(iter(self.held))]

    def note_proposals(self, actions: Iterable[CreditAction], currency: str | None) -> None:
        """Remember the credit proposals, with what accepting them would change."""
        for action in actions:
            self.proposals[action.action_id] = {
                "kind": action.kind,
                "terms_days": action.terms_days,
                "new_limit": action.new_limit,
                "currency": currency,
            }
        kinds = [proposal["kind"] for proposal in self.proposals.values()]
        if len(kinds) > len(set(kinds)) * MAX_PROPOSALS_PER_KIND:
            self.proposals = {
                action_id: proposal
                for n, (action_id, proposal) in enumerate(self.proposals.items())
                if kinds[n + 1 :].count(proposal["kind"]) < MAX_PROPOSALS_PER_KIND
            }

    def has_reviewed(self, event_id: str) -> bool:
        """Whether the review event ``event_id`` is one of the latest applied."""
        return event_id in self.reviews

    def note_review(self, event_id: str) -> None:
        """Count the review event ``event_id`` as applied."""
        self.reviews = [*self.reviews, event_id][-MAX_REVIEWS:]
        self.review_count += 1

    def to_bytes(self) -> bytes:
        case = self.case_json
        return orjson.dumps(
            {
                "pending": orjson.Fragment(self.pending.to_json()),
                "tier": self.tier,
                "published": self.published_score,
                "anomalies": self.anomaly_times,
                "cooldowns": self.cooldowns,
                "dso": self.dso_marks,
                "actions": self.actions,
                "alerts": [tuple(alert) for alert in self.recent_alerts],
                "case": None if case is None else case.decode(),
                "case_wakes": self.case_wakes,
                "held": self.held,
                "proposals": self.proposals,
                "reviews": self.reviews,
                "review_count": self.review_count,
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
            dso_marks=[(day, dso) for day, dso in document.get("dso", [])],
            actions=document.get("actions", {}),
            recent_alerts=[
                RecentAlert(id_, kind, severity, datetime.fromisoformat(at), message)
                for id_, kind, severity, at, message in document.get("alerts", ())
            ],
            stored_case=None if (case := document.get("case")) is None else case.encode(),
            case_wakes=_moment(document.get("case_wakes")),
            held=document.get("held", {}),
            proposals=document.get("proposals", {}),
            reviews=document.get("reviews", []),
            review_count=document.get("review_count", 0),
        )


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
