"""What people type and browsers send, parsed in one place: one parser per kind of input
(a person, a flag, a number, a date, an e-mail address, a line of text).

Plain functions with no HTTP and no database: a text in, a clean value out, or
InputInvalid with a message written for the person who typed it. Every parser bounds its
text before anything else looks at it, and none of them backtracks: an answer of a
megabyte is refused after one length check, and the longest text a parser reads is a
few hundred characters (issue 12: one 40 KB answer once held a worker for 12 s in a
regular expression whose time grew with the square of its length).
"""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from zoneinfo import available_timezones

from app.rules.errors import DomainError

MAX_NAME_LENGTH = 120
MAX_EMAIL_LENGTH = 254
# "Name <e-mail>", what the person picker suggests.
MAX_PERSON_LENGTH = MAX_NAME_LENGTH + MAX_EMAIL_LENGTH + 3
# The longest number or date anyone types ("-1 234 567 890.25" is 17).
MAX_NUMBER_LENGTH = 40
MAX_FLAG_LENGTH = 10
# The longest IANA time zone name is 32 characters ("America/Argentina/ComodRivadavia").
MAX_TIME_ZONE_LENGTH = 64


class InputInvalid(DomainError):
    """What was typed or sent is not a value of its kind."""

    status_code = 422


class TooLong(InputInvalid):
    def __init__(self, *, limit: int, length: int):
        super().__init__(f"Use at most {limit} characters (this has {length}).")
        self.limit = limit
        self.length = length


def raw_limit(limit: int) -> int:
    """How long a text may be as sent, for a clean text of at most `limit` characters:
    room for the spaces, tabs and line breaks that cleaning takes out (a pasted,
    indented paragraph), and no more."""
    return 2 * limit + 100


def bounded(text: str, limit: int) -> str:
    """The text, if it has at most `limit` characters; TooLong otherwise. Call it before
    any other look at a text someone sent."""
    if len(text) > limit:
        raise TooLong(limit=limit, length=len(text))
    return text


def one_value(values: Sequence[str]) -> str:
    """The one value a single-value field sent ("" when none). A form sends a text, number,
    date, choice or checkbox once; twice is a hand-made post, refused rather than
    guessed."""
    if len(values) > 1:
        raise InputInvalid(f"Give one answer here, not {len(values)}.")
    return values[0] if values else ""


# Invisible control characters, which databases refuse or mangle (NUL); tabs and line
# breaks stay. A translation table, not a regular expression: one pass, nothing to undo.
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def without_control_characters(text: str) -> str:
    return text.translate(_CONTROL)


def clean_text(text: str, *, limit: int) -> str:
    """A text with its lines kept: bounded, control characters dropped, outer whitespace
    trimmed."""
    return without_control_characters(bounded(text, raw_limit(limit))).strip()


def collapsed_line(text: str) -> str:
    """The text on one line: control characters dropped, every run of whitespace one
    space, the ends trimmed. Not bounded (no regular expression reads it): one_line
    bounds it; the admin rules check a name's length after it, with their own message."""
    return " ".join(without_control_characters(text).split())


def one_line(text: str, *, limit: int) -> str:
    """A text on one line (collapsed_line), bounded before and after: the limit applies
    to the clean text."""
    return bounded(collapsed_line(bounded(text, raw_limit(limit))), limit)


# --- e-mail -------------------------------------------------------------------------------

# Only ever matched against at most MAX_EMAIL_LENGTH characters (see is_email).
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text: str) -> bool:
    """Whether a (clean) text looks like an e-mail address: something@domain.tld."""
    return len(text) <= MAX_EMAIL_LENGTH and EMAIL_PATTERN.match(text) is not None


# --- person -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonText:
    """Who someone named: `email` is the address in "Name <e-mail>" (what the picker
    suggests) or, without brackets, the whole text in lower case, which may be an
    address or a full name (`name`, None when the brackets gave an address)."""

    email: str
    name: str | None


def parse_person(text: str) -> PersonText | None:
    """What was typed to name a person; None for nothing. Refuses (TooLong) a text longer
    than a name and an address can be. Parsed from the end with rpartition: no
    regular expression, so no backtracking, whatever the text."""
    line = one_line(text, limit=MAX_PERSON_LENGTH)
    if not line:
        return None
    if line.endswith(">"):
        _name, bracket, address = line[:-1].rpartition("<")
        address = address.strip()
        if bracket and address and ">" not in address:
            # The address decides: two people may share a name.
            return PersonText(email=address.lower(), name=None)
    return PersonText(email=line.lower(), name=line.lower())


# --- flags --------------------------------------------------------------------------------

# What Baton's own pages send for yes and no: a checkbox's "on" (or the "1" a queue
# filter renders), a link's "1", a hidden input's "yes" or "no". Nothing else is guessed.
FLAG_ON = ("on", "1", "yes", "true")
FLAG_OFF = ("", "0", "no", "off", "false")
# An intake form's checkbox (templates/_macros.html renders value="on"): the browser
# sends "on" when it is ticked and nothing when it is not.
CHECKBOX_ON = ("on",)
CHECKBOX_OFF = ("",)


def parse_flag(
    text: str, *, on: Collection[str] = FLAG_ON, off: Collection[str] = FLAG_OFF
) -> bool:
    """True for a value in `on`, False for one in `off`, InputInvalid for anything else."""
    if len(text) <= MAX_FLAG_LENGTH:
        if text in on:
            return True
        if text in off:
            return False
    raise InputInvalid("This box is ticked or not: send nothing, or what the page sends.")


# --- numbers and dates --------------------------------------------------------------------

_DIGITS = frozenset("0123456789")


def _is_digits(text: str) -> bool:
    # Not str.isdigit: that is true for full-width ("１２"), superscript and other digits.
    return bool(text) and all(character in _DIGITS for character in text)


def parse_number(text: str, *, integer: bool = False) -> int | float | None:
    """A number as people type it: digits, perhaps a sign and a decimal point, with
    spaces between thousands ("12 500"); None for nothing. Commas are refused ("1,200"
    is a thousand in one country and a decimal in another), and so are Python's
    underscores, exponents ("1e1"), "inf" and "nan", and digits other than 0-9. A
    number of a whole-number field (`integer`) has no fraction other than zeros."""
    refusal = InputInvalid(
        "Enter a whole number, for example 12." if integer
        else "Enter a number, for example 1200 or 12.5 (with a point, no commas)."
    )
    if len(text) > MAX_NUMBER_LENGTH:
        raise refusal
    line = text.strip().replace(" ", "")
    if not line:
        return None
    unsigned = line[1:] if line[0] in "+-" else line
    whole, point, fraction = unsigned.partition(".")
    if not (
        (_is_digits(whole) or (point and not whole))
        and (_is_digits(fraction) or (not fraction and bool(whole)))
    ):
        raise refusal
    value = float(line)
    if integer and not value.is_integer():
        raise InputInvalid("Enter a whole number, for example 12.")
    return int(value) if value.is_integer() else value


def parse_date(text: str) -> date | None:
    """A date as YYYY-MM-DD, and only that (date.fromisoformat also reads "20260101" and
    "2026-W01-1"); None for nothing."""
    refusal = InputInvalid("Enter a real date as YYYY-MM-DD, for example 2026-03-01.")
    if len(text) > MAX_NUMBER_LENGTH:
        raise refusal
    line = text.strip()
    if not line:
        return None
    year, month, day = line[:4], line[5:7], line[8:]
    if not (len(line) == 10 and line[4] == line[7] == "-"
            and _is_digits(year) and _is_digits(month) and _is_digits(day)):
        raise refusal
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise refusal from None


def dates_out_of_order(first: date | None, last: date | None) -> str | None:
    """What is wrong with a "from … until" pair the wrong way round, or None: searched as
    typed it would find nothing, and "no match" would be the wrong answer."""
    if first and last and first > last:
        return (f"The dates are the wrong way round: “Filed from” ({first.isoformat()}) "
                f"is after “until” ({last.isoformat()}).")
    return None


# --- time zones ---------------------------------------------------------------------------


@cache
def time_zone_names() -> frozenset[str]:
    """The IANA names this system knows (read from disk once: the call walks the zone
    files)."""
    return frozenset(available_timezones())


def parse_time_zone(text: str) -> str | None:
    """An IANA time zone name as a browser reports it ("Europe/Berlin"), and only one
    this system knows; None for nothing."""
    if len(text) > MAX_TIME_ZONE_LENGTH:
        raise TooLong(limit=MAX_TIME_ZONE_LENGTH, length=len(text))
    line = text.strip()
    if not line:
        return None
    if line not in time_zone_names():
        raise InputInvalid("Choose a time zone from the list, written like Europe/Berlin "
                           "or America/New_York.")
    return line
