"""Control documents: versioned rule sets, scorecards, tier cut-offs, decision and credit policies.

A document is YAML or JSON with three keys: ``kind`` (which part of the engine's
`RiskConfig` it sets), ``version`` (its name, unique per kind; every output made with it
carries it) and ``body`` (that part's settings, without a version):

=============  ===================================  ===========================
kind           body                                  class
=============  ===================================  ===========================
``rules``      ``rules``: a list of rules             `detectors.rules.RuleSet`
``scorecard``  ``indicators``, ``top_reasons``        `detectors.scorecard.Scorecard`
``tiers``      ``medium``, ``high``, ``margin``       `detectors.tiers.TierPolicy`
``decisions``  the order decision policy              `detectors.decisions.DecisionPolicy`
``credit``     the credit action policy               `detectors.credit_actions.CreditPolicy`
``industry``   ``levels``, ``rating_scales``          `features.industry.IndustryRisk`
``model``      ``champion``, ``min_labels``           `detectors.champion.ModelChoice`
``fx``         ``reporting``, ``rates``              `schemas.fx.FxRates`
=============  ===================================  ===========================

The engine decides with all but ``fx``: exchange rates only serve those who read the
outputs (the console's totals), so an ``fx`` document leaves the engine's `RiskConfig` as it
is (`ENGINE_KINDS` are the others).

Pure: workers apply documents read from the control topic with it, and a backtest builds
its configuration from files with `config_from_files`.

>>> document = parse_document("kind: tiers\\nversion: tiers-2\\nbody: {medium: 35, high: 65}")
>>> config = apply_document(RiskConfig(), document)
>>> config.tiers.version, config.tiers.medium, config.rules.version
('tiers-2', 35.0, 'default-6')
>>> try:
...     parse_document("kind: tiers\\nversion: t3\\nbody: {medium: 80, high: 65}")
... except InvalidDocument as error:
...     print(error)
body: the medium cut-off must be below the high one
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detectors.champion import ModelChoice
from detectors.credit_actions import CreditPolicy
from detectors.decisions import DecisionPolicy
from detectors.rules import RuleSet, describe_invalid
from detectors.scorecard import Scorecard
from detectors.tiers import TierPolicy
from features.industry import IndustryRisk
from schemas.fx import FxRates
from streams.engine import RiskConfig

Kind = Literal["rules", "scorecard", "tiers", "decisions", "credit", "industry", "model", "fx"]
ENGINE_KINDS: dict[str, type[BaseModel]] = {
    "rules": RuleSet,
    "scorecard": Scorecard,
    "tiers": TierPolicy,
    "decisions": DecisionPolicy,
    "credit": CreditPolicy,
    "industry": IndustryRisk,
    "model": ModelChoice,
}
"""The kinds the engine decides with, by the name of the `RiskConfig` field each sets."""
READER_KINDS: dict[str, type[BaseModel]] = {"fx": FxRates}
"""The kinds only readers of the outputs use; the class's defaults are the built-in one."""
KINDS: dict[str, type[BaseModel]] = ENGINE_KINDS | READER_KINDS
"""Each kind of document and its class."""

BUILT_IN = "default"
"""The name ``rollback --to`` gives the built-in default of every kind; no document takes it."""


class InvalidDocument(ValueError):
    """A control document that cannot be used; the message says why, in one line."""


class _Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    version: str = Field(pattern=r"^[A-Za-z0-9_.:@+-]{1,64}$")
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ControlDocument:
    """A valid document: its kind, version, body as written, and the part of the config."""

    kind: Kind
    version: str
    body: dict[str, Any]
    part: BaseModel

    def to_json(self) -> bytes:
        """The document as published on the control topic."""
        return orjson.dumps({"kind": self.kind, "version": self.version, "body": self.body})

    def to_yaml(self) -> str:
        document = {"kind": self.kind, "version": self.version, "body": self.body}
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def parse_document(text: str | bytes) -> ControlDocument:
    """Validate a document (YAML or JSON); raises `InvalidDocument` saying what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidDocument(f"not valid YAML or JSON: {' '.join(str(error).split())}") from None
    except UnicodeDecodeError:
        raise InvalidDocument("not UTF-8 text") from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else "a list" if isinstance(data, list) else "a value"
        raise InvalidDocument(
            f"a control document is a mapping with kind, version and body, not {found}"
        )
    try:
        envelope = _Envelope.model_validate(data)
    except ValidationError as error:
        raise InvalidDocument(describe_invalid(error)) from None
    if "version" in envelope.body:
        raise InvalidDocument("body.version: give the version at the top of the document only")
    if is_built_in(envelope.kind, envelope.version):
        raise InvalidDocument(
            f"version: {envelope.version} names the built-in default: give the document another"
        )
    try:
        part = KINDS[envelope.kind].model_validate({**envelope.body, "version": envelope.version})
    except ValidationError as error:
        raise InvalidDocument(describe_invalid(error, within="body")) from None
    return ControlDocument(envelope.kind, envelope.version, envelope.body, part)


@cache
def built_in(kind: str) -> ControlDocument:
    """The built-in default of ``kind``, in force until a document of that kind is.

    >>> built_in("rules").version, built_in("tiers").body
    ('default-6', {'medium': 40.0, 'high': 70.0, 'margin': 5.0})
    >>> built_in("fx").version, built_in("fx").body
    ('default', {'reporting': None, 'rates': {}})
    """
    part: BaseModel = getattr(RiskConfig(), kind) if kind in ENGINE_KINDS else KINDS[kind]()
    body = part.model_dump(mode="json", exclude={"version"})
    return ControlDocument(kind, part.version, body, part)


def is_built_in(kind: str, version: str) -> bool:
    """Whether ``version`` names the built-in default of ``kind``: ``default`` or its own name.

    >>> is_built_in("rules", "default"), is_built_in("rules", "default-6")
    (True, True)
    >>> is_built_in("tiers", "default-6")
    False
    """
    return version in (BUILT_IN, built_in(kind).version)


def apply_document(config: RiskConfig, document: ControlDocument) -> RiskConfig:
    """A new configuration: ``config`` with the part ``document`` sets replaced (``config``
    itself for a kind only readers use)."""
    if document.kind not in ENGINE_KINDS:
        return config
    return replace(config, **{document.kind: document.part})


def read_document(path: Path) -> ControlDocument:
    """The document in a file; `InvalidDocument` names the file and what is wrong."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise InvalidDocument(f"{path}: cannot read it ({error.strerror})") from None
    try:
        return parse_document(text)
    except InvalidDocument as error:
        raise InvalidDocument(f"{path}: {error}") from None


def config_from_files(paths: Iterable[Path], base: RiskConfig | None = None) -> RiskConfig:
    """The configuration the documents in ``paths`` make, over ``base`` (the defaults).

    A later document of a kind replaces an earlier one; kinds without a document keep the
    base's part.
    """
    config = base or RiskConfig()
    for path in paths:
        config = apply_document(config, read_document(path))
    return config
