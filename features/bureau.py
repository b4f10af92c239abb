"""Credit reports: what bureaus say of a customer, the newest reports of each source kept.

Each source keeps its two newest reports, by ``as_of`` then event time (then event id), so
what is kept is the same whatever order the reports came in: the newest says where the
customer stands, the one before how far its score fell. At most `MAX_SOURCES` sources are
kept; past them the source whose newest report is the oldest is forgotten (a report of it
that comes later starts it afresh).

The features read the newest report of any source, each field from the newest report that
gives it (leverage and negative equity from the newest that gives equity); the score is
normalised to 0-1, higher is safer, whatever the source's scale. How far the rating fell is
counted on the source's own rating scale, as the ``industry`` control document gives it
(:mod:`features.industry`): ratings of different sources have no common order.

>>> reports = CreditReports()
>>> reports.update("creditsafe", 20, "r2", Report(20_500, 0.4, "B", 35, None, 300, 100))
>>> reports.update("creditsafe", 10, "r1", Report(20_400, 0.7, "A", 10))
>>> bureau = reports.view(now_day=20_530.5)
>>> bureau.score, bureau.report_age_days, bureau.payment_index, bureau.leverage
(0.4, 30.5, 35, 3.0)
>>> round(bureau.score_drop, 2)  # since the source's report before
0.3
>>> reports.view(20_530.5, {"creditsafe": ("A", "B", "C")}).rating_drop  # A to B
1
>>> reports.update("creditsafe", 30, "r3", Report(20_520, 0.2, "C", equity=-50))
>>> later = reports.view(now_day=20_530.5)  # liabilities over assets: no leverage to speak of
>>> later.leverage, later.negative_equity
(None, True)
>>> CreditReports().view(now_day=20_530.5) == NO_REPORT
True
"""

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple


class Report(NamedTuple):
    """One report as the state keeps it: money in units, ``as_of`` in days since the epoch,
    ``score`` normalised (0-1, higher is safer)."""

    as_of: int
    score: float
    rating: str | None = None
    payment_index: int | None = None
    revenue: int | None = None
    total_debt: int | None = None
    equity: int | None = None
    employees: int | None = None
    industry_code: str | None = None


class Bureau(NamedTuple):
    """What the reports say at one moment; every field None without a report.

    ``leverage`` is total debt over equity (None without positive equity) and
    ``negative_equity`` whether the equity is below 0, both of the newest report that gives
    equity; ``score_drop`` how much the normalised score fell since the previous report of the
    same source (negative: it rose; None without an earlier one), ``rating_drop`` how many
    steps down the source's rating scale its rating went since then (negative: up; 0 when
    there is no earlier report, the source has no scale or a rating is not on it).
    """

    score: float | None = None
    rating: str | None = None
    report_age_days: float | None = None
    payment_index: int | None = None
    leverage: float | None = None
    negative_equity: bool | None = None
    score_drop: float | None = None
    rating_drop: int | None = None
    industry_code: str | None = None


NO_REPORT = Bureau()
NO_SCALES: Mapping[str, Sequence[str]] = MappingProxyType({})
MAX_SOURCES = 5
KEPT_PER_SOURCE = 2

_Row = list[Any]
"""[as of, event time, event id, *the rest of the report]: its first three are its order."""


def _order(row: _Row) -> tuple[int, int, str]:
    return row[0], row[1], row[2]


def _report(row: _Row) -> Report:
    return Report(row[0], *row[3:])


class CreditReports:
    """The newest reports of each source; see the module."""

    __slots__ = ("sources",)

    def __init__(self) -> None:
        self.sources: dict[str, list[_Row]] = {}
        """Source -> its newest rows, newest first."""

    def update(self, source: str, time: int, event_id: str, report: Report) -> None:
        rows = self.sources.get(source, [])
        if any(row[2] == event_id for row in rows):
            return
        row = [report.as_of, time, event_id, *report[1:]]
        self.sources[source] = sorted([*rows, row], key=_order, reverse=True)[:KEPT_PER_SOURCE]
        if len(self.sources) > MAX_SOURCES:
            oldest = min(self.sources, key=lambda name: (_order(self.sources[name][0]), name))
            del self.sources[oldest]

    def view(self, now_day: float, scales: Mapping[str, Sequence[str]] = NO_SCALES) -> Bureau:
        """What the reports say on day ``now_day`` (days since the epoch, with a fraction),
        ratings ordered by ``scales`` (source -> its ratings, best first)."""
        if not self.sources:
            return NO_REPORT
        newest = sorted(self.sources.items(), key=lambda item: _order(item[1][0]), reverse=True)
        reports = [_report(rows[0]) for _, rows in newest]
        latest = reports[0]
        source, rows = newest[0]
        earlier = _report(rows[1]) if len(rows) > 1 else None
        leverage, negative_equity = _balance(reports)
        return Bureau(
            score=latest.score,
            rating=_first(reports, "rating"),
            report_age_days=now_day - latest.as_of,
            payment_index=_first(reports, "payment_index"),
            leverage=leverage,
            negative_equity=negative_equity,
            score_drop=None if earlier is None else earlier.score - latest.score,
            rating_drop=_rating_drop(scales.get(source, ()), earlier, latest),
            industry_code=_first(reports, "industry_code"),
        )

    def to_row(self) -> dict[str, list[_Row]]:
        return dict(sorted(self.sources.items()))

    @classmethod
    def from_row(cls, row: dict[str, list[_Row]]) -> "CreditReports":
        reports = cls()
        reports.sources = dict(row)
        return reports


def _first(reports: list[Report], field: str) -> Any:
    """The field of the newest report that gives it."""
    return next((value for r in reports if (value := getattr(r, field)) is not None), None)


def _balance(reports: list[Report]) -> tuple[float | None, bool | None]:
    """Leverage and whether the equity is negative, of the newest report that gives equity."""
    for report in reports:
        debt, equity = report.total_debt, report.equity
        if equity is not None:
            return (debt / equity if debt is not None and equity > 0 else None), equity < 0
    return None, None


def _rating_drop(scale: Sequence[str], earlier: Report | None, latest: Report) -> int:
    """Steps down ``scale`` (best first) from the earlier report's rating to the latest's; 0
    unless both are on it."""
    if earlier is None or earlier.rating not in scale or latest.rating not in scale:
        return 0
    return scale.index(latest.rating) - scale.index(earlier.rating)
