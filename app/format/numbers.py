"""Numbers as people write them: the one formatter for a limit, a target or a stage,
wherever it shows (the intake form, its messages, the builder's inputs, the versions
page)."""


def number_text(value: float | int | None) -> str:
    """1000000, 12.5, 0.25: never 1e+06 or 12.0; None is "" (an input left empty). Read
    back as a number, the text is the same number (the builder relies on it). A whole
    number of 1e15 or more keeps Python's own form, so no limit shows as a long row of
    digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
