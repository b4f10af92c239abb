"""The Prometheus config and alert rules pass promtool's checks and their unit tests.

promtool comes from deploy/prometheus/ensure-promtool.sh, which fetches Debian's when it is
missing; a machine where that fails fails these tests (they are never skipped).
"""

import re
import subprocess
from pathlib import Path

import pytest
import yaml  # pyyaml, a test dependency

from tests.unit.test_docs import anchor

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    done = subprocess.run(["bash", str(PROMETHEUS / "ensure-promtool.sh")],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"no promtool: {done.stderr.strip()}", pytrace=False)
    return done.stdout.strip()


@pytest.mark.parametrize(
    "command",
    [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "rules.yml"],
        ["test", "rules", "rules_test.yml"],
    ],
    ids=" ".join,
)
def test_promtool(promtool: str, command: list[str]) -> None:
    done = subprocess.run([promtool, *command], cwd=PROMETHEUS, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


RULES = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
ALERTS = {rule["alert"]: rule for group in RULES for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_runbook_section() -> None:
    """Its runbook_url points to a heading of docs/runbook.md, which has one per alert."""
    runbook = PROMETHEUS.parents[1] / "docs" / "runbook.md"
    headings = {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", runbook.read_text(), re.M)}
    for name, rule in ALERTS.items():
        path, _, fragment = rule["annotations"]["runbook_url"].partition("#")
        assert PROMETHEUS.parents[1] / path == runbook, name
        assert fragment == anchor(name) and fragment in headings, name


def test_every_alert_is_unit_tested_firing_and_silent() -> None:
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    fired = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert fired == silent == set(ALERTS)
