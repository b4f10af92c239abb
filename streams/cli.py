"""The ``riskstream`` command."""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from streams.settings import SettingsError, load_settings

app = typer.Typer(
    help="Real-time customer risk on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(help="Manage riskstream's Kafka topics.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
control_app = typer.Typer(
    help="Versioned rule sets, scorecards, tiers, decision and credit policies.",
    no_args_is_help=True,
)
app.add_typer(control_app, name="control")

LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error")]


def _fail(message: str) -> None:
    typer.echo(f"riskstream: {message}", err=True)
    raise typer.Exit(2)


def _settings():
    try:
        return load_settings()
    except SettingsError as error:
        _fail(f"bad setting {error}")


@app.command()
def worker(loglevel: LogLevel = "info") -> None:
    """Run a worker: consume the input topics, keep customer state, publish risk outputs."""
    from streams.worker import run_worker

    run_worker(_settings(), loglevel)


@topics_app.command("create")
def create_topics() -> None:
    """Create every topic riskstream uses, with RISKSTREAM_PARTITIONS partitions."""
    from streams.topics import ensure_topics

    created = asyncio.run(ensure_topics(_settings()))
    typer.echo(f"created {len(created)} topics: {', '.join(created) or '-'}")


ControlFile = Annotated[Path, typer.Argument(help="A control document, YAML or JSON")]
ControlKind = Annotated[str, typer.Argument(help="rules, scorecard, tiers, decisions or credit")]


def _control(command: Callable[..., str], *args: object) -> None:
    from streams.control_commands import ControlError

    try:
        typer.echo(command(*args))
    except ControlError as error:
        _fail(str(error))


@control_app.command("validate")
def control_validate(file: ControlFile) -> None:
    """Check a control document as a worker would, without publishing it."""
    from streams.control_commands import validate

    _control(validate, file)


@control_app.command("publish")
def control_publish(file: ControlFile) -> None:
    """Publish a control document and put it in force on every worker."""
    from streams.control_commands import publish

    _control(publish, _settings(), file)


@control_app.command("list")
def control_list() -> None:
    """Every kind of document: the version in force and the versions published."""
    from streams.control_commands import listing

    _control(listing, _settings())


@control_app.command("show")
def control_show(
    kind: ControlKind,
    version: Annotated[str | None, typer.Option(help="Default: the version in force")] = None,
) -> None:
    """Print a control document."""
    from streams.control_commands import show

    _control(show, _settings(), kind, version)


@control_app.command("rollback")
def control_rollback(
    kind: ControlKind,
    to: Annotated[
        str | None, typer.Option(help="Default: the version in force before the active one")
    ] = None,
) -> None:
    """Put an earlier version of a kind back in force."""
    from streams.control_commands import rollback

    _control(rollback, _settings(), kind, to)


@app.command()
def demo(
    broker: Annotated[
        str | None,
        typer.Option(help="Use this Kafka (kafka://host:port) instead of the embedded broker"),
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Use this Redis instead of a local one")
    ] = None,
    customers: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    days: Annotated[int, typer.Option(min=1, max=3650, help="History to generate")] = 120,
    rate: Annotated[float, typer.Option(min=1, max=100_000, help="Events sent per second")] = 200,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Stop after this many seconds (default: run until Ctrl-C)"),
    ] = None,
) -> None:
    """Run the whole thing on this machine: broker, Redis, a worker, generated events, alerts."""
    from streams.demo import Demo

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    Demo(broker=broker, redis_url=redis_url, customers=customers, days=days, rate=rate).run(
        duration
    )


if __name__ == "__main__":
    app()
