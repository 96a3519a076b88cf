"""The age of open work a drill-down link asks for: `age`, a bucket of
app.reads.insights.AGE_BUCKETS, counted at `at`, the moment the number on the page was
counted (Unix seconds), so the list holds the tasks that number counted (less those
decided since) however long the page was open before the click."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import HTTPException, Query

from app.reads.insights import AGE_BUCKETS, age_bounds

AgeQuery = Annotated[str, Query(max_length=4)]
AtQuery = Annotated[str, Query(max_length=20)]


def age_label(bucket: int) -> str:
    low, high = AGE_BUCKETS[bucket]
    return f"{low}–{high} d" if high else f"{low}+ d"


AGE_LABELS = [age_label(n) for n in range(len(AGE_BUCKETS))]


@dataclass(frozen=True)
class OpenedWithin:
    """Bounds for TaskFilter.opened_after / opened_until, and the words for a title."""

    after: datetime | None
    until: datetime | None
    label: str
    params: dict[str, str]  # what a link to the same list carries


def opened_within(age: str, at: str, *, now: datetime) -> OpenedWithin | None:
    """The bounds `age` and `at` ask for; None when no age is asked. A bucket or a moment
    that is not one is a 400 with words saying so; a moment in the future is now."""
    if not age:
        return None
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if not (age.isascii() and age.isdecimal()) or int(age) >= len(AGE_BUCKETS):
        raise HTTPException(status_code=400, detail="There is no such age of open work.")
    bucket = int(age)
    moment = now
    if at:
        if not (at.isascii() and at.isdecimal()):
            raise HTTPException(status_code=400, detail="The moment counted at is not a time.")
        try:
            moment = min(now, datetime.fromtimestamp(int(at), UTC))
        except (OverflowError, OSError, ValueError):
            raise HTTPException(status_code=400,
                                detail="The moment counted at is not a time.") from None
    after, until = age_bounds(bucket, now=moment)
    if until is None and at:
        # The youngest bucket ends at the count: a task opened after it is not one the
        # number counted. The page counted at a whole second within that second, so
        # every task opened in it is kept.
        until = moment + timedelta(seconds=1) - timedelta(microseconds=1)
    return OpenedWithin(after, until, f"open {age_label(bucket)}",
                        {"age": str(bucket), "at": str(int(moment.timestamp()))})


def counted_at(now: datetime) -> str:
    """The `at` a page puts in its drill-down links for numbers counted at `now`."""
    return str(int(now.timestamp()))
