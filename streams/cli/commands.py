"""The ``riskstream`` command."""

import asyncio
import contextlib
import dataclasses
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from dotenv import load_dotenv

from schemas.outputs import ReasonCode
from streams.cli.usage import OneLineUsage, help_when_bare
from streams.settings import (
    ModelName,
    Settings,
    SettingsError,
    bootstrap_servers,
    load_settings,
    topic_name,
)
from streams.settings import redis_url as valid_redis_url

app = typer.Typer(
    name="riskstream",
    cls=OneLineUsage,
    help="Real-time customer risk on Kafka.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
topics_app = typer.Typer(
    help="Manage riskstream's Kafka topics.", callback=help_when_bare, invoke_without_command=True
)
app.add_typer(topics_app, name="topics")
control_app = typer.Typer(
    help="Versioned rule sets, scorecards, tiers, decision and credit policies.",
    callback=help_when_bare,
    invoke_without_command=True,
)
app.add_typer(control_app, name="control")
deadletter_app = typer.Typer(
    help="Inputs that could not be processed: list them, send them back once fixed.",
    callback=help_when_bare,
    invoke_without_command=True,
)
app.add_typer(deadletter_app, name="deadletter")

_SETTINGS = "Settings (options over environment variables over --env-file)"


def _checked(check: Callable[[str], Any]) -> Callable[[str | None], str | None]:
    """An option's callback: the value if ``check`` takes it, else a usage error saying why."""

    def callback(value: str | None) -> str | None:
        try:
            if value is not None:
                check(value)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
        return value

    return callback


def _setting(name: str, check: Callable[[str], Any] | None = None, *flags: str) -> Any:
    """The option (``flags``, default from ``name``) of the setting ``name``, read from its
    environment variable if not given; ``check`` raises a `ValueError` for a bad value."""
    field = Settings.model_fields[name]
    return typer.Option(
        *flags,
        envvar=f"{Settings.model_config['env_prefix']}{name}".upper(),
        callback=None if check is None else _checked(check),
        help=f"{field.description} (default: {field.default})",
        rich_help_panel=_SETTINGS,
    )


Broker = Annotated[str | None, _setting("broker", bootstrap_servers)]
RedisUrl = Annotated[str | None, _setting("redis_url", valid_redis_url)]
AppId = Annotated[str | None, _setting("app_id")]
Model = Annotated[ModelName | None, _setting("model_name", None, "--model")]
LogLevel = Annotated[Literal["debug", "info", "warning", "error"], typer.Option()]


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"riskstream {installed_version('riskstream')}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Read RISKSTREAM_* settings from this file (KEY=value lines) where the "
            "environment does not set them",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Say the version")
    ] = False,
) -> None:
    """Real-time customer risk on Kafka."""
    if env_file is not None:
        load_dotenv(env_file, override=False)
    help_when_bare(ctx)


def _fail(message: str) -> NoReturn:
    typer.echo(f"riskstream: {message}", err=True)
    raise typer.Exit(2)


def _settings(serving: bool = False, **given: Any) -> Settings:
    """The settings, options ``given`` (those not None) over the environment, or one line naming
    a bad one; ``serving``: for a worker, which signs and checks model snapshots and serves the
    query API (`Settings.check_worker`)."""
    try:
        options = {name: value for name, value in given.items() if value is not None}
        settings = load_settings(**options)
        if serving:
            settings.check_worker()
        return settings
    except SettingsError as error:
        _fail(f"bad setting {error}")


@contextlib.contextmanager
def _using_broker(broker: str) -> Iterator[None]:
    """A broker that is down, unknown or refuses the topics' partition counts: one line."""
    from aiokafka.errors import KafkaError

    from streams.kafka.topics import TopicMismatch

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # what failed is said below
    try:
        yield
    except TopicMismatch as error:
        _fail(str(error))
    except (KafkaError, OSError) as error:
        _fail(f"cannot use the broker {broker}: {error}; check --broker (RISKSTREAM_BROKER)")


def _topics(settings: Settings) -> list[str]:
    """Create riskstream's missing topics; the names created."""
    from streams.kafka.topics import ensure_topics

    with _using_broker(settings.broker):
        return asyncio.run(ensure_topics(settings))


@app.command()
def worker(
    broker: Broker = None,
    redis_url: RedisUrl = None,
    app_id: AppId = None,
    model: Model = None,
    loglevel: LogLevel = "info",
) -> None:
    """Run a worker: consume the input topics, keep customer state, publish risk outputs."""
    from streams.worker.run import run_worker

    settings = _settings(
        serving=True, broker=broker, redis_url=redis_url, app_id=app_id, model_name=model
    )
    _topics(settings)
    run_worker(settings, loglevel)


@app.command()
def notify(broker: Broker = None, app_id: AppId = None, loglevel: LogLevel = "info") -> None:
    """Tell the credit team of cases: a chat webhook and e-mail (RISKSTREAM_NOTIFY_*)."""
    from streams.cli.notify import run

    settings = _settings(broker=broker, app_id=app_id)
    try:
        settings.notify.check_addressed()
    except SettingsError as error:
        _fail(f"bad setting {error}")
    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(message)s")
    _topics(settings)
    with _using_broker(settings.broker):
        run(settings)


@topics_app.command("create")
def create_topics(broker: Broker = None) -> None:
    """Create every topic riskstream uses, with RISKSTREAM_PARTITIONS partitions."""
    created = _topics(_settings(broker=broker))
    typer.echo(f"created {len(created)} topics: {', '.join(created) or '-'}")


@topics_app.command("list")
def list_topics(broker: Broker = None) -> None:
    """riskstream's topics: partitions, cleanup, retention and each consumer group's lag."""
    from streams.cli.topics import inspect, listing

    settings = _settings(broker=broker)
    names = [name for name, _partitions, _config in settings.topic_specs()]
    with _using_broker(settings.broker):
        typer.echo(listing(settings, asyncio.run(inspect(settings, names))))


@topics_app.command("describe")
def describe_topic(
    topic: Annotated[str, typer.Argument(help="A topic's name", callback=_checked(topic_name))],
    broker: Broker = None,
) -> None:
    """A topic's settings, partitions, and each consumer group's offsets and lag on them."""
    from streams.cli.topics import description, inspect

    settings = _settings(broker=broker)
    with _using_broker(settings.broker):
        found = asyncio.run(inspect(settings, [topic]))
    if not found:
        _fail(f"no topic {topic} on the broker {settings.broker}")
    typer.echo(description(found[0]))


@deadletter_app.command("list")
def deadletter_list(
    reason: Annotated[
        ReasonCode | None, typer.Option(help="Only dead letters of this reason")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only those written from this moment, ISO 8601")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Only those written before this moment, ISO 8601")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="The records, one JSON object a line, to fix and replay")
    ] = False,
    broker: Broker = None,
) -> None:
    """The dead letters on the dead-letter topic, oldest first: when, why, where from."""
    from streams.cli.deadletter import Choice, read_letters, table

    settings = _settings(broker=broker)
    choice = Choice(reason, _utc(since), _utc(until))
    with _using_broker(settings.broker):
        try:
            letters = asyncio.run(read_letters(settings, choice))
        except LookupError as error:
            _fail(str(error))
    if json:
        sys.stdout.buffer.writelines(letter.value + b"\n" for letter in letters)
    elif letters:
        typer.echo(table(letters))
    typer.echo(f"{len(letters)} dead letters", err=True)


@deadletter_app.command("replay")
def deadletter_replay(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="Dead letters as list --json writes them, fixed"
        ),
    ],
    dry_run: Annotated[bool, typer.Option(help="Check every one, send none")] = False,
    broker: Broker = None,
) -> None:
    """Send fixed dead letters back to their input topics, with their keys; all or none."""
    from streams.cli.deadletter import Refused, check, send

    settings = _settings(broker=broker)
    replays, refused = [], 0
    for number, line in enumerate(file.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            replays.append(check(settings, line))
        except Refused as error:
            refused += 1
            typer.echo(f"{file}:{number}: refused: {error}", err=True)
    if refused:
        _fail(f"{refused} of {refused + len(replays)} dead letters refused: none sent")
    for replay in replays:
        typer.echo(f"{replay.topic} {replay.key.decode() if replay.key else '-'}: {replay.event}")
    if not dry_run:
        with _using_broker(settings.broker):
            asyncio.run(send(settings, replays))
    typer.echo(f"{'checked' if dry_run else 'sent'} {len(replays)} inputs", err=True)


ControlFile = Annotated[Path, typer.Argument(help="A control document, YAML or JSON")]
ControlKind = Annotated[
    Literal["rules", "scorecard", "tiers", "decisions", "credit", "industry", "model", "fx"],
    typer.Argument(help="The kind of control document"),
]


def _control(command: Callable[..., str], *args: object) -> None:
    from streams.cli.control import ControlError

    try:
        typer.echo(command(*args))
    except ControlError as error:
        _fail(str(error))


def _control_on_broker(command: Callable[..., str], broker: str | None, *args: object) -> None:
    """A control command on the control topic, with the settings as its first argument."""
    settings = _settings(broker=broker)
    with _using_broker(settings.broker):
        _control(command, settings, *args)


@control_app.command("validate")
def control_validate(file: ControlFile) -> None:
    """Check a control document as a worker would, without publishing it."""
    from streams.cli.control import validate

    _control(validate, file)


@control_app.command("publish")
def control_publish(
    file: ControlFile,
    force: Annotated[
        bool, typer.Option(help="A model document: promote even if the guard refuses")
    ] = False,
    broker: Broker = None,
) -> None:
    """Publish a control document and put it in force on every worker; a model document's
    champion must be ahead of the one in force (the promotion guard)."""
    from streams.cli.control import publish

    _control_on_broker(publish, broker, file, force)


@control_app.command("list")
def control_list(broker: Broker = None) -> None:
    """Every kind of document: the version in force and the versions published."""
    from streams.cli.control import listing

    _control_on_broker(listing, broker)


@control_app.command("show")
def control_show(
    kind: ControlKind,
    version: Annotated[str | None, typer.Option(help="Default: the version in force")] = None,
    broker: Broker = None,
) -> None:
    """Print a control document."""
    from streams.cli.control import show

    _control_on_broker(show, broker, kind, version)


@control_app.command("rollback")
def control_rollback(
    kind: ControlKind,
    to: Annotated[
        str | None,
        typer.Option(
            help="A version, or default for the built-in one (default: the version in force "
            "before the active one)"
        ),
    ] = None,
    broker: Broker = None,
) -> None:
    """Put an earlier version of a kind back in force."""
    from streams.cli.control import rollback

    _control_on_broker(rollback, broker, kind, to)


@app.command()
def demo(
    broker: Annotated[
        str | None,
        typer.Option(
            envvar="RISKSTREAM_BROKER",
            callback=_checked(bootstrap_servers),
            help="Use this Kafka (kafka://host:port) instead of the embedded broker",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            envvar="RISKSTREAM_REDIS_URL",
            callback=_checked(valid_redis_url),
            help="Use this Redis instead of a local one",
        ),
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
    from streams.cli.demo import Demo

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    demo = Demo(broker=broker, redis_url=redis_url, customers=customers, days=days, rate=rate)
    with contextlib.nullcontext() if broker is None else _using_broker(broker):
        demo.run(duration)


def _port(port: object) -> int:
    """``port`` if a server can listen on it, else a `ValueError` saying what it takes."""
    if not 1 <= int(str(port)) <= 65535:
        raise ValueError(f"{port} is not a port: use 1 to 65535")
    return int(str(port))


@app.command()
def console(
    port: Annotated[int | None, _setting("console_port", _port, "--port")] = None,
    bind: Annotated[str | None, _setting("console_bind", None, "--bind")] = None,
    broker: Broker = None,
    redis_url: RedisUrl = None,
) -> None:
    """Serve the credit team's web console: portfolio, cases, order reviews, customers."""
    from aiokafka.errors import KafkaError

    from streams.console.app import serve

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("streams.console").setLevel(logging.INFO)  # who did what
    settings = _settings(broker=broker, redis_url=redis_url, console_port=port, console_bind=bind)
    try:
        settings.check_console()
    except SettingsError as error:
        _fail(f"bad setting {error}")
    _topics(settings)
    try:
        serve(settings, lambda address: typer.echo(f"riskstream console: {address}"))
    except KafkaError as error:
        _fail(f"cannot use the broker {settings.broker}: {error}; check --broker")
    except OSError as error:
        where = f"{settings.console_bind}:{settings.console_port}"
        _fail(f"cannot serve on {where}: {error.strerror or error}; check --bind and --port")


def _utc(moment: datetime | None) -> datetime | None:
    """A moment given without a time zone, taken as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@app.command()
def generate(
    customers: Annotated[int, typer.Option(min=1, help="How many customers")] = 100,
    days: Annotated[int, typer.Option(min=1, max=36_500, help="Days of history")] = 365,
    end: Annotated[
        datetime | None, typer.Option(help="When the history ends, ISO 8601 (default: now)")
    ] = None,
    seed: Annotated[int, typer.Option(help="The same seed gives the same history")] = 7,
    events: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many events (default: all)")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="JSON Lines file to write (default: standard output)"),
    ] = None,
    to_topics: Annotated[
        bool, typer.Option("--to-topics", help="Send to the input topics of the broker")
    ] = False,
    rate: Annotated[
        float, typer.Option(min=1, help="With --to-topics: events sent per second")
    ] = 1_000,
    end_of_month: Annotated[
        bool, typer.Option(help="Invoices fall due at the end of the month their terms end in")
    ] = False,
    payment_runs: Annotated[
        Literal["none", "weekly", "monthly", "mixed"],
        typer.Option(help="Customers pay in runs on a fixed weekday, day of the month, or both"),
    ] = "none",
    partial_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of invoices paid in two parts")
    ] = 0.0,
    season: Annotated[
        float, typer.Option(min=0, max=0.9, help="How much ordering swings over the year")
    ] = 0.4,
    truth: Annotated[
        Path | None,
        typer.Option(help="JSON Lines file of what each customer is meant to be, once written"),
    ] = None,
    currencies: Annotated[
        str, typer.Option(help="Comma-separated ISO 4217 codes the customers take turns in")
    ] = "EUR",
    credit_reports: Annotated[
        bool,
        typer.Option(
            "--credit-reports", help="A bureau's monthly credit report on every customer too"
        ),
    ] = False,
    broker: Broker = None,
) -> None:
    """Generate a synthetic history of customers, orders, invoices and payments."""
    from itertools import islice

    from schemas.codec import dumps
    from streams.cli.generate import Calendar, generate_history

    if to_topics and output is not None:
        _fail("--output and --to-topics go to different places: give one of them")
    ending = _utc(end) or datetime.now(UTC)
    calendar = Calendar(end_of_month, payment_runs, partial_share, season)
    try:
        truth_file = None if truth is None else truth.open("wb")
    except OSError as error:
        _fail(f"cannot write {truth}: {error.strerror}")
    codes = [code.strip() for code in currencies.split(",")]
    if not all(len(code) == 3 and code.isascii() and code.isupper() for code in codes):
        _fail(f"--currencies {currencies!r}: give ISO 4217 codes like EUR,USD")
    history, people = generate_history(
        customers, days, ending, seed, codes, calendar, credit_reports
    )
    stream = islice(history, events)
    with contextlib.nullcontext() if truth_file is None else truth_file:
        _send_or_write(stream, output, to_topics, rate, broker)
        if truth_file is not None:
            truth_file.writelines(dumps(person.truth()) + b"\n" for person in people)


def _send_or_write(
    stream: Iterator[Any], output: Path | None, to_topics: bool, rate: float, broker: str | None
) -> None:
    """Generated events to the input topics, or as JSON Lines to ``output`` or standard output."""
    from schemas.codec import dumps

    if to_topics:
        from streams.cli.feed import send_events

        settings = _settings(broker=broker)
        with _using_broker(settings.broker):
            sent = asyncio.run(send_events(settings, stream, rate))
        typer.echo(f"sent {sent:,} events", err=True)
        return
    try:
        file = contextlib.nullcontext(sys.stdout.buffer) if output is None else output.open("wb")
    except OSError as error:
        _fail(f"cannot write {output}: {error.strerror}")
    with file as lines:
        for event in stream:
            lines.write(dumps(event) + b"\n")
        lines.flush()


@app.command()
def backtest(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="JSON Lines files of input events")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option(help="Read the accounts-receivable CSV instead")
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(help="Read the input topics from this moment (ISO 8601) instead of files"),
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(help="With --start: up to this moment (default: now)")
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the output files and the report")
    ] = Path("backtest"),
    model: Model = None,
    config: Annotated[
        list[Path] | None,
        typer.Option(help="A control document (rules, scorecard, tiers...) over the defaults"),
    ] = None,
    learn: Annotated[
        bool, typer.Option(help="Learn each invoice's outcome when known, as the trainer does")
    ] = True,
    compare_model: Annotated[
        ModelName | None, typer.Option(help="Compare with this model (configuration B)")
    ] = None,
    compare_config: Annotated[
        list[Path] | None,
        typer.Option(help="Compare with these control documents (configuration B)"),
    ] = None,
    topic_prefix: Annotated[
        str | None,
        typer.Option(help="Also send the outputs to topics named so, e.g. backtest. (not live)"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    broker: Broker = None,
) -> None:
    """Replay history through the workers' engine; outputs, a report (JSON, HTML) in a folder."""
    from streams.backtest.backtest import ConfigError, Configuration, History, run_backtest

    settings = _settings(broker=broker, model_name=model)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # failures are reported below
    chosen = [name for name, given in
              (("files", inputs), ("--csv", csv), ("--start", start)) if given]  # fmt: skip
    if not chosen:
        _fail("say where history comes from: JSON Lines files, --csv FILE or --start MOMENT")
    if len(chosen) > 1:
        _fail(f"{' and '.join(chosen)} were given: give only one of FILES, --csv or --start/--end")
    if end is not None and start is None:
        _fail("--end bounds the topics read from --start: give --start too, or leave --end out")
    for path in [*(inputs or []), *([csv] if csv else [])]:
        if not path.is_file():
            _fail(f"{path} is not a file: give the path of an existing file")
    a = Configuration(settings.model_name, tuple(config or ()), learn,
                      tuple(settings.challenger_names()))  # fmt: skip
    b = None
    if compare_model or compare_config:
        b = Configuration(compare_model or a.model, tuple(compare_config or a.documents), learn)
    history = History(inputs or (), csv, _utc(start), _utc(end))
    if history.start is not None and history.end is None:
        history = dataclasses.replace(history, end=datetime.now(UTC))
    try:
        tallies = run_backtest(settings, history, output, a, b, not quiet, topic_prefix)
    except ConfigError as error:
        _fail(str(error))
    for name, tally in tallies.items():
        typer.echo(f"{name + ': ' if name else ''}{tally.describe()}", err=True)
    typer.echo(f"outputs and report in {output}", err=True)


if __name__ == "__main__":
    app()
