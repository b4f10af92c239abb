"""Output event contracts: what riskstream writes to the risk.* topics.

Every output has an id derived from the inputs that caused it, so a redelivered or
replayed input produces the same id and consumers can drop repeats.
"""

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.events import SCHEMA_VERSION, Identifier
from schemas.money import Money

Severity = Literal["info", "warning", "critical"]
Tier = Literal["low", "medium", "high"]
Scalar = str | int | float | bool | None


class OutputEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: Identifier
    event_time: AwareDatetime = Field(description="Event time of the input that caused it")
    schema_version: Literal[1] = SCHEMA_VERSION


class Versions(BaseModel):
    """The versions of the logic an output was made with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    ruleset: str | None = None
    scorecard: str | None = None
    tiers: str | None = None
    decisions: str | None = None
    credit_policy: str | None = None
    industry: str | None = None


class Alert(OutputEvent):
    type: Literal["alert"] = "alert"
    alert_id: str
    kind: Literal["late_payment", "overdue", "anomaly", "limit_breach", "bounced_payment", "rule"]
    severity: Severity
    message: str
    source_event_id: str
    details: dict[str, Scalar] = Field(default_factory=dict)
    versions: Versions = Field(default_factory=Versions)


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: str
    value: float
    contribution: float = Field(description="Points of the 0-100 score this indicator adds")


class RiskChange(OutputEvent):
    type: Literal["risk_change"] = "risk_change"
    change_id: str
    score: float = Field(ge=0, le=100)
    previous_score: float | None = None
    tier: Tier
    previous_tier: Tier | None = None
    reasons: list[Reason]
    source_event_id: str
    versions: Versions = Field(default_factory=Versions)


class OrderDecision(OutputEvent):
    type: Literal["order_decision"] = "order_decision"
    decision_id: str
    order_id: Identifier
    outcome: Literal["approve", "review", "prepay", "reject"]
    reasons: list[str]
    figures: dict[str, Scalar] = Field(default_factory=dict)
    source_event_id: str
    versions: Versions = Field(default_factory=Versions)


HELD: tuple[str, ...] = ("review", "prepay")
"""The outcomes of an order decision that hold the order until a person releases or rejects it."""


class CreditAction(OutputEvent):
    """A credit action proposed to the credit team; riskstream never applies it.

    ``terms_days`` is set for ``shorten_terms``, ``amount`` (the increase) and ``new_limit``
    for ``limit_increase``, ``review_date`` for ``review``.
    """

    type: Literal["credit_action"] = "credit_action"
    action_id: str
    kind: Literal["prepayment", "shorten_terms", "limit_increase", "review"]
    reasons: list[str]
    terms_days: int | None = None
    amount: str | None = Field(None, description="Decimal string: the limit increase")
    new_limit: str | None = Field(None, description="Decimal string")
    review_date: date | None = None
    source_event_id: str
    versions: Versions = Field(default_factory=Versions)


CaseStatus = Literal["open", "acknowledged", "assigned", "snoozed", "resolved"]
CaseStep = Literal[
    "opened", "alerted", "acknowledged", "assigned", "snoozed", "resolved", "reopened"
]  # fmt: skip
ENGINE_ACTOR = "riskstream"
"""The actor of what the engine does to a case (opening it, adding an alert, reopening it)."""


class CaseEntry(BaseModel):
    """One step of a case's history: who did what, when and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime = Field(description="Event time of the step")
    actor: str = Field(description=f"The staff user id, or {ENGINE_ACTOR!r} for the engine")
    action: CaseStep
    note: str = ""
    alert_id: str | None = Field(None, description="The alert of an opened/alerted/reopened step")


class Case(OutputEvent):
    """A revision of a case: the alerts of one customer that are open at the same time, and
    what people did about them. A new revision replaces the previous one of the same case."""

    type: Literal["case"] = "case"
    case_id: str
    revision: int = Field(ge=1, description="1 when opened, +1 per change")
    status: CaseStatus
    opened_at: AwareDatetime = Field(description="Event time of its first alert")
    updated_at: AwareDatetime = Field(description="Event time of this revision's change")
    assignee: str | None = None
    snoozed_until: AwareDatetime | None = None
    severity: Severity = Field(description="The highest severity of its alerts")
    alert_count: int = Field(ge=1)
    alert_ids: list[str] = Field(description="Its last 50 alerts, oldest first")
    alert_kinds: dict[str, int] = Field(description="Alert kind -> how many")
    money_at_risk: Money = Field(description="The customer's exposure when last alerted")
    probability_of_loss: float = Field(ge=0, le=1)
    priority: float = Field(ge=0, description="money_at_risk amount x probability_of_loss")
    score: float | None = None
    tier: Tier | None = None
    history: list[CaseEntry] = Field(description="Its last 50 steps, oldest first")
    source_event_id: str = Field(description="The input that made this revision")
    versions: Versions = Field(default_factory=Versions)


class OrderReview(OutputEvent):
    """A person released or rejected an order decided ``review`` or ``prepay``."""

    type: Literal["order_review"] = "order_review"
    review_id: str
    decision_id: str
    order_id: Identifier
    outcome: Literal["released", "rejected"]
    actor: str
    note: str = ""
    source_event_id: str
    versions: Versions = Field(default_factory=Versions)


class ProposalReview(OutputEvent):
    """A person accepted or declined a proposed credit action."""

    type: Literal["proposal_review"] = "proposal_review"
    review_id: str
    action_id: str
    outcome: Literal["accepted", "declined"]
    actor: str
    note: str = ""
    source_event_id: str
    versions: Versions = Field(default_factory=Versions)


ReasonCode = Literal[
    "undecodable", "invalid", "unknown_type", "wrong_topic", "key_mismatch", "too_late",
    "inconsistent", "from_future", "failed", "unknown_case", "unknown_decision",
    "unknown_action",
]  # fmt: skip
"""Why an input is a dead letter."""


class DeadLetter(BaseModel):
    """An input that could not be processed, with the reason: kept without personal data and
    cut to its first 16 KiB, with its size and digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["dead_letter"] = "dead_letter"
    dead_letter_id: str
    reason_code: ReasonCode
    reason: str
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    key: str | None = None
    payload: str = Field(
        description="The original message value without personal data (the fields marked "
        "x-personal-data taken out of JSON, their values replaced by <redacted> in anything "
        "else, e-mail addresses masked), cut to its first 16 KiB; else exactly"
    )
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_size: int = Field(ge=0, description="Bytes of the original message value")
    payload_sha256: str = Field(description="SHA-256 of the original message value, hex")
    payload_truncated: bool = Field(False, description="The payload is only its beginning")
    redacted: list[str] = Field(
        default_factory=list, description="The personal data fields taken out of the payload"
    )
    schema_version: Literal[1] = SCHEMA_VERSION


AnyOutputEvent = Annotated[
    Alert | RiskChange | OrderDecision | CreditAction | Case | OrderReview | ProposalReview,
    Field(discriminator="type"),
]


class CustomerRisk(BaseModel):
    """The current risk picture of one customer, as kept in Redis for look-ups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["customer_risk"] = "customer_risk"
    customer_id: Identifier
    as_of: AwareDatetime = Field(description="The (event) time this picture describes")
    revision: int = Field(ge=0, description="Grows with every change of the customer's state")
    currency: str | None = None
    exposure: str = Field(description="Decimal string")
    credit_limit: str | None = Field(None, description="Decimal string; null when none is set")
    limit_use: float | None = None
    open_invoices: int
    overdue_balance: str = Field(description="Decimal string")
    days_past_due: int
    score: float | None = None
    tier: Tier | None = None
    reasons: list[Reason] = Field(default_factory=list)
    versions: Versions = Field(default_factory=Versions)
    aging_current: str = Field("0", description="Decimal string: open balance not past due")
    aging_1_30: str = Field("0", description="Decimal string: open balance 1-30 days past due")
    aging_31_60: str = Field("0", description="Decimal string: open balance 31-60 days past due")
    aging_61_90: str = Field("0", description="Decimal string: open balance 61-90 days past due")
    aging_over_90: str = Field(
        "0", description="Decimal string: open balance over 90 days past due"
    )
    dso: float | None = Field(None, description="Days sales outstanding (90 days)")
    avg_days_late: float | None = Field(
        None, description="Days late of the settled invoices, recent ones weighing more"
    )
    on_time_share: float | None = Field(None, description="Share of invoices paid on time")


AGING_BUCKETS: tuple[str, ...] = (
    "aging_current", "aging_1_30", "aging_31_60", "aging_61_90", "aging_over_90"
)  # fmt: skip
"""The fields of a `CustomerRisk` that hold its open balance by days past due."""


class ModelDrift(BaseModel):
    """The late-payment model's errors drifted (ADWIN on whether each labelled prediction was
    wrong), as seen from the labels of one worker's customers: time to look at the model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["model_drift"] = "model_drift"
    drift_id: str
    model: str = Field(description="Model family, e.g. logreg")
    model_version: str | None = None
    event_time: AwareDatetime = Field(description="Event time of the label that showed it")
    labels_seen: int = Field(ge=1, description="Labels the monitor had seen, this one included")
    error_rate: float = Field(description="Share of wrong predictions since the change")
    error_rate_before: float = Field(description="The same, just before: lower when worse now")
    auc: float | None = Field(None, description="ROC AUC over the monitor's recent labels")
    source_event_id: str
    schema_version: Literal[1] = SCHEMA_VERSION


ALL_OUTPUT_EVENTS: tuple[type[BaseModel], ...] = (
    Alert, RiskChange, OrderDecision, CreditAction, DeadLetter, CustomerRisk, ModelDrift,
    Case, OrderReview, ProposalReview,
)  # fmt: skip
