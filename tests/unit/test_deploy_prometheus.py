"""The Prometheus config and alert rules pass promtool's checks and their unit tests.

promtool comes from deploy/prometheus/ensure-promtool.sh, which fetches Debian's when it is
missing; a machine where that fails fails these tests (they are never skipped).
"""

import subprocess
from pathlib import Path

import pytest

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
