"""Industry risk: how risky each industry is, as the ``industry`` control document says.

The document maps industry codes (of NACE, SIC or any classification the credit reports
use), or their prefixes, to a level: low, medium or high; a code takes the level of its
longest prefix the document names. The built-in default names none: every industry is
unknown (None) until a document is in force.

>>> industry = IndustryRisk(levels={"C10": "low", "C": "medium", "F41.2": "high"})
>>> [industry.risk_of(code) for code in ("C10.7", "C20", "F41.20", "A01", None)]
[0.0, 0.5, 1.0, None, None]
>>> IndustryRisk().risk_of("C10.7") is None
True
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Level = Literal["low", "medium", "high"]
RISK_OF_LEVEL: dict[str, float] = {"low": 0.0, "medium": 0.5, "high": 1.0}
Code = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9.-]+$")]


class IndustryRisk(BaseModel):
    """The risk level of industry codes and their prefixes; see the module."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    levels: dict[Code, Level] = Field(default_factory=dict)

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
"""The built-in default: no industry's level is known."""
