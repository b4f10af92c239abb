"""The console's tables, from what Redis holds: pure functions, no I/O.

Every page shows one or more `Table`; the same table is its CSV export. Money stays a
`Decimal` with its currency, and amounts of different currencies are never added up: a
portfolio total is one row per currency.

With exchange rates (`schemas.fx.FxRates`, the ``fx`` control document in force), a total is
in the reporting currency, naming the rates' version, and what has no rate stays in its own
currency:

>>> rows = [customer_row("c-1", {"currency": "EUR", "exposure": "100.50", "tier": "high",
...                              "overdue_balance": "40", "score": "71.5"}),
...         customer_row("c-2", {"currency": "USD", "exposure": "7", "tier": "high",
...                              "overdue_balance": "0", "score": "12"})]
>>> [(row["tier"], row["currency"], row["customers"], row["exposure"])
...  for row in totals_table("tiers", rows, by_tier=True).rows]
[('high', 'EUR', 1, Decimal('100.50')), ('high', 'USD', 1, Decimal('7'))]
>>> print(csv_text(totals_table("tiers", rows, by_tier=True)), end="")
tier,currency,customers,exposure,overdue,rates
high,EUR,1,100.50,40,
high,USD,1,7,0,
>>> fx = FxRates(version="fx-1", reporting="EUR", rates={"USD": Decimal("0.92")})
>>> print(csv_text(totals_table("tiers", rows, by_tier=True, fx=fx)), end="")
tier,currency,customers,exposure,overdue,rates
high,EUR,2,106.94,40.00,fx-1
"""

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import orjson

from schemas.fx import FxRates
from schemas.outputs import AGING_BUCKETS

TIER_ORDER = ("high", "medium", "low", None)
"""Tiers as the console lists them, riskiest first; None: not scored yet."""

Format = Literal["text", "money", "number", "percent", "time", "customer"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: the row's key, its title, and how a page shows the value."""

    key: str
    title: str
    format: Format = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """A named table: its columns and its rows (dicts by column key, and maybe more keys that
    the page's actions use)."""

    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _decimal(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def customer_row(customer_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """A customer's picture from its Redis hash (see docs/redis.md), decoded to strings.

    >>> row = customer_row("c-9", {"exposure": "12.30", "score": "", "reasons": "[]"})
    >>> row["exposure"], row["score"], row["tier"], row["currency"]
    (Decimal('12.30'), None, None, '')
    """
    reasons = orjson.loads(fields.get("reasons") or "[]")
    limit = fields.get("credit_limit")
    return {
        "customer_id": customer_id,
        "currency": fields.get("currency") or "",
        "exposure": _decimal(fields.get("exposure")),
        "credit_limit": _decimal(limit) if limit else None,
        "limit_use": _number(fields.get("limit_use")),
        "open_invoices": int(_number(fields.get("open_invoices")) or 0),
        "overdue_balance": _decimal(fields.get("overdue_balance")),
        "days_past_due": int(_number(fields.get("days_past_due")) or 0),
        "score": _number(fields.get("score")),
        "tier": fields.get("tier") or None,
        "as_of": fields.get("as_of") or "",
        "revision": int(_number(fields.get("revision")) or 0),
        "reasons": reasons,
        "reason_text": ", ".join(reason["indicator"] for reason in reasons),
        "aging": {bucket: _decimal(fields.get(bucket)) for bucket in AGING_BUCKETS},
        "dso": _number(fields.get("dso")),
        "avg_days_late": _number(fields.get("avg_days_late")),
        "on_time_share": _number(fields.get("on_time_share")),
    }


NO_RATES = FxRates()
"""The built-in ``fx`` document: no reporting currency, so every total stays in its own."""


def rates_of(currency: str, fx: FxRates) -> str:
    """What a total in ``currency`` was made with: the rates' version for the reporting
    currency, nothing for a currency of its own (no rate, or no reporting currency)."""
    return fx.version if fx.reporting is not None and currency == fx.reporting else ""


def totals_table(
    name: str, customers: Iterable[Mapping[str, Any]], by_tier: bool, fx: FxRates = NO_RATES
) -> Table:
    """Customers, exposure and overdue money by currency (and by tier, riskiest first, if
    ``by_tier``): one row per currency, never a sum of two; an amount whose currency has a
    rate in ``fx`` counts in the reporting currency."""
    totals: dict[tuple[str | None, str], list[Any]] = {}
    for row in customers:
        currency, exposure = fx.convert(row["exposure"], row["currency"])
        _, overdue = fx.convert(row["overdue_balance"], row["currency"])
        total = totals.setdefault((row["tier"] if by_tier else None, currency),
                                  [0, Decimal(0), Decimal(0)])  # fmt: skip
        total[0] += 1
        total[1] += exposure
        total[2] += overdue
    order = sorted(totals, key=lambda key: (TIER_ORDER.index(key[0]), key[1]))
    return Table(
        name,
        (
            *([Column("tier", "tier")] if by_tier else []),
            Column("currency", "currency"),
            Column("customers", "customers", "number"),
            Column("exposure", "exposure", "money"),
            Column("overdue", "overdue", "money"),
            Column("rates", "rates"),
        ),
        [
            {"tier": tier or "unscored", "currency": currency, "customers": count,
             "exposure": exposure, "overdue": overdue, "rates": rates_of(currency, fx)}
            for tier, currency in order
            for count, exposure, overdue in [totals[tier, currency]]
        ],
    )  # fmt: skip


CUSTOMER_COLUMNS = (
    Column("customer_id", "customer", "customer"),
    Column("tier", "tier"),
    Column("score", "score", "number"),
    Column("currency", "currency"),
    Column("exposure", "exposure", "money"),
    Column("overdue_balance", "overdue", "money"),
    Column("days_past_due", "days past due", "number"),
    Column("reason_text", "reasons"),
)


def top_table(name: str, customers: Iterable[Mapping[str, Any]], key: str, limit: int) -> Table:
    """The ``limit`` customers of highest ``key`` (``score``, or ``exposure``: the money at
    risk in the customer's own currency), highest first.

    >>> rows = [{"customer_id": "a", "score": None}, {"customer_id": "b", "score": 3.0}]
    >>> [row["customer_id"] for row in top_table("t", rows, "score", 5).rows]
    ['b', 'a']
    """
    ranked = sorted(customers, key=lambda row: (row[key] is not None, row[key] or 0), reverse=True)
    return Table(name, CUSTOMER_COLUMNS, [dict(row) for row in ranked[:limit]])


def probability_of_loss(
    customer: Mapping[str, Any], probabilities: Mapping[str, float]
) -> tuple[float, str]:
    """The customer's probability of loss and where it comes from: its open case's
    (``probabilities``) if it has one, else its score as a share of 100, else 1 (unknown
    counts in full).

    >>> probability_of_loss({"customer_id": "a", "score": 40.0}, {})
    (0.4, 'score')
    """
    case = probabilities.get(customer["customer_id"])
    score = customer["score"]
    if case is not None:
        return case, "case"
    return (score / 100, "score") if score is not None else (1.0, "none")


def worklist_table(
    customers: Iterable[Mapping[str, Any]], probabilities: Mapping[str, float]
) -> Table:
    """Customers with an overdue balance, by overdue balance x probability of loss, highest
    first: the probability of the customer's open case if it has one (``probabilities``),
    else its score as a share of 100 (a customer without either counts in full). The product
    is in the customer's currency: the order compares amounts, never adds them up.

    >>> rows = [customer_row("a", {"overdue_balance": "100", "score": "50", "currency": "EUR"}),
    ...         customer_row("b", {"overdue_balance": "80", "currency": "EUR"}),
    ...         customer_row("c", {"overdue_balance": "0", "score": "99"})]
    >>> [(row["customer_id"], row["expected_loss"], row["probability_from"])
    ...  for row in worklist_table(rows, {"b": 0.25}).rows]
    [('a', Decimal('50.00'), 'score'), ('b', Decimal('20.00'), 'case')]
    """
    rows = []
    for customer in customers:
        if customer["overdue_balance"] <= 0:
            continue
        probability, source = probability_of_loss(customer, probabilities)
        expected = (customer["overdue_balance"] * Decimal(str(probability))).quantize(
            Decimal("0.01")
        )
        rows.append(
            {**customer, "probability": probability, "probability_from": source,
             "expected_loss": expected}
        )  # fmt: skip
    rows.sort(key=lambda row: row["expected_loss"], reverse=True)
    return Table(
        "worklist",
        (
            Column("customer_id", "customer", "customer"),
            Column("currency", "currency"),
            Column("overdue_balance", "overdue", "money"),
            Column("days_past_due", "days past due", "number"),
            Column("probability", "probability of loss", "percent"),
            Column("probability_from", "from"),
            Column("expected_loss", "overdue x probability", "money"),
            Column("tier", "tier"),
        ),
        rows,
    )


def case_row(case: Mapping[str, Any]) -> dict[str, Any]:
    """A case revision (as in ``{prefix}:case:{id}``) as a row.

    >>> row = case_row({"case_id": "k1", "customer_id": "c1", "status": "open",
    ...     "priority": 12.5, "money_at_risk": {"amount": "50", "currency": "EUR"},
    ...     "alert_kinds": {"overdue": 2, "anomaly": 1}})
    >>> row["money_at_risk"], row["currency"], row["kinds"]
    (Decimal('50'), 'EUR', 'overdue 2, anomaly 1')
    """
    money = case.get("money_at_risk") or {}
    kinds = case.get("alert_kinds") or {}
    return {
        **case,
        "money_at_risk": _decimal(money.get("amount")),
        "currency": money.get("currency") or "",
        "kinds": ", ".join(f"{kind} {count}" for kind, count in kinds.items()),
        "assignee": case.get("assignee") or "",
        "snoozed_until": case.get("snoozed_until") or "",
    }


CASE_COLUMNS = (
    Column("case_id", "case"),
    Column("customer_id", "customer", "customer"),
    Column("status", "status"),
    Column("severity", "severity"),
    Column("priority", "priority", "number"),
    Column("currency", "currency"),
    Column("money_at_risk", "money at risk", "money"),
    Column("probability_of_loss", "probability of loss", "percent"),
    Column("kinds", "alerts"),
    Column("assignee", "assignee"),
    Column("snoozed_until", "snoozed until", "time"),
    Column("updated_at", "updated", "time"),
)


def case_table(name: str, cases: Iterable[Mapping[str, Any]]) -> Table:
    """Cases in the order given (the inbox: by priority, highest first)."""
    return Table(name, CASE_COLUMNS, [case_row(case) for case in cases])


def history_table(cases: Iterable[Mapping[str, Any]]) -> Table:
    """What happened to each case, newest step first: who did what, when and why.

    >>> table = history_table([{"case_id": "k1", "history": [
    ...     {"at": "2026-03-01T09:00:00Z", "actor": "riskstream", "action": "opened"},
    ...     {"at": "2026-03-01T10:00:00Z", "actor": "ana.k", "action": "acknowledged",
    ...      "note": "called"}]}])
    >>> [(row["actor"], row["action"], row["note"]) for row in table.rows]
    [('ana.k', 'acknowledged', 'called'), ('riskstream', 'opened', '')]
    """
    steps = [
        {"case_id": case["case_id"], "note": "", **step}
        for case in cases
        for step in case.get("history") or ()
    ]
    steps.sort(key=lambda step: step["at"], reverse=True)
    return Table(
        "case-history",
        (
            Column("at", "when", "time"),
            Column("case_id", "case"),
            Column("actor", "who"),
            Column("action", "did"),
            Column("note", "note"),
        ),
        steps,
    )


def review_table(decisions: Iterable[Mapping[str, Any]]) -> Table:
    """Order decisions waiting for a person (``review`` or ``prepay``), oldest first.

    >>> table = review_table([{"decision_id": "d1", "order_id": "o1", "customer_id": "c1",
    ...     "outcome": "review", "reasons": ["limit_breach"], "event_time": "2026-03-01T00:00Z",
    ...     "figures": {"order_amount": "120.00", "currency": "EUR"}}])
    >>> table.rows[0]["reason_text"], table.rows[0]["amount"]
    ('limit_breach', Decimal('120.00'))
    """
    rows = []
    for decision in decisions:
        figures = decision.get("figures") or {}
        rows.append(
            {
                **decision,
                "reason_text": ", ".join(decision.get("reasons") or ()),
                "amount": _decimal(str(figures.get("order_amount") or "")),
                "currency": figures.get("currency") or "",
            }
        )
    return Table(
        "reviews",
        (
            Column("order_id", "order"),
            Column("customer_id", "customer", "customer"),
            Column("outcome", "decision"),
            Column("currency", "currency"),
            Column("amount", "amount", "money"),
            Column("reason_text", "reasons"),
            Column("event_time", "decided", "time"),
        ),
        rows,
    )


def alert_table(alerts: Iterable[Mapping[str, Any]]) -> Table:
    """A customer's alerts, newest first."""
    return Table(
        "alerts",
        (
            Column("event_time", "when", "time"),
            Column("kind", "kind"),
            Column("severity", "severity"),
            Column("message", "message"),
        ),
        [dict(alert) for alert in alerts],
    )


def proposal_table(
    actions: Iterable[Mapping[str, Any]], reviews: Iterable[Mapping[str, Any]] = ()
) -> Table:
    """A customer's proposed credit actions, newest first, with what people decided (the
    latest of their ``reviews``); ``reviewed`` tells the page which to offer for review.

    >>> table = proposal_table([{"action_id": "p1", "kind": "review"}],
    ...     [{"action_id": "p1", "outcome": "accepted", "actor": "ana.k"}])
    >>> table.rows[0]["decided"], table.rows[0]["reviewed"]
    ('accepted by ana.k', True)
    """
    decided: dict[str, str] = {}
    for review in reviews:  # newest first: the first one of each proposal counts
        decided.setdefault(review["action_id"], f"{review['outcome']} by {review['actor']}")
    rows = [
        {**action, "reason_text": ", ".join(action.get("reasons") or ()),
         "proposal": _proposal(action), "decided": decided.get(action["action_id"], ""),
         "reviewed": action["action_id"] in decided}
        for action in actions
    ]  # fmt: skip
    return Table(
        "proposals",
        (
            Column("event_time", "when", "time"),
            Column("kind", "kind"),
            Column("proposal", "proposal"),
            Column("reason_text", "reasons"),
            Column("decided", "decided"),
        ),
        rows,
    )


def _proposal(action: Mapping[str, Any]) -> str:
    """What a credit action proposes, in a few words.

    >>> _proposal({"kind": "limit_increase", "new_limit": "5000"})
    'limit to 5000'
    >>> _proposal({"kind": "shorten_terms", "terms_days": 15}), _proposal({"kind": "review"})
    ('terms 15 days', 'review')
    """
    if action.get("new_limit"):
        return f"limit to {action['new_limit']}"
    if action.get("terms_days") is not None:
        return f"terms {action['terms_days']} days"
    return str(action.get("kind", ""))


_AGING_ENDS = ((0, "current"), (30, "1-30"), (60, "31-60"), (90, "61-90"))


def aging_bucket(days_past_due: int) -> str:
    """The aging bucket of an invoice so many days past due, as the picture's aging counts it.

    >>> [aging_bucket(days) for days in (0, 1, 30, 31, 60, 61, 90, 91)]
    ['current', '1-30', '1-30', '31-60', '31-60', '61-90', '61-90', '90+']
    """
    return next((name for end, name in _AGING_ENDS if days_past_due <= end), "90+")


def open_items_table(items: Iterable[Mapping[str, Any]]) -> Table:
    """A customer's open invoices as the workers' API answers them (money as decimal strings),
    oldest due first, each with its aging bucket.

    >>> table = open_items_table([
    ...     {"invoice_id": "i-2", "amount": "980.00", "outstanding": "980.00",
    ...      "currency": "EUR", "issued": "2026-02-14", "due_date": "2026-03-16",
    ...      "days_past_due": 0},
    ...     {"invoice_id": "i-1", "amount": "3400.00", "outstanding": "1200.50",
    ...      "currency": "EUR", "issued": "2026-01-25", "due_date": "2026-02-24",
    ...      "days_past_due": 13}])
    >>> [(row["invoice_id"], row["outstanding"], row["bucket"]) for row in table.rows]
    [('i-1', Decimal('1200.50'), '1-30'), ('i-2', Decimal('980.00'), 'current')]
    """
    rows = [
        {**item, "amount": Decimal(item["amount"]), "outstanding": Decimal(item["outstanding"]),
         "currency": item.get("currency") or "", "bucket": aging_bucket(item["days_past_due"])}
        for item in items
    ]  # fmt: skip
    rows.sort(key=lambda row: (str(row["due_date"]), row["invoice_id"]))
    return Table(
        "open-items",
        (
            Column("invoice_id", "invoice"),
            Column("issued", "issued"),
            Column("due_date", "due"),
            Column("days_past_due", "days past due", "number"),
            Column("bucket", "aging"),
            Column("currency", "currency"),
            Column("amount", "amount", "money"),
            Column("outstanding", "outstanding", "money"),
        ),
        rows,
    )


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell: money as its decimal string, floats rounded, and text that a spreadsheet
    would run as a formula quoted with a leading apostrophe.

    >>> _cell(Decimal("12.50")), _cell(0.123456), _cell("=HYPERLINK()"), _cell(None), _cell(-2)
    ('12.50', '0.1235', "'=HYPERLINK()", '', '-2')
    """
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA) else text


def csv_text(table: Table) -> str:
    """The table as CSV, a header line first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(column.title for column in table.columns)
    for row in table.rows:
        writer.writerow(_cell(row.get(column.key)) for column in table.columns)
    return out.getvalue()


def shown(value: Any, format: Format) -> str:
    """A value as a page shows it.

    >>> shown(Decimal("1234567.5"), "money"), shown(0.4567, "percent"), shown(None, "number")
    ('1,234,567.50', '45.7%', '-')
    >>> shown("2026-03-01T09:30:00.123+00:00", "time"), shown(71.25, "number")
    ('2026-03-01 09:30', '71.2')
    """
    if value is None or value == "":
        return "-"
    if format == "money":
        return f"{Decimal(value):,.2f}"
    if format == "percent":
        return f"{float(value):.1%}"
    if format == "number":
        return f"{value:,}" if isinstance(value, int) else f"{float(value):,.1f}"
    if format == "time":
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"
    return str(value)
