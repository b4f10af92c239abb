"""The query API's routes in one table, and its OpenAPI document made from that table.

The worker registers its pages at the paths named here, and ``GET /v1/openapi.json``
answers the document built from the same routes and the pydantic models of the answers,
so the document cannot name a path the worker does not serve.

>>> document = openapi_document()
>>> document["openapi"][:3], sorted(document["paths"])[:2]
('3.1', ['/health', '/metrics'])
>>> document["paths"]["/v1/customers/{customer_id}"]["get"]["responses"]["404"]["description"]
'No customer of that id is known'
"""

from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Any

from openapi_pydantic import (
    Components,
    Header,
    Info,
    MediaType,
    OpenAPI,
    Operation,
    Parameter,
    PathItem,
    Response,
    Schema,
    SecurityScheme,
)
from openapi_pydantic.util import PydanticSchema, construct_open_api_with_schema_class
from pydantic import BaseModel

from streams.worker.answers import (
    ActionPage,
    AlertPage,
    CustomerAnswer,
    CustomerPage,
    DecisionPage,
    ErrorAnswer,
    Health,
    Readiness,
)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20


@dataclass(frozen=True)
class Route:
    """One page of the API: where it is, what it answers with each status."""

    path: str
    summary: str
    answers: dict[int, tuple[str, type[BaseModel] | None]]
    """Status -> (what it means, the model of the JSON body; None: not JSON)."""
    parameters: tuple[Parameter, ...] = ()
    token: bool = True
    """Whether it wants the bearer token (when one is set)."""


def _in_path(name: str, description: str) -> Parameter:
    return Parameter(name=name, param_in="path", required=True, description=description,
                     param_schema=Schema(type="string"))  # fmt: skip


def _in_query(name: str, description: str, schema: Schema) -> Parameter:
    return Parameter(name=name, param_in="query", required=False, description=description,
                     param_schema=schema)  # fmt: skip


CUSTOMER_ID = _in_path("customer_id", "The customer's id, as in its events")
LIMIT = _in_query(
    "limit",
    f"How many to answer, from 1 to {MAX_LIMIT}",
    Schema(type="integer", minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT),
)
CURSOR = _in_query(
    "cursor", "The `next` of the previous page; absent for the first", Schema(type="string")
)
TIER = _in_query(
    "tier", "Only customers now in this tier", Schema(type="string", enum=["low", "medium", "high"])
)

_RETRY_AFTER = Header(description="Seconds to wait before asking again",
                      param_schema=Schema(type="integer"))  # fmt: skip
_REFUSED = {
    401: ("A valid bearer token is needed: Authorization: Bearer <token>", ErrorAnswer),
}
_BAD_QUERY = {400: ("A query parameter is out of range; the error says which", ErrorAnswer)}
_REDIS_DOWN = {503: ("Redis, which keeps what is asked, cannot be reached", ErrorAnswer)}

ROUTES: dict[str, Route] = {
    "health": Route(
        "/health", "Liveness: the process serves requests", {200: ("Serving", Health)}, token=False
    ),
    "ready": Route(
        "/ready",
        "Readiness: the worker has its partitions and has recovered its table",
        {200: ("Ready", Readiness), 503: ("Rebalancing or recovering", Readiness)},
        token=False,
    ),
    "metrics": Route(
        "/metrics", "Prometheus metrics", {200: ("Text exposition format", None)}, token=False
    ),
    "openapi": Route(
        "/v1/openapi.json", "This document", {200: ("OpenAPI 3.1", None)}, token=False
    ),
    "ranking": Route(
        "/v1/customers",
        "Customers by score, highest first (of every tier without `tier`), a page at a time",
        {200: ("A page of the ranking", CustomerPage), **_BAD_QUERY, **_REFUSED, **_REDIS_DOWN},
        (TIER, LIMIT, CURSOR),
    ),
    "customer": Route(
        "/v1/customers/{customer_id}",
        "The customer's current risk, open invoices and latest alerts, from the worker that "
        "owns it (any worker forwards the question to it)",
        {
            200: ("The customer now", CustomerAnswer),
            **_REFUSED,
            404: ("No customer of that id is known", ErrorAnswer),
            503: (
                "The partitions are moving between workers, or the owner did not answer",
                ErrorAnswer,
            ),
        },
        (CUSTOMER_ID,),
    ),
    "alerts": Route(
        "/v1/customers/{customer_id}/alerts",
        "The customer's alerts, newest first, a page at a time (as many as Redis keeps)",
        {200: ("A page of alerts", AlertPage), **_BAD_QUERY, **_REFUSED, **_REDIS_DOWN},
        (CUSTOMER_ID, LIMIT, CURSOR),
    ),
    "decisions": Route(
        "/v1/customers/{customer_id}/decisions",
        "The decisions on the customer's orders, and people's reviews of those held, newest "
        "first, a page at a time",
        {
            200: ("A page of decisions and reviews", DecisionPage),
            **_BAD_QUERY,
            **_REFUSED,
            **_REDIS_DOWN,
        },
        (CUSTOMER_ID, LIMIT, CURSOR),
    ),
    "actions": Route(
        "/v1/customers/{customer_id}/actions",
        "The credit actions proposed for the customer, newest first, a page at a time",
        {200: ("A page of credit actions", ActionPage), **_BAD_QUERY, **_REFUSED, **_REDIS_DOWN},
        (CUSTOMER_ID, LIMIT, CURSOR),
    ),
}
"""Every page the worker serves, by name."""


def _operation(name: str, route: Route) -> Operation:
    responses = {}
    for status, (meaning, model) in route.answers.items():
        content = None if model is None else {
            "application/json": MediaType(media_type_schema=PydanticSchema(schema_class=model))
        }  # fmt: skip
        headers = {"Retry-After": _RETRY_AFTER} if status == 503 else None
        responses[str(status)] = Response(description=meaning, content=content, headers=headers)
    return Operation(
        operationId=name,
        summary=route.summary,
        parameters=list(route.parameters) or None,
        responses=responses,
        security=[{"bearer": []}] if route.token else [],
    )


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, as JSON-ready data."""
    document = OpenAPI(
        info=Info(
            title="riskstream query API",
            version=version("riskstream"),
            description="Customers' current risk, their alerts and proposed credit actions. "
            "Every error answers JSON with an `error`; 503s carry `Retry-After`.",
        ),
        paths={route.path: PathItem(get=_operation(name, route)) for name, route in ROUTES.items()},
        components=Components(
            securitySchemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
        ),
    )
    built = construct_open_api_with_schema_class(document)
    return built.model_dump(mode="json", by_alias=True, exclude_none=True)
