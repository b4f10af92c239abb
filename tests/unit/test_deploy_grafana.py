"""Every PromQL expression of the dashboards and alert rules parses and uses only metrics a
worker really exports (read from a fresh registry of sinks.metrics), plus ``up``."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml  # pyyaml, a test dependency
from prometheus_client import CollectorRegistry

from sinks.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RULES = DEPLOY / "prometheus" / "rules.yml"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("", "_sum", "_count"), "info": ("_info",)}  # fmt: skip
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def exported() -> set[str]:
    names = {"up"}
    for family in Metrics(CollectorRegistry()).registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        names.update(s.name for s in family.samples if not s.name.endswith("_created"))
    return names


def grafana_to_promql(expr: str) -> str:
    """Grafana's interval variables ($__rate_interval...) as a duration Prometheus reads."""
    return re.sub(r"\$__\w+", "5m", expr)


def expressions() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{path.name}: {panel['title']}", target["expr"]))
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            found.append((f"{RULES.name}: {rule.get('alert') or rule['record']}", rule["expr"]))
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', grafana_to_promql(expr))  # strings
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # label matchers, ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])[a-zA-Z_:][\w:]*", expr):
        is_call = expr[match.end() :].lstrip().startswith("(")
        if not is_call and match.group() not in KEYWORDS:
            names.add(match.group())
    return names


EXPRESSIONS = expressions()
EXPORTED = exported()


def test_there_is_something_to_check() -> None:
    assert {path.name for path in DASHBOARDS} == {"operations.json", "risk.json"}
    assert len(EXPRESSIONS) > 30


def test_metric_names_are_read_from_expressions() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, output) (rate(a_bucket{x="y{z}"}[$__rate_'
            'interval]))) > 1e-3 and on() b:rule offset 5m or vector(0)')  # fmt: skip
    assert metric_names(expr) == {"a_bucket", "b:rule"}


@pytest.mark.parametrize(("where", "expr"), EXPRESSIONS, ids=[w for w, _ in EXPRESSIONS])
def test_expression_uses_only_exported_metrics(where: str, expr: str) -> None:
    names = metric_names(expr)
    assert names, f"no metric in {expr!r}"
    assert names <= EXPORTED, f"not exported by a worker: {sorted(names - EXPORTED)}"


def test_every_expression_parses(tmp_path: Path) -> None:
    """promtool parses them all, as recording rules of a throw-away rules file."""
    done = subprocess.run(["bash", str(DEPLOY / "prometheus" / "ensure-promtool.sh")],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, f"no promtool: {done.stderr}"
    rules = [{"record": f"check:expr_{n}", "expr": grafana_to_promql(expr)}
             for n, (_, expr) in enumerate(EXPRESSIONS)]  # fmt: skip
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "check", "rules": rules}]}))  # JSON is YAML
    checked = subprocess.run([done.stdout.strip(), "check", "rules", str(path)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


WORKERS_CHOSEN = 'instance=~"$instance"'


def test_dashboards_choose_the_data_source_and_the_workers() -> None:
    """A data source variable, defaulting to the provisioned Prometheus, that every panel and
    query uses; a worker variable (all by default) that every metric of every query filters on."""
    provisioned = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    (source,) = yaml.safe_load(provisioned.read_text())["datasources"]
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == source["type"]
        assert variables["datasource"]["current"]["value"] == source["uid"]
        instance = variables["instance"]
        assert instance["datasource"] == chosen
        assert instance["includeAll"] and instance["current"]["value"] == "$__all"
        assert instance["query"]["query"] == 'label_values(up{job="riskstream"}, instance)'
        panels = dashboard["panels"]
        assert len({panel["id"] for panel in panels}) == len(panels), path.name
        for panel in panels:
            where = f"{path.name}: {panel['title']}"
            assert panel["datasource"] == chosen, where
            for target in panel["targets"]:
                assert target["datasource"] == chosen, where
                selectors = re.findall(r"([a-zA-Z_:][\w:]*)(\{[^}]*\})?(?=[\[)\s]|$)",
                                       target["expr"])  # fmt: skip
                filtered = {name for name, matchers in selectors if WORKERS_CHOSEN in matchers}
                assert metric_names(target["expr"]) <= filtered, where


def test_rule_alerts_have_panels_by_rule_id() -> None:
    risk = json.loads((DEPLOY / "grafana" / "dashboards" / "risk.json").read_text())
    by_rule = [panel for panel in risk["panels"] for target in panel["targets"]
               if re.search(r"by \(rule\)", target["expr"]) and 'kind="rule"' in target["expr"]
               and target["legendFormat"] == "{{rule}}"]  # fmt: skip
    assert len(by_rule) >= 2
