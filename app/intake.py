"""Intake: turning what a requester typed into validated answers, field by field.

Each field type has one checker that returns the clean value or raises FieldProblem with
a message written for the requester. Messages say what is wrong and what would be right.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import func
from sqlmodel import Session, select

from app.conditions import evaluate
from app.definitions import FieldDefinition, ServiceDefinition
from app.errors import IntakeInvalid
from app.models import User

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class IncomingFile:
    filename: str
    content_type: str
    size: int
    file: BinaryIO


class FieldProblem(Exception):
    pass


def split_form(
    items: list[tuple[str, Any]],
) -> tuple[dict[str, list[str]], dict[str, list[IncomingFile]]]:
    """A posted form's (name, value) pairs as typed values and uploaded files; an empty
    file input (no filename) is no upload. Values that are files are duck-typed
    (filename, content_type, size, file) so this module needs no web framework."""
    values: dict[str, list[str]] = {}
    uploads: dict[str, list[IncomingFile]] = {}
    for key, item in items:
        if isinstance(item, str):
            values.setdefault(key, []).append(item)
        elif getattr(item, "filename", None):
            uploads.setdefault(key, []).append(IncomingFile(
                filename=item.filename, content_type=item.content_type or "",
                size=item.size or 0, file=item.file,
            ))
    return values, uploads


@dataclass
class Intake:
    """Validated answers plus the files to store with them."""

    answers: dict[str, Any]
    files: dict[str, list[IncomingFile]]


def _number_text(value: float) -> str:
    return f"{value:g}"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_control_characters(text: str) -> str:
    """Drops invisible control characters (which databases refuse or mangle, like NUL);
    tabs and line breaks stay."""
    return _CONTROL.sub("", text)


def _first(raw: list[str]) -> str:
    return without_control_characters(raw[0] if raw else "").strip()


def _check_text(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    text = _first(raw)
    if field.type == "text":
        text = " ".join(text.split())
    if not text:
        return None
    if field.max_length is not None and len(text) > field.max_length:
        raise FieldProblem(
            f"Use at most {field.max_length} characters (this has {len(text)})."
        )
    if field.min_length is not None and len(text) < field.min_length:
        raise FieldProblem(
            f"Use at least {field.min_length} characters (this has {len(text)})."
        )
    return text


def _check_number(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    # Thousands separators are common in amounts ("12 500", "12_500"); commas are not
    # accepted because "1,200" is a thousand in one country and a decimal in another.
    text = _first(raw).replace(" ", "").replace("_", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FieldProblem(
            "Enter a whole number, for example 12." if field.is_integer
            else "Enter a number, for example 1200 or 12.5 (with a point, no commas)."
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FieldProblem("Enter a number, for example 1200 or 12.5.")
    if field.is_integer and not value.is_integer():
        raise FieldProblem("Enter a whole number, for example 12.")
    if field.min is not None and value < field.min:
        raise FieldProblem(f"Enter {_number_text(field.min)} or more.")
    if field.max is not None and value > field.max:
        raise FieldProblem(f"Enter {_number_text(field.max)} or less.")
    return int(value) if value.is_integer() else value


def _check_date(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    text = _first(raw)
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldProblem("Enter a real date as YYYY-MM-DD, for example 2026-03-01.") from None


def _check_select(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    text = _first(raw)
    if not text:
        return None
    if text not in (field.options or []):
        raise FieldProblem("Choose one of the options listed.")
    return text


def _check_multi_select(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    chosen = [value for value in (v.strip() for v in raw) if value]
    if not chosen:
        return None
    unknown = [value for value in chosen if value not in (field.options or [])]
    if unknown:
        raise FieldProblem("Choose only from the options listed.")
    # Keep the form's order and drop repeats, whatever order the browser sent.
    return [option for option in field.options or [] if option in chosen]


def _check_checkbox(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    checked = any(value.strip().lower() in ("on", "true", "1", "yes") for value in raw)
    # An unticked required checkbox is a missing answer (e.g. "I agree").
    return True if checked else (None if field.required else False)


def _check_email(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    text = _first(raw)
    if not text:
        return None
    if len(text) > 254 or not EMAIL_PATTERN.match(text):
        raise FieldProblem("Enter an e-mail address like name@example.com.")
    return text


def _check_person(field: FieldDefinition, raw: list[str], session: Session) -> Any:
    text = _first(raw)
    if not text:
        return None
    # The picker shows "Name <email>"; accept that as well as a bare address.
    match = re.search(r"<([^>]+)>\s*$", text)
    email = (match.group(1) if match else text).strip().lower()
    active = select(User).where(User.is_active == True)  # noqa: E712
    person = session.exec(active.where(User.email == email)).first()
    if person is None and not match:
        # A typed full name is accepted when exactly one active person has it.
        named = session.exec(
            active.where(func.lower(User.name) == " ".join(text.lower().split())).limit(2)
        ).all()
        person = named[0] if len(named) == 1 else None
        if len(named) > 1:
            raise FieldProblem("Several people have that name: pick one from the list.")
    if person is None:
        raise FieldProblem("No active person of Baton matches: type part of a name or "
                           "e-mail and pick from the suggestions.")
    return {"id": person.id, "name": person.name, "email": person.email}


CHECKERS: dict[str, Callable[[FieldDefinition, list[str], Session], Any]] = {
    "text": _check_text,
    "long_text": _check_text,
    "number": _check_number,
    "date": _check_date,
    "select": _check_select,
    "multi_select": _check_multi_select,
    "checkbox": _check_checkbox,
    "email": _check_email,
    "person": _check_person,
}

DEFAULT_MAX_FILES = 5


def _check_files(
    field: FieldDefinition, files: list[IncomingFile], max_upload_mb: float
) -> list[IncomingFile]:
    files = [f for f in files if f.filename]
    max_files = field.max_files or DEFAULT_MAX_FILES
    if len(files) > max_files:
        raise FieldProblem(f"Attach at most {max_files} file{'s' if max_files > 1 else ''}.")
    limit_mb = min(field.max_size_mb or max_upload_mb, max_upload_mb)
    for incoming in files:
        if incoming.size > limit_mb * 1024 * 1024:
            raise FieldProblem(
                f"“{incoming.filename}” is {incoming.size / 1024 / 1024:.1f} MB; "
                f"the limit is {limit_mb:g} MB per file."
            )
    return files


def validate_intake(
    session: Session,
    *,
    definition: ServiceDefinition,
    values: Mapping[str, list[str]],
    uploads: Mapping[str, list[IncomingFile]],
    max_upload_mb: float,
) -> Intake:
    """Check every answer against the form; raise IntakeInvalid with every problem."""
    answers: dict[str, Any] = {}
    files: dict[str, list[IncomingFile]] = {}
    errors: dict[str, str] = {}
    for field in definition.fields:
        shown_if = definition.shown_if(field.key)
        if shown_if is not None and not evaluate(shown_if, answers):
            # Hidden by an earlier answer: never required, and a stray value is dropped.
            continue
        try:
            if field.type == "file":
                accepted = _check_files(field, uploads.get(field.key, []), max_upload_mb)
                value: Any = [f.filename for f in accepted] or None
                if accepted:
                    files[field.key] = accepted
            else:
                value = CHECKERS[field.type](field, list(values.get(field.key, [])), session)
        except FieldProblem as problem:
            errors[field.key] = str(problem)
            continue
        if value is None:
            if field.required:
                errors[field.key] = (
                    "Attach at least one file." if field.type == "file"
                    else "Tick this box to go on." if field.type == "checkbox"
                    else "This answer is required."
                )
            continue
        answers[field.key] = value
    if errors:
        raise IntakeInvalid(errors)
    return Intake(answers=answers, files=files)


def request_title(definition: ServiceDefinition, answers: Mapping[str, Any]) -> str:
    """The service's name, plus the first short text answer when there is one."""
    for field in definition.fields:
        if field.type == "text" and answers.get(field.key):
            return f"{definition.name}: {answers[field.key]}"[:300]
    return definition.name


# What the answers of one form may weigh in all, besides its files: room for long
# answers (a text field takes up to a megabyte) and the form's own encoding.
TEXT_ALLOWANCE_BYTES = 2 * 1024 * 1024


def body_allowance(definition: ServiceDefinition, max_upload_mb: float) -> int:
    """The largest body a filled-in form of this service can need: its text, and every
    file field holding as many files as it takes, each as large as it may be."""
    files = sum(
        (field.max_files or DEFAULT_MAX_FILES)
        * min(field.max_size_mb or max_upload_mb, max_upload_mb) * 1024 * 1024
        for field in definition.fields if field.type == "file"
    )
    return TEXT_ALLOWANCE_BYTES + int(files)
