"""Control documents: validation, building a configuration, the topic's history, the CLI."""

from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli.commands import app
from streams.engine import RiskConfig
from streams.engine.control import (
    InvalidDocument,
    apply_document,
    config_from_files,
    parse_document,
)
from streams.engine.control_log import Activated, ControlLog, Rejected, active_key, document_key

RULES = """
kind: rules
version: {version}
body:
  rules:
    - id: any_order
      description: Every order.
      when: {{field: event.type, op: "==", value: order.placed}}
      severity: info
      cooldown: PT0S
      message: an order of {{event.amount:,.2f}}
"""


def rules(version: str = "orders-1") -> str:
    return RULES.format(version=version)


def tiers(version: str, medium: int = 30, high: int = 60) -> str:
    body = {"medium": medium, "high": high}
    return orjson.dumps({"kind": "tiers", "version": version, "body": body}).decode()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kind: rules\nversion: [", "not valid YAML or JSON"),
        ("- a list", "a control document is a mapping with kind, version and body, not a list"),
        (b"\xff\xfe", "a control document is a mapping with kind, version and body, not nothing"),
        ("just words", "a control document is a mapping with kind, version and body, not a value"),
        ("kind: tiers\nversion: t\nbody: {margin: 50}", "the margin 50 must be smaller than the"),
        ("kind: tiers\nversion: t\nbody: {medium: 10, high: 70, margin: 10}", "cut-off 10 and"),
        ("kind: tiers\nversion: t\nbody: {medium: 60, high: 70, margin: 10}", "cut-offs 10, or"),
        ("kind: weights\nversion: w\nbody: {}", "kind: Input should be 'rules', 'scorecard'"),
        ("kind: tiers\nversion: 'has space'\nbody: {}", "version: String should match pattern"),
        ("kind: tiers\nversion: t\nbody: {version: t, medium: 1}", "body.version: give the"),
        ("kind: tiers\nversion: t\nbody: {medium: 1, hihg: 2}", "body.hihg: Extra inputs"),
        ("kind: decisions\nversion: d\nbody: {review_limit_ratio: -1}", "body.review_limit_ratio"),
        ("kind: credit\nversion: c\nbody: {review_months: {low: 12}}", "no interval for high"),
        (rules().replace('op: "=="', 'op: "~"'), "body.rules.0.when"),
    ],
)
def test_an_invalid_document_is_refused_with_where_and_what(text, problem):
    with pytest.raises(InvalidDocument) as refused:
        parse_document(text)
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_documented_examples_are_valid_documents():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "control-plane.md").read_text()
    blocks = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:]]
    documents = [parse_document(block) for block in blocks if block.startswith("kind:")]
    assert [(document.kind, document.version) for document in documents] == [
        ("fx", "fx-2026-12-01"),
        ("industry", "nace-2026-12"),
        ("model", "arf-2026-12"),
        ("rules", "strict-3"),
    ]


def test_json_and_yaml_documents_make_the_same_part():
    as_json = parse_document(tiers("t1", 35, 65))
    as_yaml = parse_document("kind: tiers\nversion: t1\nbody:\n  medium: 35\n  high: 65\n")
    assert as_json.part == as_yaml.part
    assert as_json.part.version == "t1"


def test_files_make_a_configuration_later_ones_winning(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(rules("orders-1"))
    (tmp_path / "b.json").write_text(tiers("t1"))
    (tmp_path / "c.json").write_text(tiers("t2", 45, 75))
    config = config_from_files(sorted(tmp_path.iterdir()))
    assert config.rules.version == "orders-1"
    assert [rule.id for rule in config.rules.rules] == ["any_order"]
    assert (config.tiers.version, config.tiers.medium) == ("t2", 45)
    assert config.decisions.version == "default"


def test_a_bad_file_is_named_in_the_reason(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("kind: tiers\nversion: t\nbody: {medium: 90, high: 10}")
    with pytest.raises(InvalidDocument, match=r"bad.yaml: body: the medium cut-off"):
        config_from_files([tmp_path / "bad.yaml"])
    with pytest.raises(InvalidDocument, match=r"missing.yaml: cannot read it"):
        config_from_files([tmp_path / "missing.yaml"])


def publish(log: ControlLog, text: str) -> list:
    return [log.read(*record) for record in log.publication(parse_document(text))]


def test_publishing_writes_the_document_then_its_activation():
    log = ControlLog()
    records = log.publication(parse_document(tiers("t1")))
    assert [key for key, _ in records] == [document_key("tiers", "t1"), active_key("tiers")]
    outcomes = [log.read(*record) for record in records]
    assert outcomes[0] is None
    assert isinstance(outcomes[1], Activated) and outcomes[1].document.version == "t1"


def test_history_survives_and_rollback_returns_to_the_previous_version():
    log = ControlLog()
    for version in ("t1", "t2", "t3"):
        publish(log, tiers(version))
    assert (log.active_version("tiers"), log.history("tiers")) == ("t3", ("t1", "t2"))
    assert log.read(*log.rollback("tiers")).document.version == "t2"
    assert log.read(*log.rollback("tiers")).document.version == "t1"
    assert log.read(*log.rollback("tiers", to="t3")).document.version == "t3"
    with pytest.raises(InvalidDocument, match="t3 is already in force"):
        log.rollback("tiers", to="t3")
    with pytest.raises(InvalidDocument, match=r"no tiers version t9 on the topic \(there are: def"):
        log.rollback("tiers", to="t9")
    assert log.versions("tiers") == ["t1", "t2", "t3"]


def test_rolling_back_past_the_first_version_puts_the_built_in_default_back():
    log = ControlLog()
    publish(log, rules("strict-3"))
    key, value = log.rollback("rules")
    assert orjson.loads(value) == {"version": None, "history": []}
    back = log.read(key, value)
    assert isinstance(back, Activated) and back.document.version == "default-6"
    assert back.document.part == RiskConfig().rules
    assert (log.active_version("rules"), log.history("rules")) == (None, ())
    with pytest.raises(InvalidDocument, match="the built-in rules default is in force, as it was"):
        log.rollback("rules")
    with pytest.raises(InvalidDocument, match="rules default is already in force"):
        log.rollback("rules", to="default")
    publish(log, rules("strict-3"))
    assert log.history("rules") == (None,), "the default was in force before: a rollback returns"
    assert log.read(*log.rollback("rules")).document.version == "default-6"


@pytest.mark.parametrize("name", ["default", "default-6"])
def test_rollback_to_default_names_the_built_in_default(name):
    log = ControlLog()
    for version in ("t1", "t2"):
        publish(log, tiers(version))
    publish(log, rules("strict-3"))
    back = log.read(*log.rollback("rules", to=name))
    assert isinstance(back, Activated) and back.document.part == RiskConfig().rules
    assert (log.active_version("rules"), log.history("rules")) == (None, ("strict-3",))
    assert log.read(*log.rollback("rules")).document.version == "strict-3"
    assert log.active_version("tiers") == "t2", "other kinds stay as they are"


@pytest.mark.parametrize(("kind", "version"), [("tiers", "default"), ("rules", "default-6")])
def test_no_document_takes_the_name_of_a_built_in_default(kind, version):
    text = tiers(version) if kind == "tiers" else rules(version)
    with pytest.raises(InvalidDocument, match=f"version: {version} names the built-in default"):
        parse_document(text)


def test_a_compacted_topic_rebuilds_the_same_picture():
    log, records = ControlLog(), []
    for version in ("t1", "t2"):
        for record in log.publication(parse_document(tiers(version))):
            records.append(record)
            log.read(*record)
    records.append(log.rollback("tiers"))
    newest = {key: (offset, value) for offset, (key, value) in enumerate(records)}
    compacted = [(key, value) for key, (_, value) in sorted(newest.items(), key=lambda i: i[1])]
    again = ControlLog()
    for record in compacted:
        again.read(*record)
    assert again.active_version("tiers") == "t1"
    assert again.read(*again.rollback("tiers", to="t2")).document.version == "t2"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        (b"document/tiers/t9", b"kind: tiers\nversion: t9\nbody: {medium: 90, high: 10}",
         "document/tiers/t9: body: the medium cut-off must be below the high one"),
        (b"document/tiers/t8", tiers("t9").encode(), "the document is tiers t9"),
        (b"active/tiers", b'{"version": "t9", "history": []}',
         "names version t9, which is no valid tiers document on the topic; t1 stays in force"),
        (b"active/tiers", b"[]", "not an activation"),
        (b"whatever", b"{}", "neither document/KIND/VERSION nor active/KIND"),
        (None, b"{}", "neither document/KIND/VERSION nor active/KIND"),
    ],
)  # fmt: skip
def test_a_record_that_cannot_be_used_is_rejected_and_the_old_version_stays(key, value, reason):
    log = ControlLog()
    publish(log, tiers("t1"))
    outcome = log.read(key, value)
    assert isinstance(outcome, Rejected)
    assert reason in outcome.reason
    assert log.active_version("tiers") == "t1"
    assert log.versions("tiers") == ["t1"]


def test_a_version_is_never_rewritten_with_another_body():
    log = ControlLog()
    publish(log, tiers("t1"))
    assert log.publication(parse_document(tiers("t1")))[0][0] == active_key("tiers")
    with pytest.raises(InvalidDocument, match="exists with another body"):
        log.publication(parse_document(tiers("t1", 20, 50)))


def test_a_tombstone_changes_nothing():
    log = ControlLog()
    publish(log, tiers("t1"))
    assert log.read(document_key("tiers", "t1"), None) is None
    assert log.active_version("tiers") == "t1"


def test_an_activation_remembers_a_bounded_history():
    log = ControlLog()
    for number in range(105):
        publish(log, tiers(f"t{number}"))
    history = orjson.loads(log.rollback("tiers")[1])["history"]
    assert len(log.history("tiers")) == 100 and history[-1] == "t102"


runner = CliRunner()


def test_validate_says_a_good_document_is_valid(tmp_path: Path):
    (tmp_path / "rules.yaml").write_text(rules())
    result = runner.invoke(app, ["control", "validate", str(tmp_path / "rules.yaml")])
    assert result.exit_code == 0, result.output
    assert "a valid rules document, version orders-1" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["control", "validate", "{dir}/bad.yaml"], "bad.yaml: body.medium: Input should be"),
        (["control", "validate", "{dir}/none.yaml"], "none.yaml: cannot read it"),
        (["control", "publish", "{dir}/bad.yaml"], "bad.yaml: body.medium: Input should be"),
        (["control", "show", "weights"], "KIND: 'weights' is not one of 'rules', 'scorecard'"),
        (["control", "rollback", "weights"], "KIND: 'weights' is not one of"),
    ],
)
def test_bad_files_and_arguments_get_one_line_and_exit_code_2(tmp_path, arguments, message):
    (tmp_path / "bad.yaml").write_text("kind: tiers\nversion: t\nbody: {medium: lots}")
    given = [argument.format(dir=tmp_path) for argument in arguments]
    result = runner.invoke(app, given)
    assert result.exit_code == 2
    assert result.output.startswith("riskstream: ") and message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_an_unreachable_broker_is_one_line_too(tmp_path: Path, monkeypatch):
    (tmp_path / "rules.yaml").write_text(rules())
    monkeypatch.setenv("RISKSTREAM_BROKER", "kafka://127.0.0.1:1")
    result = runner.invoke(app, ["control", "publish", str(tmp_path / "rules.yaml")])
    assert result.exit_code == 2
    assert result.output.startswith("riskstream: cannot use the broker kafka://127.0.0.1:1")
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{reporting: EUR, rates: {USD: 0.92}}", "body.rates.USD: a rate is a decimal string"),
        ('{reporting: EUR, rates: {USD: "-0.92"}}', "body.rates.USD: a rate is digits"),
        ('{reporting: EUR, rates: {USD: "0"}}', "body.rates.USD: a rate must be more than 0"),
        ('{reporting: EUR, rates: {usd: "1"}}', "body.rates.usd.[key]: String should match"),
        ("{reporting: Euro, rates: {}}", "body.reporting: String should match pattern"),
        ('{rates: {USD: "0.92"}}', "body: rates want a reporting currency"),
        ('{reporting: EUR, rates: {EUR: "1"}}', "body: rates: EUR is the reporting currency"),
        ("{reporting: EUR, rate: {}}", "body.rate: Extra inputs are not permitted"),
    ],
)
def test_a_bad_fx_document_is_refused_in_one_line(body: str, problem: str):
    with pytest.raises(InvalidDocument) as raised:
        parse_document(f"kind: fx\nversion: fx-1\nbody: {body}")
    assert str(raised.value).startswith(problem)
    assert "\n" not in str(raised.value)


def test_an_fx_document_leaves_the_engine_configuration_as_it_is():
    document = parse_document(
        'kind: fx\nversion: fx-1\nbody: {reporting: EUR, rates: {USD: "0.92"}}'
    )
    config = RiskConfig()
    assert apply_document(config, document) is config
    assert document.part.convert(Decimal("10.00"), "USD") == ("EUR", Decimal("9.2000"))
    log = ControlLog()
    outcomes = [log.read(*record) for record in log.publication(document)]
    assert isinstance(outcomes[-1], Activated) and log.active_version("fx") == "fx-1"
    rolled_back = log.read(*log.rollback("fx"))
    assert isinstance(rolled_back, Activated) and rolled_back.document.part.reporting is None
