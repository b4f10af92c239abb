"""What a step of the engine is, as its detectors read it, and the detectors themselves.

A detector reads one `Step` (the customer's record, the event or the passing of time, the
transitions they caused and the customer's features, computed once when first read) and
returns what it found: output events, or the customer's standing. Adding a detector is one
class here and one line in `DETECTORS`, where the order they run in is the order of their
outputs and of their effects on the record (scoring reads the anomalies noted before it).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from detectors.alerts import transition_alerts
from detectors.anomaly import Anomaly
from detectors.cases import Risk, fold_alerts
from detectors.delayed_labels import LabelledExample
from detectors.memo import RiskMemo
from detectors.rules import RuleInputs
from detectors.tiers import should_publish
from features import Features, Summary, Transition
from features.catalog import FEATURES, model_features
from features.eventtime import to_micros
from schemas.events import InputEvent, OrderPlaced
from schemas.ids import derive_id
from schemas.money import Money, money_text
from schemas.outputs import (
    AGING_BUCKETS,
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

if TYPE_CHECKING:
    from streams.engine.engine import CustomerRecord, Engine

Found = Alert | OrderDecision | RiskChange | CreditAction | LabelledExample | ModelDrift | Case
"""An output event a detector returns (or the customer's `Standing`, from scoring)."""


@dataclass(slots=True)
class Step:
    """One step of one customer: an event applied, or time passed to ``now``.

    ``before`` is the customer before an order (to decide it), ``usual`` its amounts of the
    event's kind before an order or a payment (to judge how usual the amount is); ``cause``
    is the id every output of the step names as its source; ``versions`` are the engine's at
    the step's start; ``alerts`` and ``standing`` are what the detectors before found.
    """

    engine: "Engine"
    record: "CustomerRecord"
    transitions: list[Transition]
    now: datetime
    cause: str
    versions: Versions
    event: InputEvent | None = None
    before: Features | None = None
    usual: Summary | None = None
    alerts: list[Alert] = field(default_factory=list)
    standing: "Standing | None" = None
    _features: Features | None = field(default=None, repr=False)

    @property
    def features(self) -> Features:
        """The customer's features at ``now``, after the step: computed once, when first read."""
        if self._features is None:
            self._features = self.engine.features(self.record.state, self.now)
        return self._features


class Detector(Protocol):
    """Reads a step; returns what it found, in the order it should be published."""

    def detect(self, step: Step) -> Iterable["Found | Standing"]: ...


class TransitionAlerts:
    """An invoice paid late or turning overdue."""

    def detect(self, step: Step) -> Iterable[Found]:
        return transition_alerts(step.transitions, step.versions)


class LatePayments:
    """Predicts late payment when an invoice is issued, labels the prediction when its
    outcome is known (and learns from it if the engine learns), and watches the model's
    errors drift."""

    def detect(self, step: Step) -> Iterable[Found]:
        found: list[Found] = []
        for transition in step.transitions:
            example = self._track(step, transition)
            if example is not None:
                found.append(example)
                lineup = step.engine.lineup
                if lineup.champion in lineup.judged(example) and step.engine.monitor.drift_detected:
                    found.append(_drift(step.engine, example, step.cause))
        return found

    @staticmethod
    def _track(step: Step, transition: Transition) -> LabelledExample | None:
        engine, pending = step.engine, step.record.memo.pending
        details = transition.details
        invoice_id = str(details.get("invoice_id"))
        if transition.kind == "invoice_issued":
            inputs = model_input(step.features, details)
            due = date.fromisoformat(str(details["due_date"]))
            probabilities = engine.lineup.predict(inputs)
            champion = probabilities[engine.lineup.champion]
            others = probabilities if len(probabilities) > 1 else None
            pending.record(invoice_id, inputs, champion, transition.event_time, due, others)
            return None
        if transition.kind == "invoice_cancelled":
            pending.discard(invoice_id)
            return None
        outcome = _OUTCOMES.get(transition.kind)
        if outcome is None:
            return None
        example = pending.resolve(invoice_id, outcome(details), transition.event_time)
        if example is not None:
            engine.lineup.observe(example)
            if engine.learn:
                engine.lineup.learn(example)
        return example


_OUTCOMES = {
    "invoice_settled": lambda details: bool(details["late"]),
    "invoice_overdue": lambda details: True,
    "invoice_written_off": lambda details: True,
}
"""Whether a transition says an invoice was paid late, by its kind."""


def _drift(engine: "Engine", example: LabelledExample, cause: str) -> ModelDrift:
    monitor, model = engine.monitor, engine.model
    return ModelDrift(
        drift_id=derive_id("model_drift", model.name, monitor.n, example.invoice_id),
        model=model.name,
        model_version=model.version,
        event_time=example.labelled_at,
        labels_seen=monitor.n,
        error_rate=round(monitor.error_rate, 4),
        error_rate_before=round(monitor.error_rate_before, 4),
        auc=monitor.auc(),
        source_event_id=cause,
    )


class UnusualAmounts:
    """An order or a payment whose amount is unusual for this customer (a z-score), or whose
    amount and customer are unusual among all customers (half-space trees): only orders and
    payments are looked at, and only they teach the trees."""

    def detect(self, step: Step) -> Iterable[Found]:
        anomalies = self._anomalies(step)
        memo = step.record.memo
        now = to_micros(step.now)
        for _ in anomalies:
            memo.note_anomaly(now)
        return [_anomaly_alert(step, anomaly) for anomaly in anomalies]

    @staticmethod
    def _anomalies(step: Step) -> list[Anomaly]:
        event, usual = step.event, step.usual
        if event is None or usual is None:
            return []
        kind = "order" if isinstance(event, OrderPlaced) else "payment"
        risk = step.engine.risk
        detector = risk.order_amounts if kind == "order" else risk.payment_amounts
        amount = float(event.amount.amount)  # type: ignore[attr-defined]
        own = detector.check(amount, usual.mean, usual.std, usual.count)
        vector = unusual_input(step.features, amount, usual.mean)
        among_all = step.engine.unusual[kind].check_and_learn_one(vector)
        return [found for found in (own, among_all) if found is not None]


def _anomaly_alert(step: Step, anomaly: Anomaly) -> Alert:
    customer_id = step.record.customer_id
    return Alert(
        alert_id=derive_id("alert", "anomaly", anomaly.kind, customer_id, step.cause),
        kind="anomaly",
        severity="warning",
        message=anomaly.message,
        customer_id=customer_id,
        event_time=step.now,
        source_event_id=step.cause,
        details={
            "what": anomaly.kind,
            "feature": anomaly.feature,
            "value": round(anomaly.value, 2),
            "expected": anomaly.expected,
            "score": round(anomaly.score, 2),
        },
        versions=step.versions,
    )


class RuleAlerts:
    """The rules of the rule set in force, with their cooldowns per customer."""

    def detect(self, step: Step) -> Iterable[Found]:
        record, features, now = step.record, step.features, step.now
        memo = record.memo
        day = features.as_of.toordinal()
        given: dict[str, Any] = {
            "event.days_late": max(
                (
                    int(t.details["days_late"])
                    for t in step.transitions
                    if t.kind == "invoice_settled"
                ),
                default=None,
            ),
            "features.dso_change_30d": memo.dso_change(day, features.dso),
        }
        memo.note_dso(day, features.dso)
        inputs = RuleInputs(features, step.event, given)
        result = step.engine.risk.rules.evaluate(inputs, memo.cooldowns, now)
        memo.cooldowns = result.cooldowns
        return [
            hit.alert(record.customer_id, now, step.cause, step.versions) for hit in result.hits
        ]


class Scoring:
    """The customer's score and tier; a risk change when worth publishing, the credit actions
    it calls for, and the customer's standing."""

    def detect(self, step: Step) -> Iterable["Found | Standing"]:
        engine, record, features = step.engine, step.record, step.features
        memo = record.memo
        # The versions now, not at the step's start: the model may have learnt in this step.
        versions = engine.versions
        score, tier, reasons = engine.score(record, features, step.now)
        engine.scores.update(score)
        found: list[Found | Standing] = []
        previous_tier, previous_score = memo.tier, memo.published_score
        if should_publish(previous_score, previous_tier, score, tier, engine.risk.min_score_change):
            found.append(
                RiskChange(
                    # One change at most per step: its cause names it, whatever the revision
                    # the step found (a redelivered event may come after other events).
                    change_id=derive_id("risk_change", record.customer_id, step.cause),
                    customer_id=record.customer_id,
                    event_time=step.now,
                    score=score,
                    previous_score=previous_score,
                    tier=tier,
                    previous_tier=previous_tier,
                    reasons=list(reasons),
                    source_event_id=step.cause,
                    versions=versions,
                )
            )
            memo.published_score = score
        memo.tier = tier
        actions, memo.actions = engine.risk.credit.changes(
            features,
            tier,
            step.cause,
            memo.actions,
            prepayment_terms=on_prepayment_terms(features),
            versions=versions,
        )
        found += actions
        found.append(
            Standing(
                record.customer_id,
                record.state.revision,
                features,
                step.now,
                score,
                tier,
                reasons,
                versions,
            )
        )
        return found


class OrderDecisions:
    """Each order placed decided from the customer before it, with the tier just scored."""

    def detect(self, step: Step) -> Iterable[Found]:
        event, before = step.event, step.before
        if not isinstance(event, OrderPlaced) or before is None:
            return ()
        memo = step.record.memo
        decision = step.engine.risk.decisions.decide(
            event.amount,
            before,
            memo.tier,
            memo.published_score,
            prepayment_terms=on_prepayment_terms(before),
        )
        return (decision.order_decision(event, step.engine.versions),)


NO_CURRENCY = "XXX"
"""ISO 4217's code for no currency: the money at risk of a customer whose currency is unknown."""


class Cases:
    """Every alert of the step folds into the customer's case (`detectors.cases`), which
    carries the customer's exposure, score and tier, and the probability of loss: the highest
    late-payment probability of its open invoices, else its score / 100. A snoozed case whose
    time has come is reopened. The case's new revision, if any, is the output."""

    def detect(self, step: Step) -> Iterable[Found]:
        memo = step.record.memo
        if not step.alerts and not (memo.case_wakes is not None and memo.case_wakes <= step.now):
            return ()
        standing = step.standing
        score, tier = (None, None) if standing is None else (standing.score, standing.tier)
        probability = memo.pending.highest_probability()
        if probability is None:
            probability = 0.0 if score is None else score / 100
        features = step.features
        at_risk = Money(
            amount=max(features.exposure, Decimal(0)), currency=features.currency or NO_CURRENCY
        )
        risk = Risk(at_risk, probability, score, tier)
        versions = step.engine.versions
        revised = fold_alerts(memo.case, step.alerts, risk, step.now, step.cause, versions)
        if revised is None:
            return ()
        memo.keep_case(revised)
        return (revised,)


def on_prepayment_terms(features: Features) -> bool:
    """Payment terms of 0 days: the customer pays before delivery."""
    return features.payment_terms_days == 0


_LOG_SCALED = (
    "exposure", "credit_limit", "open_order_amount", "open_balance", "unapplied_credit",
    "disputed_balance", "aging_current", "aging_1_30", "aging_31_60", "aging_61_90",
    "aging_over_90", "overdue_balance", "payment_amount_mean", "order_amount_mean",
    "order_amount_std", "days_past_due", "avg_days_late", "dso", "days_since_last_payment",
    "tenure_days", "report_age_days", "payment_index", "leverage",
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
            **{bucket: money_text(FEATURES[bucket].read(features)) for bucket in AGING_BUCKETS},
            dso=features.dso,
            avg_days_late=features.avg_days_late,
            on_time_share=features.on_time_share,
        )


DETECTORS: tuple[Detector, ...] = (
    TransitionAlerts(),
    LatePayments(),
    UnusualAmounts(),
    RuleAlerts(),
    Scoring(),
    OrderDecisions(),
    Cases(),
)
"""The detectors of every step, in the order they run."""
