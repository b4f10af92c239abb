"""The ``riskstream`` command's errors: bad arguments, settings and brokers get one line each."""

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import get_args

import pytest
from typer.testing import CliRunner

from streams.cli.commands import app
from streams.settings import ModelName

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
        (["control", "rollback"], "missing argument 'kind'. Choose from: rules, scorecard, tiers,"),
        (["control", "show", "rule"], "KIND: 'rule' is not one of 'rules', 'scorecard', 'tiers'"),
        (["worker", "--loglevel", "loud"], "--loglevel: 'loud' is not one of 'debug', 'info'"),
        (["worker", "--model", "forest"], "--model: 'forest' is not one of 'logreg', 'arf'"),
        (["backtest", "--start", "monday"], "--start: must be a valid datetime or date"),
        (["topics", "create", "--broker", "k:0"], "--broker: 'k:0' is not a Kafka bootstrap"),
        (["--env-file", "no-such.env", "worker"], "--env-file: file 'no-such.env' does not exist"),
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
    result = CliRunner().invoke(
        app, ["backtest", str(tmp_path / "h.jsonl"), "--start", "2026-03-01"]
    )
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
    assert "check --broker (RISKSTREAM_BROKER)" in done.stderr


def test_a_demo_on_an_unreachable_broker_is_one_line():
    done = riskstream("demo", "--broker", "kafka://127.0.0.1:1")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("riskstream: cannot use the broker kafka://127.0.0.1:1: ")
    assert done.stderr.rstrip("\n").endswith("check --broker (RISKSTREAM_BROKER)")
    assert done.stderr.count("\n") == 1


def test_version_is_the_installed_packages():
    done = riskstream("--version")
    assert done.returncode == 0 and done.stdout == f"riskstream {version('riskstream')}\n"


@pytest.mark.parametrize(
    ("file", "environment", "options", "used"),
    [
        ("127.0.0.1:1", None, [], "127.0.0.1:1"),
        ("127.0.0.1:1", "127.0.0.1:2", [], "127.0.0.1:2"),
        ("127.0.0.1:1", "127.0.0.1:2", ["--broker", "127.0.0.1:3"], "127.0.0.1:3"),
    ],
)
def test_an_option_wins_over_the_environment_which_wins_over_the_env_file(
    tmp_path: Path, file: str, environment: str | None, options: list[str], used: str
):
    (tmp_path / "riskstream.env").write_text(f"# the site's settings\nRISKSTREAM_BROKER={file}\n")
    env = {"RISKSTREAM_BROKER": environment} if environment else {}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--env-file", str(tmp_path / "riskstream.env"),
         "topics", "create", *options],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **env}, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.stderr.startswith(f"riskstream: cannot use the broker {used}: "), done.stderr


def test_the_typed_choices_are_those_the_code_knows():
    from detectors.late_payment import MODELS
    from streams.engine.control import KINDS

    assert set(get_args(ModelName)) == set(MODELS)
    refused = one_line_error(CliRunner().invoke(app, ["control", "show", "x"]))
    assert re.findall(r"'(\w+)'", refused.split("; see")[0])[1:] == list(KINDS)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["deadletter", "list", "--reason", "lost"], "--reason: 'lost' is not one of"),
        (["deadletter", "list", "--since", "noon"], "--since: must be a valid datetime or date"),
        (["deadletter", "replay", "no-such.jsonl"], "FILE: file 'no-such.jsonl' does not exist"),
        (["topics", "describe", "a b"], "TOPIC: 'a b' is not a Kafka topic name"),
        (["topics", "list", "--broker", "nowhere"], "--broker: 'nowhere' is not a Kafka"),
        (["--versions"], "--versions (Possible options: --version); see riskstream --help"),
    ],
)  # fmt: skip
def test_a_bad_argument_in_a_process_of_its_own_is_one_line_and_exit_code_2(arguments, message):
    done = riskstream(*arguments)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("riskstream: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
