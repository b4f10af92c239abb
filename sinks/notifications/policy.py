"""Which case revisions the credit team is told of, when, and in what words: pure, no I/O.

A case is told of when it opens, when it reopens, and when a new alert raises its severity;
never for what people did to it (they know). A case of a severity or tier that cannot wait
is told at once, within a rate limit per minute; the rest, and whatever the rate limit holds
back, wait for the next digest, one message of every case since the last one, highest
priority first. Nothing is dropped: a held-back case is in the digest.

>>> from datetime import datetime, UTC
>>> from schemas.money import Money
>>> from schemas.outputs import Case, CaseEntry
>>> at = datetime(2026, 3, 2, 9, tzinfo=UTC)
>>> case = Case(case_id="case-1", customer_id="cust-7", event_time=at, revision=1, status="open",
...     opened_at=at, updated_at=at, severity="critical", alert_count=1, alert_ids=["a1"],
...     alert_kinds={"late_payment": 1}, money_at_risk=Money(amount="12500.00", currency="EUR"),
...     probability_of_loss=0.4, priority=5000.0, tier="high", source_event_id="e1",
...     history=[CaseEntry(at=at, actor="riskstream", action="opened", alert_id="a1")])
>>> policy = NotificationPolicy(NotificationRules())
>>> [note.subject for note in policy.take([case], now=0.0)]
['[riskstream] critical case of cust-7: 12500.00 EUR at risk (1 alert: late_payment)']
>>> policy.take([case], now=1.0)  # the same revision again: told already
[]
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import get_args

from cachetools import LRUCache

from schemas.outputs import Case, Severity, Tier

SEVERITIES: tuple[str, ...] = get_args(Severity)
"""Severities, least first."""
TOLD_CASES = 100_000
"""Cases whose told severity is remembered, the least recent forgotten first."""
DIGEST_LINES = 50
"""Cases listed in a digest at most; the rest are counted."""


@dataclass(frozen=True)
class NotificationRules:
    """What is told, and how soon."""

    min_severity: Severity = "warning"
    """Cases of a lower severity are told of in no way."""
    at_once_severities: frozenset[Severity] = frozenset({"critical"})
    at_once_tiers: frozenset[Tier] = frozenset({"high"})
    """Cases of these severities, or of customers in these tiers, are told at once."""
    per_minute: int = 20
    """Messages told at once in a minute at most; the rest wait for the digest."""
    digest_every: float = 3600.0
    """Seconds between digests; 0: no digest, every case is told at once (rate limit aside,
    whose overflow then waits a minute)."""


@dataclass(frozen=True)
class Notification:
    """One message, for every channel: a subject line and the text under it."""

    subject: str
    text: str
    case_ids: tuple[str, ...]


@dataclass
class NotificationPolicy:
    """Turns case revisions into notifications, as ``rules`` say, remembering what it told."""

    rules: NotificationRules
    told: LRUCache[str, tuple[int, int]] = field(default_factory=lambda: LRUCache(TOLD_CASES))
    """Case id -> the revision and the rank of the severity last told of it."""
    waiting: dict[str, Case] = field(default_factory=dict)
    """Cases for the next digest, by id (the newest revision of each)."""
    sent_at: list[float] = field(default_factory=list)
    """When the messages of the last minute were told, oldest first."""
    last_digest: float | None = None
    """When the last digest was sent (or the first case waited for one)."""

    def take(self, cases: Iterable[Case], now: float) -> list[Notification]:
        """What to tell at once of ``cases`` (revisions, oldest first), at ``now`` (seconds);
        the rest that is worth telling waits for the digest."""
        out = []
        for case in cases:
            if not self._worth_telling(case):
                continue
            if self._urgent(case) and self._within_rate(now):
                out.append(at_once(case))
            else:
                self.waiting[case.case_id] = case
                if self.last_digest is None:
                    self.last_digest = now  # the first digest is due an interval from now
        return out

    def digest(self, now: float) -> Notification | None:
        """The digest of the waiting cases, if one is due at ``now``."""
        every = self.rules.digest_every or 60.0
        if not self.waiting or self.last_digest is None or now - self.last_digest < every:
            return None
        self.last_digest = now
        cases, self.waiting = list(self.waiting.values()), {}
        return digest(cases)

    def _worth_telling(self, case: Case) -> bool:
        rank = SEVERITIES.index(case.severity)
        if rank < SEVERITIES.index(self.rules.min_severity) or not case.history:
            return False
        told = self.told.get(case.case_id)
        if told is not None and case.revision <= told[0]:
            return False  # a redelivery, or an older revision
        step = case.history[-1].action
        worth = step in ("opened", "reopened") or (
            step == "alerted" and told is not None and rank > told[1]
        )
        if worth:
            self.told[case.case_id] = (case.revision, rank)
        return worth

    def _urgent(self, case: Case) -> bool:
        rules = self.rules
        return (
            not rules.digest_every
            or case.severity in rules.at_once_severities
            or (case.tier is not None and case.tier in rules.at_once_tiers)
        )

    def _within_rate(self, now: float) -> bool:
        self.sent_at = [moment for moment in self.sent_at if now - moment < 60.0]
        if len(self.sent_at) >= self.rules.per_minute:
            return False
        self.sent_at.append(now)
        return True


def at_once(case: Case) -> Notification:
    """The message of one case."""
    kinds = ", ".join(f"{kind}" if n == 1 else f"{kind} x{n}" for kind, n in
                      sorted(case.alert_kinds.items()))  # fmt: skip
    alerts = f"{case.alert_count} alert{'s' if case.alert_count != 1 else ''}: {kinds}"
    subject = (
        f"[riskstream] {case.severity} case of {case.customer_id}: {_money(case)} at risk "
        f"({alerts})"
    )
    step = case.history[-1]
    lines = [
        f"Case {case.case_id} of customer {case.customer_id}, {step.action} {step.at.isoformat()}.",
        f"Money at risk: {_money(case)}; probability of loss {case.probability_of_loss:.0%}; "
        f"priority {case.priority:,.0f}.",
        f"Score {_score(case)}, tier {case.tier or 'none'}; {alerts}.",
    ]
    return Notification(subject, "\n".join(lines), (case.case_id,))


def digest(cases: Sequence[Case]) -> Notification:
    """One message of several cases, highest priority first."""
    ranked = sorted(cases, key=lambda case: (-case.priority, case.case_id))
    lines = [
        f"- {case.severity} {case.customer_id}: {_money(case)} at risk, "
        f"{case.alert_count} alert{'s' if case.alert_count != 1 else ''}, case {case.case_id}"
        for case in ranked[:DIGEST_LINES]
    ]
    if len(ranked) > DIGEST_LINES:
        lines.append(f"... and {len(ranked) - DIGEST_LINES} more")
    subject = f"[riskstream] {len(ranked)} case{'s' if len(ranked) != 1 else ''} to look at"
    return Notification(subject, "\n".join(lines), tuple(case.case_id for case in ranked))


def _money(case: Case) -> str:
    return f"{case.money_at_risk.amount} {case.money_at_risk.currency}"


def _score(case: Case) -> str:
    return "none" if case.score is None else f"{case.score:.0f}"
