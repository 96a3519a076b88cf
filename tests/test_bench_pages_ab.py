"""The interleaved A/B's statistics (bench/pages_ab.py): the difference it reports is the
one in the rounds, and the pair of servers is its unit, so a difference between two
processes does not pass for one between two versions."""

import random

import pytest

from bench.pages_ab import paired_difference

ROUNDS = [3.0, 3.2, 2.9, 3.5, 3.1, 4.0]


def test_two_sides_alike_differ_by_nothing():
    change = paired_difference([(ROUNDS, ROUNDS), (ROUNDS, ROUNDS)])

    assert (change.mean, change.low, change.high) == (0, 0, 0)


def test_the_difference_is_after_minus_before_round_by_round():
    faster = [t - 0.5 for t in ROUNDS]

    change = paired_difference([(ROUNDS, faster), (ROUNDS, faster)])

    assert change.mean == pytest.approx(-0.5)
    assert change.low == pytest.approx(-0.5) and change.high == pytest.approx(-0.5)


def test_one_pair_of_servers_apart_from_the_others_widens_the_interval_past_0():
    # Two pairs alike and one a millisecond slower after: the rounds alone (200 of 300
    # at 0) would say "0, certainly", or with that pair "slower, certainly"; one pair of
    # three disagreeing is what two processes of the same code can do.
    before = [5.0] * 100
    change = paired_difference([(before, before), (before, before), (before, [6.0] * 100)])

    assert change.low < 0 < 1 < change.high


def test_identical_servers_are_rarely_told_apart():
    # Each pair of processes a little apart (0.15 ms, as measured), rounds noisy
    # (0.3 ms), no difference between the versions: the interval holds 0 about 95 times
    # in 100.
    rng = random.Random(5)
    held = 0
    for _ in range(400):
        pairs = []
        for _pair in range(5):
            offset = rng.gauss(0, 0.15)
            before = [rng.gauss(5, 0.3) for _ in range(60)]
            pairs.append((before, [rng.gauss(5 + offset, 0.3) for _ in range(60)]))
        change = paired_difference(pairs)
        held += change.low <= 0 <= change.high
    assert 360 <= held <= 395


def test_a_pair_with_rounds_missing_on_one_side_or_too_few_pairs_is_refused():
    with pytest.raises(ValueError, match="as many rounds"):
        paired_difference([([1.0, 2.0], [1.0]), ([1.0], [1.0])])
    with pytest.raises(ValueError, match="two pairs"):
        paired_difference([(ROUNDS, ROUNDS)])
