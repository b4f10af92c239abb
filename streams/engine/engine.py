"""The engine: one customer's record plus one event in, that customer's outputs out.

Pure and synchronous, no I/O: the Faust workers and the backtester run this same code.
A step applies the event to the customer's feature state, predicts late payment when an
invoice is issued, labels predictions when their outcome is known, checks for anomalies,
scores the customer and decides whether the risk change is worth publishing.

>>> from datetime import datetime, UTC
>>> from schemas import InvoiceIssued, PaymentReceived, Money
>>> engine, record = Engine(), CustomerRecord.new("c1")
>>> issued = InvoiceIssued(event_id="e1", customer_id="c1", invoice_id="inv-1",
...     event_time=datetime(2026, 1, 1, tzinfo=UTC), due_date="2026-01-31",
...     amount=Money(amount="500.00", currency="EUR"))
>>> paid = PaymentReceived(event_id="e2", customer_id="c1", payment_id="p1", invoice_id="inv-1",
...     event_time=datetime(2026, 2, 10, tzinfo=UTC), amount=Money(amount="500.00", currency="EUR"))
>>> engine.process(record, issued).alerts
[]
>>> outputs = engine.process(record, paid)
>>> [alert.kind for alert in outputs.alerts]
['overdue', 'late_payment']
>>> [(example.invoice_id, example.label) for example in outputs.examples]
[('inv-1', True)]
"""

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel

from detectors.anomaly import AnomalyDetector, HalfSpaceTreesDetector, ZScoreDetector
from detectors.cases import apply_action
from detectors.champion import Lineup, ModelChoice
from detectors.credit_actions import CreditPolicy
from detectors.decisions import DecisionPolicy
from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from detectors.memo import RiskMemo
from detectors.monitoring import ModelMonitor, ScoreMonitor
from detectors.rules import RuleSet, load_rulepack
from detectors.scorecard import Scorecard
from detectors.tiers import TierPolicy
from features import CustomerState, FeatureConfig, Features, Summary, Transition
from features.eventtime import from_micros, to_micros
from features.industry import IndustryRisk
from schemas.events import (
    CaseAction,
    CreditLimitUpdated,
    InputEvent,
    OrderPlaced,
    OrderReleased,
    OrderReview,
    PaymentReceived,
    PaymentTermsUpdated,
    ProposalAccepted,
    ProposalReview,
    ReviewEvent,
)
from schemas.ids import derive_id
from schemas.money import Money
from schemas.outputs import (
    Alert,
    Case,
    CreditAction,
    CustomerRisk,
    ModelDrift,
    OrderDecision,
    Reason,
    RiskChange,
    Tier,
    Versions,
)
from schemas.outputs import OrderReview as OrderReviewed
from schemas.outputs import ProposalReview as ProposalReviewed
from schemas.validation import InvalidEvent
from streams.engine.compression import compress, decompress
from streams.engine.detection import DETECTORS, Detector, Found, Standing, Step, score_inputs

_LENGTH = struct.Struct(">I")


@dataclass(slots=True)
class CustomerRecord:
    """All that is kept of one customer: its feature state and what the detectors remember."""

    state: CustomerState
    memo: RiskMemo

    @classmethod
    def new(cls, customer_id: str) -> "CustomerRecord":
        return cls(CustomerState.new(customer_id), RiskMemo.new())

    @property
    def customer_id(self) -> str:
        return self.state.customer_id

    @property
    def stamp(self) -> tuple[int, int]:
        """Changes whenever the record does: by an event or time passing (the state's
        revision), or by a person's review (the memo's count of them)."""
        return self.state.revision, self.memo.review_count

    def to_bytes(self) -> bytes:
        """The state's bytes (their length first) then the memo's, as one zstd frame written
        with the records' dictionary (`streams.engine.compression`): a record is written to
        the table's changelog on every batch that changes it (about 13 KB raw, 3 KB stored)."""
        state = self.state.to_bytes()
        return compress(_LENGTH.pack(len(state)) + state + self.memo.to_bytes())

    @classmethod
    def from_bytes(cls, blob: bytes) -> "CustomerRecord":
        """A record from :meth:`to_bytes`, or from before records were compressed."""
        blob = decompress(blob)
        (length,) = _LENGTH.unpack_from(blob)
        start = _LENGTH.size
        return cls(
            CustomerState.from_bytes(blob[start : start + length]),
            RiskMemo.from_bytes(blob[start + length :]),
        )


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """How the engine scores, tiers and alerts; each part comes from a control document."""

    scorecard: Scorecard = field(default_factory=Scorecard)
    rules: RuleSet = field(default_factory=load_rulepack)
    decisions: DecisionPolicy = field(default_factory=DecisionPolicy)
    tiers: TierPolicy = field(default_factory=TierPolicy)
    credit: CreditPolicy = field(default_factory=CreditPolicy)
    industry: IndustryRisk = field(default_factory=IndustryRisk)
    model: ModelChoice = field(default_factory=ModelChoice)
    min_score_change: float = 5.0
    anomaly_window: timedelta = timedelta(days=30)
    payment_amounts: ZScoreDetector = field(
        default_factory=lambda: ZScoreDetector("amount", "payment_amount", "payment of {value}")
    )
    order_amounts: ZScoreDetector = field(
        default_factory=lambda: ZScoreDetector("amount", "order_amount", "order of {value}")
    )


@dataclass(slots=True)
class Outputs:
    """What one step of the engine produced for one customer."""

    alerts: list[Alert] = field(default_factory=list)
    decisions: list[OrderDecision] = field(default_factory=list)
    changes: list[RiskChange] = field(default_factory=list)
    actions: list[CreditAction] = field(default_factory=list)
    examples: list[LabelledExample] = field(default_factory=list)
    drifts: list[ModelDrift] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    reviews: list[OrderReviewed | ProposalReviewed] = field(default_factory=list)
    updates: list[InputEvent] = field(default_factory=list)
    """Input events for the customers topic: what an accepted credit proposal changes."""
    standing: "Standing | None" = None

    def add(self, found: Iterable[Found | Standing]) -> None:
        """Keep what a detector found, each output with the others of its type."""
        for output in found:
            if isinstance(output, Standing):
                self.standing = output
            else:
                getattr(self, _LIST_OF[type(output)]).append(output)

    @property
    def picture(self) -> CustomerRisk | None:
        """The customer's risk picture after the step, made when asked for."""
        return None if self.standing is None else self.standing.picture()

    def all(self) -> list[BaseModel]:
        """The outputs that leave the engine: decisions, alerts, cases, changes, actions,
        examples, drifts, reviews, customer updates, picture."""
        return [*self.events(), *filter(None, [self.picture])]

    def events(self) -> list[BaseModel]:
        """The outputs of this step alone, all but the picture: decisions, alerts, cases,
        changes, actions, examples, drifts, reviews, customer updates."""
        return [
            *self.decisions,
            *self.alerts,
            *self.cases,
            *self.changes,
            *self.actions,
            *self.examples,
            *self.drifts,
            *self.reviews,
            *self.updates,
        ]


_LIST_OF: dict[type, str] = {
    Alert: "alerts", OrderDecision: "decisions", RiskChange: "changes", CreditAction: "actions",
    LabelledExample: "examples", ModelDrift: "drifts", Case: "cases",
}  # fmt: skip
"""Which list of `Outputs` keeps each type of output."""


class Engine:
    """Applies events and the passing of time to customer records and derives the outputs.

    ``learn``: learn from labelled examples here (a backtest, a single worker); live workers
    leave it off, send the examples to the trainer and load its snapshots instead.

    What the engine learns across customers lives in the engine, not in any record, and so
    per worker (each from its own customers' events): the late-payment model's monitor, the
    distribution of scores (`scores`, for its stability index) and the cross-customer anomaly
    detectors (``unusual``: one for payments, one for orders, each learning what a payment or
    an order usually looks like among all customers, silent until warmed up).
    """

    def __init__(
        self,
        config: FeatureConfig | None = None,
        risk: RiskConfig | None = None,
        model: LatePaymentModel | None = None,
        learn: bool = True,
        unusual: dict[str, AnomalyDetector] | None = None,
        detectors: Sequence[Detector] = DETECTORS,
        challengers: Sequence[LatePaymentModel] = (),
    ) -> None:
        self.config = config or FeatureConfig()
        self.risk = risk or RiskConfig()
        self.scores = ScoreMonitor()
        self.lineup = Lineup(model or LatePaymentModel(), challengers)
        self._own_champion = self.lineup.champion
        self.configure(self.risk)
        self.learn = learn
        self.unusual = unusual or {
            "payment": HalfSpaceTreesDetector(n_trees=5, height=6, seed=1),
            "order": HalfSpaceTreesDetector(n_trees=5, height=6, seed=2),
        }
        self.detectors = detectors
        self._versions = Versions()
        self._versions_of: RiskConfig | None = None

    def configure(self, risk: RiskConfig) -> None:
        """Put ``risk`` in force from the next event. Scores made with another scorecard or
        other tiers are another population: their stability is measured afresh. A champion
        the lineup does not hold leaves everything as it is (``ValueError``); without a
        ``model`` document the champion is the model the engine was made with."""
        self.lineup.promote(risk.model.champion or self._own_champion)
        if (risk.scorecard, risk.tiers) != (self.risk.scorecard, self.risk.tiers):
            self.scores = ScoreMonitor()
        self.risk = risk

    @property
    def model(self) -> LatePaymentModel:
        """The champion: its probability drives scores and decisions."""
        return self.lineup.models[self.lineup.champion]

    @property
    def monitor(self) -> ModelMonitor:
        """The champion's monitor."""
        return self.lineup.monitors[self.lineup.champion]

    @monitor.setter
    def monitor(self, monitor: ModelMonitor) -> None:
        self.lineup.monitors[self.lineup.champion] = monitor

    @property
    def versions(self) -> Versions:
        """The versions of the model and of each part of the configuration now; the same
        object while they last (a new configuration is a new `RiskConfig` object)."""
        model, risk = self.model.version, self.risk
        if model != self._versions.model or risk is not self._versions_of:
            self._versions_of = risk
            self._versions = Versions(
                model=model,
                ruleset=risk.rules.version,
                scorecard=risk.scorecard.version,
                tiers=risk.tiers.version,
                decisions=risk.decisions.version,
                credit_policy=risk.credit.version,
                industry=risk.industry.version,
            )
        return self._versions

    def features(self, state: CustomerState, now: datetime) -> Features:
        """The features of ``state`` at ``now``, with this engine's settings and industries."""
        return state.features(now, self.config, self.risk.industry)

    def process(self, record: CustomerRecord, event: InputEvent) -> Outputs:
        """Apply one event; raises ``InvalidEvent`` (record unchanged) if it cannot be."""
        if isinstance(event, ReviewEvent):
            return self.review(record, event)
        state = record.state
        before = self._before_order(state, event)
        usual = self._usual_amounts(state, event, before)
        revision = state.revision
        transitions = state.apply(event, self.config)
        if state.revision == revision:
            return Outputs()
        step = self._step(record, transitions, event.event_time, event.event_id)
        step.event, step.before, step.usual = event, before, usual
        return self._react(step)

    def advance(self, record: CustomerRecord, now: datetime) -> Outputs:
        """Let time pass to ``now``: invoices whose due date passed turn overdue."""
        transitions = record.state.advance(now, self.config)
        if not transitions:
            return Outputs()
        return self._react(self._step(record, transitions, now, f"clock@{now.isoformat()}"))

    def _step(
        self, record: CustomerRecord, transitions: list[Transition], now: datetime, cause: str
    ) -> Step:
        now = _not_before_watermark(record.state, now)
        return Step(self, record, transitions, now, cause, self.versions)

    def _react(self, step: Step) -> Outputs:
        """What the detectors find in ``step``; the customer's alerts are remembered, and so
        are the orders held and the credit actions proposed, for people to review."""
        outputs = Outputs()
        for detector in self.detectors:
            outputs.add(detector.detect(step))
            step.alerts, step.standing = outputs.alerts, outputs.standing
        memo = step.record.memo
        memo.note_alerts(outputs.alerts)
        memo.note_decisions(outputs.decisions)
        if outputs.actions:
            memo.note_proposals(outputs.actions, step.features.currency)
        return outputs

    def review(self, record: CustomerRecord, event: ReviewEvent) -> Outputs:
        """Apply a person's action: on the customer's case (its next revision), on an order
        held for review (an order review) or on a credit proposal (a proposal review, and the
        customer update an accepted one implies). A redelivered one changes nothing; one on
        what the customer does not have raises ``InvalidEvent`` (record unchanged)."""
        memo, outputs = record.memo, Outputs()
        if memo.has_reviewed(event.event_id):
            return outputs
        if isinstance(event, CaseAction):
            revised = apply_action(memo.case, event, self.versions)
            memo.keep_case(revised)
            outputs.cases.append(revised)
        elif isinstance(event, OrderReview):
            outputs.reviews.append(self._order_review(memo, event))
        else:
            assert isinstance(event, ProposalReview)
            reviewed, update = self._proposal_review(memo, event)
            outputs.reviews.append(reviewed)
            outputs.updates += update
        memo.note_review(event.event_id)
        return outputs

    def _order_review(self, memo: RiskMemo, event: OrderReview) -> OrderReviewed:
        order_id = memo.held.get(event.decision_id)
        if order_id != event.order_id:
            raise InvalidEvent(
                "unknown_decision",
                f"decision {event.decision_id} is no order {event.order_id} of customer "
                f"{event.customer_id} waiting for review (unknown, already reviewed, or of "
                "another order)",
            )
        del memo.held[event.decision_id]
        return OrderReviewed(
            review_id=derive_id("order_review", event.event_id),
            decision_id=event.decision_id,
            order_id=event.order_id,
            customer_id=event.customer_id,
            event_time=event.event_time,
            outcome="released" if isinstance(event, OrderReleased) else "rejected",
            actor=event.actor,
            note=event.note,
            source_event_id=event.event_id,
            versions=self.versions,
        )

    def _proposal_review(
        self, memo: RiskMemo, event: ProposalReview
    ) -> tuple[ProposalReviewed, list[InputEvent]]:
        proposal = memo.proposals.pop(event.action_id, None)
        if proposal is None:
            raise InvalidEvent(
                "unknown_action",
                f"action {event.action_id} is no credit proposal to customer "
                f"{event.customer_id} waiting for review (unknown, or already reviewed)",
            )
        accepted = isinstance(event, ProposalAccepted)
        reviewed = ProposalReviewed(
            review_id=derive_id("proposal_review", event.event_id),
            action_id=event.action_id,
            customer_id=event.customer_id,
            event_time=event.event_time,
            outcome="accepted" if accepted else "declined",
            actor=event.actor,
            note=event.note,
            source_event_id=event.event_id,
            versions=self.versions,
        )
        return reviewed, implied_update(event, proposal) if accepted else []

    def score(
        self, record: CustomerRecord, features: Features, now: datetime
    ) -> tuple[float, Tier, tuple[Reason, ...]]:
        """The customer's score (0-100, two decimals), its tier (with hysteresis from the tier
        it had) and the top reasons, from its features at ``now``."""
        since = to_micros(now - self.risk.anomaly_window)
        scorecard = self.risk.scorecard
        result = scorecard.score(score_inputs(features, record.memo, since, scorecard.inputs))
        score = round(result.score, 2)
        return score, self.risk.tiers.tier(score, record.memo.tier), result.reasons

    def _before_order(self, state: CustomerState, event: InputEvent) -> Features | None:
        """The customer before an order, to decide it."""
        if not isinstance(event, OrderPlaced):
            return None
        return self.features(state, _not_before_watermark(state, event.event_time))

    def _usual_amounts(
        self, state: CustomerState, event: InputEvent, before: Features | None
    ) -> Summary | None:
        """The customer's amounts of an order or a payment before it, to judge how usual it is."""
        if before is not None:
            return before.order_amount_stats
        if isinstance(event, PaymentReceived):
            return state.payment_amount_stats(self.config)
        return None


def implied_update(event: ReviewEvent, proposal: dict) -> list[InputEvent]:
    """The customer update that accepting ``proposal`` (as the memo keeps it) implies: a new
    credit limit, or new payment terms (0 days for prepayment); none for a review."""
    common = {
        "event_id": derive_id("customer_update", event.event_id),
        "customer_id": event.customer_id,
        "event_time": event.event_time,
    }
    kind = proposal["kind"]
    if kind == "limit_increase" and proposal["currency"]:
        limit = Money(amount=proposal["new_limit"], currency=proposal["currency"])
        return [CreditLimitUpdated(credit_limit=limit, **common)]
    if kind in ("shorten_terms", "prepayment"):
        days = proposal["terms_days"] if kind == "shorten_terms" else 0
        return [PaymentTermsUpdated(terms_days=days, **common)]
    return []


def _not_before_watermark(state: CustomerState, moment: datetime) -> datetime:
    """Features are computed no earlier than the newest event the state has seen."""
    return moment if state.revision == 0 else max(moment, from_micros(state.watermark))


def picture(
    record: CustomerRecord,
    features: Features,
    now: datetime,
    score: float,
    tier: Tier,
    reasons: tuple[Reason, ...],
    versions: Versions,
) -> CustomerRisk:
    """The customer's current risk picture, as downstream services look it up."""
    return Standing(
        record.customer_id, record.state.revision, features, now, score, tier, reasons, versions
    ).picture()
