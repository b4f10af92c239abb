"""The ``industry`` control document: how risky each industry is, and how each source of
credit reports orders its ratings.

The document maps industry codes (of NACE, SIC or any classification the credit reports
use), or their prefixes, to a level: low, medium or high; a code takes the level of its
longest prefix the document names. The built-in default names none: every industry is
unknown (None) until a document is in force.

It also gives each source its rating scale, best first, so that a report's rating can be
compared with the same source's rating before (`features.bureau`): ratings of different
bureaus have no common order. The built-in default knows one scale, `BUILT_IN_SCALES`.

>>> industry = IndustryRisk(levels={"C10": "low", "C": "medium", "F41.2": "high"})
>>> [industry.risk_of(code) for code in ("C10.7", "C20", "F41.20", "A01", None)]
[0.0, 0.5, 1.0, None, None]
>>> IndustryRisk().risk_of("C10.7") is None
True
>>> IndustryRisk(rating_scales={"dnb": ["5A1", "5A2", "5A3", "5A4"]}).rating_scales
{'dnb': ('5A1', '5A2', '5A3', '5A4')}
>>> from pydantic import ValidationError
>>> try:
...     IndustryRisk(rating_scales={"dnb": ["5A1", "5A2", "5A1"]})
... except ValidationError as error:
...     print(error.errors()[0]["msg"])
Value error, '5A1' is listed twice: a scale lists each rating once, best first
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from schemas.events import Rating, Source

Level = Literal["low", "medium", "high"]
RISK_OF_LEVEL: dict[str, float] = {"low": 0.0, "medium": 0.5, "high": 1.0}
Code = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.-]+$")]


def _ordered(scale: Any) -> Any:
    """A list of at least two ratings, each once (checked as written: each is then checked as
    a rating)."""
    if not isinstance(scale, list | tuple):
        raise ValueError(f"a scale is a list of ratings, best first, not {type(scale).__name__}")
    if len(scale) < 2:
        raise ValueError(f"a scale orders at least two ratings, best first, not {len(scale)}")
    if odd := [rating for rating in scale if not isinstance(rating, str)]:
        raise ValueError(f"ratings are strings (quote those like numbers), not {odd[0]!r}")
    twice = next((rating for n, rating in enumerate(scale) if rating in scale[:n]), None)
    if twice is not None:
        raise ValueError(f"{twice!r} is listed twice: a scale lists each rating once, best first")
    return scale


RatingScale = Annotated[tuple[Rating, ...], BeforeValidator(_ordered)]
"""A source's ratings, best first, each once."""

BUILT_IN_SCALES: dict[str, tuple[str, ...]] = {"bureau": ("A", "B", "C", "D")}
"""The scale of the bureau ``riskstream generate --credit-reports`` makes up (source
``bureau``), known without a document; a document's ``rating_scales`` replace it."""


class IndustryRisk(BaseModel):
    """The risk level of industry codes and their prefixes, and the sources' rating scales;
    see the module."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    levels: dict[Code, Level] = Field(default_factory=dict)
    rating_scales: dict[Source, RatingScale] = Field(default_factory=lambda: dict(BUILT_IN_SCALES))

    def risk_of(self, code: str | None) -> float | None:
        """0, 0.5 or 1 for the level of ``code``'s longest prefix named; None if none is."""
        levels = self.levels
        if code is None or not levels:
            return None
        for end in range(len(code), 0, -1):
            level = levels.get(code[:end])
            if level is not None:
                return RISK_OF_LEVEL[level]
        return None


NO_INDUSTRY = IndustryRisk()
"""The built-in default: no industry's level is known, and only `BUILT_IN_SCALES`."""
