"""Features: a read-only, point-in-time snapshot of a customer for detectors and scoring.

Money stays exact (Decimal) in the snapshot; :mod:`features.catalog` names each feature and
turns them into floats for online models.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from features.aging import Aging
from features.bureau import Bureau
from features.config import FeatureConfig
from features.eventtime import DAY, from_micros
from features.industry import IndustryRisk
from features.stats import Summary
from features.units import UNIT, to_decimal, to_float

if TYPE_CHECKING:
    from features.state import CustomerState


@dataclass(frozen=True, slots=True)
class Features:
    """What is known of a customer at ``as_of``, from the events applied so far.

    ``limit_use`` is exposure / credit limit, None without a positive limit. ``dso`` is days
    sales outstanding over the last 90 days (capped at 365). ``avg_days_late`` is decayed in
    event time (see ``FeatureConfig.days_late_half_life``), early payments counting as 0;
    ``days_late_trend`` is how much later than that long run the customer pays lately (days
    after due with a half-life of three weeks, less the long-run average; None before three
    settlements) and ``days_late_spread`` the standard deviation of its days after due.
    The order windows are keyed "1h", "1d" and "30d". The ``*_stats`` give z-scores.
    ``bureau`` is what the credit reports say (:mod:`features.bureau`, their ratings on the
    scales of the ``industry`` document), ``industry_risk`` the risk of the industry they name
    (:mod:`features.industry`).
    """

    customer_id: str
    as_of: datetime
    currency: str | None
    country: str | None
    segment: str | None
    credit_limit: Decimal | None
    payment_terms_days: int | None
    exposure: Decimal
    limit_use: float | None
    open_order_amount: Decimal
    open_order_count: int
    open_balance: Decimal
    open_invoice_count: int
    unapplied_credit: Decimal
    disputed_balance: Decimal
    aging: Aging
    invoice_count: int
    settled_invoice_count: int
    avg_days_late: float | None
    avg_days_after_due: float | None
    days_late_trend: float | None
    days_late_spread: float | None
    on_time_share: float | None
    late_payments_90d: int
    dso: float
    dispute_rate: float
    bounced_payments: int
    order_counts: dict[str, int]
    order_amounts: dict[str, float]
    order_amount_stats: Summary
    payment_amount_stats: Summary
    payment_gap_stats: Summary
    days_since_last_payment: float | None
    tenure_days: float
    bureau: Bureau
    industry_risk: float | None

    @property
    def days_past_due(self) -> int:
        """Days past due of the oldest open invoice; 0 while none is past due."""
        return self.aging.days_past_due

    @property
    def overdue_balance(self) -> Decimal:
        return self.aging.overdue_balance

    @property
    def overdue_invoice_count(self) -> int:
        return self.aging.overdue_count

    @classmethod
    def of(
        cls, state: "CustomerState", now: int, config: FeatureConfig, industry: IndustryRisk
    ) -> "Features":
        """The features of ``state`` at ``now`` (no earlier than its clock), the industries'
        risk and the sources' rating scales as ``industry`` says."""
        ledger, behaviour, activity, profile = (
            state.ledger,
            state.behaviour,
            state.activity,
            state.profile,
        )
        limit = profile.credit_limit
        exposure = ledger.exposure
        windows = {name: window.totals(now) for name, window in activity.orders.items()}
        last_payment = activity.last_payment
        min_count = config.zscore_min_count
        invoices = ledger.invoices.values()
        open_count = disputed = was_disputed = 0
        for invoice in invoices:
            if invoice.remaining:
                open_count += 1
                disputed += invoice.disputed
            was_disputed += invoice.was_disputed()
        first = state.first_time
        bureau = state.reports.view(now / DAY, industry.rating_scales)
        return cls(
            customer_id=state.customer_id,
            as_of=from_micros(now),
            currency=profile.currency,
            country=profile.country,
            segment=profile.segment,
            credit_limit=None if limit is None else to_decimal(limit),
            payment_terms_days=profile.terms_days,
            exposure=to_decimal(exposure),
            limit_use=exposure / limit if limit else None,
            open_order_amount=to_decimal(ledger.order_total),
            open_order_count=sum(1 for order in ledger.orders.values() if order.open_amount),
            open_balance=to_decimal(ledger.open_balance),
            open_invoice_count=open_count,
            unapplied_credit=to_decimal(ledger.unapplied),
            disputed_balance=to_decimal(disputed),
            aging=Aging.of(invoices, now, config.grace_micros),
            invoice_count=behaviour.invoices,
            settled_invoice_count=behaviour.settled,
            avg_days_late=behaviour.avg_days_late,
            avg_days_after_due=behaviour.avg_days_after_due,
            days_late_trend=behaviour.days_late_trend,
            days_late_spread=behaviour.days_late_spread,
            on_time_share=behaviour.on_time_share,
            late_payments_90d=behaviour.late_payments(now),
            dso=behaviour.dso(ledger.open_balance, now),
            dispute_rate=behaviour.dispute_rate(was_disputed),
            bounced_payments=behaviour.bounced,
            order_counts={name: count for name, (count, _) in windows.items()},
            order_amounts={name: to_float(amount) for name, (_, amount) in windows.items()},
            order_amount_stats=activity.order_amounts.summary(UNIT, min_count),
            payment_amount_stats=activity.payment_amounts.summary(UNIT, min_count),
            payment_gap_stats=activity.gap_summary(min_count),
            days_since_last_payment=None if last_payment is None else (now - last_payment) / DAY,
            tenure_days=0.0 if first is None else (now - first) / DAY,
            bureau=bureau,
            industry_risk=industry.risk_of(bureau.industry_code),
        )
