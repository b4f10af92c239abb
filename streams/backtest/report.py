"""The report of a backtest, read back from its output files: JSON for machines, HTML for people.

What it holds: alerts by rule (or kind) and severity, week by week; decisions by outcome;
credit actions proposed, by kind; tier transitions; the distribution of the customers' last
published scores; the late-payment model's exact ROC AUC and its calibration over the invoices
whose outcome is known; and for each rule its precision and recall against what really
happened. An invoice *ended badly* when it was paid late, went overdue or was written off. An
alert and a bad invoice of the same customer *match* when the alert came while the invoice was
open or at most `HORIZON` before it was issued: precision is the share of a rule's alerts that
match some bad invoice, recall the share of bad invoices that some alert of the rule matches.

`compare` reads two backtests over the same history and says what each would have done that
the other would not: alerts only in A or only in B per rule, credit actions only in A or only
in B per kind, the orders decided differently, and the AUC of each.

>>> from datetime import datetime, timedelta, UTC
>>> day = datetime(2026, 3, 1, tzinfo=UTC)
>>> bad = [BadInvoice(issued=day, known=day + timedelta(days=40))]
>>> match_counts([day - timedelta(days=45), day + timedelta(days=10)], bad)
(1, 1)
"""

import bisect
import html
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from detectors.monitoring import expected_calibration_error, log_loss, roc_auc

HORIZON = timedelta(days=30)
"""How long before an invoice was issued an alert still counts as warning of it."""
CALIBRATION_BINS = 10
SCORE_BINS = 10
AB = (("a", "A"), ("b", "B"))


@dataclass(frozen=True, slots=True)
class BadInvoice:
    """An invoice that ended late or written off: when it was issued, when that was known."""

    issued: datetime
    known: datetime


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


def match_counts(alerts: Sequence[datetime], bad: Sequence[BadInvoice]) -> tuple[int, int]:
    """(alerts matching some bad invoice, bad invoices matched by some alert), of one customer."""
    moments = sorted(alerts)
    by_issue = sorted(bad, key=lambda invoice: invoice.issued)
    issued = [invoice.issued for invoice in by_issue]
    latest_known = list(accumulate((invoice.known for invoice in by_issue), max))
    right = 0
    for moment in moments:
        opened = bisect.bisect_right(issued, moment + HORIZON)
        right += opened > 0 and latest_known[opened - 1] >= moment
    caught = 0
    for invoice in by_issue:
        first = bisect.bisect_left(moments, invoice.issued - HORIZON)
        caught += first < len(moments) and moments[first] <= invoice.known
    return right, caught


def summarise(folder: Path) -> dict[str, Any]:
    """The report of the backtest whose output files are in ``folder``."""
    weekly: dict[str, Counter[str]] = defaultdict(Counter)
    weekly_severity: dict[str, Counter[str]] = defaultdict(Counter)
    severities: dict[str, Counter[str]] = defaultdict(Counter)
    alert_times: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for alert in read_lines(folder / "alerts.jsonl"):
        key, moment = alert_key(alert), _time(alert["event_time"])
        week = (moment - timedelta(days=moment.weekday())).date().isoformat()
        weekly[week][key] += 1
        weekly_severity[week][alert["severity"]] += 1
        severities[key][alert["severity"]] += 1
        alert_times[key][alert["customer_id"]].append(moment)
    transitions: Counter[str] = Counter()
    last_score: dict[str, float] = {}
    for change in read_lines(folder / "changes.jsonl"):
        if change["tier"] != change["previous_tier"]:
            transitions[f"{change['previous_tier'] or 'none'} -> {change['tier']}"] += 1
        last_score[change["customer_id"]] = change["score"]
    decisions = Counter(decision["outcome"] for decision in read_lines(folder / "decisions.jsonl"))
    actions = Counter(action["kind"] for action in read_lines(folder / "actions.jsonl"))
    probabilities, labels = [], []
    bad: dict[str, list[BadInvoice]] = defaultdict(list)
    for invoice in read_lines(folder / "invoices.jsonl"):
        if invoice["late"] is None:
            continue
        probabilities.append(invoice["probability"])
        labels.append(invoice["late"])
        if invoice["late"]:
            issued, known = _time(invoice["issued_at"]), _time(invoice["known_at"])
            bad[invoice["customer_id"]].append(BadInvoice(issued, known))
    return {
        "alerts": {
            "by_rule": _sorted_counts(severities),
            "weekly": _sorted_counts(weekly),
            "weekly_by_severity": _sorted_counts(weekly_severity),
        },
        "decisions": dict(sorted(decisions.items())),
        "actions": dict(sorted(actions.items())),
        "tier_transitions": dict(sorted(transitions.items())),
        "scores": _histogram(list(last_score.values())),
        "model": _model_quality(probabilities, labels),
        "rules": _precision_recall(alert_times, bad),
    }


def _sorted_counts(counts: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {key: dict(sorted(inner.items())) for key, inner in sorted(counts.items())}


def _histogram(scores: list[float]) -> dict[str, int]:
    """Customers by last published score, in bins of 10 points."""
    width = 100 // SCORE_BINS
    counts = Counter(min(int(score // width), SCORE_BINS - 1) for score in scores)
    return {f"{b * width}-{(b + 1) * width}": counts[b] for b in range(SCORE_BINS)}


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
    alert_times: dict[str, dict[str, list[datetime]]], bad: dict[str, list[BadInvoice]]
) -> dict[str, dict[str, Any]]:
    total_bad = sum(len(invoices) for invoices in bad.values())
    figures = {}
    for key, by_customer in sorted(alert_times.items()):
        alerts = sum(len(moments) for moments in by_customer.values())
        right = caught = 0
        for customer, moments in by_customer.items():
            counted = match_counts(moments, bad.get(customer, []))
            right, caught = right + counted[0], caught + counted[1]
        figures[key] = {
            "alerts": alerts,
            "precision": right / alerts if alerts else None,
            "recall": caught / total_bad if total_bad else None,
            "bad_invoices_caught": caught,
            "bad_invoices": total_bad,
        }
    return figures


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
    return {
        "alerts": per_rule,
        "actions": per_action,
        "decisions": {
            "compared": len(decisions_a.keys() & decisions_b.keys()),
            "differ": len(differ),
            "changes": dict(sorted(Counter(f"{a} -> {b}" for _, a, b in differ).items())),
            "examples": [{"order_id": o, "a": a, "b": b} for o, a, b in differ[:20]],
        },
        "auc": {"a": report_a["model"]["auc"], "b": report_b["model"]["auc"]},
        "ece": {"a": report_a["model"]["ece"], "b": report_b["model"]["ece"]},
    }


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


def _bar(title: str, counts: dict[str, int | float], horizontal: bool = False) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, max(2.5, 0.3 * len(counts)) if horizontal else 3))
    names, values = list(counts), list(counts.values())
    if horizontal:
        axes.barh(names, values)
        axes.invert_yaxis()
    else:
        axes.bar(names, values)
        axes.tick_params(axis="x", rotation=30)
    axes.set_title(title)
    return _svg(figure)


def _alerts_chart(weekly: dict[str, dict[str, int]], title: str) -> str:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 3.5))
    weeks = [datetime.fromisoformat(week) for week in weekly]
    for key in sorted({key for counts in weekly.values() for key in counts}):
        axes.plot(weeks, [counts.get(key, 0) for counts in weekly.values()], label=key)
    axes.set_title(title)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _svg(figure)


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
        "<h2>Alerts</h2>",
        *(
            _alerts_chart(alerts[part], f"Alerts per week, by {what}")
            for part, what in (("weekly", "rule or kind"), ("weekly_by_severity", "severity"))
            if alerts[part]
        ),
        _table(
            ["rule or kind", "info", "warning", "critical", "precision", "recall"],
            [
                [
                    key,
                    counts.get("info", 0),
                    counts.get("warning", 0),
                    counts.get("critical", 0),
                    rules[key]["precision"],
                    rules[key]["recall"],
                ]
                for key, counts in by_rule.items()
            ],
        ),
        f"<p>An alert is right when an invoice of the customer that was open then, or issued "
        f"within {HORIZON.days} days after it, ended late or written off.</p>",
        "<h2>Decisions</h2>",
        _bar("Orders by decision", report["decisions"]),
        _bar("Credit actions proposed, by kind", report["actions"]) if report["actions"] else "",
        "<h2>Tiers and scores</h2>",
        _bar("Tier transitions", report["tier_transitions"], horizontal=True),
        _bar("Customers by last published score", report["scores"]),
        "<h2>Late-payment model</h2>",
        _table(
            ["invoices with an outcome", "late", "ROC AUC", "log loss", "calibration error"],
            [[model["invoices"], model["late"], model["auc"], model["log_loss"], model["ece"]]],
        ),
        _calibration_chart(model["calibration"]) if model["calibration"] else "",
    ]
    return _page(title, sections)


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
        _table(["order", "A", "B"], [[e["order_id"], e["a"], e["b"]] for e in examples]),
        "<h2>Late-payment model</h2>",
        _table(
            ["", "ROC AUC", "calibration error"],
            [[name, comparison["auc"][key], comparison["ece"][key]] for key, name in AB],
        ),
    ]
    return _page("riskstream backtest: A against B", sections)
