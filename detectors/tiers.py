"""Risk tiers with hysteresis, and when a change of risk is worth publishing.

A customer goes up a tier as soon as the score reaches the tier's cut-off, and comes down only
once the score falls below the cut-off minus a margin, so a score wavering around a cut-off
does not flap between tiers.

>>> tiers = TierPolicy(medium=40, high=70, margin=5)
>>> tiers.tier(72, previous="medium"), tiers.tier(67, previous="high"), tiers.tier(64, "high")
('high', 'high', 'medium')
>>> TierPolicy(medium=40, high=70, margin=50)  # doctest: +ELLIPSIS
Traceback (most recent call last):
pydantic_core._pydantic_core.ValidationError: 1 validation error for TierPolicy
  Value error, the margin 50 must be smaller than the medium cut-off 40 and than the gap ...
...
>>> should_publish(previous_score=50.0, previous_tier="medium", score=52.0, tier="medium",
...                min_delta=5.0)
False
"""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.outputs import Tier

TIERS: tuple[Tier, ...] = ("low", "medium", "high")


class TierPolicy(BaseModel):
    """Cut-offs (on the 0-100 score) of the medium and high tiers, and the margin to come down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field("default", min_length=1)
    medium: float = Field(40.0, ge=0, le=100)
    high: float = Field(70.0, ge=0, le=100)
    margin: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "TierPolicy":
        if not self.medium < self.high:
            raise ValueError("the medium cut-off must be below the high one")
        gap = self.high - self.medium
        if not self.margin < min(self.medium, gap):
            raise ValueError(
                f"the margin {self.margin:g} must be smaller than the medium cut-off "
                f"{self.medium:g} and than the gap between the cut-offs {gap:g}, or a customer "
                "could never come down a tier"
            )
        return self

    def _rank(self, score: float) -> int:
        return (score >= self.medium) + (score >= self.high)

    def tier(self, score: float, previous: Tier | None = None) -> Tier:
        """The tier of ``score`` for a customer whose tier was ``previous`` (None: first time)."""
        rising = self._rank(score)
        if previous is None:
            return TIERS[rising]
        holdable = self._rank(score + self.margin)
        return TIERS[min(max(TIERS.index(previous), rising), holdable)]


def should_publish(
    previous_score: float | None,
    previous_tier: Tier | None,
    score: float,
    tier: Tier,
    min_delta: float,
) -> bool:
    """Whether to publish a risk change: on the first score, on a change of tier, or when the
    score has moved by more than ``min_delta`` points since the last published score."""
    if previous_score is None or previous_tier != tier:
        return True
    return abs(score - previous_score) > min_delta
