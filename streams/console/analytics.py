"""The console's portfolio analytics and histories: pure functions of what Redis holds.

Money is added only within one currency: an amount counts in the reporting currency of the
``fx`` document in force when its currency has a rate there, else in its own (see
`schemas.fx`), and every total in the reporting currency names the rates' version.

>>> from schemas.fx import FxRates
>>> from streams.console.tables import customer_row
>>> fx = FxRates(version="fx-1", reporting="EUR", rates={"USD": Decimal("0.5")})
>>> rows = [customer_row("a", {"currency": "EUR", "exposure": "100", "score": "80",
...                            "aging_current": "60", "aging_31_60": "40", "dso": "50"}),
...         customer_row("b", {"currency": "USD", "exposure": "200", "score": "20",
...                            "aging_over_90": "200", "dso": "10"}),
...         customer_row("c", {"currency": "JPY", "exposure": "9000", "score": "10"})]
>>> [(row["bucket"], row["currency"], row["amount"], row["rates"])
...  for row in aging_table(rows, fx).rows]  # doctest: +NORMALIZE_WHITESPACE
[('current', 'EUR', Decimal('60'), 'fx-1'), ('31-60', 'EUR', Decimal('40'), 'fx-1'),
 ('90+', 'EUR', Decimal('100.0'), 'fx-1')]
>>> sample(rows, fx, "2026-03-01T00:00:00Z")["groups"]  # doctest: +NORMALIZE_WHITESPACE
{'EUR': {'customers': 2, 'exposure': '200.0', 'risk_index': 50.0, 'dso': 30.0},
 'JPY': {'customers': 1, 'exposure': '9000', 'risk_index': 10.0, 'dso': None}}
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.fx import FxRates
from schemas.outputs import AGING_BUCKETS
from streams.console.tables import (
    TIER_ORDER,
    Column,
    Table,
    probability_of_loss,
    rates_of,
)

BUCKET_NAMES = dict(zip(AGING_BUCKETS, ("current", "1-30", "31-60", "61-90", "90+"), strict=True))
"""An aging field of the picture -> the bucket's name on the pages (days past due)."""


def aging_table(customers: Iterable[Mapping[str, Any]], fx: FxRates) -> Table:
    """Open balances by aging bucket (days past due) and currency, with the customers that
    have money in each; buckets in order, empty ones left out."""
    totals: dict[tuple[str, str], list[Any]] = {}
    for customer in customers:
        for bucket, amount in customer["aging"].items():
            if amount > 0:
                currency, reported = fx.convert(amount, customer["currency"])
                total = totals.setdefault((bucket, currency), [0, Decimal(0)])
                total[0] += 1
                total[1] += reported
    order = sorted(totals, key=lambda key: (AGING_BUCKETS.index(key[0]), key[1]))
    return Table(
        "aging",
        (
            Column("bucket", "days past due"),
            Column("currency", "currency"),
            Column("customers", "customers", "number"),
            Column("amount", "open balance", "money"),
            Column("rates", "rates"),
        ),
        [
            {"bucket": BUCKET_NAMES[bucket], "currency": currency, "customers": totals[bucket,
             currency][0], "amount": totals[bucket, currency][1], "rates": rates_of(currency, fx)}
            for bucket, currency in order
        ],
    )  # fmt: skip


def at_risk_table(
    customers: Iterable[Mapping[str, Any]],
    probabilities: Mapping[str, float],
    fx: FxRates,
    limit: int,
) -> Table:
    """The ``limit`` customers of most money at risk, exposure x probability of loss (see
    `probability_of_loss`), highest first: compared in the reporting currency, and those
    whose currency has no rate after them, each in its own.

    >>> from streams.console.tables import customer_row
    >>> fx = FxRates(version="fx-1", reporting="EUR", rates={"USD": Decimal("2")})
    >>> rows = [customer_row("a", {"currency": "EUR", "exposure": "100", "score": "50"}),
    ...         customer_row("b", {"currency": "USD", "exposure": "100", "score": "50"}),
    ...         customer_row("c", {"currency": "JPY", "exposure": "99999", "score": "90"})]
    >>> [(row["customer_id"], row["at_risk"], row["reported"], row["reported_currency"])
    ...  for row in at_risk_table(rows, {}, fx, 5).rows]  # doctest: +NORMALIZE_WHITESPACE
    [('b', Decimal('50.00'), Decimal('100.00'), 'EUR'), ('a', Decimal('50.00'),
     Decimal('50.00'), 'EUR'), ('c', Decimal('89999.10'), Decimal('89999.10'), 'JPY')]
    """
    rows = []
    for customer in customers:
        probability, source = probability_of_loss(customer, probabilities)
        at_risk = (customer["exposure"] * Decimal(str(probability))).quantize(Decimal("0.01"))
        currency, reported = fx.convert(at_risk, customer["currency"])
        rows.append(
            {**customer, "probability": probability, "probability_from": source,
             "at_risk": at_risk, "reported_currency": currency,
             "reported": reported.quantize(Decimal("0.01")), "rates": rates_of(currency, fx)}
        )  # fmt: skip
    rows.sort(key=lambda row: (row["rates"] != "", row["reported"]), reverse=True)
    return Table(
        "top-at-risk",
        (
            Column("customer_id", "customer", "customer"),
            Column("tier", "tier"),
            Column("currency", "currency"),
            Column("exposure", "exposure", "money"),
            Column("probability", "probability of loss", "percent"),
            Column("at_risk", "money at risk", "money"),
            Column("reported_currency", "reported in"),
            Column("reported", "money at risk, reported", "money"),
            Column("rates", "rates"),
        ),
        rows[:limit],
    )


def migrations_table(changes: Iterable[Mapping[str, Any]]) -> Table:
    """Tier migrations among ``changes`` (risk changes, as on the feed): how many customers
    went from each tier to each other, riskier ones first; a customer's first tier comes
    from ``unscored``.

    >>> changes = [{"customer_id": "a", "previous_tier": "low", "tier": "high"},
    ...            {"customer_id": "b", "previous_tier": "low", "tier": "high"},
    ...            {"customer_id": "b", "previous_tier": "high", "tier": "high"},
    ...            {"customer_id": "c", "previous_tier": None, "tier": "low"}]
    >>> [(row["from"], row["to"], row["customers"], row["direction"])
    ...  for row in migrations_table(changes).rows]
    [('low', 'high', 2, 'riskier'), ('unscored', 'low', 1, 'first tier')]
    """
    moved: dict[tuple[str | None, str], set[str]] = {}
    for change in changes:
        before, after = change.get("previous_tier"), change["tier"]
        if before != after:
            moved.setdefault((before, after), set()).add(change["customer_id"])

    def direction(before: str | None, after: str) -> str:
        if before is None:
            return "first tier"
        return "riskier" if TIER_ORDER.index(after) < TIER_ORDER.index(before) else "safer"

    order = sorted(moved, key=lambda key: (TIER_ORDER.index(key[1]), TIER_ORDER.index(key[0])))
    return Table(
        "migrations",
        (
            Column("from", "from"),
            Column("to", "to"),
            Column("customers", "customers", "number"),
            Column("direction", "direction"),
        ),
        [
            {"from": before or "unscored", "to": after, "customers": len(moved[before, after]),
             "direction": direction(before, after)}
            for before, after in order
        ],
    )  # fmt: skip


def _reasons_text(reasons: Iterable[Mapping[str, Any]]) -> str:
    """Reasons of a score, in a few words.

    >>> _reasons_text([{"indicator": "days_past_due", "contribution": 21.04}])
    'days_past_due +21.0'
    """
    return ", ".join(f"{reason['indicator']} +{reason['contribution']:.1f}" for reason in reasons)


def score_history_table(changes: Iterable[Mapping[str, Any]]) -> Table:
    """A customer's risk changes, newest first (as its stream gives them): the score and tier
    before and after, the reasons of each, and the scorecard and tiers in force.

    >>> table = score_history_table([{"event_time": "2026-03-01T00:00:00Z", "score": 75.0,
    ...     "previous_score": 30.0, "tier": "high", "previous_tier": "low",
    ...     "reasons": [{"indicator": "days_past_due", "contribution": 40.0}],
    ...     "versions": {"scorecard": "default", "tiers": "default"}}])
    >>> table.rows[0]["reason_text"], table.rows[0]["change"]
    ('days_past_due +40.0', 'low -> high')
    """
    return Table(
        "score-history",
        (
            Column("event_time", "when", "time"),
            Column("previous_score", "score before", "number"),
            Column("score", "score", "number"),
            Column("change", "tier"),
            Column("reason_text", "reasons"),
            Column("scored_with", "scorecard, tiers"),
        ),
        [
            {**change, "reason_text": _reasons_text(change.get("reasons") or ()),
             "change": f"{change.get('previous_tier') or 'unscored'} -> {change['tier']}",
             "scored_with": ", ".join(filter(None, (
                 (change.get("versions") or {}).get(part) for part in ("scorecard", "tiers"))))}
            for change in changes
        ],
    )  # fmt: skip


def decision_table(entries: Iterable[Mapping[str, Any]]) -> Table:
    """The decisions on a customer's orders and people's reviews of the held ones, newest
    first (as ``{prefix}:decisions:{customer_id}`` gives them): what, why, by whom.

    >>> table = decision_table([
    ...     {"type": "order_review", "order_id": "o1", "outcome": "released", "actor": "ana.k",
    ...      "note": "paid upfront", "event_time": "2026-03-02T00:00:00Z"},
    ...     {"type": "order_decision", "order_id": "o1", "outcome": "review",
    ...      "reasons": ["limit_breach"], "event_time": "2026-03-01T00:00:00Z",
    ...      "figures": {"order_amount": "120.00", "currency": "EUR"},
    ...      "versions": {"decisions": "default"}}])
    >>> [(row["outcome"], row["by"], row["why"], row["amount"])
    ...  for row in table.rows]  # doctest: +NORMALIZE_WHITESPACE
    [('released', 'ana.k', 'paid upfront', None),
     ('review', 'riskstream', 'limit_breach', Decimal('120.00'))]
    """
    rows = []
    for entry in entries:
        figures = entry.get("figures") or {}
        amount = figures.get("order_amount")
        decided = entry.get("type") == "order_decision"
        rows.append(
            {**entry, "by": "riskstream" if decided else entry.get("actor", ""),
             "why": ", ".join(entry.get("reasons") or ()) if decided else entry.get("note", ""),
             "amount": Decimal(str(amount)) if amount is not None else None,
             "currency": figures.get("currency") or "",
             "policy": (entry.get("versions") or {}).get("decisions") or ""}
        )  # fmt: skip
    return Table(
        "decisions",
        (
            Column("event_time", "when", "time"),
            Column("order_id", "order"),
            Column("outcome", "decided"),
            Column("by", "by"),
            Column("why", "why"),
            Column("currency", "currency"),
            Column("amount", "amount", "money"),
            Column("policy", "decision policy"),
        ),
        rows,
    )


def sample(customers: Iterable[Mapping[str, Any]], fx: FxRates, at: str) -> dict[str, Any]:
    """One point of the portfolio's history: per currency reported in (see the module), the
    customers, their exposure, the risk index (the exposure-weighted mean score of the
    scored customers) and the exposure-weighted mean DSO; ``at`` is when it was taken."""
    groups: dict[str, list[Any]] = {}
    for customer in customers:
        currency, exposure = fx.convert(customer["exposure"], customer["currency"])
        group = groups.setdefault(currency, [0, Decimal(0), 0.0, 0.0, 0.0, 0.0])
        group[0] += 1
        group[1] += exposure
        weight = float(exposure)
        if customer["score"] is not None:
            group[2] += weight * customer["score"]
            group[3] += weight
        if customer["dso"] is not None:
            group[4] += weight * customer["dso"]
            group[5] += weight

    def mean(total: float, weight: float) -> float | None:
        return round(total / weight, 2) if weight > 0 else None

    return {
        "at": at,
        "fx": fx.version,
        "reporting": fx.reporting,
        "groups": {
            currency: {"customers": count, "exposure": format(exposure, "f"),
                       "risk_index": mean(scored, score_weight), "dso": mean(dso, dso_weight)}
            for currency, (count, exposure, scored, score_weight, dso, dso_weight)
            in sorted(groups.items())
        },
    }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Chart:
    """A line chart drawn on the server (SVG): the line's points and the axes' ticks, in the
    chart's coordinates (``width`` x ``height``, the plot inside ``MARGIN``)."""

    title: str
    unit: str
    width: int
    height: int
    points: str
    """SVG polyline points, ``x,y x,y ...``."""
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    last: str
    """The latest value, as shown."""


MARGIN = (48, 16, 28, 12)
"""Left, right, bottom, top: room for the axes' labels."""


def line_chart(
    title: str,
    unit: str,
    series: Sequence[tuple[datetime, float]],
    width: int = 560,
    height: int = 180,
) -> Chart | None:
    """A chart of ``series`` (time, value), oldest first; None without two points.

    >>> from datetime import UTC
    >>> chart = line_chart("risk index", "score", [(datetime(2026, 3, 1, tzinfo=UTC), 40.0),
    ...                                           (datetime(2026, 3, 3, tzinfo=UTC), 60.0)])
    >>> chart.points, chart.last
    ('48.0,152.0 544.0,12.0', '60.0')
    >>> chart.y_ticks[0], chart.x_ticks[-1]
    ((152.0, '40.0'), (544.0, '03-03 00:00'))
    """
    if len(series) < 2:
        return None
    left, right, bottom, top = MARGIN
    first, last = series[0][0], series[-1][0]
    span = (last - first).total_seconds() or 1.0
    low, high = min(value for _, value in series), max(value for _, value in series)
    if high == low:
        low, high = low - 1, high + 1

    def x(moment: datetime) -> float:
        return round(left + (moment - first).total_seconds() / span * (width - left - right), 1)

    def y(value: float) -> float:
        return round(height - bottom - (value - low) / (high - low) * (height - bottom - top), 1)

    y_values = [low + (high - low) * step / 4 for step in range(5)]
    x_moments = [first + (last - first) * step / 3 for step in range(4)]
    return Chart(
        title,
        unit,
        width,
        height,
        " ".join(f"{x(moment)},{y(value)}" for moment, value in series),
        [(x(moment), f"{moment:%m-%d %H:%M}") for moment in x_moments],
        [(y(value), f"{value:.1f}") for value in y_values],
        f"{series[-1][1]:.1f}",
    )


def trend(samples: Iterable[Mapping[str, Any]], field: str) -> list[tuple[datetime, float]]:
    """The ``risk_index`` or ``dso`` of the history's ``samples`` (oldest first) in one
    currency: the latest reporting currency, or without one, the currency of the most exposure
    in the latest sample; samples without a value there are left out.

    >>> samples = [{"at": "2026-03-01T00:00:00Z", "groups": {"EUR": {"risk_index": 40.0}}},
    ...            {"at": "2026-03-02T00:00:00Z", "groups": {"EUR": {"risk_index": None}}}]
    >>> trend(samples, "risk_index")
    [(datetime.datetime(2026, 3, 1, 0, 0, tzinfo=datetime.timezone.utc), 40.0)]
    """
    samples = list(samples)
    currency = next((point["reporting"] for point in reversed(samples) if point.get("reporting")),
                    None)  # fmt: skip
    if currency is None:
        latest = next((point["groups"] for point in reversed(samples) if point["groups"]), {})
        currency = max(latest, key=lambda name: Decimal(latest[name].get("exposure") or 0),
                       default=None)  # fmt: skip
    series = []
    for point in samples:
        value = (point["groups"].get(currency) or {}).get(field)
        if value is not None:
            series.append((datetime.fromisoformat(point["at"].replace("Z", "+00:00")), value))
    return series


def audit_table(
    reviews: Iterable[Mapping[str, Any]], answers: Mapping[str, Mapping[str, Any]]
) -> Table:
    """Every human action (review events, oldest first) with the versions in force in the
    output that answered it (``answers``: review event id -> versions), for the audit.

    >>> table = audit_table([{"type": "case.resolved", "event_id": "e1", "actor": "ana.k",
    ...     "event_time": "2026-03-01T10:00:00Z", "customer_id": "c1", "case_id": "k1",
    ...     "note": "paid"}], {"e1": {"ruleset": "default-3", "scorecard": None}})
    >>> row = table.rows[0]
    >>> row["subject"], row["versions"], row["answered"]
    ('case k1', 'ruleset default-3', 'yes')
    """
    rows = []
    for review in reviews:
        subject = next(
            (f"{name.split('_')[0]} {review[name]}" for name in ("case_id", "decision_id",
             "action_id") if review.get(name)), "")  # fmt: skip
        detail = review.get("assignee") or review.get("until") or review.get("order_id") or ""
        versions = answers.get(review["event_id"])
        rows.append(
            {**review, "subject": subject, "detail": detail,
             "versions": "; ".join(f"{part} {version}" for part, version in
                                   (versions or {}).items() if version),
             "answered": "yes" if versions is not None else "not yet"}
        )  # fmt: skip
    return Table(
        "audit",
        (
            Column("event_time", "when"),
            Column("actor", "who"),
            Column("type", "did"),
            Column("customer_id", "customer"),
            Column("subject", "on"),
            Column("detail", "order, assignee or until"),
            Column("note", "note"),
            Column("event_id", "event id"),
            Column("answered", "applied"),
            Column("versions", "versions in force"),
        ),
        rows,
    )
