"""Intake: turning what a requester typed into validated answers, field by field.

Each field type has one checker that returns the clean value or raises FieldProblem with
a message written for the requester. Messages say what is wrong and what would be right.
"""

import os
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlmodel import Session

from app.format.conditions import evaluate
from app.format.definitions import FieldDefinition, ServiceDefinition
from app.format.numbers import number_text
from app.rules.directory import active_people_meant, people_to_pick
from app.rules.errors import IntakeInvalid
from app.rules.inputs import (
    CHECKBOX_OFF,
    CHECKBOX_ON,
    MAX_EMAIL_LENGTH,
    InputInvalid,
    TooLong,
    bounded,
    clean_text,
    is_email,
    one_line,
    one_value,
    parse_date,
    parse_flag,
    parse_number,
    parse_person,
    raw_limit,
    without_control_characters,
)

# The longest answer a text field takes when its definition sets no max_length: every
# answer is bounded (issue 12), and these are far beyond what a form asks for.
DEFAULT_MAX_LENGTH = {"text": 1_000, "long_text": 20_000}


@dataclass
class IncomingFile:
    filename: str
    content_type: str
    size: int
    file: BinaryIO


class FieldProblem(Exception):
    pass


MAX_FILENAME_LENGTH = 255
# Characters no file name needs: C0/C1 controls (NUL, line breaks, escape), format
# characters (right-to-left overrides that make "exe.pdf" read as "fdp.exe"), and line
# and paragraph separators.
_NOT_IN_FILENAMES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def clean_filename(name: str) -> str:
    """A file name as a browser sent it, made fit to show and to offer for download: the
    base name only (some browsers send a whole path, with / or \\), without control or
    format characters, runs of white space as one space, at most MAX_FILENAME_LENGTH
    characters with the extension kept; "file" when nothing usable is left."""
    # Bounded first (keeping the end, where the base name is).
    name = unicodedata.normalize("NFC", name[-16 * MAX_FILENAME_LENGTH:])
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Line breaks and tabs become spaces; other controls go.
    name = " ".join(name.split())
    name = "".join(c for c in name if unicodedata.category(c) not in _NOT_IN_FILENAMES)
    name = " ".join(name.split())
    if not name.strip("."):
        return "file"
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 16:
            name = f"{stem[:MAX_FILENAME_LENGTH - len(extension) - 1]}.{extension}"
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def _size_of(item: Any) -> int:
    size = getattr(item, "size", None)
    if isinstance(size, int):
        return size
    item.file.seek(0, os.SEEK_END)
    size = int(item.file.tell())
    item.file.seek(0)
    return size


def split_form(
    items: list[tuple[str, Any]],
) -> tuple[dict[str, list[str]], dict[str, list[IncomingFile]]]:
    """A posted form's (name, value) pairs as typed values and uploaded files; an empty
    file input (no filename) is no upload. Values that are files are duck-typed
    (filename, content_type, size, file) so this module needs no web framework. File
    names are cleaned here (clean_filename), so every later use sees the clean one."""
    values: dict[str, list[str]] = {}
    uploads: dict[str, list[IncomingFile]] = {}
    for key, item in items:
        if isinstance(item, str):
            values.setdefault(key, []).append(item)
        elif getattr(item, "filename", None):
            uploads.setdefault(key, []).append(IncomingFile(
                filename=clean_filename(item.filename),
                content_type=(item.content_type or "")[:120],
                size=_size_of(item), file=item.file,
            ))
    return values, uploads


@dataclass
class Intake:
    """Validated answers plus the files to store with them."""

    answers: dict[str, Any]
    files: dict[str, list[IncomingFile]]


def _one(raw: list[str]) -> str:
    """The answer of a single-value field, as sent; posted twice is a problem."""
    try:
        return one_value(raw)
    except InputInvalid as invalid:
        raise FieldProblem(invalid.message) from None


def _check_text(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    # Bounded before anything reads it: a megabyte is refused after one length check.
    limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
    try:
        text = (one_line(_one(raw), limit=limit) if field.type == "text"
                else clean_text(_one(raw), limit=limit))
        if not text:
            return None
        bounded(text, limit)
    except TooLong as too_long:
        raise FieldProblem(
            f"Use at most {limit} characters (this has {too_long.length})."
        ) from None
    if field.min_length is not None and len(text) < field.min_length:
        raise FieldProblem(
            f"Use at least {field.min_length} characters (this has {len(text)})."
        )
    return text


def _check_number(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    try:
        value = parse_number(_one(raw), integer=field.is_integer)
    except InputInvalid as invalid:
        raise FieldProblem(invalid.message) from None
    if value is None:
        return None
    if field.min is not None and value < field.min:
        raise FieldProblem(f"Enter {number_text(field.min)} or more.")
    if field.max is not None and value > field.max:
        raise FieldProblem(f"Enter {number_text(field.max)} or less.")
    return value


def _check_date(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    try:
        day = parse_date(_one(raw))
    except InputInvalid as invalid:
        raise FieldProblem(invalid.message) from None
    return day.isoformat() if day else None


def _option(field: FieldDefinition, value: str) -> str | None:
    """The option a value names ("" for none), or None when it names none of them. No
    option is longer than 120 characters: a much longer value is none, unread."""
    options = field.options or []
    if len(value) > raw_limit(max((len(option) for option in options), default=0)):
        return None
    text = without_control_characters(value).strip()
    return text if not text or text in options else None


def _check_select(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    text = _option(field, _one(raw))
    if text is None:
        raise FieldProblem("Choose one of the options listed.")
    return text or None


def _check_multi_select(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    options = field.options or []
    chosen = [_option(field, value) for value in raw]
    if None in chosen:
        raise FieldProblem("Choose only from the options listed.")
    if not any(chosen):
        return None
    # Keep the form's order and drop repeats, whatever order the browser sent.
    return [option for option in options if option in chosen]


def _check_checkbox(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    try:
        checked = parse_flag(_one(raw), on=CHECKBOX_ON, off=CHECKBOX_OFF)
    except InputInvalid:
        raise FieldProblem("Tick the box or leave it empty.") from None
    # An unticked required checkbox is a missing answer (e.g. "I agree").
    return True if checked else (None if field.required else False)


def _check_email(field: FieldDefinition, raw: list[str], _s: Session) -> Any:
    not_an_address = FieldProblem("Enter an e-mail address like name@example.com.")
    try:
        text = one_line(_one(raw), limit=MAX_EMAIL_LENGTH)
    except TooLong:
        raise not_an_address from None
    if not text:
        return None
    if not is_email(text):
        raise not_an_address
    return text


def _check_person(field: FieldDefinition, raw: list[str], session: Session, *,
                  names_people: bool = False) -> Any:
    """`names_people`: part of a name is answered with the people it could mean (the web
    form, whose person already sees them as the picker's suggestions); elsewhere (the
    API, which has no search of people) with "nobody matches", naming no one."""
    nobody = FieldProblem("No active person of Baton matches: type part of a name or "
                          "e-mail and pick from the suggestions.")
    try:
        typed = parse_person(_one(raw))
    except TooLong:
        raise nobody from None
    if typed is None:
        return None
    # The picker shows "Name <email>"; that, a bare address or a full name that exactly
    # one active person has is accepted.
    meant = active_people_meant(session, typed)
    if len(meant) > 1:
        raise FieldProblem("Several people have that name: pick one from the list.")
    if not meant:
        to_pick = people_to_pick(session, _one(raw)) if names_people else None
        raise FieldProblem(to_pick) if to_pick else nobody
    person = meant[0]
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
        if incoming.size == 0:
            # Usually a file still being written, or a cloud placeholder: the teams
            # would get nothing, so say so now rather than when they open it.
            raise FieldProblem(
                f"“{incoming.filename}” is empty (0 bytes): attach the file with its "
                "content, or leave it out."
            )
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
    names_people: bool = False,
) -> Intake:
    """Check every answer against the form; raise IntakeInvalid with every problem.
    `names_people`: see _check_person."""
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
            elif field.type == "person":
                value = _check_person(field, list(values.get(field.key, [])), session,
                                      names_people=names_people)
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
