"""Tiers with hysteresis, and the policy of publishing risk changes."""

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from detectors.tiers import TierPolicy, should_publish

TIERS = TierPolicy(medium=40, high=70, margin=5)


@pytest.mark.parametrize(
    ("score", "tier"),
    [(0, "low"), (39.9, "low"), (40, "medium"), (69.9, "medium"), (70, "high"), (100, "high")],
)
def test_a_first_score_takes_the_tier_of_its_cut_offs(score, tier):
    assert TIERS.tier(score) == tier


@pytest.mark.parametrize(
    ("previous", "score", "tier"),
    [
        ("low", 40, "medium"),  # up as soon as the cut-off is reached
        ("low", 75, "high"),  # two tiers up at once
        ("medium", 70, "high"),
        ("high", 65, "high"),  # 70 - 5 = 65 is not below the cut-off minus the margin
        ("high", 64.9, "medium"),
        ("medium", 35, "medium"),
        ("medium", 34.9, "low"),
        ("high", 10, "low"),  # two tiers down at once
        ("high", 34.9, "low"),
        ("high", 35, "medium"),
        ("medium", 69.9, "medium"),
        ("low", 39.9, "low"),
    ],
)
def test_up_at_the_cut_off_and_down_only_below_the_cut_off_minus_the_margin(previous, score, tier):
    assert TIERS.tier(score, previous) == tier


def _tiers_of(scores: list[float], start: str, policy: TierPolicy = TIERS) -> list[str]:
    tiers, tier = [], start
    for score in scores:
        tier = policy.tier(score, tier)
        tiers.append(tier)
    return tiers


def test_a_score_wavering_around_a_cut_off_does_not_flap():
    tiers = _tiers_of([68, 71, 67, 72, 66, 69.5, 65.5, 70.5, 66], start="medium")
    assert tiers == ["medium"] + ["high"] * 8


@given(st.lists(st.floats(65, 75), min_size=1, max_size=50), st.sampled_from(["low", "medium"]))
def test_within_the_margin_of_a_cut_off_the_tier_changes_at_most_once(scores, start):
    tiers = _tiers_of(scores, start)
    changes = sum(before != after for before, after in pairwise(tiers))
    assert changes <= 1


def test_without_a_margin_the_same_scores_flap():
    flappy = TierPolicy(medium=40, high=70, margin=0)
    tiers = _tiers_of([68, 71, 67, 72], start="medium", policy=flappy)
    assert tiers == ["medium", "high", "medium", "high"]


@pytest.mark.parametrize(
    "config",
    [{"medium": 70, "high": 70}, {"medium": 80, "high": 70}, {"margin": -1}, {"high": 120}],
)
def test_invalid_cut_offs_are_refused(config):
    with pytest.raises(ValidationError):
        TierPolicy.model_validate(config)


@pytest.mark.parametrize(
    ("previous_score", "previous_tier", "score", "tier", "publish"),
    [
        (None, None, 12.0, "low", True),  # never published
        (69.0, "medium", 70.0, "high", True),  # tier changed, however small the move
        (50.0, "medium", 55.0, "medium", False),  # exactly min_delta is not more than it
        (50.0, "medium", 55.01, "medium", True),
        (50.0, "medium", 44.0, "medium", True),  # falls count too
        (50.0, "medium", 50.5, "medium", False),  # noise
        (50.0, "medium", 49.0, "medium", False),
    ],
)
def test_publish_on_a_tier_change_or_a_move_of_more_than_min_delta(
    previous_score, previous_tier, score, tier, publish
):
    assert should_publish(previous_score, previous_tier, score, tier, min_delta=5.0) is publish


def test_a_slow_creep_is_published_once_it_adds_up_since_the_last_publication():
    published = 50.0
    sent = []
    for score in [52.0, 53.5, 54.0, 55.5, 56.0]:
        if should_publish(published, "medium", score, "medium", min_delta=5.0):
            sent.append(score)
            published = score
    assert sent == [55.5]
