"""Declarative alert rules over a customer's features and the current event, with cooldowns.

A `RuleSet` is a versioned document (YAML or JSON) of rules. A rule says ``when`` it fires: a
comparison ``{field, op, value}`` or ``all``/``any`` of conditions, nested at will. Fields are
the flat names of `FIELDS` (``features.*`` and ``event.*``); ops are ``> >= < <= == != in``.
Nothing is evaluated as code: a condition is data, checked against the known fields when the
document is loaded, and so is the ``message`` template, whose ``{field}`` or ``{field:spec}``
placeholders are filled with the values (``n/a`` for an absent one).

An absent value (None: no credit limit, no event, too little history for a z-score) makes
every comparison false except ``== null`` (true) and ``!= null`` (false). Money fields are
exact: their values are Decimals and so are the thresholds they are compared with.

A rule that fired for a customer stays quiet for that customer for its ``cooldown``, an ISO
8601 duration (``PT30M``, ``P1D``, ``P2W``...), in event time. The state of the cooldowns,
kept by the engine per customer, is the event time of each rule's last hit.

>>> from datetime import UTC, datetime, timedelta
>>> rules = RuleSet.model_validate({"version": "r1", "rules": [{
...     "id": "late", "description": "An invoice over 30 days past due",
...     "when": {"field": "features.days_past_due", "op": ">", "value": 30},
...     "severity": "warning", "cooldown": "P7D",
...     "message": "{features.days_past_due} days past due"}]})
>>> now = datetime(2026, 3, 1, tzinfo=UTC)
>>> first = rules.evaluate({"features.days_past_due": 45}, {}, now)
>>> [(hit.rule_id, hit.message, hit.ruleset_version) for hit in first.hits]
[('late', '45 days past due', 'r1')]
>>> rules.evaluate({"features.days_past_due": 46}, first.cooldowns, now + timedelta(days=1)).hits
[]
"""

import difflib
import math
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from detectors.frozen import Frozen
from features import Features, Summary
from features.catalog import FEATURES
from schemas.events import EVENT_TYPES, InputEvent
from schemas.ids import derive_id
from schemas.money import money_text
from schemas.outputs import Alert, Scalar, Severity, Versions

FieldKind = Literal["number", "money", "text", "event_type"]


_FEATURES: dict[str, tuple[FieldKind, Callable[[Features], Any]]] = {
    name: (feature.kind, feature.read) for name, feature in FEATURES.items()
}
"""Every named feature (:mod:`features.catalog`), as ``features.<name>``."""


def _field(event: InputEvent, name: str) -> Any:
    """A field of the event, None for a type of event without it. (A model's fields are in its
    ``__dict__``; getattr with a default would raise and catch an error for every absent one.)"""
    return vars(event).get(name)


def _amount(event: InputEvent) -> Decimal | None:
    money = _field(event, "amount")
    return None if money is None else money.amount


_EVENT: dict[str, tuple[FieldKind, Callable[[InputEvent], Any]]] = {
    "type": ("event_type", operator.attrgetter("type")),
    "amount": ("money", _amount),
    "currency": ("text", lambda e: getattr(_field(e, "amount"), "currency", None)),
    "reason": ("text", lambda e: _field(e, "reason")),
    "outcome": ("text", lambda e: _field(e, "outcome")),
}

_HISTORY = {"order.placed": "order_amount_stats", "payment.received": "payment_amount_stats"}
MIN_STD = 1.0
"""The standard deviation of a z-score is taken as at least this (a currency unit), so that a
customer who always paid exactly the same has a finite z-score for a different amount."""


def _without(stats: Summary, value: float) -> Summary:
    """The statistics as they were before ``value`` was added (Welford's update undone)."""
    count = stats.count - 1
    mean = (stats.mean * stats.count - value) / count if count else 0.0
    m2 = stats.std**2 * (stats.count - 1) - (value - mean) * (value - stats.mean)
    std = math.sqrt(max(m2, 0.0) / (count - 1)) if count > 1 else 0.0
    return Summary(count, mean, std, stats.min_count)


def _history(features: Features, event: InputEvent) -> Summary | None:
    """The customer's amounts of this kind of event before it; None without enough of them."""
    name, amount = _HISTORY.get(event.type), _amount(event)
    if name is None or amount is None or getattr(features, name).count < 1:
        return None
    before = _without(getattr(features, name), float(amount))
    return before if before.count >= before.min_count else None


def _zscore(features: Features, event: InputEvent) -> float | None:
    before = _history(features, event)
    amount = _amount(event)
    if before is None or amount is None:
        return None
    return (float(amount) - before.mean) / max(before.std, MIN_STD)


def _usual(features: Features, event: InputEvent) -> float | None:
    before = _history(features, event)
    return None if before is None else before.mean


_EVENT_HISTORY: dict[str, tuple[FieldKind, Callable[[Features, InputEvent], Any]]] = {
    "amount_zscore": ("number", _zscore),
    "amount_mean": ("number", _usual),
}

GIVEN: dict[str, FieldKind] = {"features.dso_change_30d": "number", "event.days_late": "number"}
"""The fields the features and the event do not hold: the caller of `rule_inputs` gives them,
from what it remembers of the customer or learns from the event's transitions."""

FIELDS: dict[str, FieldKind] = {
    **{f"features.{name}": kind for name, (kind, _) in _FEATURES.items()},
    **GIVEN,
    **{f"event.{name}": kind for name, (kind, _) in _EVENT.items()},
    **{f"event.{name}": kind for name, (kind, _) in _EVENT_HISTORY.items()},
}
"""Every field a rule can read, with its kind. The ``features.*`` are the named features of
:mod:`features.catalog`: besides the `Features` of the same names,
``features.aging_{current,1_30,31_60,61_90,over_90}`` (open balances by days past due),
``has_credit_limit``, ``has_payment_history`` (true or false),
``orders_{1h,1d,30d}`` and ``order_amount_{1h,1d,30d}`` (the windows),
``order_amount_mean/std`` and ``payment_amount_mean/std`` (all of the customer's orders and
payments so far), ``payment_gap_mean_days``; ``features.disputed_invoices`` (invoices disputed
so far); ``features.dso_excess_days`` (DSO minus the payment terms, None without terms);
``features.order_amount_1d_vs_30d_avg`` (the last day's order amount over the average daily
amount of the last 30 days, which includes that day: at most 30; None without orders);
``features.dso_change_30d`` (DSO now minus the DSO of about 30 days before, from weekly marks
kept in the customer's record: given by the engine; None with less than 30 days of
marks); what credit reports say (:mod:`features.bureau`), None without one:
``features.bureau_score`` (0-1, higher is safer), ``bureau_rating``, ``report_age_days``,
``payment_index``, ``leverage``, ``negative_equity`` (true or false), ``bureau_score_drop``
and ``bureau_rating_drop`` (since the same source's report before; the rating's steps down
the source's scale, 0 when not known), ``industry_code`` and ``industry_risk`` (the
``industry`` control document's level and scales).
``event.type``; ``event.amount`` and ``event.currency`` (of an order, invoice, payment or
dispute); ``event.reason`` (of a reversed payment: bounced or reversed); ``event.outcome``
(of a resolved dispute); ``event.amount_zscore`` and ``event.amount_mean``: the amount of an
order or payment against the customer's earlier ones (None until there are
``FeatureConfig.zscore_min_count`` of them); ``event.days_late``: the most days after their
due dates of the invoices the event settled (given by the engine from the event's
transitions; None when it settled none).
"""


_Reader = Callable[[Features, InputEvent | None, Mapping[str, Any]], Any]


def _of_features(read: Callable[[Features], Any]) -> _Reader:
    return lambda features, event, given: read(features)


def _of_event(read: Callable[[InputEvent], Any]) -> _Reader:
    return lambda features, event, given: None if event is None else read(event)


def _of_history(read: Callable[[Features, InputEvent], Any]) -> _Reader:
    return lambda features, event, given: None if event is None else read(features, event)


def _of_given(name: str) -> _Reader:
    return lambda features, event, given: given.get(name)


_READERS: dict[str, _Reader] = {
    **{f"features.{name}": _of_features(read) for name, (_, read) in _FEATURES.items()},
    **{name: _of_given(name) for name in GIVEN},
    **{f"event.{name}": _of_event(read) for name, (_, read) in _EVENT.items()},
    **{f"event.{name}": _of_history(read) for name, (_, read) in _EVENT_HISTORY.items()},
}
"""How to read each field of `FIELDS` from the features, the event and what is given."""


class RuleInputs(dict[str, Any]):
    """The flat mapping rules read, each field read when a rule first asks for it
    (``inputs[name]``) and kept: most steps, the rules read few of the fields, since a rule
    stops at its first condition that fails.

    What ``features``, ``event`` and ``given`` mean is said in `rule_inputs`.

    >>> from datetime import UTC, datetime
    >>> from features import CustomerState
    >>> features = CustomerState.new("c1").features(datetime(2026, 1, 1, tzinfo=UTC))
    >>> inputs = RuleInputs(features, None)
    >>> inputs["features.days_past_due"], inputs["event.type"], dict(inputs)
    (0, None, {'features.days_past_due': 0, 'event.type': None})
    """

    __slots__ = ("_event", "_features", "_given")

    def __init__(
        self,
        features: Features,
        event: InputEvent | None,
        given: Mapping[str, Any] = MappingProxyType({}),
    ) -> None:
        super().__init__()
        self._features, self._event, self._given = features, event, given

    def __missing__(self, name: str) -> Any:
        value = self[name] = _READERS[name](self._features, self._event, self._given)
        return value


def rule_inputs(
    features: Features,
    event: InputEvent | None,
    names: Iterable[str] | None = None,
    given: Mapping[str, Any] = MappingProxyType({}),
) -> dict[str, Any]:
    """The fields ``names`` (default: all of `FIELDS`) that rules read, all read at once.

    ``features`` is the snapshot *after* ``event`` was applied (the event's own amount is
    taken out of the customer's statistics for its z-score). ``event`` is None when only time
    passed: every ``event.*`` field is then None. The fields of `GIVEN` are taken from
    ``given`` (None when it lacks one).
    """
    inputs = RuleInputs(features, event, given)
    return {name: inputs[name] for name in (FIELDS if names is None else names)}


_ORDERING = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
Op = Literal[">", ">=", "<", "<=", "==", "!=", "in"]


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name, FIELDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (see detectors.rules.FIELDS)"
    return f"unknown field {name!r}{hint}"


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{field} holds numbers, not {value!r}")
    return value


def _money(field: str, value: Any) -> Decimal:
    try:
        amount = None if isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValueError(f"{field} holds amounts of money, not {value!r}")
    return amount


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} holds text, not {value!r}")
    return value


def _event_type(field: str, value: Any) -> str:
    if _text(field, value) not in EVENT_TYPES:
        close = difflib.get_close_matches(value, EVENT_TYPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown event type {value!r}{hint}")
    return value


_THRESHOLDS: dict[FieldKind, Callable[[str, Any], Any]] = {
    "number": _number, "money": _money, "text": _text, "event_type": _event_type,
}  # fmt: skip
"""How a value in a rule becomes what a field of each kind is compared with, or why not."""


@dataclass(frozen=True, slots=True)
class _Compare:
    """A comparison ready to run: the threshold already of the field's kind."""

    field: str
    op: str
    expected: Any

    def holds(self, inputs: Mapping[str, Any]) -> bool:
        actual, expected, op = inputs[self.field], self.expected, self.op
        if op == "==":
            return actual == expected
        if op == "in":
            return actual in expected
        if actual is None:
            return False
        return actual != expected if op == "!=" else _ORDERING[op](actual, expected)

    def event_types(self) -> frozenset[str | None] | None:
        """The event types (None: time passing) for which it can hold; None for any."""
        if self.field != "event.type" or self.op not in ("==", "in"):
            return None
        return self.expected if self.op == "in" else frozenset((self.expected,))


@dataclass(frozen=True, slots=True)
class _Every:
    parts: tuple["_Check", ...]

    def holds(self, inputs: Mapping[str, Any]) -> bool:
        # A loop: all() over a generator costs twice as much, on every step of every customer.
        for part in self.parts:  # noqa: SIM110
            if not part.holds(inputs):
                return False
        return True

    def event_types(self) -> frozenset[str | None] | None:
        limits = [types for part in self.parts if (types := part.event_types()) is not None]
        return frozenset.intersection(*limits) if limits else None


@dataclass(frozen=True, slots=True)
class _Some:
    parts: tuple["_Check", ...]

    def holds(self, inputs: Mapping[str, Any]) -> bool:
        for part in self.parts:  # noqa: SIM110 (as in _Every)
            if part.holds(inputs):
                return True
        return False

    def event_types(self) -> frozenset[str | None] | None:
        limits = [part.event_types() for part in self.parts]
        return None if None in limits else frozenset().union(*limits)


_Check = _Compare | _Every | _Some


class Comparison(Frozen):
    """``field op value``: true when the field's value compares so; see the module."""

    field: str
    op: Op
    value: Scalar | list[Scalar]

    @field_validator("field")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in FIELDS:
            raise ValueError(_unknown_field(name))
        return name

    @model_validator(mode="after")
    def _comparable(self) -> "Comparison":
        self.compile()
        return self

    def compile(self) -> _Check:
        op, value, field = self.op, self.value, self.field
        threshold = _THRESHOLDS[FIELDS[field]]
        if op == "in":
            if not isinstance(value, list) or not value:
                raise ValueError(f"'in' needs a non-empty list of values, not {value!r}")
            return _Compare(field, op, frozenset(threshold(field, item) for item in value))
        if isinstance(value, list):
            raise ValueError(f"{op!r} compares with one value, not a list (use 'in')")
        if op in _ORDERING and FIELDS[field] not in ("number", "money"):
            raise ValueError(f"{op!r} compares numbers; {field} holds text (use == or in)")
        absent = op in ("==", "!=") and value is None
        return _Compare(field, op, None if absent else threshold(field, value))

    def fields(self) -> Iterable[str]:
        return (self.field,)


class AllOf(Frozen):
    """True when all of its conditions are."""

    all: tuple["Condition", ...] = Field(min_length=1)

    def compile(self) -> _Check:
        return _Every(tuple(condition.compile() for condition in self.all))

    def fields(self) -> Iterable[str]:
        return (name for condition in self.all for name in condition.fields())


class AnyOf(Frozen):
    """True when any of its conditions is."""

    any: tuple["Condition", ...] = Field(min_length=1)

    def compile(self) -> _Check:
        return _Some(tuple(condition.compile() for condition in self.any))

    def fields(self) -> Iterable[str]:
        return (name for condition in self.any for name in condition.fields())


def _condition_kind(document: Any) -> str:
    if isinstance(document, BaseModel):
        return {AllOf: "all", AnyOf: "any"}.get(type(document), "compare")
    keys = document.keys() if isinstance(document, dict) else ()
    return "all" if "all" in keys else "any" if "any" in keys else "compare"


Condition = Annotated[
    Annotated[Comparison, Tag("compare")] | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")],
    Discriminator(_condition_kind),
]  # fmt: skip
AllOf.model_rebuild()
AnyOf.model_rebuild()

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (no years or months,
    which have no fixed length).

    >>> parse_duration("P1DT12H"), parse_duration("PT0S")
    (datetime.timedelta(days=1, seconds=43200), datetime.timedelta(0))
    """
    if text.startswith("-"):
        raise ValueError(f"{text!r} is negative: give a duration of zero or more, such as PT0S")
    found = _DURATION.fullmatch(text)
    if found is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration such as PT30M, P1D or P1DT12H "
            "(weeks, days, hours, minutes, seconds; no years or months)"
        )
    parts = {unit: float(amount) for unit, amount in found.groupdict().items() if amount}
    return timedelta(**parts)


_PLACEHOLDER = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}")
_SAMPLES: dict[FieldKind, tuple[Any, ...]] = {
    "number": (1, 1.5),
    "money": (Decimal("1.5"),),
    "text": ("x",),
    "event_type": ("order.placed",),
}


def _check_template(text: str) -> str:
    for found in _PLACEHOLDER.finditer(text):
        name, spec = found[1], found[2] or ""
        if name not in FIELDS:
            raise ValueError(f"placeholder {{{name}}}: {_unknown_field(name)}")
        try:
            for sample in _SAMPLES[FIELDS[name]]:
                format(sample, spec)
        except (ValueError, TypeError):
            raise ValueError(f"placeholder {found[0]}: bad format for {FIELDS[name]}") from None
    rest = _PLACEHOLDER.sub("", text)
    if "{" in rest or "}" in rest:
        raise ValueError("a brace in the message is not part of a {field} placeholder")
    return text


def _show(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _scalar(value: Any) -> Scalar:
    return money_text(value) if isinstance(value, Decimal) else value


class Rule(Frozen):
    """One rule; see the module for the language of ``when`` and ``message``."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    description: str = Field(min_length=1)
    when: Condition
    severity: Severity
    cooldown: str = Field(description="ISO 8601 duration, per customer, in event time")
    message: str = Field(min_length=1)

    @field_validator("cooldown")
    @classmethod
    def _duration(cls, text: str) -> str:
        parse_duration(text)
        return text

    @field_validator("message")
    @classmethod
    def _template(cls, text: str) -> str:
        return _check_template(text)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the rule reads, in its conditions or its message."""
        named = (found[1] for found in _PLACEHOLDER.finditer(self.message))
        return tuple(dict.fromkeys([*self.when.fields(), *named]))

    def compile(self) -> "_Active":
        return _Active(
            self.id,
            self.severity,
            parse_duration(self.cooldown),
            self.when.compile(),
            self.fields,
            self.message,
        )


@dataclass(frozen=True, slots=True)
class _Active:
    """A rule ready to run."""

    id: str
    severity: Severity
    cooldown: timedelta
    check: _Check
    fields: tuple[str, ...]
    message: str

    def hit(self, inputs: Mapping[str, Any], version: str) -> "RuleHit":
        message = _PLACEHOLDER.sub(lambda m: _show(inputs[m[1]], m[2] or ""), self.message)
        details = {name: _scalar(inputs[name]) for name in self.fields}
        return RuleHit(self.id, self.severity, message, version, details)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that fired: which, how severe, its message, and the values it read."""

    rule_id: str
    severity: Severity
    message: str
    ruleset_version: str
    details: dict[str, Scalar]

    def alert(
        self, customer_id: str, event_time: datetime, source_event_id: str, versions: Versions
    ) -> Alert:
        """The hit as an alert; its id derives from the rule, the customer and the event that
        caused it (time passing, ``clock@...``, is the same cause for every customer)."""
        return Alert(
            alert_id=derive_id("alert", "rule", self.rule_id, customer_id, source_event_id),
            kind="rule",
            severity=self.severity,
            message=self.message,
            customer_id=customer_id,
            event_time=event_time,
            source_event_id=source_event_id,
            details={"rule_id": self.rule_id, **self.details},
            versions=versions.model_copy(update={"ruleset": self.ruleset_version}),
        )


@dataclass(frozen=True, slots=True)
class RuleResult:
    """The hits of one evaluation and the cooldown state to keep for the customer."""

    hits: list[RuleHit]
    cooldowns: dict[str, datetime]


class RuleSet(Frozen):
    """A versioned set of rules with unique ids; loads from a control document.

    `RuleSet.model_validate(document)` or `RuleSet.from_yaml(text)`; `describe_invalid` says
    in one line why a document was refused.
    """

    version: str = Field(min_length=1)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> "RuleSet":
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return self

    @cached_property
    def active(self) -> tuple[_Active, ...]:
        """The rules ready to run, compiled once (their conditions were checked when loaded); a
        cached property, not a private attribute, which pydantic reads slowly."""
        return tuple(rule.compile() for rule in self.rules)

    @cached_property
    def for_event_type(self) -> dict[str | None, tuple[_Active, ...]]:
        """The rules that can fire on each type of event (None: time passing): a rule that
        asks for another type (``event.type == ...`` or ``in``) is not even looked at."""
        return {
            event_type: tuple(
                rule
                for rule in self.active
                if (types := rule.check.event_types()) is None or event_type in types
            )
            for event_type in (*sorted(EVENT_TYPES), None)
        }

    @classmethod
    def from_yaml(cls, text: str) -> "RuleSet":
        """Load a rule set from YAML (safely: plain data only)."""
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ValueError(f"not valid YAML: {' '.join(str(error).split())}") from None
        return cls.model_validate(document)

    @cached_property
    def ids(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules)

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field some rule reads: pass them to `rule_inputs` to compute only those."""
        return frozenset(name for rule in self.active for name in rule.fields)

    def evaluate(
        self, inputs: Mapping[str, Any], cooldowns: Mapping[str, datetime], now: datetime
    ) -> RuleResult:
        """The rules that fire at event time ``now`` and are not cooling down.

        ``inputs`` are `RuleInputs`, or any mapping of the fields (one it lacks reads None).
        ``cooldowns`` maps rule ids to the event time of their last hit for this customer;
        the result's cooldowns are the same with the new hits, without rules no longer in the
        set.
        """
        if not isinstance(inputs, RuleInputs):
            inputs = defaultdict(type(None), inputs)
        ids = self.ids
        kept = {rule_id: when for rule_id, when in cooldowns.items() if rule_id in ids}
        hits = []
        for rule in self.for_event_type[inputs["event.type"]]:
            last_hit = kept.get(rule.id)
            if last_hit is not None and now < last_hit + rule.cooldown:
                continue  # still cooling down
            if rule.check.holds(inputs):
                hits.append(rule.hit(inputs, self.version))
                kept[rule.id] = now
        return RuleResult(hits, kept)


def load_rulepack(name: str = "default") -> RuleSet:
    """A rule pack shipped in ``detectors/rulepacks/``.

    >>> load_rulepack().version
    'default-6'
    """
    text = resources.files("detectors").joinpath("rulepacks", f"{name}.yaml").read_text()
    return RuleSet.from_yaml(text)


def describe_invalid(error: ValidationError, limit: int = 3, within: str = "") -> str:
    """A one-line reason a configuration document was refused: 'where: what' for each problem.

    ``within`` prefixes every 'where', for a document nested in another.

    >>> try:
    ...     RuleSet.model_validate({"version": "v2", "rules": [{"id": "x"}]})
    ... except ValidationError as error:
    ...     print(describe_invalid(error, limit=1))
    rules.0.description: Field required (and 4 more)
    """
    problems = []
    for item in error.errors(include_url=False)[:limit]:
        where = ".".join(str(part) for part in ([within] if within else []) + list(item["loc"]))
        problems.append(f"{where or '<document>'}: " + item["msg"].removeprefix("Value error, "))
    extra = error.error_count() - limit
    return "; ".join(problems) + (f" (and {extra} more)" if extra > 0 else "")
