"""Numbers as people write them (app/format/numbers.py): the one formatter the intake
form, its messages, the builder and the versions page share."""

import pytest

from app.format.numbers import number_text


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    (0, "0"),
    (3, "3"),
    (10.0, "10"),
    (12.5, "12.5"),
    (0.25, "0.25"),
    (1_000_000.0, "1000000"),
    (-1234567.5, "-1234567.5"),
    (1e16, "1e+16"),
])
def test_a_number_is_written_as_people_write_it(value: float | int | None, text: str):
    assert number_text(value) == text


@pytest.mark.parametrize("value", [0.1, 2.5, 1e6, 123456789.125, 1e300, -7.0])
def test_the_text_reads_back_as_the_same_number(value: float):
    assert float(number_text(value)) == value
