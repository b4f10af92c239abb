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

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from detectors.alerts import transition_alerts
from detectors.anomaly import Anomaly, AnomalyDetector, HalfSpaceTreesDetector, ZScoreDetector
from detectors.credit_actions import CreditPolicy
from detectors.decisions import DecisionPolicy
from detectors.delayed_labels import LabelledExample
from detectors.late_payment import LatePaymentModel
from detectors.memo import RiskMemo
from detectors.monitoring import ModelMonitor, ScoreMonitor
from detectors.rules import RuleInputs, RuleSet, load_rulepack
from detectors.scorecard import Scorecard
from detectors.tiers import TierPolicy, should_publish
from features import CustomerState, FeatureConfig, Features, Summary, Transition
from features.catalog import FEATURES, model_features
from features.eventtime import from_micros, to_micros
from schemas.events import InputEvent, OrderPlaced, PaymentReceived
from schemas.ids import derive_id
from schemas.money import money_text
from schemas.outputs import (
    Alert,
    CreditAction,
    CustomerRisk,
    ModelDrift,
    OrderDecision,
    Reason,
    RiskChange,
    Tier,
    Versions,
)

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

    def to_bytes(self) -> bytes:
        state = self.state.to_bytes()
        return _LENGTH.pack(len(state)) + state + self.memo.to_bytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "CustomerRecord":
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
    standing: "Standing | None" = None

    @property
    def picture(self) -> CustomerRisk | None:
        """The customer's risk picture after the step, made when asked for."""
        return None if self.standing is None else self.standing.picture()

    def all(self) -> list[BaseModel]:
        """The outputs that leave the engine: decisions, alerts, changes, actions, examples,
        drifts, picture."""
        return [*self.events(), *filter(None, [self.picture])]

    def events(self) -> list[BaseModel]:
        """The outputs of this step alone, all but the picture: decisions, alerts, changes,
        actions, examples, drifts."""
        return [
            *self.decisions,
            *self.alerts,
            *self.changes,
            *self.actions,
            *self.examples,
            *self.drifts,
        ]


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
    ) -> None:
        self.config = config or FeatureConfig()
        self.risk = risk or RiskConfig()
        self.model = model or LatePaymentModel()
        self.learn = learn
        self.monitor = ModelMonitor()
        self.scores = ScoreMonitor()
        self.unusual = unusual or {
            "payment": HalfSpaceTreesDetector(n_trees=5, height=6, seed=1),
            "order": HalfSpaceTreesDetector(n_trees=5, height=6, seed=2),
        }
        self._versions = Versions()
        self._versions_of: RiskConfig | None = None

    def configure(self, risk: RiskConfig) -> None:
        """Put ``risk`` in force from the next event. Scores made with another scorecard or
        other tiers are another population: their stability is measured afresh."""
        if (risk.scorecard, risk.tiers) != (self.risk.scorecard, self.risk.tiers):
            self.scores = ScoreMonitor()
        self.risk = risk

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
            )
        return self._versions

    def process(self, record: CustomerRecord, event: InputEvent) -> Outputs:
        """Apply one event; raises ``InvalidEvent`` (record unchanged) if it cannot be."""
        state = record.state
        before = self._before_order(state, event)
        usual = self._usual_amounts(state, event, before)
        revision = state.revision
        transitions = state.apply(event, self.config)
        if state.revision == revision:
            return Outputs()
        outputs = self._react(record, transitions, event.event_time, event, event.event_id, usual)
        if isinstance(event, OrderPlaced) and before is not None:
            decision = self.risk.decisions.decide(
                event.amount,
                before,
                record.memo.tier,
                record.memo.published_score,
                prepayment_terms=on_prepayment_terms(before),
            )
            outputs.decisions.append(decision.order_decision(event, self.versions))
        return outputs

    def advance(self, record: CustomerRecord, now: datetime) -> Outputs:
        """Let time pass to ``now``: invoices whose due date passed turn overdue."""
        transitions = record.state.advance(now, self.config)
        if not transitions:
            return Outputs()
        return self._react(record, transitions, now, None, f"clock@{now.isoformat()}")

    def _react(
        self,
        record: CustomerRecord,
        transitions: list[Transition],
        now: datetime,
        event: InputEvent | None,
        cause: str,
        usual: Summary | None = None,
    ) -> Outputs:
        """The outputs of ``transitions`` (and of ``event``, with the customer's ``usual``
        amounts of its kind before it, if it is an order or a payment)."""
        now = _not_before_watermark(record.state, now)
        features = record.state.features(now, self.config)
        anomalies = self._anomalies(event, usual, features)
        versions = self.versions
        outputs = Outputs(alerts=transition_alerts(transitions, versions))
        for transition in transitions:
            example = self._track_prediction(record.memo, transition, features)
            if example is not None:
                outputs.examples.append(example)
                if self.monitor.drift_detected:
                    outputs.drifts.append(self._drift(example, cause))
        for anomaly in anomalies:
            record.memo.note_anomaly(to_micros(now))
            outputs.alerts.append(self._anomaly_alert(record, anomaly, now, cause, versions))
        day = features.as_of.toordinal()
        given = {
            "event.days_late": max(
                (int(t.details["days_late"]) for t in transitions if t.kind == "invoice_settled"),
                default=None,
            ),
            "features.dso_change_30d": record.memo.dso_change(day, features.dso),
        }
        record.memo.note_dso(day, features.dso)
        outputs.alerts += self._rule_alerts(record, features, event, given, now, cause, versions)
        record.memo.note_alerts(outputs.alerts)
        self._score(record, features, now, cause, outputs)
        return outputs

    def _track_prediction(
        self, memo: RiskMemo, transition: Transition, features: Features
    ) -> LabelledExample | None:
        details = transition.details
        invoice_id = str(details.get("invoice_id"))
        if transition.kind == "invoice_issued":
            inputs = model_input(features, details)
            due = date.fromisoformat(str(details["due_date"]))
            memo.pending.record(
                invoice_id, inputs, self.model.predict(inputs), transition.event_time, due
            )
            return None
        if transition.kind == "invoice_cancelled":
            memo.pending.discard(invoice_id)
            return None
        outcome = _OUTCOMES.get(transition.kind)
        if outcome is None:
            return None
        example = memo.pending.resolve(invoice_id, outcome(details), transition.event_time)
        if example is not None:
            self.monitor.update(example.probability, example.label)
            if self.learn:
                self.model.learn(example.features, example.label)
        return example

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

    def _score(
        self,
        record: CustomerRecord,
        features: Features,
        now: datetime,
        cause: str,
        outputs: Outputs,
    ) -> None:
        memo = record.memo
        score, tier, reasons = self.score(record, features, now)
        self.scores.update(score)
        previous_tier, previous_score = memo.tier, memo.published_score
        if should_publish(previous_score, previous_tier, score, tier, self.risk.min_score_change):
            outputs.changes.append(
                RiskChange(
                    change_id=derive_id(
                        "risk_change", record.customer_id, cause, record.state.revision
                    ),
                    customer_id=record.customer_id,
                    event_time=now,
                    score=score,
                    previous_score=previous_score,
                    tier=tier,
                    previous_tier=previous_tier,
                    reasons=list(reasons),
                    source_event_id=cause,
                    versions=self.versions,
                )
            )
            memo.published_score = score
        memo.tier = tier
        versions = self.versions
        outputs.actions, memo.actions = self.risk.credit.changes(
            features,
            tier,
            cause,
            memo.actions,
            prepayment_terms=on_prepayment_terms(features),
            versions=versions,
        )
        outputs.standing = Standing(
            record.customer_id, record.state.revision, features, now, score, tier, reasons, versions
        )

    def _rule_alerts(
        self,
        record: CustomerRecord,
        features: Features,
        event: InputEvent | None,
        given: dict[str, Any],
        now: datetime,
        cause: str,
        versions: Versions,
    ) -> list[Alert]:
        rules, memo = self.risk.rules, record.memo
        result = rules.evaluate(RuleInputs(features, event, given), memo.cooldowns, now)
        memo.cooldowns = result.cooldowns
        return [hit.alert(record.customer_id, now, cause, versions) for hit in result.hits]

    def _before_order(self, state: CustomerState, event: InputEvent) -> Features | None:
        """The customer before an order, to decide it."""
        if not isinstance(event, OrderPlaced):
            return None
        return state.features(_not_before_watermark(state, event.event_time), self.config)

    def _usual_amounts(
        self, state: CustomerState, event: InputEvent, before: Features | None
    ) -> Summary | None:
        """The customer's amounts of an order or a payment before it, to judge how usual it is."""
        if before is not None:
            return before.order_amount_stats
        if isinstance(event, PaymentReceived):
            return state.payment_amount_stats(self.config)
        return None

    def _anomalies(
        self, event: InputEvent | None, usual: Summary | None, features: Features
    ) -> list[Anomaly]:
        """An amount unusual for this customer; a payment or an order unusual among all."""
        if event is None or usual is None:
            return []
        detector = (
            self.risk.order_amounts if isinstance(event, OrderPlaced) else self.risk.payment_amounts
        )
        amount = float(event.amount.amount)  # type: ignore[attr-defined]
        own = detector.check(amount, usual.mean, usual.std, usual.count)
        unusual = self.unusual["order" if isinstance(event, OrderPlaced) else "payment"]
        vector = unusual_input(features, amount, usual.mean)
        among_all = unusual.check_and_learn_one(vector)
        return [found for found in (own, among_all) if found is not None]

    def _drift(self, example: LabelledExample, cause: str) -> ModelDrift:
        monitor = self.monitor
        return ModelDrift(
            drift_id=derive_id("model_drift", self.model.name, monitor.n, example.invoice_id),
            model=self.model.name,
            model_version=self.model.version,
            event_time=example.labelled_at,
            labels_seen=monitor.n,
            error_rate=round(monitor.error_rate, 4),
            error_rate_before=round(monitor.error_rate_before, 4),
            auc=monitor.snapshot()["auc"],
            source_event_id=cause,
        )

    @staticmethod
    def _anomaly_alert(
        record: CustomerRecord, anomaly: Anomaly, now: datetime, cause: str, versions: Versions
    ) -> Alert:
        return Alert(
            alert_id=derive_id("alert", "anomaly", anomaly.kind, record.customer_id, cause),
            kind="anomaly",
            severity="warning",
            message=anomaly.message,
            customer_id=record.customer_id,
            event_time=now,
            source_event_id=cause,
            details={
                "what": anomaly.kind,
                "feature": anomaly.feature,
                "value": round(anomaly.value, 2),
                "expected": anomaly.expected,
                "score": round(anomaly.score, 2),
            },
            versions=versions,
        )


def on_prepayment_terms(features: Features) -> bool:
    """Payment terms of 0 days: the customer pays before delivery."""
    return features.payment_terms_days == 0


def _not_before_watermark(state: CustomerState, moment: datetime) -> datetime:
    """Features are computed no earlier than the newest event the state has seen."""
    return moment if state.revision == 0 else max(moment, from_micros(state.watermark))


_OUTCOMES = {
    "invoice_settled": lambda details: bool(details["late"]),
    "invoice_overdue": lambda details: True,
    "invoice_written_off": lambda details: True,
}


_LOG_SCALED = (
    "exposure", "credit_limit", "open_order_amount", "open_balance", "unapplied_credit",
    "disputed_balance", "aging_current", "aging_1_30", "aging_31_60", "aging_61_90",
    "aging_over_90", "overdue_balance", "payment_amount_mean", "order_amount_mean",
    "order_amount_std", "days_past_due", "avg_days_late", "dso", "days_since_last_payment",
    "tenure_days",
)  # fmt: skip
"""Money and day counts, heavy-tailed: the model sees sign(x) * log(1 + |x|)."""


def model_input(features: Features, invoice: dict) -> dict[str, float]:
    """The late-payment model's input: the customer at issue time plus the invoice itself."""
    inputs = model_features(features)
    for name in _LOG_SCALED:
        value = inputs[name]
        inputs[name] = math.copysign(math.log1p(abs(value)), value)
    # Late as far as known now: settled late, or still open past the due date; the rule of
    # succession (one late and one on time assumed) keeps a short history from saying 0 or 1.
    settled, overdue = features.settled_invoice_count, features.overdue_invoice_count
    late = settled * (1.0 - (features.on_time_share or 0.0)) + overdue
    inputs["late_share_known"] = (late + 1.0) / (settled + overdue + 2.0)
    amount = float(invoice["amount"])
    terms = (date.fromisoformat(str(invoice["due_date"])) - features.as_of.date()).days
    inputs["invoice_amount_log"] = math.log1p(amount)
    inputs["invoice_terms_days"] = float(terms)
    limit = float(features.credit_limit or 0)
    inputs["invoice_share_of_limit"] = amount / limit if limit else 0.0
    inputs["invoice_paperless"] = float(bool(invoice.get("paperless")))
    return inputs


def unusual_input(features: Features, amount: float, usual_amount: float) -> dict[str, float]:
    """What the cross-customer detectors see of a payment or an order: its size, absolutely
    and against the customer's usual one, and the customer's standing with it."""
    return {
        "log_amount": math.log1p(amount),
        "log_amount_vs_usual": math.log1p(amount) - math.log1p(usual_amount),
        "limit_use": min(features.limit_use or 0.0, 3.0),
        "log_days_past_due": math.log1p(features.days_past_due),
        "on_time_share": 1.0 if features.on_time_share is None else features.on_time_share,
        "dispute_rate": features.dispute_rate or 0.0,
    }


def score_inputs(
    features: Features, memo: RiskMemo, anomalies_since: int, names: Iterable[str]
) -> dict[str, float | None]:
    """The scorecard's inputs: the named features it reads, as numbers, and what the record
    gives; None where nothing is known yet (adds no points)."""
    inputs = {name: _number(FEATURES[name].read(features)) for name in names}
    inputs["late_payment_probability"] = memo.pending.highest_probability()
    inputs["recent_anomalies"] = memo.anomalies_since(anomalies_since)
    return inputs


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Standing:
    """What a customer's risk picture is made of, as of one step: the picture itself is made
    only when asked for (a worker publishes every one, a backtest none)."""

    customer_id: str
    revision: int
    features: Features
    as_of: datetime
    score: float
    tier: Tier
    reasons: tuple[Reason, ...]
    versions: Versions

    def picture(self) -> CustomerRisk:
        features = self.features
        limit = features.credit_limit
        return CustomerRisk(
            customer_id=self.customer_id,
            as_of=self.as_of,
            revision=self.revision,
            currency=features.currency,
            exposure=money_text(features.exposure),
            credit_limit=None if limit is None else money_text(limit),
            limit_use=features.limit_use,
            open_invoices=features.open_invoice_count,
            overdue_balance=money_text(features.overdue_balance),
            days_past_due=features.days_past_due,
            score=self.score,
            tier=self.tier,
            reasons=list(self.reasons),
            versions=self.versions,
        )


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
