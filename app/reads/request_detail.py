"""Everything the request page shows, gathered in a fixed number of queries.

The timeline shows its newest events (TIMELINE_PAGE of them) and offers the earlier ones
a page at a time, so that a request with thousands of comments is still one small page:
what the page needs from older events (why a step was skipped, who ended the request)
is read on its own.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Integer, bindparam, case
from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.format.condition_words import reworded_skip_reason
from app.format.definitions import FieldDefinition
from app.format.stages import skip_reason
from app.reads.expected_finish import RequestExpectation, request_expectation
from app.reads.request_rows import Event, StepTask
from app.rules.catalog import kept_definition, kept_definition_by_id
from app.rules.following import following_columns, follows
from app.rules.policy import RequestAccess, access_as, requester_may_approve, team_on_request
from app.storage.driver_reads import DriverRead, rows_of
from app.storage.models import (
    Attachment,
    EventKind,
    RequestState,
    Service,
    ServiceRequest,
    ServiceVersion,
    Task,
    TaskState,
    Team,
    TimelineEvent,
    User,
)
from app.storage.snapshots import Snapshot

TIMELINE_PAGE = 50


@dataclass
class AnswerLine:
    field: FieldDefinition
    value: Any
    attachments: list[Attachment]


@dataclass
class StepLine:
    task: StepTask
    team_name: str
    assignee_name: str | None
    instructions: str
    # Why a skipped step is not needed (without a leading "Not needed:", which the
    # page says already), for the requester and the teams to read.
    skip_reason: str | None = None
    # An approval step the requester may decide on their own request (rule 7).
    requester_may_approve: bool = False


@dataclass
class StageGroup:
    """Steps that open together (an enforced service's stage), numbered from 1 in the
    order they come, whatever numbers the definition gave its stages."""

    number: int
    steps: list[StepLine]

    @property
    def together(self) -> bool:
        return len(self.steps) > 1


@dataclass
class TimelineLine:
    event: Event
    actor_name: str
    step_name: str | None
    # A skip reason recorded in the condition's own syntax, worded for people (never
    # written back: the event stays as it was recorded).
    reworded: str | None = None

    @property
    def skip_reason(self) -> str:
        if self.event.kind != EventKind.task_skipped:
            return ""
        return without_prefix(self.reworded or self.event.note)


@dataclass
class TimelinePage:
    """Consecutive events of a request's timeline, oldest first; `earlier_before` is the
    id of the first of them when earlier events exist (where "show earlier" goes on)."""

    request_id: int
    lines: list[TimelineLine]
    earlier_before: int | None = None


@dataclass
class RequestDetail:
    request: ServiceRequest
    service: Service
    version: ServiceVersion
    requester: User
    answers: list[AnswerLine]
    steps: list[StepLine]
    timeline: TimelinePage
    ordering: str = "enforced"
    # The event that rejected or cancelled the request, for the notice on top.
    ending: TimelineLine | None = None
    # How long it usually takes, while it is open (display only).
    expected: RequestExpectation | None = None
    # Whether the viewer follows the request (app.rules.inbox), when asked, and whether
    # they chose to (then the request's moves reach them too, as they reach its requester).
    following: bool | None = None
    chose_to_follow: bool = False

    @property
    def stages(self) -> list[StageGroup]:
        """The steps grouped by stage, in order (flexible services: one group)."""
        groups: list[StageGroup] = []
        for step in self.steps:
            if groups and groups[-1].steps[-1].task.stage == step.task.stage:
                groups[-1].steps.append(step)
            else:
                groups.append(StageGroup(len(groups) + 1, [step]))
        return groups

    @property
    def has_parallel_stages(self) -> bool:
        return self.ordering == "enforced" and any(group.together for group in self.stages)


def without_prefix(reason: str) -> str:
    """A skip reason as the page words it after "Not needed": the recorded note may
    begin with those words itself."""
    text = reason.strip()
    if text.lower().startswith("not needed"):
        text = text[len("not needed"):].lstrip(" :—-").strip()
    return text


# The page's statements, built once with bound parameters: building a select, its
# comparisons and an alias of User again for every page cost more CPU than running them
# (about 0.5 ms a page on SQLite); SQLAlchemy then finds each compiled in its cache.
_REQUEST = bindparam("request_id", type_=Integer)
_HEAD = (select(ServiceVersion, Service, User)
         .join(Service, col(Service.id) == ServiceVersion.service_id)
         .join(User, col(User.id) == bindparam("requester_id", type_=Integer))
         .where(ServiceVersion.id == bindparam("version_id", type_=Integer)))
# The same with whether the viewer follows the request (app.rules.inbox.follows).
_HEAD_FOLLOWING = _HEAD.add_columns(*following_columns(
    _REQUEST, bindparam("viewer_id", type_=Integer)))
_ASSIGNEE = aliased(User, name="assignee")
# A skipped step's reason as it was written when it was skipped (its newest such event),
# read with the step rather than in a statement of its own after the steps (a quarter of
# the requests have one; on PostgreSQL a round trip each): only for a skipped step.
_SKIP_NOTE = (select(TimelineEvent.note)
              .where(TimelineEvent.request_id == _REQUEST, TimelineEvent.task_id == Task.id,
                     TimelineEvent.kind == EventKind.task_skipped, TimelineEvent.note != "")
              .order_by(col(TimelineEvent.id).desc()).limit(1).scalar_subquery())
# The task's columns, not a Task: the page only shows them, and an object each, kept by
# the session, cost a fifth of the statement (0.04 ms a page, SQLite 20k).
_STEPS = (core_select(*Task.__table__.columns,  # type: ignore[attr-defined]
                      col(Team.name).label("team_name"),
                      col(_ASSIGNEE.name).label("assignee_name"),
                      case((col(Task.state) == TaskState.skipped, _SKIP_NOTE),
                           else_=None).label("skip_note"))
          .join(Team, col(Team.id) == Task.team_id)
          .outerjoin(_ASSIGNEE, _ASSIGNEE.id == col(Task.assignee_id))  # type: ignore[arg-type]
          .where(col(Task.request_id) == _REQUEST)
          .order_by(col(Task.position)))
_STEPS_READ = DriverRead(_STEPS)
_ATTACHMENTS = (select(Attachment).where(Attachment.request_id == _REQUEST)
                .order_by(col(Attachment.id)))


@dataclass(frozen=True)
class PageHead:
    """What the page shows of a request besides its own row: its version, service and
    requester, and whether the viewer follows it (None when not asked)."""

    version: ServiceVersion
    service: Service
    requester: User
    following: bool | None = None
    chose_to_follow: bool = False


# The request page's first read, for its viewer: the request, whether one of their teams
# has a task of it (the EXISTS of app.rules.policy, which decides the access), its head
# and whether they follow it, in one statement. Columns, made into snapshots
# (app.storage.snapshots): the page only shows them, and four objects loaded through the
# session cost more than the statement.
_VIEWER = bindparam("viewer_id", type_=Integer)
_PAGE_REQUEST, _PAGE_VERSION = Snapshot(ServiceRequest), Snapshot(ServiceVersion)
_PAGE_SERVICE, _PAGE_REQUESTER = Snapshot(Service), Snapshot(User)
_PAGE = (core_select(*_PAGE_REQUEST.columns, *_PAGE_VERSION.columns, *_PAGE_SERVICE.columns,
                     *_PAGE_REQUESTER.columns, team_on_request(_VIEWER, _REQUEST),
                     *following_columns(_REQUEST, _VIEWER))
         .join(ServiceVersion, col(ServiceVersion.id) == ServiceRequest.version_id)
         .join(Service, col(Service.id) == ServiceVersion.service_id)
         .join(User, col(User.id) == ServiceRequest.requester_id)
         .where(col(ServiceRequest.id) == _REQUEST))
# Where each part starts in the statement's row.
_AT_VERSION = len(_PAGE_REQUEST)
_AT_SERVICE = _AT_VERSION + len(_PAGE_VERSION)
_AT_REQUESTER = _AT_SERVICE + len(_PAGE_SERVICE)
_AT_EXTRAS = _AT_REQUESTER + len(_PAGE_REQUESTER)
_PAGE_READ = DriverRead(_PAGE)


def request_page_with_access(session: Session, *, user: User, request_id: int
                             ) -> tuple[ServiceRequest, RequestAccess, PageHead] | None:
    """The request, `user`'s access to it (app.rules.policy.access_as, as
    request_with_access decides it) and the page's head; None for no such request. The
    request, version, service and requester are snapshots: read them, never change them."""
    row = _PAGE_READ.first(session.connection(), {"request_id": request_id,
                                                  "viewer_id": user.id})
    if row is None:
        return None
    request = _PAGE_REQUEST.made(row)
    on_team, *following = row[_AT_EXTRAS:]
    access = access_as(user, request, is_team_member=user.is_active and bool(on_team))
    head = PageHead(_PAGE_VERSION.made(row, _AT_VERSION), _PAGE_SERVICE.made(row, _AT_SERVICE),
                    _PAGE_REQUESTER.made(row, _AT_REQUESTER), follows(user.id, request, *following),
                    chose_to_follow=following[0] is True)
    return request, access, head


def request_head(session: Session, service_request: ServiceRequest,
                 follower: User | None) -> PageHead:
    # The version, service and requester by their keys in one statement (with whether
    # the viewer follows the request): on PostgreSQL each statement is a round trip.
    head = session.execute(_HEAD if follower is None else _HEAD_FOLLOWING, {
        "request_id": service_request.id, "requester_id": service_request.requester_id,
        "version_id": service_request.version_id,
        "viewer_id": follower.id if follower else None}).one()
    version, service, requester = head[:3]
    return PageHead(version, service, requester,
                    follows(follower.id, service_request, *head[3:])
                    if follower is not None else None,
                    chose_to_follow=follower is not None and head[3] is True)


def request_detail(
    session: Session, *, service_request: ServiceRequest, with_internal_notes: bool,
    before: int | None = None, follower: User | None = None, head: PageHead | None = None,
) -> RequestDetail:
    """The request page: `before`, the id of an event, shows the page of the timeline
    just before it rather than the newest; `follower`: say whether that person follows
    the request (RequestDetail.following); `head`: read already (request_page_with_access)."""
    if head is None:
        head = request_head(session, service_request, follower)
    version, service, requester, following = (head.version, head.service, head.requester,
                                              head.following)
    keyed = {"request_id": service_request.id}
    definition = kept_definition(session, version)

    attachments: dict[str, list[Attachment]] = {}
    if any(field.type == "file" for field in definition.fields):
        for (attachment,) in session.execute(_ATTACHMENTS, keyed):
            attachments.setdefault(attachment.field_key, []).append(attachment)
    answers = [
        AnswerLine(field, service_request.answers.get(field.key), attachments.get(field.key, []))
        for field in definition.fields
    ]

    steps: list[StepLine] = []
    reasons: dict[int | None, str] = {}
    for task in _STEPS_READ.rows(session.connection(), keyed):
        steps.append(StepLine(
            task, task.team_name, task.assignee_name,
            definition.steps[task.position].instructions,
            requester_may_approve=requester_may_approve(definition, task.position)))
        if task.skip_note:
            reasons[task.id] = task.skip_note

    timeline = timeline_page(session, service_request=service_request,
                             with_internal_notes=with_internal_notes, before=before)
    # The reason written when the step was skipped; a request skipped before reasons
    # were recorded gets it from its version's condition.
    skipped = [step for step in steps if step.task.state == TaskState.skipped]
    for step in skipped:
        note = reasons.get(step.task.id) or (
            skip_reason(definition, step.task.position)
            if definition.steps[step.task.position].condition else ""
        )
        step.skip_reason = without_prefix(reworded_skip_reason(note, definition)) or None
    return RequestDetail(
        request=service_request, service=service, version=version, requester=requester,
        answers=answers, steps=steps, timeline=timeline, ordering=definition.ordering,
        ending=_ending(session, service_request, timeline, newest=before is None),
        expected=request_expectation(session, service.id, [step.task for step in steps])
        if service_request.state == RequestState.open and service.id is not None else None,
        following=following, chose_to_follow=head.chose_to_follow,
    )


# An event as the pages show it: its own columns, its actor's name and its step's name,
# as plain rows (an ORM object each, with its identity and state kept by the session,
# cost more than the page's rendering of it).
_EVENT_COLUMNS: tuple[Any, ...] = tuple(col(column) for column in (
    TimelineEvent.id, TimelineEvent.request_id, TimelineEvent.task_id,
    TimelineEvent.actor_id, TimelineEvent.kind, TimelineEvent.note,
    TimelineEvent.is_internal, TimelineEvent.created_at, TimelineEvent.via)) + (
    col(User.name).label("actor_name"), col(Task.step_name).label("step_name"))


def lines_of(session: Session, query: Any, params: dict[str, Any] | None = None
             ) -> list[TimelineLine]:
    # On the session's connection: columns need none of the ORM's work on a statement,
    # which cost a quarter of its time (0.05 ms a page, SQLite 20k). Its callers read
    # after their rules committed, so there is nothing unflushed for it to miss.
    return [TimelineLine(event, event.actor_name or "Baton", event.step_name)
            for event in rows_of(session.connection(), query, params or {})]


def events_of(request_id: int | BindParameter[int]) -> Any:
    """A request's events with their actor's and step's names (`request_id`: the id, or
    a bound parameter of a statement built once)."""
    return (
        core_select(*_EVENT_COLUMNS)
        .outerjoin(User, col(User.id) == TimelineEvent.actor_id)
        .outerjoin(Task, col(Task.id) == TimelineEvent.task_id)
        .where(col(TimelineEvent.request_id) == request_id)
    )


@lru_cache(maxsize=8)
def _timeline_statement(with_internal_notes: bool, before: bool, size: int) -> Any:
    query = events_of(_REQUEST)
    if not with_internal_notes:
        query = query.where(TimelineEvent.is_internal == False)  # noqa: E712
    if before:
        query = query.where(col(TimelineEvent.id) < bindparam("before", type_=Integer))
    return DriverRead(query.order_by(col(TimelineEvent.id).desc()).limit(size + 1))


def timeline_page(
    session: Session, *, service_request: ServiceRequest, with_internal_notes: bool,
    before: int | None = None, size: int = TIMELINE_PAGE,
) -> TimelinePage:
    """The newest `size` events (before the event `before`, when given), oldest first:
    one walk back along the request's timeline index."""
    lines = lines_of(session, _timeline_statement(with_internal_notes, before is not None,
                                                  size),
                     {"request_id": service_request.id, "before": before})
    lines.reverse()
    _reword_skips(session, service_request, lines)
    if len(lines) > size:
        lines = lines[1:]
        return TimelinePage(service_request.id, lines, earlier_before=lines[0].event.id)
    return TimelinePage(service_request.id, lines)


def _reword_skips(session: Session, service_request: ServiceRequest,
                  lines: list[TimelineLine]) -> None:
    """Skip reasons recorded before they were worded for people, worded from the fields
    of the version the request was filed under (read only when there is one)."""
    skips = [line for line in lines if line.event.kind == EventKind.task_skipped
             and line.event.note.startswith("Not needed: the condition “")]
    if not skips:
        return
    definition = kept_definition_by_id(session, service_request.version_id)
    for line in skips:
        line.reworded = reworded_skip_reason(line.event.note, definition)


_ENDINGS = (EventKind.rejected, EventKind.request_cancelled)
_ENDING = (events_of(_REQUEST)
           .where(col(TimelineEvent.kind).in_(_ENDINGS),
                  col(TimelineEvent.is_internal).is_(False))
           .order_by(col(TimelineEvent.id).desc()).limit(1))


def _ending(session: Session, service_request: ServiceRequest, timeline: TimelinePage,
            *, newest: bool) -> TimelineLine | None:
    """Who rejected or cancelled the request, and why (never an internal note). Found
    in the timeline's newest page when it is there (the newest such event of all is then
    the newest of that page); read on its own otherwise."""
    if service_request.state not in (RequestState.rejected, RequestState.cancelled):
        return None
    if newest:
        for line in reversed(timeline.lines):
            if line.event.kind in _ENDINGS and not line.event.is_internal:
                return line
        if timeline.earlier_before is None:
            return None
    lines = lines_of(session, _ENDING, {"request_id": service_request.id})
    return lines[0] if lines else None
