"""The backtest report's figures on small hand-made histories whose answers are known, and the
money sections of a generated backtest in two currencies."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
from typer.testing import CliRunner

from schemas.events import (
    InvoiceIssued,
    InvoiceWrittenOff,
    OrderPlaced,
    PaymentReceived,
    PaymentReversed,
)
from schemas.money import Money
from streams.backtest import money, report
from streams.backtest.ledger import Ledger
from streams.cli.commands import app


def at(day: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def invoice(customer: str, number: str, currency: str, amount: str, issued: datetime, due: date,
            payments: tuple = (), closed: datetime | None = None, written_off: bool = False,
            order: str | None = None) -> money.Invoice:  # fmt: skip
    return money.Invoice(
        customer, number, order, currency, Decimal(amount), issued, due,
        tuple((moment, Decimal(paid)) for moment, paid in payments), closed, written_off,
    )  # fmt: skip


# Two customers in two currencies: c1 (EUR) pays i1 in two parts, the second late; c2 (USD)
# never pays i2, written off on 20 April; c1's i3 is paid on time.
HISTORY = [
    invoice("c1", "i1", "EUR", "100.00", at(1), date(2026, 3, 10),
            ((at(5), "30.00"), (at(25), "70.00")), order="o1"),
    invoice("c2", "i2", "USD", "250.00", at(2), date(2026, 3, 5), (),
            at(20, 4), written_off=True, order="o2"),
    invoice("c1", "i3", "EUR", "40.00", at(12), date(2026, 4, 11), ((at(1, 4), "40.00"),)),
]  # fmt: skip


def test_exposure_and_overdue_are_kept_apart_per_currency():
    figures = money.balances(HISTORY, [at(8), at(15), at(30)])
    assert set(figures) == {"EUR", "USD"}
    eur = [(p["at"], p["exposure"], p["overdue"]) for p in figures["EUR"]]
    # 8 March: 70 left of i1, not yet due. 15 March: i1's 70 overdue, i3's 40 not due.
    assert eur == [("2026-03-08", "70.00", "0"), ("2026-03-15", "110.00", "70.00"),
                   ("2026-03-30", "40.00", "0.00")]  # fmt: skip
    assert [p["overdue"] for p in figures["USD"]] == ["250.00", "250.00", "250.00"]


def test_aging_puts_what_is_owed_in_buckets_of_days_past_due():
    aging = money.aging(HISTORY, at(15))
    assert aging["EUR"] == {"not due": "40.00", "1-15": "70.00", "16-30": "0", "31-60": "0",
                            "61-90": "0", "over 90": "0"}  # fmt: skip
    assert aging["USD"]["1-15"] == "250.00"
    assert money.aging(HISTORY, at(19, 4))["USD"]["31-60"] == "250.00"
    assert money.aging(HISTORY, at(21, 4))["USD"]["31-60"] == "0"  # written off on the 20th


def test_dso_is_owed_over_sales_in_the_window_per_currency():
    dso = money.dso(HISTORY, [at(15)])
    # EUR: 110 owed of 140 invoiced in the last 90 days: 110/140*90 days.
    assert abs(dso["EUR"][0]["dso"] - 110 / 140 * 90) < 1e-9
    assert dso["USD"][0]["dso"] == 90.0
    assert money.dso(HISTORY, [at(1, 1)])["EUR"][0]["dso"] is None  # nothing invoiced yet


HELD = ("review", "prepay", "prepay", "approve")


def test_held_orders_count_value_and_what_went_bad_per_currency():
    orders = {"o1": {"currency": "EUR", "amount": "100.00"},
              "o2": {"currency": "USD", "amount": "250.00"},
              "o3": {"currency": "USD", "amount": "5.50"}}  # fmt: skip
    decisions = [
        {"order_id": order, "outcome": outcome}
        for order, outcome in (
            ("o1", "review"),
            ("o2", "prepay"),
            ("o3", "prepay"),
            ("o4", "approve"),
        )
    ]
    held = money.held_orders(decisions, orders, {"o2"})
    assert held["prepay"] == {
        "USD": {"orders": 2, "value": "255.50", "went_bad": 1, "value_went_bad": "250.00"}
    }
    assert held["review"] == {
        "EUR": {"orders": 1, "value": "100.00", "went_bad": 0, "value_went_bad": "0"}
    }


def test_severe_is_paid_over_30_days_late_or_never_and_unknown_until_then():
    end = at(31, 5)
    assert HISTORY[0].severe(end) is False  # paid 15 days after its due date
    assert HISTORY[1].severe(end) is True  # written off
    late = invoice("c3", "i4", "EUR", "10", at(1), date(2026, 3, 10), ((at(20, 4), "10"),))
    assert late.severe(end) is True  # paid 41 days after due
    open_ = invoice("c3", "i5", "EUR", "10", at(1, 5), date(2026, 5, 20))
    assert open_.severe(end) is None and open_.severe(at(25, 6)) is True


def test_lead_times_count_days_from_the_first_alert_to_going_bad():
    bad = [("c1", at(1), at(11)), ("c2", at(2), at(6)), ("c3", at(1), at(11))]
    alerts = {"c1": [at(1, 1), at(3), at(9)], "c2": [at(6)]}
    leads = money.lead_times(bad, alerts)
    # c1: the alert of 1 January is too early (over 30 days before issue): first is 3 March,
    # 8 days before. c2's alert came as it went bad: no warning. c3: none.
    assert leads["alerted_before"] == 1 and leads["median_days"] == 8.0
    assert leads["days"] == {"0-6 days": 0, "7-29 days": 1, "30 days or more": 0,
                             "no alert before": 2}  # fmt: skip


def test_an_alert_is_measured_only_against_invoices_not_yet_due():
    overdue = report.Outcome(at(1), date(2026, 3, 10), at(11), late=True)
    later = report.Outcome(at(20), date(2026, 4, 19), at(18, 4), late=False)
    # An overdue alert on 11 March: the overdue invoice is its own news, not a forecast; the
    # next invoice (issued within 30 days) was paid on time: measured and wrong.
    assert report.forecast_counts([at(11)], [overdue, later]) == (1, 0, 0)
    # Without a next invoice there is nothing to foresee: not measured.
    assert report.forecast_counts([at(11)], [overdue]) == (0, 0, 0)
    # An alert on 5 March, before the due date, foresaw it.
    assert report.forecast_counts([at(5)], [overdue, later]) == (1, 1, 1)


def eur(amount: str) -> Money:
    return Money(amount=amount, currency="EUR")


def issued(number: str, day: int, amount: str = "100") -> InvoiceIssued:
    return InvoiceIssued(event_id=f"e-{number}", customer_id="c1", invoice_id=number,
                         event_time=at(day), due_date=date(2026, 4, 1),
                         amount=eur(amount))  # fmt: skip


def paid(payment_id: str, day: int, amount: str, invoice_id: str | None = None) -> PaymentReceived:
    return PaymentReceived(event_id=payment_id, customer_id="c1", payment_id=payment_id,
                           event_time=at(day), amount=eur(amount),
                           invoice_id=invoice_id)  # fmt: skip


def test_the_ledger_allocates_unnamed_payments_oldest_first_and_takes_back_reversals():
    lines: list[dict] = []
    ledger = Ledger(lines.append)
    ledger.feed(OrderPlaced(event_id="e0", customer_id="c1", order_id="o1", event_time=at(1),
                            amount=eur("150")))  # fmt: skip
    ledger.feed(issued("i1", 1))
    ledger.feed(issued("i2", 2))
    ledger.feed(paid("p1", 5, "130"))
    ledger.feed(paid("p2", 6, "20", invoice_id="i2"))
    ledger.feed(PaymentReversed(event_id="p2-b", customer_id="c1", payment_id="p2",
                                event_time=at(7)))  # fmt: skip
    ledger.feed(InvoiceWrittenOff(event_id="w", customer_id="c1", invoice_id="i2",
                                  event_time=at(9)))  # fmt: skip
    ledger.close()
    assert lines[0]["type"] == "ledger_order" and lines[0]["amount"] == "150"
    invoices = {line["invoice_id"]: money.from_line(line) for line in lines[1:]}
    assert invoices["i1"].owed(at(8)) == 0 and invoices["i1"].settled() == at(5)
    assert invoices["i2"].owed(at(8)) == Decimal("70")  # 30 of p1; p2 bounced
    assert invoices["i2"].owed(at(9)) == 0 and invoices["i2"].written_off


def test_the_ledger_writes_an_invoice_once_nothing_can_change_it_and_keeps_no_more():
    lines: list[dict] = []
    ledger = Ledger(lines.append, final_after=timedelta(days=10))
    ledger.feed(issued("i1", 1))
    ledger.feed(issued("i2", 2))
    ledger.feed(paid("p1", 3, "100", invoice_id="i1"))
    ledger.feed(paid("p2", 4, "60"))  # unnamed: the oldest open invoice, i2
    ledger.feed(PaymentReversed(event_id="p1-b", customer_id="c1", payment_id="p1",
                                event_time=at(12)))  # fmt: skip
    assert lines == []  # i1 reopened by the reversal within the 10 days
    ledger.feed(paid("p3", 14, "140"))  # pays i1 again, then the rest of i2
    ledger.feed(issued("i3", 23))
    assert lines == []  # 9 days after the last payment
    ledger.feed(issued("i4", 24))
    assert [line["invoice_id"] for line in lines] == ["i1", "i2"]
    assert list(ledger.invoices) == ["i3", "i4"] and not ledger.paid
    # A reversal after the invoices were written changes nothing (the engine refuses it).
    ledger.feed(PaymentReversed(event_id="p3-b", customer_id="c1", payment_id="p3",
                                event_time=at(25)))  # fmt: skip
    ledger.close()
    written = {line["invoice_id"]: money.from_line(line) for line in lines}
    assert written["i1"].settled() == at(14) and written["i2"].settled() == at(14)
    assert [amount for _, amount in written["i2"].payments] == [Decimal(60), Decimal(40)]
    assert written["i3"].owed(at(25)) == written["i4"].owed(at(25)) == Decimal(100)


def write_folder(folder: Path) -> None:
    """A hand-made backtest output: the HISTORY above with a few alerts, cases and changes."""
    files: dict[str, list[dict]] = {
        "alerts": [
            {"alert_id": "a1", "customer_id": "c2", "event_time": "2026-03-03T00:00:00Z",
             "kind": "rule", "severity": "warning", "details": {"rule_id": "exposure_over_limit"}},
            {"alert_id": "a2", "customer_id": "c2", "event_time": "2026-03-06T00:00:00Z",
             "kind": "overdue", "severity": "warning", "details": {"invoice_id": "i2"}},
            {"alert_id": "a3", "customer_id": "c1", "event_time": "2026-03-11T00:00:00Z",
             "kind": "overdue", "severity": "warning", "details": {"invoice_id": "i1"}},
        ],
        "cases": [{"customer_id": "c2", "case_id": "k1"}, {"customer_id": "c2", "case_id": "k1"},
                  {"customer_id": "c1", "case_id": "k2"}],
        "changes": [
            {"customer_id": "c1", "score": 20.0, "tier": "low", "previous_tier": None,
             "reasons": [{"indicator": "days_past_due", "value": 1, "contribution": 20.0}]},
            {"customer_id": "c2", "score": 70.0, "tier": "high", "previous_tier": None,
             "reasons": [{"indicator": "limit_use", "value": 1.2, "contribution": 30.0},
                         {"indicator": "days_past_due", "value": 5, "contribution": 40.0}]},
        ],
        "decisions": [{"order_id": "o2", "outcome": "review"}],
        "actions": [],
        "invoices": [
            {"customer_id": "c1", "invoice_id": "i1", "issued_at": "2026-03-01T00:00:00Z",
             "due_date": "2026-03-10", "probability": 0.2, "late": True,
             "known_at": "2026-03-11T00:00:00Z"},
            {"customer_id": "c2", "invoice_id": "i2", "issued_at": "2026-03-02T00:00:00Z",
             "due_date": "2026-03-05", "probability": 0.7, "late": True,
             "known_at": "2026-03-06T00:00:00Z"},
            {"customer_id": "c1", "invoice_id": "i3", "issued_at": "2026-03-12T00:00:00Z",
             "due_date": "2026-04-11", "probability": 0.1, "late": False,
             "known_at": "2026-04-01T00:00:00Z"},
        ],
        "ledger": [
            {"type": "ledger_order", "order_id": "o2", "customer_id": "c2", "currency": "USD",
             "amount": "250.00"},
            *(_ledger_line(i) for i in HISTORY),
        ],
    }  # fmt: skip
    for name, rows in files.items():
        (folder / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def _ledger_line(entry: money.Invoice) -> dict:
    return {
        "type": "ledger_invoice", "customer_id": entry.customer_id,
        "invoice_id": entry.invoice_id, "order_id": entry.order_id, "currency": entry.currency,
        "amount": str(entry.amount), "issued_at": entry.issued.isoformat(),
        "due_date": entry.due.isoformat(),
        "payments": [{"at": m.isoformat(), "amount": str(a)} for m, a in entry.payments],
        "written_off_at": entry.closed and entry.closed.isoformat(), "cancelled_at": None,
    }  # fmt: skip


def test_the_report_of_a_hand_made_history(tmp_path):
    write_folder(tmp_path)
    summary = report.summarise(tmp_path)
    overdue = summary["rules"]["overdue"]
    # c1's overdue alert of 11 March had i3 ahead (paid on time): measured, wrong; c2's had
    # nothing ahead. Of the two overdue invoices, i2 turned severe (written off), i1 did not.
    assert (overdue["alerts"], overdue["measured"], overdue["precision"]) == (2, 1, 0.0)
    assert overdue["recall"] == 0.0 and overdue["escalation_precision"] == 0.5
    # The rule alert of 3 March foresaw c2's i2 (due 5 March), one of the two bad invoices.
    assert summary["rules"]["exposure_over_limit"]["precision"] == 1.0
    assert summary["rules"]["exposure_over_limit"]["recall"] == 0.5
    assert summary["money"]["held_orders"]["review"]["USD"]["value_went_bad"] == "250.00"
    riskiest = summary["customers"]["riskiest"]
    assert [r["customer_id"] for r in riskiest] == ["c2", "c1"]
    assert riskiest[0]["reasons"] == ["days_past_due", "limit_use"]
    assert (riskiest[0]["currency"], riskiest[0]["alerts"], riskiest[0]["cases"]) == ("USD", 2, 1)
    assert summary["customers"]["load"]["busiest"][0] == {"customer_id": "c2", "alerts": 2,
                                                          "cases": 1}  # fmt: skip
    assert summary["money"]["lead_times"]["alerted_before"] == 1  # c2, 3 days before
    page = report.render(summary, "hand-made")
    for heading in ("Money", "Aging", "Orders held", "Riskiest customers", "load per customer",
                    "How early the first alert came", "Exposure and overdue, EUR",
                    "Exposure and overdue, USD"):  # fmt: skip
        assert heading in page, heading


def _decided(folder: Path, outcomes: dict[str, str]) -> None:
    """``folder`` as `write_folder` makes it, with an order o1 (EUR 100.00, invoiced as i1)
    and the decisions ``outcomes`` (order -> outcome)."""
    folder.mkdir()
    write_folder(folder)
    o1 = {"type": "ledger_order", "order_id": "o1", "customer_id": "c1", "currency": "EUR",
          "amount": "100.00"}  # fmt: skip
    with (folder / "ledger.jsonl").open("ab") as ledger:
        ledger.write(orjson.dumps(o1) + b"\n")
    decisions = [{"order_id": order, "outcome": outcome} for order, outcome in outcomes.items()]
    (folder / "decisions.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in decisions))


def test_a_comparison_puts_money_on_the_orders_decided_differently(tmp_path):
    # A approves o1 (EUR) and holds o2 (USD) for review; B does the opposite. Both invoices
    # went bad (i1 paid late, i2 written off): B guarded 100.00 EUR, A 250.00 USD.
    _decided(tmp_path / "a", {"o1": "approve", "o2": "review"})
    _decided(tmp_path / "b", {"o1": "prepay", "o2": "approve"})
    reports = {key: report.summarise(tmp_path / key) for key in "ab"}
    comparison = report.compare(tmp_path / "a", tmp_path / "b", reports["a"], reports["b"])
    figures = comparison["money"]
    assert figures["decided_differently"] == {
        "approve -> prepay": {"EUR": {"orders": 1, "value": "100.00", "went_bad": 1,
                                      "value_went_bad": "100.00"}},
        "review -> approve": {"USD": {"orders": 1, "value": "250.00", "went_bad": 1,
                                      "value_went_bad": "250.00"}},
    }  # fmt: skip
    assert figures["held_orders"]["a"] == {"review": {"USD": {
        "orders": 1, "value": "250.00", "went_bad": 1, "value_went_bad": "250.00"}}}  # fmt: skip
    assert list(figures["held_orders"]["b"]) == ["prepay"]
    assert figures["lead_times"]["a"] == figures["lead_times"]["b"]  # the same alerts
    assert [(e["order_id"], e["currency"], e["amount"], e["went_bad"])
            for e in comparison["decisions"]["examples"]] == [
        ("o1", "EUR", "100.00", True), ("o2", "USD", "250.00", True)]  # fmt: skip
    page = report.render_comparison(comparison, "approve", "hold")
    assert "Orders decided differently, in money" in page and "Orders held by each" in page
    held = page[page.index("Orders held by each") :]
    # Each held row shows both configurations, the one that held nothing of it as 0.
    assert "<td>review</td><td>USD</td><td>1</td><td>250.00</td><td>250.00</td><td>0</td>" in (
        held.replace("\n", "").replace(" ", "")
    )
    assert "How early the first alert came" in page


def test_two_models_compared_account_for_every_difference_in_value_held(tmp_path):
    # What A held less what B held is, per currency, exactly what A held and B approved less
    # what B held and A approved: the orders decided differently carry the whole difference.
    # (A year: over 200 days both models' calibrated probabilities decided every order alike.)
    runner = CliRunner()
    history = tmp_path / "history.jsonl"
    result = runner.invoke(app, ["generate", "--customers", "100", "--days", "365", "--end",
                                 "2026-06-01T00:00:00Z", "-o", str(history)])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["backtest", "--quiet", str(history), "-o", str(out),
                                 "--compare-model", "arf"])  # fmt: skip
    assert result.exit_code == 0, result.output
    comparison = orjson.loads((out / "comparison.json").read_bytes())
    figures, differ = comparison["money"], comparison["decisions"]["differ"]
    changed = figures["decided_differently"]
    assert differ > 0 and sum(c["orders"] for p in changed.values() for c in p.values()) == differ

    def held(side: str, figure: str) -> Decimal:
        per_outcome = figures["held_orders"][side].values()
        return sum((Decimal(p["EUR"][figure]) for p in per_outcome if "EUR" in p), Decimal(0))

    def moved(figure: str) -> Decimal:
        total = Decimal(0)
        for change, per_currency in changed.items():
            a_held, b_held = (side in ("review", "prepay") for side in change.split(" -> "))
            total += (a_held - b_held) * Decimal(per_currency.get("EUR", {}).get(figure, 0))
        return total

    for figure in ("value", "value_went_bad"):
        assert held("a", figure) - held("b", figure) == moved(figure), figure


def test_a_generated_backtest_in_two_currencies_never_adds_them_up(tmp_path):
    runner = CliRunner()
    history = tmp_path / "history.jsonl"
    result = runner.invoke(app, ["generate", "--customers", "16", "--days", "200", "--end",
                                 "2026-06-01T00:00:00Z", "--currencies", "EUR,USD", "-o",
                                 str(history)])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["backtest", "--quiet", str(history), "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = orjson.loads((out / "report.json").read_bytes())
    ledger = [money.from_line(line) for line in report.read_lines(out / "ledger.jsonl")
              if line["type"] == "ledger_invoice"]  # fmt: skip
    balances = summary["money"]["balances"]
    assert set(balances) == set(summary["money"]["aging"]) == {"EUR", "USD"}
    end = max(moment for i in ledger for moment in (i.issued, *(m for m, _ in i.payments)))
    for currency in ("EUR", "USD"):
        owed = sum((i.owed(end) for i in ledger if i.currency == currency), Decimal(0))
        assert Decimal(balances[currency][-1]["exposure"]) == owed > 0
        assert sum(map(Decimal, summary["money"]["aging"][currency].values())) > 0
    # No figure is the sum of both currencies: not the exposure at any week, nor the aging.
    page = (out / "report.html").read_text()
    text = orjson.dumps(summary).decode() + page
    for eur, usd in zip(balances["EUR"], balances["USD"], strict=True):
        both = Decimal(eur["exposure"]) + Decimal(usd["exposure"])
        if eur["exposure"] != "0" and usd["exposure"] != "0":
            assert f'"{both}"' not in text and f">{both}<" not in text
    sections = ("Exposure and overdue, EUR", "Exposure and overdue, USD", "Aging", "Orders held",
                "Riskiest customers", "How early the first alert came")  # fmt: skip
    for heading in sections:
        assert heading in page, heading
    assert all(row["currency"] in ("EUR", "USD") for row in summary["customers"]["riskiest"])


def test_generate_refuses_currencies_that_are_not_iso_codes(tmp_path):
    result = CliRunner().invoke(
        app, ["generate", "--currencies", "EUR,eu", "-o", str(tmp_path / "h")]
    )
    assert result.exit_code == 2 and "ISO 4217" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
