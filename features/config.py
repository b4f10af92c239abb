"""How a customer's features are kept: lateness, grace, decay and the bounds on kept history."""

from dataclasses import dataclass, field
from datetime import timedelta

from features.eventtime import to_duration


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Settings of the feature engine; the defaults suit daily-terms B2B receivables.

    Pass the same settings to every call for a customer: the state does not store them.

    Parameters
    ----------
    lateness
        Allowed out-of-orderness. An event up to this much older than the newest event of its
        customer is put in its place in event-time order; an older one is rejected (``too_late``).
    overdue_grace
        An invoice turns overdue once its due date has fully passed (midnight UTC at the end of
        the due date) plus this grace.
    late_tolerance_days
        An invoice settled within this many days after its due date counts as paid on time.
    days_late_half_life
        Half-life, in event time, of the weights of the average days late: a settlement this
        much older than another weighs half as much.
    zscore_min_count
        Running statistics give no z-score until they have seen this many values.
    payment_retention
        A payment can be reversed (bounced) by an event less than this after it, in event
        time; a later reversal is rejected as ``inconsistent``.
    open_order_ttl
        An order neither invoiced nor cancelled within this time stops counting as exposure.
    max_buffered_events
        Most events kept for re-ordering; past it the oldest settle early, which shortens the
        lateness for a customer with a burst of events.
    max_recent_event_ids
        Ids of settled events remembered to drop their redeliveries, besides the ids of the
        events still kept for re-ordering.
    max_closed_ids
        Ids of closed orders, invoices and reversed payments remembered (each) so that a
        repeated cancellation, reversal or issue is recognised and ignored.

    The activity windows (1 hour, 1 day, 30 days) and the 90 days of the recent payment
    behaviour are fixed: they shape the stored state, which must load under any settings.

    >>> FeatureConfig(lateness=timedelta(hours=6)).lateness_micros
    21600000000
    """

    lateness: timedelta = timedelta(days=1)
    overdue_grace: timedelta = timedelta(0)
    late_tolerance_days: int = 0
    days_late_half_life: timedelta = timedelta(days=90)
    zscore_min_count: int = 5
    payment_retention: timedelta = timedelta(days=45)
    open_order_ttl: timedelta = timedelta(days=180)
    max_buffered_events: int = 200
    max_recent_event_ids: int = 16
    max_closed_ids: int = 8

    lateness_micros: int = field(init=False, repr=False, compare=False)
    grace_micros: int = field(init=False, repr=False, compare=False)
    half_life_micros: int = field(init=False, repr=False, compare=False)
    retention_micros: int = field(init=False, repr=False, compare=False)
    order_ttl_micros: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spans = {
            "lateness_micros": self.lateness,
            "grace_micros": self.overdue_grace,
            "half_life_micros": self.days_late_half_life,
            "retention_micros": self.payment_retention,
            "order_ttl_micros": self.open_order_ttl,
        }
        for name, span in spans.items():
            if span < timedelta(0):
                raise ValueError(f"{name.removesuffix('_micros')} must not be negative: {span}")
            object.__setattr__(self, name, to_duration(span))
        if self.half_life_micros == 0:
            raise ValueError("days_late_half_life must be positive")
        minimums = {
            "late_tolerance_days": 0,
            "zscore_min_count": 0,
            "max_buffered_events": 1,
            "max_recent_event_ids": 0,
            "max_closed_ids": 0,
        }
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise ValueError(f"{name} must be at least {minimum}: {getattr(self, name)}")
