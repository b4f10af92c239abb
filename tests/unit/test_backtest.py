"""``riskstream backtest``: outputs, determinism, dead letters, time passing, the report."""

import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from schemas.codec import dumps
from schemas.events import InputEvent
from schemas.validation import parse_event
from streams.backtest.backtest import Backtest, FileSink, build_engine
from streams.backtest.sources import Source, jsonl_source
from streams.cli.commands import app
from streams.cli.generate import generate_events
from streams.engine import CustomerRecord, Engine, Outputs
from streams.engine.replay import Replay
from tests.unit.test_engine_pure import io_libraries_loaded_by
from tests.unit.test_importers import HEADER, ROWS

END = datetime(2026, 6, 1, tzinfo=UTC)
OUTPUT_FILES = (
    "alerts", "changes", "decisions", "actions", "model_health", "invoices", "deadletter",
    "ledger",
)  # fmt: skip


def write_history(path: Path, customers: int = 12, days: int = 240, seed: int = 3) -> list:
    events = list(generate_events(customers, days, END, seed=seed))
    path.write_bytes(b"".join(dumps(event) + b"\n" for event in events))
    return events


def backtest(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["backtest", "--quiet", *map(str, args)])
    return result.exit_code, result.stderr


def lines(folder: Path, name: str) -> list[dict]:
    return [orjson.loads(line) for line in (folder / f"{name}.jsonl").read_bytes().splitlines()]


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("history") / "events.jsonl"
    return path, write_history(path)


@pytest.fixture(scope="module")
def result(history, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out")
    code, err = backtest(history[0], "--output", folder)
    assert code == 0, err
    return folder


def test_the_same_input_and_configuration_give_byte_identical_outputs(history, result, tmp_path):
    code, err = backtest(history[0], "--output", tmp_path)
    assert code == 0, err
    for name in [f"{kind}.jsonl" for kind in OUTPUT_FILES] + ["report.json", "report.html"]:
        assert (tmp_path / name).read_bytes() == (result / name).read_bytes(), name
    assert lines(result, "alerts") and lines(result, "decisions") and lines(result, "changes")


def test_every_invoice_has_one_line_with_its_prediction_and_outcome(history, result):
    issued = {e.invoice_id for e in history[1] if e.type == "invoice.issued"}
    paid_late = {e.invoice_id for e in history[1] if e.type == "payment.received"} & {
        alert["details"]["invoice_id"]
        for alert in lines(result, "alerts")
        if alert["kind"] == "late_payment"
    }
    invoices = lines(result, "invoices")
    assert sorted(invoice["invoice_id"] for invoice in invoices) == sorted(issued)
    by_id = {invoice["invoice_id"]: invoice for invoice in invoices}
    assert paid_late and all(by_id[invoice]["late"] is True for invoice in paid_late)
    assert all(0 <= invoice["probability"] <= 1 for invoice in invoices)
    assert {invoice["late"] for invoice in invoices} == {True, False, None}


def test_every_order_is_decided_once(history, result):
    orders = [e.order_id for e in history[1] if e.type == "order.placed"]
    decided = [decision["order_id"] for decision in lines(result, "decisions")]
    assert Counter(decided) == Counter(orders)


def test_an_invoice_turns_overdue_at_its_due_date_even_if_its_customer_is_silent(tmp_path):
    events = [
        {"type": "invoice.issued", "event_id": "i1", "customer_id": "quiet",
         "event_time": "2026-01-02T09:00:00Z", "invoice_id": "inv-1", "due_date": "2026-02-01",
         "amount": {"amount": "100.00", "currency": "EUR"}},
        {"type": "customer.profile", "event_id": "p1", "customer_id": "other",
         "event_time": "2026-03-01T00:00:00Z"},
    ]  # fmt: skip
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    code, err = backtest(source, "--output", tmp_path / "out")
    assert code == 0, err
    overdue = [alert for alert in lines(tmp_path / "out", "alerts") if alert["kind"] == "overdue"]
    assert [(a["customer_id"], a["event_time"]) for a in overdue] == [
        ("quiet", "2026-02-02T00:00:00Z")
    ]
    [invoice] = lines(tmp_path / "out", "invoices")
    assert invoice["late"] is True and invoice["known_at"] == "2026-02-02T00:00:00Z"


def test_files_are_merged_in_event_time_order(history, result, tmp_path):
    """The history split in two files by customer gives the same outputs as in one."""
    raw = history[0].read_bytes().splitlines(keepends=True)
    even = [line for line, e in zip(raw, history[1], strict=True) if int(e.customer_id[-1]) % 2]
    odd = [line for line, e in zip(raw, history[1], strict=True) if not int(e.customer_id[-1]) % 2]
    (tmp_path / "a.jsonl").write_bytes(b"".join(even))
    (tmp_path / "b.jsonl").write_bytes(b"".join(odd))
    code, err = backtest(tmp_path / "b.jsonl", tmp_path / "a.jsonl", "--output", tmp_path / "o")
    assert code == 0, err
    for kind in OUTPUT_FILES:
        assert (tmp_path / "o" / f"{kind}.jsonl").read_bytes() == (
            result / f"{kind}.jsonl"
        ).read_bytes(), kind


def test_malformed_lines_go_to_the_dead_letter_file_and_the_rest_goes_on(history, tmp_path):
    good = history[0].read_bytes().splitlines(keepends=True)
    bad = [
        b"not json at all\n",
        b'{"type":"payment.received","event_id":"x","customer_id":"c","event_time":'
        b'"2026-01-01T00:00:00Z","payment_id":"p","amount":{"amount":12.5,"currency":"EUR"}}\n',
        b'{"type":"order.teleported"}\n',
    ]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join([good[0], bad[0], *good[1:100], bad[1], bad[2], *good[100:]]))
    code, err = backtest(source, "--output", tmp_path / "out")
    assert code == 0, err
    letters = lines(tmp_path / "out", "deadletter")
    assert [(letter["source_offset"], letter["reason_code"]) for letter in letters] == [
        (2, "undecodable"),
        (102, "invalid"),
        (103, "unknown_type"),
    ]
    assert "floats" in letters[1]["reason"]
    # Not JSON: its words could be anything, a name too; its size and place say what it was.
    assert (letters[0]["payload"], letters[0]["payload_size"]) == (
        "<redacted> " * 3 + "<redacted>",
        15,
    )
    assert "3 rejected" in err
    assert len(lines(tmp_path / "out", "invoices")) == sum(
        e.type == "invoice.issued" for e in history[1]
    )


def invoice(event_id: str, day: int, currency: str) -> dict:
    amount = {"amount": "100.00", "currency": currency}
    return {"type": "invoice.issued", "event_id": event_id, "customer_id": "c1",
            "event_time": f"2026-01-{day:02d}T09:00:00Z", "invoice_id": event_id,
            "due_date": "2026-03-01", "amount": amount}  # fmt: skip


def test_an_event_the_engine_refuses_is_a_dead_letter_and_the_replay_goes_on(tmp_path):
    """A USD invoice after an EUR one: the worker dead-letters it, and so does the backtest."""
    events = [invoice("i1", 2, "EUR"), invoice("i2", 3, "USD"), invoice("i3", 4, "EUR")]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    code, err = backtest(source, "--output", tmp_path / "out")
    assert code == 0, err
    [letter] = lines(tmp_path / "out", "deadletter")
    assert (letter["reason_code"], letter["source_topic"], letter["source_offset"]) == (
        "inconsistent", "events.jsonl", 2,
    )  # fmt: skip
    assert "USD" in letter["reason"] and orjson.loads(letter["payload"]) == events[1]
    assert sorted(i["invoice_id"] for i in lines(tmp_path / "out", "invoices")) == ["i1", "i3"]
    assert "0 rejected, 1 refused by the engine" in err


class BuggyEngine(Engine):
    """The engine with two bugs: it fails on event i2, and when time passes for customer c2."""

    def process(self, record: CustomerRecord, event: InputEvent) -> Outputs:
        if event.event_id == "i2":
            raise ZeroDivisionError("division by zero")
        return super().process(record, event)

    def advance(self, record: CustomerRecord, now: datetime) -> Outputs:
        if record.customer_id == "c2":
            raise OverflowError("date value out of range")
        return super().advance(record, now)


def test_what_the_engine_fails_on_is_a_dead_letter_logged_and_the_replay_goes_on(tmp_path, caplog):
    due_soon = {**invoice("c2-i1", 2, "EUR"), "customer_id": "c2", "due_date": "2026-01-10"}
    events = [invoice("i1", 2, "EUR"), due_soon, invoice("i2", 3, "EUR"), invoice("i3", 20, "EUR")]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    backtest = Backtest(BuggyEngine())
    with FileSink(tmp_path / "out") as sink:
        tally = backtest.run(jsonl_source([source], backtest.reject), sink)

    letters = lines(tmp_path / "out", "deadletter")
    said = [(letter["reason_code"], letter["reason"], letter["source_topic"]) for letter in letters]
    assert said == [
        ("failed", "ZeroDivisionError: division by zero", "events.jsonl"),
        ("failed", "OverflowError: date value out of range", "clock"),
    ]  # fmt: skip
    assert orjson.loads(letters[0]["payload"]) == events[2] and letters[0]["source_offset"] == 3
    assert orjson.loads(letters[1]["payload"]) == {
        "customer_id": "c2",
        "now": "2026-01-11T00:00:00+00:00",
    }
    assert (tally.failed, tally.refused, tally.deadletter) == (2, 0, 2)
    invoiced = sorted(line["invoice_id"] for line in lines(tmp_path / "out", "invoices"))
    assert invoiced == ["c2-i1", "i1", "i3"]
    failures = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.exc_info[0] for record in failures] == [ZeroDivisionError, OverflowError]


@pytest.mark.parametrize(
    ("moment", "due"),
    [("1970-01-01T00:00:00Z", "1970-01-01"), ("2999-12-31T23:59:59.999999Z", "2999-12-31")],
)
def test_events_at_either_end_of_the_supported_range_go_through_the_engine(moment, due):
    """What the engine adds to a date (a review a year on, overdue the day after) still fits."""
    money, common = (
        {"amount": "500", "currency": "EUR"},
        {"customer_id": "c1", "event_time": moment},
    )
    documents = [
        {"type": "customer.credit_limit", "event_id": "l1", "credit_limit": money},
        {"type": "order.placed", "event_id": "o1", "order_id": "o1", "amount": money},
        {"type": "invoice.issued", "event_id": "i1", "invoice_id": "i1", "due_date": due,
         "amount": money},
    ]  # fmt: skip
    replay = Replay(build_engine())
    steps = [
        step for d in documents for step in replay.feed(parse_event(orjson.dumps({**d, **common})))
    ]
    steps += replay.advance(None)
    actions = [action for step in steps for action in step.outputs.actions]
    assert [action.review_date.year for action in actions if action.kind == "review"] == [
        int(moment[:4]) + 1
    ]
    overdue = [alert for step in steps for alert in step.outputs.alerts if alert.kind == "overdue"]
    assert [alert.event_time.date().isoformat() for alert in overdue] == [
        "1970-01-02" if due.startswith("1970") else "3000-01-01"
    ]


def test_history_later_than_the_clock_is_backtested_as_any_other(tmp_path, monkeypatch):
    """The live workers refuse event times ahead of their clock (from_future); a backtest
    replays whatever history it is given, later than now too."""
    monkeypatch.setenv("RISKSTREAM_CLOCK_SKEW", "PT0S")
    path = tmp_path / "later.jsonl"
    events = list(generate_events(4, 60, datetime.now(UTC) + timedelta(days=400), seed=2))
    path.write_bytes(b"".join(dumps(event) + b"\n" for event in events))
    code, err = backtest(path, "--output", tmp_path / "out")
    assert code == 0, err
    assert lines(tmp_path / "out", "deadletter") == []
    assert lines(tmp_path / "out", "alerts")


def test_the_accounts_receivable_csv_is_backtested_through_the_importer(tmp_path):
    csv = tmp_path / "ar.csv"
    csv.write_text("\n".join([HEADER, *ROWS]) + "\n")
    code, err = backtest("--csv", csv, "--output", tmp_path / "out")
    assert code == 0, err
    invoices = {i["invoice_id"]: i["late"] for i in lines(tmp_path / "out", "invoices")}
    assert invoices == {"0000000001": False, "0000000002": True, "0000000003": False}


def test_a_csv_row_that_cannot_be_read_is_a_dead_letter_and_the_rest_is_replayed(tmp_path):
    csv = tmp_path / "ar.csv"
    bad = ROWS[1].replace("55.94", "lots")
    csv.write_text("\n".join([HEADER, ROWS[0], bad, ROWS[2], ROWS[2]]) + "\n")
    code, err = backtest("--csv", csv, "--output", tmp_path / "out")
    assert code == 0, err
    letters = lines(tmp_path / "out", "deadletter")
    assert [(d["source_topic"], d["source_offset"], d["reason_code"]) for d in letters] == [
        ("ar.csv", 3, "invalid"), ("ar.csv", 5, "invalid"),
    ]  # fmt: skip
    assert "InvoiceAmount 'lots'" in letters[0]["reason"]
    # Not JSON: its numbers and dates are kept, its words masked; its size says what it was.
    kept = [cell if not cell.isalpha() and "-" not in cell else "<redacted>"
            for cell in bad.split(",")]  # fmt: skip
    assert (letters[0]["payload"], letters[0]["payload_size"]) == (",".join(kept), len(bad))
    assert "repeated" in letters[1]["reason"] and "line 4" in letters[1]["reason"]
    invoices = {i["invoice_id"] for i in lines(tmp_path / "out", "invoices")}
    assert invoices == {"0000000002", "0000000003"}
    assert "2 rejected" in err


def test_the_report_has_model_quality_and_precision_and_recall_per_rule(history, result):
    report = orjson.loads((result / "report.json").read_bytes())
    invoices = [i for i in lines(result, "invoices") if i["late"] is not None]
    assert report["model"]["invoices"] == len(invoices)
    assert report["model"]["late"] == sum(i["late"] for i in invoices)
    assert 0 < report["model"]["auc"] <= 1
    calibration = report["model"]["calibration"]
    assert sum(b["invoices"] for b in calibration) == len(invoices)
    assert report["decisions"] == dict(Counter(d["outcome"] for d in lines(result, "decisions")))
    actions = lines(result, "actions")
    assert actions and report["actions"] == dict(Counter(a["kind"] for a in actions))
    alerts = lines(result, "alerts")
    for part in ("weekly", "weekly_by_severity"):
        weeks = report["alerts"][part].values()
        assert sum(sum(counts.values()) for counts in weeks) == len(alerts)
    severities = Counter(a["severity"] for a in alerts)
    assert severities == sum((Counter(c) for c in report["alerts"]["by_rule"].values()), Counter())
    # Every bad invoice was overdue first: measured against what came after, overdue alerts
    # no longer catch all of them nor are all right.
    overdue = report["rules"]["overdue"]
    assert overdue["recall"] < 1.0 and overdue["precision"] < 1.0
    assert 0 <= overdue["escalation_precision"] < 1.0 and "escalation_recall" not in overdue
    for figures in report["rules"].values():
        assert figures["measured"] <= figures["alerts"]
        if figures["measured"]:
            assert 0 <= figures["precision"] <= 1
        else:  # every alert of it came with nothing after it to judge it by
            assert figures["precision"] is None
        assert 0 <= figures["recall"] <= 1
    assert sum(report["scores"].values()) == len(
        {c["customer_id"] for c in lines(result, "changes")}
    )
    page = (result / "report.html").read_text()
    assert page.count("<svg") >= 4 and "<script" not in page and "http" not in page.split("<svg")[0]


def test_compare_shows_what_each_configuration_does_differently(history, tmp_path):
    from detectors.rules import load_rulepack

    rules = load_rulepack().model_dump(mode="json", exclude={"version"})
    dropped = "exposure_over_limit"
    rules["rules"] = [rule for rule in rules["rules"] if rule["id"] != dropped]
    document = {"kind": "rules", "version": "without-exposure", "body": rules}
    path = tmp_path / "rules.yaml"
    path.write_bytes(orjson.dumps(document))  # JSON is YAML
    code, err = backtest(history[0], "--output", tmp_path, "--compare-config", path)
    assert code == 0, err
    comparison = orjson.loads((tmp_path / "comparison.json").read_bytes())
    a_alerts = [
        a for a in lines(tmp_path / "a", "alerts") if a["details"].get("rule_id") == dropped
    ]
    assert comparison["alerts"][dropped] == {"only_a": len(a_alerts), "only_b": 0, "both": 0}
    assert a_alerts
    assert (
        comparison["alerts"]["overdue"]["only_a"] == comparison["alerts"]["overdue"]["only_b"] == 0
    )
    assert comparison["auc"]["a"] == comparison["auc"]["b"]  # the model does not see the rules
    assert (tmp_path / "comparison.html").read_text().count("<table>") >= 3


def test_model_drift_is_written_to_its_file(history, tmp_path):
    from detectors.monitoring import ModelMonitor
    from streams.backtest.backtest import Backtest, FileSink, build_engine
    from streams.backtest.sources import jsonl_source

    engine = build_engine()
    engine.monitor = ModelMonitor(delta=0.9)  # sensitive: a drift in a short history
    backtester = Backtest(engine)
    with FileSink(tmp_path) as sink:
        tally = backtester.run(jsonl_source([history[0]], backtester.reject), sink)
    drifts = lines(tmp_path, "model_health")
    assert drifts and len(drifts) == tally.model_health == engine.monitor.drifts_total
    assert all(drift["type"] == "model_drift" for drift in drifts)


def test_a_credit_policy_to_compare_changes_the_credit_actions(history, result, tmp_path):
    generous = {"increase_min_limit_use": "0.1", "increase_target_limit_use": "0.05",
                "increase_min_on_time_share": 0, "increase_min_tenure_days": 0}  # fmt: skip
    path = tmp_path / "credit.json"
    path.write_bytes(orjson.dumps({"kind": "credit", "version": "generous-1", "body": generous}))
    code, err = backtest(history[0], "--output", tmp_path, "--compare-config", path)
    assert code == 0, err
    assert (tmp_path / "a" / "actions.jsonl").read_bytes() == (
        result / "actions.jsonl"
    ).read_bytes()
    actions_b = lines(tmp_path / "b", "actions")
    increases = [action for action in actions_b if action["kind"] == "limit_increase"]
    assert increases and all(a["versions"]["credit_policy"] == "generous-1" for a in actions_b)
    comparison = orjson.loads((tmp_path / "comparison.json").read_bytes())
    assert comparison["actions"]["limit_increase"] == {
        "only_a": 0, "only_b": len(increases), "both": 0,
    }  # fmt: skip
    reports = {name: orjson.loads((tmp_path / name / "report.json").read_bytes()) for name in "ab"}
    assert reports["b"]["actions"] == dict(sorted(Counter(a["kind"] for a in actions_b).items()))
    assert "limit_increase" not in reports["a"]["actions"]
    assert "Credit actions" in (tmp_path / "comparison.html").read_text()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ((), "say where history comes from"),
        (("missing.jsonl",), "missing.jsonl is not a file"),
        (("{history}", "--model", "forest"), "--model: 'forest' is not one of 'logreg', 'arf'"),
        (("{history}", "--config", "{history}"), "events.jsonl: not valid YAML or JSON"),
        (("--start", "yesterday"), "--start: must be a valid datetime or date"),
        (("--start", "2026-03-01", "--end", "2026-02-01"), "--end must be after --start"),
        (("{history}", "--end", "2026-02-01"), "give --start too"),
        (("--csv", "{history}"), "missing columns"),
        (("{history}", "--topic-prefix", "risk."), "would write to the live topics risk.actions"),
        (("{history}", "--topic-prefix", ""), "topic prefix '' would write to the live topics"),
        (("{history}", "--topic-prefix", "bt.", "--compare-model", "arf"), "not with B"),
    ],
)
def test_bad_arguments_get_one_line_that_says_what_to_do(history, tmp_path, args, complaint):
    args = [arg.replace("{history}", str(history[0])) for arg in args]
    code, err = backtest(*args, "--output", tmp_path)
    assert code == 2
    assert complaint in err and len(err.strip().splitlines()) == 1, err


def test_an_unreachable_broker_is_one_line_too(tmp_path):
    result = CliRunner(env={"RISKSTREAM_BROKER": "kafka://127.0.0.1:1"}).invoke(
        app, ["backtest", "-q", "--start", "2026-01-01", "--output", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "cannot read the input topics" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_progress_bar_shows_on_a_terminal_only_and_not_when_quiet(monkeypatch):
    from streams.backtest.progress import ProgressBar

    def count() -> int:
        counted.append(10)
        return 10

    counted: list[int] = []
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not ProgressBar(True, count).bar.disable
    assert counted == [10]
    assert ProgressBar(False, count).bar.disable  # --quiet
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert ProgressBar(True, count).bar.disable
    assert counted == [10], "the input is counted only for a bar that shows"


def test_the_input_is_counted_only_when_the_progress_bar_shows(history, monkeypatch, tmp_path):
    from streams.backtest.backtest import Backtest, FileSink, build_engine
    from streams.backtest.sources import jsonl_source

    def counted() -> int:
        calls.append(True)
        return source.count()

    calls: list[bool] = []
    for progress, terminal in ((False, True), (True, False), (True, True)):  # quiet, pipe, tty
        monkeypatch.setattr(sys.stderr, "isatty", lambda terminal=terminal: terminal)
        backtester = Backtest(build_engine(), progress=progress)
        source = jsonl_source([history[0]], backtester.reject)
        with FileSink(tmp_path / f"{progress}-{terminal}") as sink:
            tally = backtester.run(Source(source.events, counted), sink)
        assert tally.events == len(history[1])
    assert calls == [True]


def test_a_backtest_from_files_loads_no_kafka_redis_or_faust_client():
    """Importing them took about 20 MB of a backtest's memory, and time, for nothing."""
    assert io_libraries_loaded_by("import streams.backtest.backtest") == []


def test_the_backtest_command_from_files_loads_no_kafka_redis_or_faust_client(history, tmp_path):
    run = "from streams.cli.commands import app; app(sys.argv[1:], prog_name='riskstream')"
    assert io_libraries_loaded_by(run, "backtest", "-q", "-o", tmp_path, history[0]) == []
    assert lines(tmp_path, "invoices") and (tmp_path / "report.json").is_file()
