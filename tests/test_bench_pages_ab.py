"""The interleaved A/B's statistics (bench/pages_ab.py): the difference it reports is the
one in the rounds, and its interval widens when the pairs of servers disagree, so a
difference between two processes does not pass for one between two versions."""

import random

import pytest

from bench.pages_ab import paired_difference


def _rng() -> random.Random:
    return random.Random(7)


def test_two_sides_alike_differ_by_nothing():
    times = [3.0, 3.2, 2.9, 3.5, 3.1, 4.0]

    change = paired_difference([(times, times)], rng=_rng(), resamples=200)

    assert (change.median, change.low, change.high) == (0, 0, 0)


def test_the_difference_is_after_minus_before_round_by_round():
    before = [3.0, 3.2, 2.9, 3.5, 3.1, 4.0]
    after = [t - 0.5 for t in before]

    change = paired_difference([(before, after)], rng=_rng(), resamples=200)

    assert change.median == pytest.approx(-0.5)
    assert change.low == pytest.approx(-0.5) and change.high == pytest.approx(-0.5)


def test_one_pair_of_servers_apart_from_the_others_widens_the_interval():
    # Two pairs alike and one a millisecond slower after: the rounds alone (200 of 300
    # at 0) would say "0, certainly"; the pairs were three processes each, and one of
    # three disagreeing is what two processes of the same code can do.
    before = [5.0] * 100
    pairs = [(before, before), (before, before), (before, [6.0] * 100)]

    change = paired_difference(pairs, rng=_rng(), resamples=1000)

    assert change.median == 0
    assert change.low == 0 and change.high == pytest.approx(1)


def test_the_interval_narrows_with_rounds_that_agree():
    rng = random.Random(3)
    before = [rng.gauss(5, 0.5) for _ in range(400)]
    after = [t - 0.2 + rng.gauss(0, 0.1) for t in before]

    change = paired_difference([(before, after)], rng=_rng(), resamples=400)

    assert change.low <= change.median <= change.high < 0
    assert change.high - change.low < 0.05


def test_a_pair_with_rounds_missing_on_one_side_is_refused():
    with pytest.raises(ValueError, match="as many rounds"):
        paired_difference([([1.0, 2.0], [1.0])], rng=_rng())
    with pytest.raises(ValueError, match="no pairs"):
        paired_difference([], rng=_rng())
