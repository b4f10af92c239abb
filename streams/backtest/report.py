"""The report of a backtest, read back from its output files: JSON for machines, HTML for people.

What it holds: alerts by rule (or kind) and severity, week by week; decisions by outcome;
credit actions proposed, by kind; tier transitions; the distribution of the customers' last
published scores; the late-payment model's exact ROC AUC and its calibration over the invoices
whose outcome is known; the money (`streams.backtest.money`, per currency): exposure and
overdue week by week, aging, DSO, the value of orders held and of those that then went bad,
the riskiest customers with their reasons and their alert and case load, and how long before
an invoice went bad its customer's first alert came; and for each rule or kind its precision
and recall against what it claims to foresee:

- *forecast* (every rule and kind): an alert at moment t is measured against the customer's
  invoices that were not yet due at t (open then, or issued at most `HORIZON` after t) and whose
  outcome is known; it is right when one of them was then paid late or not at all. An alert
  with no such invoice is not measured. Recall: the share of invoices paid late or not at all
  that an alert came for from `HORIZON` before issue up to their due date.
- *escalation* (alerts naming an invoice already overdue, `overdue`): right when that invoice
  was then paid more than 30 days after its due date or never. No recall: every such invoice
  was overdue first, so it would be 1 by definition.

`compare` reads two backtests over the same history and says what each would have done that
the other would not: alerts only in A or only in B per rule, credit actions only in A or only
in B per kind, the orders decided differently with their value per currency and how much of it
went bad, the value each held, how early each one's first alert came, and the AUC of each.

>>> from datetime import date, datetime, timedelta, UTC
>>> day = datetime(2026, 3, 1, tzinfo=UTC)
>>> bad = Outcome(issued=day, due=date(2026, 3, 31), known=day + timedelta(days=31), late=True)
>>> good = Outcome(issued=day, due=date(2026, 4, 10), known=day + timedelta(days=35), late=False)
>>> forecast_counts([day - timedelta(days=45), day + timedelta(days=10)], [bad, good])
(1, 1, 1)
>>> forecast_counts([day + timedelta(days=32)], [bad, good])  # bad is overdue by then
(1, 0, 0)
"""

import html
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from detectors.monitoring import expected_calibration_error, log_loss, roc_auc
from streams.backtest import money

HORIZON = timedelta(days=30)
"""How long before an invoice was issued an alert still counts as warning of it."""
CALIBRATION_BINS = 10
SCORE_BINS = 10
AB = (("a", "A"), ("b", "B"))


@dataclass(frozen=True, slots=True)
class Outcome:
    """An invoice whose outcome is known: issued, due, when the outcome was known (paid, or
    turned late) and whether it was paid late or not at all."""

    issued: datetime
    due: date
    known: datetime
    late: bool

    def ahead(self, moment: datetime) -> bool:
        """Not yet due, and open or about to be issued, at ``moment``: what an alert foresees."""
        return self.issued <= moment + HORIZON and moment.date() <= self.due and moment < self.known


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file."""
    with path.open("rb") as file:
        for line in file:
            yield orjson.loads(line)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def alert_key(alert: dict[str, Any]) -> str:
    """A rule alert by its rule id, any other alert by its kind."""
    return str(alert["details"]["rule_id"]) if alert["kind"] == "rule" else alert["kind"]


def forecast_counts(alerts: Sequence[datetime], invoices: Sequence[Outcome]) -> tuple[int, ...]:
    """(alerts measured, alerts right, bad invoices caught), of one customer: see the module."""
    measured = right = 0
    for moment in alerts:
        ahead = [invoice.late for invoice in invoices if invoice.ahead(moment)]
        measured += bool(ahead)
        right += any(ahead)
    caught = sum(
        invoice.late and any(invoice.ahead(moment) for moment in alerts) for invoice in invoices
    )
    return measured, right, caught


def summarise(folder: Path) -> dict[str, Any]:
    """The report of the backtest whose output files are in ``folder``."""
    weekly: dict[str, Counter[str]] = defaultdict(Counter)
    weekly_severity: dict[str, Counter[str]] = defaultdict(Counter)
    severities: dict[str, Counter[str]] = defaultdict(Counter)
    alert_times: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    by_customer: dict[str, list[datetime]] = defaultdict(list)
    overdue_alerts: list[str] = []
    for alert in read_lines(folder / "alerts.jsonl"):
        key, moment = alert_key(alert), _time(alert["event_time"])
        week = (moment - timedelta(days=moment.weekday())).date().isoformat()
        weekly[week][key] += 1
        weekly_severity[week][alert["severity"]] += 1
        severities[key][alert["severity"]] += 1
        alert_times[key][alert["customer_id"]].append(moment)
        by_customer[alert["customer_id"]].append(moment)
        if alert["kind"] in ESCALATING:
            overdue_alerts.append(alert["details"]["invoice_id"])
    cases: dict[str, set[str]] = defaultdict(set)
    for case in read_lines(folder / "cases.jsonl"):
        cases[case["customer_id"]].add(case["case_id"])
    transitions: Counter[str] = Counter()
    last_change: dict[str, dict[str, Any]] = {}
    for change in read_lines(folder / "changes.jsonl"):
        if change["tier"] != change["previous_tier"]:
            transitions[f"{change['previous_tier'] or 'none'} -> {change['tier']}"] += 1
        last_change[change["customer_id"]] = change
    decisions = list(read_lines(folder / "decisions.jsonl"))
    actions = Counter(action["kind"] for action in read_lines(folder / "actions.jsonl"))
    probabilities, labels = [], []
    by_model: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    late_invoices: dict[str, tuple[str, datetime, datetime]] = {}
    for invoice in read_lines(folder / "invoices.jsonl"):
        if invoice["late"] is None:
            continue
        probabilities.append(invoice["probability"])
        labels.append(invoice["late"])
        for name, probability in invoice.get("probabilities", {}).items():
            by_model[name].append(probability)
        issued, known = _time(invoice["issued_at"]), _time(invoice["known_at"])
        due = date.fromisoformat(invoice["due_date"])
        outcomes[invoice["customer_id"]].append(Outcome(issued, due, known, invoice["late"]))
        if invoice["late"]:
            late_invoices[invoice["invoice_id"]] = (invoice["customer_id"], issued, known)
    orders, ledger = _read_ledger(folder)
    end = _end(ledger)
    rules = _precision_recall(alert_times, outcomes)
    for key, figures in _escalation(overdue_alerts, ledger, end).items():
        rules[key].update(figures)
    went_bad = _orders_gone_bad(ledger, late_invoices.keys())
    return {
        "alerts": {
            "by_rule": _sorted_counts(severities),
            "weekly": _sorted_counts(weekly),
            "weekly_by_severity": _sorted_counts(weekly_severity),
        },
        "decisions": dict(sorted(Counter(d["outcome"] for d in decisions).items())),
        "actions": dict(sorted(actions.items())),
        "tier_transitions": dict(sorted(transitions.items())),
        "scores": _histogram([change["score"] for change in last_change.values()]),
        "model": _model_quality(probabilities, labels) | _lineup(by_model, labels),
        "rules": rules,
        "money": _money(ledger, end, decisions, orders, went_bad)
        | {"lead_times": money.lead_times(late_invoices.values(), by_customer)},
        "customers": _customers(last_change, ledger, end, by_customer, cases),
    }


def _read_ledger(folder: Path) -> tuple[dict[str, dict[str, Any]], list[money.Invoice]]:
    """The orders (by id) and the invoices of the backtest's ``ledger.jsonl``."""
    orders: dict[str, dict[str, Any]] = {}
    ledger: list[money.Invoice] = []
    for line in read_lines(folder / "ledger.jsonl"):
        if line["type"] == "ledger_order":
            orders[line["order_id"]] = line
        else:
            ledger.append(money.from_line(line))
    return orders, ledger


def _orders_gone_bad(ledger: Sequence[money.Invoice], late_invoices: Collection[str]) -> set[str]:
    """The orders whose invoice was paid late or not at all."""
    return {i.order_id for i in ledger if i.invoice_id in late_invoices and i.order_id}


ESCALATING = ("overdue",)
"""Alert kinds that are themselves an outcome (an invoice overdue): measured by what followed."""
TOP_CUSTOMERS = 15


def _end(ledger: Sequence[money.Invoice]) -> datetime | None:
    """The last moment the ledger knows of: an issue, a payment or a closing."""
    moments = [
        moment
        for invoice in ledger
        for moment in (invoice.issued, invoice.closed, *(at for at, _ in invoice.payments))
        if moment is not None
    ]
    return max(moments, default=None)


def _weeks(ledger: Sequence[money.Invoice], end: datetime) -> list[datetime]:
    """Every Monday 00:00 from the first invoice's week to the end, and the end."""
    first = min(invoice.issued for invoice in ledger)
    monday = datetime.combine(first.date() - timedelta(days=first.weekday()), time(), first.tzinfo)
    moments = []
    while (monday := monday + timedelta(days=7)) < end:
        moments.append(monday)
    return [*moments, end]


def _money(
    ledger: Sequence[money.Invoice],
    end: datetime | None,
    decisions: Sequence[dict[str, Any]],
    orders: dict[str, dict[str, Any]],
    went_bad: set[str],
) -> dict[str, Any]:
    moments = [] if end is None else _weeks(ledger, end)
    return {
        "balances": money.balances(ledger, moments),
        "aging": {} if end is None else money.aging(ledger, end),
        "dso": money.dso(ledger, moments),
        "held_orders": money.held_orders(decisions, orders, went_bad),
    }


def _customers(
    last_change: dict[str, dict[str, Any]],
    ledger: Sequence[money.Invoice],
    end: datetime | None,
    alerts: dict[str, list[datetime]],
    cases: dict[str, set[str]],
) -> dict[str, Any]:
    """The riskiest customers by last published score, with their reasons, money and load; and
    the alert and case load per customer."""
    owed: dict[str, dict[str, Any]] = {}
    if end is not None:
        for invoice in ledger:
            row = owed.setdefault(
                invoice.customer_id,
                {"currency": invoice.currency, "exposure": Decimal(0), "overdue": Decimal(0)},
            )
            row["exposure"] += invoice.owed(end)
            row["overdue"] += invoice.overdue(end)
    riskiest = sorted(last_change.values(), key=lambda c: (-c["score"], c["customer_id"]))
    top = []
    for change in riskiest[:TOP_CUSTOMERS]:
        customer = change["customer_id"]
        row = owed.get(customer, {"currency": None, "exposure": None, "overdue": None})
        reasons = sorted(change["reasons"], key=lambda r: -r["contribution"])[:3]
        top.append(
            {
                "customer_id": customer,
                "score": change["score"],
                "tier": change["tier"],
                "reasons": [r["indicator"] for r in reasons],
                "currency": row["currency"],
                "exposure": None if row["exposure"] is None else format(row["exposure"], "f"),
                "overdue": None if row["overdue"] is None else format(row["overdue"], "f"),
                "alerts": len(alerts.get(customer, ())),
                "cases": len(cases.get(customer, ())),
            }
        )
    load = sorted(
        ((len(alerts.get(c, ())), len(cases.get(c, ())), c) for c in alerts.keys() | cases.keys()),
        key=lambda row: (-row[0], -row[1], row[2]),
    )
    return {
        "riskiest": top,
        "load": {
            "customers_alerted": len(alerts),
            "customers_with_cases": len(cases),
            "alerts": sum(row[0] for row in load),
            "cases": sum(row[1] for row in load),
            "busiest": [{"customer_id": c, "alerts": a, "cases": k} for a, k, c in load[:10]],
        },
    }


def _sorted_counts(counts: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {key: dict(sorted(inner.items())) for key, inner in sorted(counts.items())}


def _histogram(scores: list[float]) -> dict[str, int]:
    """Customers by last published score, in bins of 10 points."""
    width = 100 // SCORE_BINS
    counts = Counter(min(int(score // width), SCORE_BINS - 1) for score in scores)
    return {f"{b * width}-{(b + 1) * width}": counts[b] for b in range(SCORE_BINS)}


def _lineup(by_model: dict[str, list[float]], labels: list[bool]) -> dict[str, Any]:
    """With challengers, every model's figures on the same invoices (each scored all)."""
    if not by_model or any(len(scored) != len(labels) for scored in by_model.values()):
        return {}
    return {
        "models": {
            name: {
                "auc": roc_auc(scored, labels),
                "log_loss": log_loss(scored, labels),
                "ece": expected_calibration_error(scored, labels, CALIBRATION_BINS),
            }
            for name, scored in by_model.items()
        }
    }


def _model_quality(probabilities: list[float], labels: list[bool]) -> dict[str, Any]:
    bins: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for probability, label in zip(probabilities, labels, strict=True):
        bins[min(int(probability * CALIBRATION_BINS), CALIBRATION_BINS - 1)].append(
            (probability, label)
        )
    calibration = [
        {
            "from": b / CALIBRATION_BINS,
            "to": (b + 1) / CALIBRATION_BINS,
            "invoices": len(pairs),
            "predicted": sum(p for p, _ in pairs) / len(pairs),
            "observed": sum(label for _, label in pairs) / len(pairs),
        }
        for b, pairs in sorted(bins.items())
    ]
    return {
        "invoices": len(labels),
        "late": sum(labels),
        "auc": roc_auc(probabilities, labels),
        "log_loss": log_loss(probabilities, labels),
        "ece": expected_calibration_error(probabilities, labels, CALIBRATION_BINS),
        "calibration": calibration,
    }


def _precision_recall(
    alert_times: dict[str, dict[str, list[datetime]]], outcomes: dict[str, list[Outcome]]
) -> dict[str, dict[str, Any]]:
    """Per rule or kind, the forecast precision and recall (see the module)."""
    total_bad = sum(invoice.late for invoices in outcomes.values() for invoice in invoices)
    figures = {}
    for key, by_customer in sorted(alert_times.items()):
        alerts = sum(len(moments) for moments in by_customer.values())
        counts = [forecast_counts(times, outcomes.get(c, [])) for c, times in by_customer.items()]
        measured, right, caught = (sum(column) for column in zip(*counts, strict=True))
        figures[key] = {
            "alerts": alerts,
            "measured": measured,
            "precision": right / measured if measured else None,
            "recall": caught / total_bad if total_bad else None,
            "bad_invoices_caught": caught,
            "bad_invoices": total_bad,
        }
    return figures


def _escalation(
    alerted: Sequence[str], ledger: Sequence[money.Invoice], end: datetime | None
) -> dict[str, dict[str, Any]]:
    """For the overdue alerts: the share whose invoice then turned severe (paid more than 30
    days late or never). No recall: every severe invoice was overdue first, so each had its
    overdue alert and the recall would be 1 by definition."""
    if end is None or not alerted:
        return {}
    severe = {invoice.invoice_id: invoice.severe(end) for invoice in ledger}
    known = [severe[i] for i in alerted if severe.get(i) is not None]
    figures = {
        "escalation_measured": len(known),
        "escalation_precision": sum(map(bool, known)) / len(known) if known else None,
    }
    return {kind: figures for kind in ESCALATING}


def compare(folder_a: Path, folder_b: Path, report_a: dict, report_b: dict) -> dict[str, Any]:
    """What configuration A would have done that B would not, and the other way round."""
    alerts, actions = ("alerts.jsonl", alert_key, "alert_id"), ("actions.jsonl", _kind, "action_id")
    per_rule = _differences(_ids(folder_a, *alerts), _ids(folder_b, *alerts))
    per_action = _differences(_ids(folder_a, *actions), _ids(folder_b, *actions))
    decisions_a, decisions_b = _decisions(folder_a), _decisions(folder_b)
    differ = sorted(
        (order, decisions_a[order], decisions_b[order])
        for order in decisions_a.keys() & decisions_b.keys()
        if decisions_a[order] != decisions_b[order]
    )
    orders, ledger = _read_ledger(folder_a)
    late = {i["invoice_id"] for i in read_lines(folder_a / "invoices.jsonl") if i["late"]}
    went_bad = _orders_gone_bad(ledger, late)
    changed = ((f"{a} -> {b}", order) for order, a, b in differ)
    return {
        "alerts": per_rule,
        "actions": per_action,
        "money": {
            "decided_differently": money.order_values(changed, orders, went_bad),
            **{
                part: {"a": report_a["money"][part], "b": report_b["money"][part]}
                for part in ("held_orders", "lead_times")
            },
        },
        "decisions": {
            "compared": len(decisions_a.keys() & decisions_b.keys()),
            "differ": len(differ),
            "changes": dict(sorted(Counter(f"{a} -> {b}" for _, a, b in differ).items())),
            "examples": [
                {"order_id": o, "a": a, "b": b, **_order_money(orders.get(o), o in went_bad)}
                for o, a, b in differ[:20]
            ],
        },
        "auc": {"a": report_a["model"]["auc"], "b": report_b["model"]["auc"]},
        "ece": {"a": report_a["model"]["ece"], "b": report_b["model"]["ece"]},
    }


def _order_money(order: dict[str, Any] | None, went_bad: bool) -> dict[str, Any]:
    if order is None:
        return {"currency": None, "amount": None, "went_bad": None}
    return {"currency": order["currency"], "amount": order["amount"], "went_bad": went_bad}


def _differences(a: dict[str, set[str]], b: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """Per key, how many ids only A has, only B has, and both have."""
    empty: set[str] = set()
    return {
        key: {
            "only_a": len(a.get(key, empty) - b.get(key, empty)),
            "only_b": len(b.get(key, empty) - a.get(key, empty)),
            "both": len(a.get(key, empty) & b.get(key, empty)),
        }
        for key in sorted(a.keys() | b.keys())
    }


def _kind(output: dict[str, Any]) -> str:
    return str(output["kind"])


def _ids(
    folder: Path, name: str, key: Callable[[dict[str, Any]], str], id_field: str
) -> dict[str, set[str]]:
    """The ids of the outputs in the file ``name``, grouped by ``key``."""
    ids: dict[str, set[str]] = defaultdict(set)
    for output in read_lines(folder / name):
        ids[key(output)].add(output[id_field])
    return ids


def _decisions(folder: Path) -> dict[str, str]:
    return {d["order_id"]: d["outcome"] for d in read_lines(folder / "decisions.jsonl")}


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _bar(title: str, counts: dict[str, int | float], axis: str, horizontal: bool = False) -> str:
    """A bar chart of ``counts``; ``axis`` names what the bars measure."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, max(2.5, 0.3 * len(counts)) if horizontal else 3))
    names, values = list(counts), list(counts.values())
    if horizontal:
        axes.barh(names, values, color=_colour(0))
        axes.invert_yaxis()
        axes.set_xlabel(axis)
    else:
        axes.bar(names, values, color=_colour(0))
        axes.tick_params(axis="x", rotation=30)
        axes.set_ylabel(axis)
    axes.set_title(title)
    return _svg(figure)


def _colour(index: int) -> Any:
    """One of 20 distinct colours (matplotlib's ``tab20``, dark shades first)."""
    import matplotlib

    colours = matplotlib.colormaps["tab20"].colors
    return colours[(2 * index) % 20 + (index // 10) % 2]


def _line_style(index: int) -> str:
    """Past 20 series the colours come round again: the line style then tells them apart."""
    return ("-", "--", ":", "-.")[(index // 20) % 4]


def _lines(title: str, series: dict[str, tuple[list[datetime], list[float]]], axis: str) -> str:
    """A line per series over time, each its own colour and style, with a legend."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3.5))
    for index, (name, (times, values)) in enumerate(series.items()):
        axes.plot(times, values, label=name, color=_colour(index), linestyle=_line_style(index))
    axes.set_title(title)
    axes.set_xlabel("week")
    axes.set_ylabel(axis)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.autofmt_xdate()
    return _svg(figure)


def _alerts_chart(weekly: dict[str, dict[str, int]], title: str) -> str:
    weeks = [datetime.fromisoformat(week) for week in weekly]
    keys = sorted({key for counts in weekly.values() for key in counts})
    series = {key: (weeks, [counts.get(key, 0) for counts in weekly.values()]) for key in keys}
    return _lines(title, series, "alerts")


def _balances_chart(currency: str, points: list[dict[str, Any]]) -> str:
    times = [datetime.fromisoformat(point["at"]) for point in points]
    series = {
        part: (times, [float(Decimal(point[part])) for point in points])
        for part in ("exposure", "overdue")
    }
    return _lines(f"Exposure and overdue, {currency}", series, f"amount ({currency})")


def _dso_chart(dso: dict[str, list[dict[str, Any]]]) -> str:
    series = {
        currency: (
            [datetime.fromisoformat(p["at"]) for p in points if p["dso"] is not None],
            [p["dso"] for p in points if p["dso"] is not None],
        )
        for currency, points in dso.items()
    }
    return _lines(f"DSO ({money.DSO_WINDOW.days}-day window), per currency", series, "days")


def _calibration_chart(calibration: list[dict[str, float]]) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4, 4))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.plot([c["predicted"] for c in calibration], [c["observed"] for c in calibration], "o-")
    axes.set_xlabel("predicted probability of paying late")
    axes.set_ylabel("share paid late")
    axes.set_title("Calibration")
    return _svg(figure)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        text = f"{value:.3f}" if isinstance(value, float) else "-" if value is None else value
        return f"<td>{html.escape(str(text))}</td>"

    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join(f"<tr>{''.join(map(cell, row))}</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


STYLE = (
    "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
    "td{text-align:right}svg{max-width:100%;height:auto}"
)


def _page(title: str, sections: list[str]) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        + "".join(sections)
        + "</body></html>\n"
    )


def render(report: dict[str, Any], title: str) -> str:
    """A self-contained HTML page of one report: charts as inline SVG, no outside files."""
    import matplotlib

    matplotlib.use("svg")
    matplotlib.rcParams["svg.hashsalt"] = "riskstream"  # the same report, the same bytes
    model = report["model"]
    rules = report["rules"]
    alerts = report["alerts"]
    by_rule = alerts["by_rule"]
    sections = [
        *_money_sections(report["money"], report["customers"]),
        "<h2>Alerts</h2>",
        *(
            _alerts_chart(alerts[part], f"Alerts per week, by {what}")
            for part, what in (("weekly", "rule or kind"), ("weekly_by_severity", "severity"))
            if alerts[part]
        ),
        _table(
            [
                "rule or kind",
                "info",
                "warning",
                "critical",
                "measured",
                "precision",
                "recall",
                "escalation precision",
            ],
            [
                [
                    key,
                    counts.get("info", 0),
                    counts.get("warning", 0),
                    counts.get("critical", 0),
                    rules[key]["measured"],
                    rules[key]["precision"],
                    rules[key]["recall"],
                    rules[key].get("escalation_precision"),
                ]
                for key, counts in by_rule.items()
            ],
        ),
        f"<p>Precision: the share of the measured alerts after which an invoice of the customer "
        f"that was not yet due (open, or issued within {HORIZON.days} days) was paid late or not "
        f"at all; an alert with no such invoice is not measured. Recall: the share of invoices "
        f"paid late or not at all that an alert came for between {HORIZON.days} days before "
        f"their issue and their due date. Escalation precision (overdue alerts): the share "
        f"whose invoice was then paid more than {money.SEVERE.days} days late or never; it has "
        f"no recall, which would be 1 by definition.</p>",
        "<h2>Decisions</h2>",
        _bar("Orders by decision", report["decisions"], "orders"),
        _bar("Credit actions proposed, by kind", report["actions"], "actions")
        if report["actions"]
        else "",
        "<h2>Tiers and scores</h2>",
        _bar("Tier transitions", report["tier_transitions"], "customers", horizontal=True),
        _bar("Customers by last published score", report["scores"], "customers"),
        "<h2>Late-payment model</h2>",
        _table(
            ["invoices with an outcome", "late", "ROC AUC", "log loss", "calibration error"],
            [[model["invoices"], model["late"], model["auc"], model["log_loss"], model["ece"]]],
        ),
        _calibration_chart(model["calibration"]) if model["calibration"] else "",
        _table(
            [
                "each model, on the same invoices",
                "ROC AUC",
                "log loss",
                "calibration error",
            ],
            [[name, f["auc"], f["log_loss"], f["ece"]] for name, f in model["models"].items()],
        )
        if "models" in model
        else "",
    ]
    return _page(title, sections)


def _money_sections(figures: dict[str, Any], customers: dict[str, Any]) -> list[str]:
    """Exposure, overdue, aging, DSO and held orders per currency; the riskiest customers and
    the load per customer; how early alerts came."""
    leads, load = figures["lead_times"], customers["load"]
    median = "-" if leads["median_days"] is None else f"{leads['median_days']:.0f}"
    held = figures["held_orders"]
    return [
        "<h2>Money</h2><p>Every amount is in its own currency: amounts of different currencies "
        "are never added up.</p>",
        *(_balances_chart(c, points) for c, points in figures["balances"].items()),
        "<h3>Aging at the end of the history</h3>",
        _table(
            ["currency", *(name for _, name in money.AGING)],
            [[c, *buckets.values()] for c, buckets in figures["aging"].items()],
        ),
        _dso_chart(figures["dso"]) if figures["dso"] else "",
        "<h3>Orders held</h3>",
        _table(
            ["decision", "currency", "orders", "value", "went bad", "value that went bad"],
            [
                [outcome, c, row["orders"], row["value"], row["went_bad"], row["value_went_bad"]]
                for outcome, per_currency in held.items()
                for c, row in per_currency.items()
            ],
        ),
        "<p>Orders sent to review or prepayment, and of them those whose invoice was then paid "
        "late or not at all.</p>",
        "<h3>Riskiest customers</h3>",
        _table(
            [
                "customer",
                "score",
                "tier",
                "reasons",
                "currency",
                "exposure",
                "overdue",
                "alerts",
                "cases",
            ],
            [
                [
                    r["customer_id"],
                    r["score"],
                    r["tier"],
                    ", ".join(r["reasons"]),
                    r["currency"],
                    r["exposure"],
                    r["overdue"],
                    r["alerts"],
                    r["cases"],
                ]
                for r in customers["riskiest"]
            ],
        ),
        "<h3>Alert and case load per customer</h3>",
        f"<p>{load['alerts']:,} alerts on {load['customers_alerted']:,} customers, "
        f"{load['cases']:,} cases on {load['customers_with_cases']:,} customers.</p>",
        _table(
            ["customer", "alerts", "cases"],
            [[b["customer_id"], b["alerts"], b["cases"]] for b in load["busiest"]],
        ),
        "<h3>How early the first alert came</h3>",
        f"<p>{leads['alerted_before']:,} of {leads['bad_invoices']:,} invoices paid late or not "
        f"at all had an alert of their customer before they went bad (median "
        f"{median} days before).</p>",
        _bar("Days from the first alert to the invoice going bad", leads["days"], "invoices"),
    ]


def _differences_table(what: str, differences: dict[str, dict[str, int]]) -> str:
    return _table(
        [what, "only in A", "only in B", "in both"],
        [[key, c["only_a"], c["only_b"], c["both"]] for key, c in differences.items()],
    )


def render_comparison(comparison: dict[str, Any], a: str, b: str) -> str:
    """A self-contained HTML page of a comparison of configurations A and B."""
    alerts, decisions = comparison["alerts"], comparison["decisions"]
    examples = decisions["examples"]
    sections = [
        f"<p>A: {html.escape(a)}<br>B: {html.escape(b)}</p>",
        "<h2>Alerts</h2>",
        _differences_table("rule or kind", alerts),
        "<h2>Credit actions</h2>",
        _differences_table("kind", comparison["actions"]),
        "<h2>Decisions</h2>",
        f"<p>{decisions['differ']:,} of {decisions['compared']:,} orders decided differently.</p>",
        _table(["A -> B", "orders"], list(decisions["changes"].items())),
        *_decision_money(comparison["money"]),
        _table(
            ["order", "A", "B", "currency", "amount", "went bad"],
            [
                [e[k] for k in ("order_id", "a", "b", "currency", "amount", "went_bad")]
                for e in examples
            ],
        ),
        *_lead_times(comparison["money"]["lead_times"]),
        "<h2>Late-payment model</h2>",
        _table(
            ["", "ROC AUC", "calibration error"],
            [[name, comparison["auc"][key], comparison["ece"][key]] for key, name in AB],
        ),
    ]
    return _page("riskstream backtest: A against B", sections)


def _decision_money(figures: dict[str, Any]) -> list[str]:
    """The orders decided differently and the orders held by each, in money per currency."""
    held = figures["held_orders"]
    outcomes = sorted(held["a"].keys() | held["b"].keys())
    currencies = sorted({c for side in held.values() for per in side.values() for c in per})
    return [
        "<h3>Orders decided differently, in money</h3>",
        "<p>An order one configuration held (review, prepay) and the other approved: if it then "
        "went bad (paid late or not at all), holding it guarded against a loss; if not, it held "
        "back a good sale. Every amount in its own currency.</p>",
        _table(
            ["A -> B", "currency", "orders", "value", "went bad", "value that went bad"],
            [
                [change, c, row["orders"], row["value"], row["went_bad"], row["value_went_bad"]]
                for change, per_currency in figures["decided_differently"].items()
                for c, row in per_currency.items()
            ],
        ),
        "<h3>Orders held by each</h3>",
        _table(
            ["decision", "currency", *(f"{name}: {what}" for _, name in AB for what in HELD)],
            [
                [
                    outcome,
                    c,
                    *(
                        _held_row(held[key], outcome, c)[what]
                        for key, _ in AB
                        for what in HELD.values()
                    ),
                ]
                for outcome in outcomes
                for c in currencies
                if any(c in held[key].get(outcome, {}) for key, _ in AB)
            ],
        ),
    ]


HELD = {"orders": "orders", "value": "value", "went bad": "value_went_bad"}
"""The columns of each configuration's held orders: heading -> figure."""


def _held_row(held: dict[str, Any], outcome: str, currency: str) -> dict[str, Any]:
    nothing = {"orders": 0, "value": "0", "value_went_bad": "0"}
    return held.get(outcome, {}).get(currency, nothing)


def _lead_times(leads: dict[str, dict[str, Any]]) -> list[str]:
    """How early each configuration's first alert came before invoices went bad."""
    rows = []
    for key, name in AB:
        lead = leads[key]
        median = "-" if lead["median_days"] is None else f"{lead['median_days']:.0f}"
        rows.append([name, lead["bad_invoices"], lead["alerted_before"], median])
    return [
        "<h2>How early the first alert came</h2>",
        _table(["", "invoices that went bad", "alerted before", "median days before"], rows),
    ]
