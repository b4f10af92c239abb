"""Usage errors of the ``riskstream`` command as one line: what is wrong, and where help is.

Typer would print a usage line, a hint and the error in a box; riskstream says it in one
line on standard error and exits with code 2, as it does for any other bad argument.

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
from typing import Any

import typer
from pydantic import ValidationError

# Typer carries its own copy of click: its exceptions are these, not the click package's.
from typer._click import Context
from typer._click.exceptions import BadParameter, MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

_BOUNDS = {
    "Input should be greater than or equal to": "must be at least",
    "Input should be less than or equal to": "must be at most",
    "Input should be": "must be",
}


class OneLineUsage(TyperGroup):
    """The command group whose usage errors, of any command in it, are one line each."""

    def make_context(self, *args: Any, **options: Any) -> Context:
        with _one_line():
            return super().make_context(*args, **options)

    def invoke(self, ctx: Context) -> Any:
        with _one_line():
            return super().invoke(ctx)


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise  # no arguments: the help, as the command was asked for
    except UsageError as error:
        typer.echo(f"riskstream: {describe(error)}", err=True)
        raise typer.Exit(2) from None


def describe(error: UsageError) -> str:
    """What is wrong, and the command whose ``--help`` says how to use it."""
    where = f"; see {error.ctx.command_path} --help" if error.ctx is not None else ""
    return f"{_what(error)}{where}"


def _what(error: UsageError) -> str:
    bad_value = isinstance(error, BadParameter) and not isinstance(error, MissingParameter)
    if bad_value and error.param is not None:
        name = "/".join(error.param.opts or [error.param.display_name_raw])
        return f"{name}: {_reason(error)}"
    message = error.format_message().rstrip(".")
    return message[:1].lower() + message[1:]


def _reason(error: BadParameter) -> str:
    reason = error.message.rstrip(".")
    for said, meant in _BOUNDS.items():
        if reason.startswith(said):
            reason = meant + reason.removeprefix(said)
            break
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        reason += f" (got {cause.errors()[0]['input']})"
    return reason
