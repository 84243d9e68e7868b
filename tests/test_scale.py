"""The chip scale a detection candidate trains at: the portfolio's, unless it would shrink the small labelled
objects below what the detectors' finest feature map resolves; the reason is recorded."""
import pytest

from autodl_qgis.engine.train.scale import MIN_OBJECT_PIXELS, object_scale


@pytest.mark.parametrize(("sides", "portfolio", "expected"), [
    ([40.0] * 20, 0.5, 0.5),  # palm crowns: 20 px at half scale, enough
    ([12.0] * 20, 0.5, 0.75),  # 6 px at half scale, 9 px at three quarters
    ([4.0] * 20, 0.5, 1.0),  # too small at any scale but full: full
    ([4.0] * 2 + [60.0] * 18, 0.5, 0.5),  # a few small ones do not decide (10th percentile)
    ([4.0] * 3 + [60.0] * 17, 0.75, 1.0),  # ... many do
    ([12.0] * 20, 1.0, 1.0),  # the portfolio's full scale is never lowered
])
def test_the_small_objects_keep_enough_pixels(sides, portfolio, expected):
    scale, why = object_scale(portfolio, (448, 448), sides)
    assert scale == expected
    assert ("instead of the portfolio's" in why) == (scale != portfolio)
    if scale != 1.0:
        assert sorted(sides)[len(sides) // 10] * scale >= MIN_OBJECT_PIXELS


def test_chips_too_small_to_scale_and_chips_without_objects_keep_the_portfolio_rule():
    assert object_scale(0.5, (100, 100), [40.0] * 5)[0] == 1.0  # 50 px chips would be too small: not scaled
    assert object_scale(0.5, (448, 448), []) == (0.5, "the portfolio's scale (no labelled objects)")
    scale, why = object_scale(0.5, (448, 448), [12.0] * 10)
    assert why.startswith("scale 0.75 instead of the portfolio's 0.5") and "12 px" in why
