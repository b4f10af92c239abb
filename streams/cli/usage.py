"""Usage errors of the ``riskstream`` command as one line: what is wrong, and where help is.

Typer would print a usage line, a hint and the error in a box; riskstream says it in one
line on standard error and exits with code 2, as it does for any other bad argument.

Only public interfaces are used: click's `Command.make_context` and `Command.invoke`, which
Typer's `TyperGroup` keeps, and what every usage error of click's carries (its ``exit_code``
2, ``format_message()``, ``ctx``, and a bad value's ``param``), whichever copy of click
raised it.

>>> from typing import Annotated
>>> from typer.testing import CliRunner
>>> app = typer.Typer(name="riskstream", cls=OneLineUsage)
>>> @app.command()
... def generate(customers: Annotated[int, typer.Option(min=1)] = 1) -> None: ...
>>> @app.command()
... def backtest() -> None: ...
>>> for arguments in (["generate", "--customers", "0"], ["backtest", "--bogus"], ["nope"]):
...     done = CliRunner().invoke(app, arguments)
...     print(done.exit_code, done.stderr.strip())
2 riskstream: --customers: must be at least 1 (got 0); see riskstream generate --help
2 riskstream: no such option: --bogus; see riskstream backtest --help
2 riskstream: no such command 'nope'; see riskstream --help
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

USAGE_ERROR = 2
"""The exit code of click's usage errors, and of riskstream's."""

_BOUNDS = {
    "Input should be greater than or equal to": "must be at least",
    "Input should be less than or equal to": "must be at most",
    "Input should be": "must be",
}


@runtime_checkable
class UsageError(Protocol):
    """What a usage error of click's (or of Typer's copy of click) says about itself."""

    exit_code: int
    ctx: Any

    def format_message(self) -> str: ...


class OneLineUsage(TyperGroup):
    """The command group whose usage errors, of any command in it, are one line each."""

    def make_context(self, *args: Any, **options: Any) -> Any:
        with _one_line():
            return super().make_context(*args, **options)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():
            return super().invoke(ctx)


def help_when_bare(ctx: typer.Context) -> None:
    """A group's callback: the group's help when no command of it is given."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if not (isinstance(error, UsageError) and error.exit_code == USAGE_ERROR):
            raise
        typer.echo(f"riskstream: {describe(error)}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def describe(error: UsageError) -> str:
    """What is wrong, and the command whose ``--help`` says how to use it."""
    where = f"; see {error.ctx.command_path} --help" if error.ctx is not None else ""
    return f"{_what(error)}{where}"


def _what(error: UsageError) -> str:
    # A missing value is a BadParameter too, but without a message of its own.
    if isinstance(error, typer.BadParameter) and error.message and error.param is not None:
        return f"{_given_by(error)}: {_reason(error)}"
    message = " ".join(error.format_message().split()).rstrip(".")
    return message[:1].lower() + message[1:]


def _given_by(error: typer.BadParameter) -> str:
    """The option, argument or environment variable that gave the bad value."""
    param = error.param
    source = error.ctx.get_parameter_source(param.name) if error.ctx is not None else None
    if source is not None and source.name == "ENVIRONMENT" and isinstance(param.envvar, str):
        return param.envvar
    return "/".join(param.opts) if param.param_type_name == "option" else param.name.upper()


def _reason(error: typer.BadParameter) -> str:
    reason = error.message.rstrip(".").removeprefix("Value error, ")
    for said, meant in _BOUNDS.items():
        if reason.startswith(said):
            reason = meant + reason.removeprefix(said)
            break
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        given = str(cause.errors()[0]["input"])
        if given not in reason:
            reason += f" (got {given})"
    return reason
