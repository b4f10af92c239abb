"""The payment trend: how much later than in the long run a customer pays lately, and how
irregularly it pays, from its settlements alone."""

import pytest

from features.behaviour import PaymentBehaviour
from features.eventtime import DAY
from features.items import Settlement
from features.stats import DECAY_EPOCH

HALF_LIFE = 90 * DAY


def _paid(days_after_due: list[int], every: int = 7) -> PaymentBehaviour:
    """A settlement a week, each so many days after its due date."""
    behaviour = PaymentBehaviour()
    for week, days in enumerate(days_after_due):
        settlement = Settlement(DECAY_EPOCH + week * every * DAY, f"p{week}", days, days > 0)
        behaviour.record_settlement(settlement, HALF_LIFE)
    return behaviour


def test_a_customer_that_pays_as_it_always_did_has_no_trend():
    steady = _paid([3] * 30)
    assert steady.days_late_trend == pytest.approx(0.0)
    assert steady.days_late_spread == pytest.approx(0.0, abs=1e-6)


def test_a_customer_slipping_a_few_days_a_week_shows_it_within_weeks():
    slipping = _paid([0] * 20 + [3 * week for week in range(1, 9)])
    assert slipping.days_late_trend > 7  # recent weeks weigh far more in the short mean
    assert slipping.days_late_spread < 12
    assert _paid([0] * 20 + [3 * week for week in range(1, 3)]).days_late_trend < 7


def test_an_irregular_payer_has_a_wide_spread():
    irregular = _paid([0, 30, 2, 35, 0, 40, 1, 28] * 3)
    assert irregular.days_late_spread > 12


def test_no_trend_before_three_settlements_and_a_withdrawn_one_leaves_none():
    behaviour = _paid([5, 9])
    assert behaviour.days_late_trend is None
    third = Settlement(DECAY_EPOCH + 30 * DAY, "p9", 20, True)
    behaviour.record_settlement(third, HALF_LIFE)
    assert behaviour.days_late_trend is not None
    behaviour.record_settlement(third, HALF_LIFE, sign=-1)  # a bounced payment takes it back
    assert behaviour.days_late_trend is None
    assert behaviour.to_row(DECAY_EPOCH + 31 * DAY) == _paid([5, 9]).to_row(DECAY_EPOCH + 31 * DAY)


def test_a_record_from_before_the_trend_starts_its_days_after_due_afresh():
    now = DECAY_EPOCH + 400 * DAY
    before = _paid([4] * 10).to_row(now)[:9]  # the row as it was kept before the trend
    loaded = PaymentBehaviour.from_row(before)
    assert (loaded.settled, loaded.avg_days_late) == (10, pytest.approx(4.0))
    assert loaded.avg_days_after_due is None and loaded.days_late_trend is None
    for week in range(3):
        later = Settlement(now + week * 7 * DAY, f"q{week}", 9, True)
        loaded.record_settlement(later, HALF_LIFE)
    assert loaded.avg_days_after_due == pytest.approx(9.0)
    assert loaded.days_late_trend == pytest.approx(0.0)
    assert loaded.days_late_spread == pytest.approx(0.0, abs=1e-6)
