"""Numbers as people write them: the one formatter for a limit, a target or a stage,
wherever it shows (the intake form, its messages, the builder's inputs, the versions
page), and for a duration in a table cell (the insights' pages and CSVs)."""


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


def duration(seconds: float | None) -> str:
    """A duration in words short enough for a table cell: 40 s, 12 min, 5 h, 3 d 4 h."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes and hours < 10 else f"{hours} h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days} d {hours} h" if hours and days < 14 else f"{days} d"
