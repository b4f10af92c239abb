"""The ``riskstream`` command's errors: bad arguments, settings and brokers get one line each."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.commands import app

REPO = Path(__file__).resolve().parents[2]


def one_line_error(result) -> str:
    """The error the command printed, checked to be one line of riskstream's and exit code 2."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("riskstream: ") and result.stderr.count("\n") == 1, (
        result.stderr
    )
    return result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["generate", "--customers", "0"],
         "--customers: must be at least 1 (got 0); see riskstream generate --help"),
        (["generate", "--events", "0"], "--events: must be at least 1 (got 0)"),
        (["generate", "--customers", "many"], "--customers: must be a valid integer"),
        (["demo", "--customers", "100001"], "--customers: must be at most 100000 (got 100001)"),
        (["demo", "--broker", "banana"], "--broker: 'banana' is not a Kafka bootstrap address"),
        (["demo", "--redis-url", "notaurl"], "--redis-url: 'notaurl' is not a Redis URL"),
        (["backtest", "--bogus"], "no such option: --bogus; see riskstream backtest --help"),
        (["control", "rollback"], "missing argument 'kind'; see riskstream control rollback"),
        (["control", "undo"], "no such command 'undo'; see riskstream control --help"),
        (["nonsense"], "no such command 'nonsense'; see riskstream --help"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_with_where_to_find_help(arguments, message):
    assert message in one_line_error(CliRunner().invoke(app, arguments))


def test_no_arguments_still_shows_the_help():
    result = CliRunner().invoke(app, [])
    assert "Usage:" in result.output and "backtest" in result.output


def test_a_backtest_with_two_sources_says_to_give_only_one(tmp_path: Path):
    (tmp_path / "h.jsonl").write_text("")
    result = CliRunner().invoke(app, ["backtest", str(tmp_path / "h.jsonl"), "--start", "banana"])
    assert "files and --start were given: give only one of FILES, --csv or --start/--end" in (
        one_line_error(result)
    )


def riskstream(*arguments: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the command line in a process of its own, with ``env`` over the environment."""
    return subprocess.run([sys.executable, "-m", "streams.cli", *arguments], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    "arguments",
    [
        ["topics", "create"],
        ["worker"],
        ["generate", "--to-topics", "--events", "3"],
        ["control", "list"],
        ["control", "rollback", "rules"],
    ],
)
def test_an_unreachable_broker_is_one_line_and_nothing_is_left_open(arguments):
    done = riskstream(*arguments, RISKSTREAM_BROKER="kafka://127.0.0.1:1",
                      RISKSTREAM_DEVELOPMENT="true")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("riskstream: cannot use the broker kafka://127.0.0.1:1: ")
    assert done.stderr.count("\n") == 1, done.stderr  # no traceback, no unclosed client
    assert "check RISKSTREAM_BROKER" in done.stderr


def test_a_demo_on_an_unreachable_broker_is_one_line():
    done = riskstream("demo", "--broker", "kafka://127.0.0.1:1")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("riskstream: cannot use the broker kafka://127.0.0.1:1: ")
    assert done.stderr.rstrip("\n").endswith("check --broker") and done.stderr.count("\n") == 1
