"""The console's web application (aiohttp): pages read from Redis, actions published to Kafka.

Pages are rendered on the server (Jinja2); htmx sends the actions and refreshes a page's
content when the change feeds of Redis say something it shows has changed (server-sent
events on ``/live``). Everything but the sign-in page, ``/health`` and the static files
wants a sign-in cookie; every POST wants the CSRF token that goes with it.
"""

import asyncio
import contextlib
import logging
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from schemas.codec import dumps
from schemas.fx import FxRates
from streams.console import auth
from streams.console.actions import SNOOZE_DAYS, ActionError, review_event
from streams.console.analytics import (
    aging_table,
    at_risk_table,
    audit_table,
    decision_table,
    line_chart,
    migrations_table,
    sample,
    score_history_table,
    trend,
)
from streams.console.audit import parse_range, read_reviews
from streams.console.paging import PageError, Paging, page_number
from streams.console.store import PAGE, Store
from streams.console.tables import (
    Table,
    alert_table,
    case_table,
    csv_text,
    history_table,
    open_items_table,
    proposal_table,
    review_table,
    shown,
    top_table,
    totals_table,
    worklist_table,
)
from streams.console.workers import WorkersApi, WorkersUnavailable
from streams.engine.control_log import Activated, ControlLog
from streams.kafka.follow import follow_topic
from streams.settings import Settings
from streams.worker.faust_app import SECURE_HEADERS

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {**SECURE_HEADERS, "Content-Security-Policy": CSP}
"""The worker API's secure headers; the CSP lets the pages use their own scripts and styles,
served from this origin, and nothing else."""
OPEN_PATHS = ("/signin", "/health", "/static/")
TOP = 20
LIVE_PACE = 1.0
"""Seconds between two live events of one page, at least: a busy portfolio refreshes it once a
second, not at every change."""
FAILED_SIGNIN_DELAY = 1.0
"""Seconds a failed sign-in waits before its answer."""
SAMPLE_EVERY = 3600.0
"""Seconds between two samples of the portfolio's history (one per interval, however many
consoles run)."""
WEEK = 7 * 24 * 3600
CONTROL_WAIT = 60.0
"""Seconds the console waits at start to have read the control topic (the rates in force)."""

Loader = Callable[[Store, str], Awaitable[list[Table]]]

CONSOLE = web.AppKey("console", "Console")
ACTOR = "riskstream.actor"
COOKIE_VALUE = "riskstream.cookie"


async def portfolio_tables(store: Store, _: str) -> list[Table]:
    customers, fx = await store.customers(), store.fx
    changes = await store.feed_since("risk-changes", time.time() - WEEK)
    return [
        totals_table("currencies", customers, by_tier=False, fx=fx),
        totals_table("tiers", customers, by_tier=True, fx=fx),
        aging_table(customers, fx),
        migrations_table(changes),
        at_risk_table(customers, await store.case_probabilities(), fx, TOP),
        top_table("top-score", customers, "score", TOP),
        top_table("top-exposure", customers, "exposure", TOP),
    ]


async def case_tables(store: Store, _: str) -> list[Table]:
    """Every open case: the export (the page shows one `PAGE` of them)."""
    return [case_table("cases", await store.open_cases())]


async def review_tables(store: Store, _: str) -> list[Table]:
    """Every pending order: the export (the page shows one `PAGE` of them)."""
    return [review_table(await store.pending_reviews())]


async def worklist_tables(store: Store, _: str) -> list[Table]:
    return [worklist_table(await store.customers(), await store.case_probabilities())]


async def customer_tables(store: Store, customer_id: str) -> list[Table]:
    cases = await store.customer_cases(customer_id)
    return [
        alert_table(await store.stream("alerts", customer_id)),
        proposal_table(
            await store.stream("actions", customer_id),
            await store.stream("proposal-reviews", customer_id, count=100),
        ),
        case_table("customer-cases", cases),
        history_table(cases),
        score_history_table(await store.stream("risk-changes", customer_id, count=50)),
        decision_table(await store.stream("decisions", customer_id, count=50)),
    ]


PAGES: dict[str, tuple[str, Loader, str]] = {
    "portfolio": ("portfolio.html", portfolio_tables, "sse:customers"),
    "cases": ("cases.html", case_tables, "sse:cases"),
    "reviews": ("reviews.html", review_tables, "sse:reviews"),
    "worklist": ("worklist.html", worklist_tables, "sse:customers, sse:cases"),
    "customer": ("customer.html", customer_tables, "sse:alerts, sse:actions, sse:cases, "
                 "sse:customers, sse:decisions"),
}  # fmt: skip
"""Page -> its template, the tables it shows (each exported as CSV too; a queue's page shows
one page of its table's rows, see `QUEUE_TABLES`) and the live events that refresh it."""
QUEUE_TABLES: dict[str, Callable[[list[dict[str, Any]]], Table]] = {
    "cases": partial(case_table, "cases"),
    "reviews": review_table,
}
"""A queue's page -> its table, of the rows of one of its pages (see `Store.queue_page`)."""


class Console:
    """What the handlers share: settings, Redis, the Kafka producer, templates, signing key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = auth.signing_key(settings.api_token)
        self.redis = settings.redis_client(
            decode_responses=True, socket_timeout=5, socket_connect_timeout=3
        )
        self.store = Store(self.redis, settings.redis_prefix)
        self.producer: AIOKafkaProducer | None = None
        self.workers = WorkersApi(settings.workers_api_url, settings.api_token)
        self.tasks: list[asyncio.Task[None]] = []
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["shown"] = shown
        self.templates.globals["nonce"] = lambda: secrets.token_urlsafe(12)
        self.templates.globals["snooze_days"] = SNOOZE_DAYS

    def page(
        self, request: web.Request, name: str, status: int = 200, **context: Any
    ) -> web.Response:
        """The page ``name``, or only its content when htmx refreshes it."""
        template = self.templates.get_template(name)
        context |= {
            "actor": request.get(ACTOR),
            "csrf": auth.csrf_token(self.key, request.get(COOKIE_VALUE) or ""),
            "path": request.path,
            "here": request.path_qs,
            "token_needed": self.settings.api_token is not None,
        }
        refresh = request.headers.get("HX-Target") == "content" and "content" in template.blocks
        if request.headers.get("HX-Request") and refresh:
            body = "".join(template.blocks["content"](template.new_context(context)))
        else:
            body = template.render(context)
        return web.Response(text=body, status=status, content_type="text/html")

    def actor_of(self, request: web.Request, cookie_actor: str | None) -> str | None:
        """Who acts: the sign-in proxy's header if one is configured, else the sign-in cookie's."""
        header = self.settings.console_user_header
        return (request.headers.get(header) if header else None) or cookie_actor


def _local(target: str | None) -> str:
    """``target`` if it is a path of this site, else the portfolio (no open redirects).

    >>> _local("/cases?x=1"), _local("//evil.example/"), _local("https://evil.example/")
    ('/cases?x=1', '/', '/')
    """
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Sign-in, CSRF and same-origin POSTs."""
    console = request.app[CONSOLE]
    # "null": the pages send no referrer, so browsers send no origin with their forms either.
    origin = request.headers.get("Origin", "null")
    if request.method == "POST" and origin != "null" and origin.split("://", 1)[-1] != request.host:
        return web.Response(status=403, text="cross-origin request refused")
    if not request.path.startswith(OPEN_PATHS):
        cookie = request.cookies.get(auth.COOKIE, "")
        signed_in = auth.cookie_actor(console.key, cookie)
        if signed_in is None:
            if request.headers.get("HX-Request"):
                return web.Response(status=401, headers={"HX-Redirect": "/signin"})
            raise web.HTTPSeeOther(f"/signin?next={quote(request.path_qs)}")
        request[ACTOR], request[COOKIE_VALUE] = console.actor_of(request, signed_in), cookie
        if request.method == "POST":
            form = await request.post()
            given = request.headers.get("X-CSRF-Token") or form.get("csrf")
            if not auth.checked_csrf(console.key, cookie, str(given or "")):
                return web.Response(status=403, text="the form is stale: reload the page")
    return await handler(request)


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(HEADERS)


async def signin_form(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    return console.page(
        request, "signin.html", next=_local(request.query.get("next")), problem=None,
        proxy_user=console.actor_of(request, None) or "",
    )  # fmt: skip


async def signin(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    form = await request.post()
    actor = console.actor_of(request, None) or str(form.get("actor", "")).strip()
    target = _local(str(form.get("next", "/")))
    problem = auth.actor_problem(actor)
    if not auth.token_matches(console.settings.api_token, str(form.get("token", ""))):
        problem = "that is not the token"
    if problem:
        await asyncio.sleep(FAILED_SIGNIN_DELAY)  # guessing the token takes its time
        return console.page(request, "signin.html", 401, next=target, problem=problem,
                            proxy_user=console.actor_of(request, None) or "")  # fmt: skip
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        auth.COOKIE,
        auth.signin_cookie(console.key, actor),
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
        path="/",
    )
    log.info("console: %s signed in", actor)
    raise response


async def signout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/signin")
    response.del_cookie(auth.COOKIE, path="/")
    raise response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _tables(request: web.Request, page: str, subject: str = "") -> dict[str, Table]:
    console = request.app[CONSOLE]
    try:
        tables = await PAGES[page][1](console.store, subject)
    except (RedisError, OSError) as error:
        raise web.HTTPServiceUnavailable(text=f"Redis is not reachable: {error}") from None
    return {table.name: table for table in tables}


def _page_handler(page: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        template, _, live = PAGES[page]
        console = request.app[CONSOLE]
        tables = await _tables(request, page)
        charts = await _charts(console.store) if page == "portfolio" else []
        return console.page(request, template, tables=tables, live=live, page=page,
                            charts=charts, fx=console.store.fx)  # fmt: skip

    return handler


def _page_asked(request: web.Request, name: str = "page") -> int:
    """The page number of the query's ``name`` (1 without one); not one, a 400."""
    try:
        return page_number(request.query, name)
    except PageError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def _queue_handler(page: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A queue's page, ``?page=N``: `PAGE` of its rows, in its order, and links to the pages
    before and after."""

    async def handler(request: web.Request) -> web.Response:
        number = _page_asked(request)
        console = request.app[CONSOLE]
        try:
            rows, total = await console.store.queue_page(page, number)
        except (RedisError, OSError) as error:
            raise web.HTTPServiceUnavailable(text=f"Redis is not reachable: {error}") from None
        table = QUEUE_TABLES[page](rows)
        template, _, live = PAGES[page]
        # The pending orders have no feed: /live watches the rows of the page shown.
        follow = f"/live?reviews={number}" if page == "reviews" else "/live"
        paging = Paging(number, total, PAGE)
        return console.page(request, template, tables={table.name: table}, live=live,
                            page=page, paging=paging, follow=follow)  # fmt: skip

    return handler


async def _charts(store: Store) -> list[Any]:
    """The portfolio's risk index and DSO over time, from its history's samples."""
    try:
        samples = await store.history()
    except (RedisError, OSError) as error:
        raise web.HTTPServiceUnavailable(text=f"Redis is not reachable: {error}") from None
    return [
        line_chart("Risk index (exposure-weighted mean score)", "score",
                   trend(samples, "risk_index")),
        line_chart("DSO (exposure-weighted mean, days)", "days", trend(samples, "dso")),
    ]  # fmt: skip


async def customer_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    customer_id = request.match_info["customer_id"]
    tables, (open_items, unavailable) = await asyncio.gather(
        _tables(request, "customer", customer_id), _open_items(console, customer_id)
    )
    picture = await console.store.customer(customer_id)
    if picture is None and not any(table.rows for table in tables.values()):
        raise web.HTTPNotFound(text=f"no customer {customer_id} in Redis")
    template, _, live = PAGES["customer"]
    return console.page(request, template, tables={**tables, open_items.name: open_items},
                        live=live, page="customer", customer_id=customer_id, picture=picture,
                        open_items_unavailable=unavailable)  # fmt: skip


async def _open_items(console: Console, customer_id: str) -> tuple[Table, str | None]:
    """The customer's open invoices from the workers' API, and why there are none if it did
    not say (None if it did)."""
    try:
        return open_items_table(await console.workers.open_items(customer_id)), None
    except WorkersUnavailable as error:
        return open_items_table([]), str(error)


async def open_items_export(request: web.Request) -> web.Response:
    """A customer's open invoices as CSV: ``/export/customer/open-items.csv?customer=``."""
    table, unavailable = await _open_items(request.app[CONSOLE], request.query.get("customer", ""))
    if unavailable:
        raise web.HTTPServiceUnavailable(text=f"open items are unavailable: {unavailable}")
    return csv_answer(table)


async def find_customer(request: web.Request) -> web.Response:
    """The search box of every page: to the customer page of the id typed."""
    customer_id = request.query.get("id", "").strip()
    if not customer_id:
        raise web.HTTPSeeOther("/")
    raise web.HTTPSeeOther(f"/customers/{quote(customer_id, safe='')}")


async def export(request: web.Request) -> web.Response:
    """A page's table as CSV: ``/export/{page}/{table}.csv`` (``?customer=`` for a
    customer's)."""
    page, name = request.match_info["page"], request.match_info["table"]
    if page not in PAGES:
        raise web.HTTPNotFound(text=f"no page {page}")
    tables = await _tables(request, page, request.query.get("customer", ""))
    if name not in tables:
        raise web.HTTPNotFound(text=f"no table {name} on {page}")
    return csv_answer(tables[name])


def csv_answer(table: Table, file_name: str | None = None) -> web.Response:
    """``table`` as a CSV file to download, named ``file_name`` (default: the table's name
    and the time now)."""
    name = file_name or f"riskstream-{table.name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    return web.Response(
        text=csv_text(table),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def audit_page(request: web.Request) -> web.Response:
    """The form that exports the audit trail for a range of days."""
    start, end = parse_range({})
    return request.app[CONSOLE].page(
        request, "audit.html", live="", page="audit", first=start.date(),
        last=(end - timedelta(days=1)).date(),
    )  # fmt: skip


async def audit_export(request: web.Request) -> web.Response:
    """Every review event (a person's action) of the range as CSV, with the versions in force
    in the output that answered it: ``/export/audit.csv?from=2026-03-01&to=2026-03-31``."""
    console = request.app[CONSOLE]
    try:
        start, end = parse_range(request.query)
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from None
    try:
        reviews = await read_reviews(
            console.settings.kafka_client, console.settings.topics.reviews, start, end
        )
    except KafkaError as error:
        raise web.HTTPServiceUnavailable(text=f"the broker is not reachable: {error}") from None
    try:
        answers = await console.store.answers_since(start.timestamp())
    except (RedisError, OSError) as error:
        raise web.HTTPServiceUnavailable(text=f"Redis is not reachable: {error}") from None
    name = f"riskstream-audit-{start:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}.csv"
    return csv_answer(audit_table(reviews, answers), name)


async def act(request: web.Request) -> web.StreamResponse:
    """Publish the review event of a submitted action form; a message for the page."""
    console = request.app[CONSOLE]
    form = await request.post()
    fields = {name: str(value) for name, value in form.items()}
    htmx = bool(request.headers.get("HX-Request"))
    try:
        event = review_event(fields.get("action", ""), fields, request[ACTOR], datetime.now(UTC))
    except ActionError as error:
        return console.page(request, "flash.html", 400, problem=str(error), event=None)
    try:
        assert console.producer is not None, "started with the app"
        await console.producer.send_and_wait(
            console.settings.topics.reviews, dumps(event), key=event.customer_id.encode()
        )
    except KafkaError as error:
        log.warning("console: %s not sent: %s", event.type, error)
        problem = f"the broker did not take it ({error}): try again"
        return console.page(request, "flash.html", 503, event=None, problem=problem)
    log.info("console: %s %s by %s", event.type, event.event_id, event.actor)
    if not htmx:
        raise web.HTTPSeeOther(_local(fields.get("back")))
    return console.page(request, "flash.html", problem=None, event=event)


async def live(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the name of each kind of thing that changed, as it changes;
    ``?reviews=N`` adds what page N of the order reviews shows."""
    console = request.app[CONSOLE]
    reviews_page = _page_asked(request, "reviews") if "reviews" in request.query else None
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        async for changed in console.store.changes(reviews_page=reviews_page):
            lines = [f"event: {name}\ndata: {name}\n\n" for name in sorted(changed)]
            await response.write("".join(lines or [": quiet\n\n"]).encode())
            if changed:  # what changes meanwhile comes in one go: a page at most once a second
                await asyncio.sleep(LIVE_PACE)
    except (ConnectionResetError, RedisError, OSError):
        pass  # the page went away, or Redis did: the browser reconnects
    return response


async def _follow_control(console: "Console", ready: asyncio.Event) -> None:
    """Follow the control topic: the ``fx`` document in force sets the rates of the totals."""
    log_of_control = ControlLog()

    async def take(record: Any) -> None:
        outcome = log_of_control.read(record.key, record.value)
        if isinstance(outcome, Activated) and isinstance(outcome.document.part, FxRates):
            console.store.fx = outcome.document.part
            log.info("console: rates %s in force", outcome.document.version)

    settings = console.settings
    await follow_topic(settings.kafka_client, settings.topics.control, take,
                       on_caught_up=ready.set)  # fmt: skip


async def _sample(console: "Console") -> None:
    """Sample the portfolio into its history every `SAMPLE_EVERY` seconds, from the start."""
    while True:
        try:
            customers = await console.store.customers()
            at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            await console.store.sample_once(sample(customers, console.store.fx, at), SAMPLE_EVERY)
        except (RedisError, OSError) as error:
            log.warning("console: no sample of the portfolio: %s", error)
        await asyncio.sleep(SAMPLE_EVERY)


async def _start(app: web.Application) -> None:
    console = app[CONSOLE]
    console.producer = AIOKafkaProducer(**console.settings.kafka_client, acks="all")
    try:
        await console.producer.start()
    except BaseException:
        await console.producer.stop()
        raise
    ready = asyncio.Event()
    console.tasks = [asyncio.create_task(_follow_control(console, ready))]
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([waiting, *console.tasks], timeout=CONTROL_WAIT,
                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    waiting.cancel()
    if console.tasks[0].done():
        console.tasks[0].result()  # the broker's error, as the producer's would be
    if not ready.is_set():
        log.warning(
            "console: the control topic is not read yet: until it is, totals stay per currency"
        )
    console.tasks.append(asyncio.create_task(_sample(console)))
    await console.workers.start()


async def _stop(app: web.Application) -> None:
    console = app[CONSOLE]
    for task in console.tasks:
        task.cancel()
    await asyncio.gather(*console.tasks, return_exceptions=True)
    if console.producer is not None:
        await console.producer.stop()
    await console.redis.aclose()
    await console.workers.close()


def serve(settings: Settings, announce: Callable[[str], None]) -> None:
    """Serve the console until interrupted (Ctrl-C, SIGTERM); ``announce`` is told its address
    once it listens. A broker that cannot be used raises a `KafkaError`, an address that
    cannot be bound an `OSError`."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings, announce))


async def _serve(settings: Settings, announce: Callable[[str], None]) -> None:
    runner = web.AppRunner(create_console(settings), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.console_bind, settings.console_port, shutdown_timeout=2)
        await site.start()
        announce(f"http://{settings.console_bind}:{settings.console_port}/")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def create_console(settings: Settings) -> web.Application:
    """The console's application; its producer starts with it."""
    app = web.Application(middlewares=[guard])
    app[CONSOLE] = Console(settings)
    app.on_response_prepare.append(secure_headers)
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    app.router.add_get("/signin", signin_form)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
    app.router.add_get("/health", health)
    app.router.add_get("/", _page_handler("portfolio"))
    app.router.add_get("/cases", _queue_handler("cases"))
    app.router.add_get("/reviews", _queue_handler("reviews"))
    app.router.add_get("/worklist", _page_handler("worklist"))
    app.router.add_get("/customers/", find_customer)
    app.router.add_get("/customers/{customer_id}", customer_page)
    app.router.add_get("/audit", audit_page)
    app.router.add_get("/export/audit.csv", audit_export)
    app.router.add_get("/export/customer/open-items.csv", open_items_export)
    app.router.add_get("/export/{page}/{table}.csv", export)
    app.router.add_post("/act", act)
    app.router.add_get("/live", live)
    app.router.add_static("/static/", HERE / "static")
    return app
