"""Who and what the benchmark measures, found in the database through Baton's models,
so the runner works on any data (the bench seed, the demo) without knowing its names."""

import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, func
from sqlmodel import Session, col, select

from app.format.definitions import FieldDefinition, ServiceDefinition
from app.rules.catalog import current_version, definition_of
from app.rules.errors import IntakeInvalid
from app.rules.intake import validate_intake
from app.storage.models import (
    QUEUED_TASK_STATES,
    Membership,
    Service,
    ServiceRequest,
    StepKind,
    Task,
    TaskState,
    Team,
    TimelineEvent,
    User,
)
from bench.client import BenchError


@dataclass
class Subjects:
    team_slug: str
    team_queued: int  # the hot team's open and claimed tasks
    member_email: str
    member_claimed: int
    requester_email: str
    requester_requests: int
    request_id: int
    manager_email: str
    service_slug: str
    form: dict[str, list[str]]
    search_word: str  # a word of the titles in the hot team's queue
    task_ids: list[int] = field(default_factory=list)
    # The typed-answer report a manager would ask of the busiest service (issue 13).
    report_path: str = ""
    # Whether the form has a file field: a browser sends it as multipart/form-data then,
    # and URL-encoded otherwise (templates/catalog/service.html).
    form_has_files: bool = False


def _hot_team(session: Session) -> tuple[Team, int]:
    queued = func.count(col(Task.id))
    row = session.exec(
        select(Task.team_id, queued).where(col(Task.state).in_(QUEUED_TASK_STATES))
        .group_by(col(Task.team_id)).order_by(queued.desc()).limit(1)
    ).first()
    if row is None:
        raise BenchError("no team has open or claimed tasks: is the database seeded?")
    team = session.get(Team, row[0])
    assert team is not None
    return team, row[1]


def _queue_member(session: Session, team: Team) -> tuple[User, int]:
    """The active member of the team holding the most of its claimed tasks, so that
    "My work" has something to show."""
    members = session.exec(
        select(User).join(Membership, col(Membership.user_id) == User.id)
        .where(Membership.team_id == team.id, col(User.is_active))
        .order_by(col(User.id))
    ).all()
    if not members:
        raise BenchError(f"team {team.slug} has no active member")
    held = func.count(col(Task.id))
    claimed = dict(session.exec(
        select(Task.assignee_id, held)
        .where(Task.team_id == team.id, Task.state == TaskState.claimed)
        .group_by(col(Task.assignee_id))
    ).all())
    member = max(members, key=lambda user: claimed.get(user.id, 0))
    return member, claimed.get(member.id, 0)


def _search_word(session: Session, team: Team) -> str:
    """The longest word of the title of the team's newest queued task: what someone
    searching the queue for a request they heard of would type."""
    title = session.exec(
        select(Task.request_title)
        .where(Task.team_id == team.id, col(Task.state).in_(QUEUED_TASK_STATES))
        .order_by(col(Task.opened_at).desc()).limit(1)
    ).one()
    words = ["".join(c for c in word if c.isalnum()) for word in title.lower().split()]
    return max(words, key=len)


def _requester(session: Session) -> tuple[User, int, int]:
    """The active person with the most requests, and their request with the longest
    timeline (the heaviest request page they can open)."""
    made = func.count(col(ServiceRequest.id))
    row = session.exec(
        select(ServiceRequest.requester_id, made)
        .join(User, col(User.id) == ServiceRequest.requester_id).where(col(User.is_active))
        .group_by(col(ServiceRequest.requester_id)).order_by(made.desc()).limit(1)
    ).first()
    if row is None:
        raise BenchError("nobody has made a request: is the database seeded?")
    events = func.count(col(TimelineEvent.id))
    request_id = session.exec(
        select(ServiceRequest.id)
        .join(TimelineEvent, col(TimelineEvent.request_id) == ServiceRequest.id)
        .where(ServiceRequest.requester_id == row[0])
        .group_by(col(ServiceRequest.id)).order_by(events.desc(), col(ServiceRequest.id).desc())
        .limit(1)
    ).one()
    user = session.get(User, row[0])
    assert user is not None
    return user, row[1], request_id


def _manager(session: Session) -> User:
    manager = session.exec(
        select(User).where(col(User.is_manager), col(User.is_active)).order_by(col(User.id))
    ).first()
    if manager is None:
        raise BenchError("there is no active manager")
    return manager


def _answer(item: FieldDefinition, person_email: str) -> list[str]:
    if item.type in ("text", "long_text"):
        length = max(len("Benchmark request"), item.min_length or 0)
        length = min(length, item.max_length or length)
        # No spaces at the end: the text checker strips them and may then be too short.
        return [("Benchmark request" + "x" * length)[:length]]
    if item.type == "number":
        value = item.min if item.min is not None else min(1.0, item.max or 1.0)
        if item.is_integer:
            value = math.ceil(value)
        return [f"{value:g}"]
    if item.type in ("select", "multi_select"):
        return [(item.options or [""])[0]]
    if item.type == "date":
        return [(date.today() + timedelta(days=30)).isoformat()]
    if item.type == "email":
        return ["bench.answer@example.com"]
    if item.type == "checkbox":
        return ["on"]
    if item.type == "person":
        return [person_email]
    return []  # an optional file field: left empty


def fill_form(session: Session, definition: ServiceDefinition,
              person_email: str) -> dict[str, list[str]] | None:
    """Valid answers for every field, checked by the app's own intake rules; None when
    the form cannot be filled this way (a required file, limits that clash)."""
    if any(item.type == "file" and item.required for item in definition.fields):
        return None
    values = {item.key: _answer(item, person_email) for item in definition.fields}
    try:
        validate_intake(session, definition=definition, values=values, uploads={},
                        max_upload_mb=20)
    except IntakeInvalid:
        return None
    return values


def _service_form(session: Session, person_email: str
                  ) -> tuple[Service, dict[str, Any], bool]:
    """The fillable service with the most fields: the most validation work per submit;
    its form's values, and whether it has a file field."""
    best: tuple[int, Service, dict[str, Any], bool] | None = None
    services = session.exec(
        select(Service).where(col(Service.is_active), col(Service.current_version_id).is_not(None))
        .order_by(col(Service.slug))
    ).all()
    for service in services:
        version = current_version(session, service)
        definition = definition_of(version)
        values = fill_form(session, definition, person_email)
        if values is not None and (best is None or len(definition.fields) > best[0]):
            best = (len(definition.fields), service, {**values, "version_id": [str(version.id)]},
                    any(item.type == "file" for item in definition.fields))
    if best is None:
        raise BenchError("no active service has a form the benchmark can fill in")
    return best[1], best[2], best[3]


def report_path(session: Session) -> str:
    """The typed-answer report a manager would ask: `amount > 5000 and priority ==
    "High"` (the first number field, the first select field's last option) of the
    service with the most requests that has a number field (else of the busiest one),
    newest first: its first page and exact count."""
    services = session.exec(
        select(ServiceRequest.service_id).group_by(col(ServiceRequest.service_id))
        .order_by(func.count().desc()).limit(20)
    ).all()
    if not services:
        raise BenchError("no service has requests: is the database seeded?")
    forms = [(service, definition_of(current_version(session, service)))
             for service in (session.get_one(Service, service_id) for service_id in services)]
    service, definition = next(
        ((service, form) for service, form in forms
         if any(item.type == "number" for item in form.fields)), forms[0])
    parts = [f"{item.key} > 5000" for item in definition.fields if item.type == "number"][:1]
    parts += [f"{item.key} == {json.dumps((item.options or [''])[-1])}"
              for item in definition.fields if item.type == "select"][:1]
    query = urlencode({"where": " and ".join(parts)}) if parts else ""
    return f"/reports/{service.slug}" + (f"?{query}" if query else "")


def open_task_ids(session: Session, team: Team, limit: int) -> list[int]:
    """Open tasks (not approvals) of the team, newest first: claiming and completing
    them changes the oldest-first first page of the queue as little as possible."""
    return list(session.exec(
        select(Task.id).where(Task.team_id == team.id, Task.state == TaskState.open,
                              Task.kind == StepKind.task)
        .order_by(col(Task.opened_at).desc(), col(Task.id).desc()).limit(limit)
    ).all())


def discover(database_url: str, *, tasks_needed: int) -> Subjects:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            team, queued = _hot_team(session)
            member, claimed = _queue_member(session, team)
            requester, requests, request_id = _requester(session)
            manager = _manager(session)
            service, form, form_has_files = _service_form(session, requester.email)
            return Subjects(
                team_slug=team.slug, team_queued=queued,
                member_email=member.email, member_claimed=claimed,
                requester_email=requester.email, requester_requests=requests,
                request_id=request_id, manager_email=manager.email,
                service_slug=service.slug, form=form,
                search_word=_search_word(session, team),
                task_ids=open_task_ids(session, team, tasks_needed),
                report_path=report_path(session), form_has_files=form_has_files,
            )
    finally:
        engine.dispose()
