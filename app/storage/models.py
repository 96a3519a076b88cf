"""Baton's tables. Timestamps are aware UTC (see app.storage.clock). Primary keys are typed
`int` (not `int | None`) although they are None until the row is flushed: every object
Baton passes around has been flushed, and this keeps `x.id` usable without a None check
at each call site."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement, TextClause
from sqlmodel import Field, SQLModel

from app.storage.clock import utcnow
from app.storage.inbox_tables import InboxItem as InboxItem
from app.storage.inbox_tables import Mention as Mention
from app.storage.inbox_tables import RequestFollow as RequestFollow
from app.storage.inbox_tables import TeamLook as TeamLook
from app.storage.inbox_tables import TeamNotice as TeamNotice
from app.storage.report_index import report_indexes
from app.storage.saved_view_tables import SavedView as SavedView
from app.storage.throttle_table import LoginThrottle as LoginThrottle

JSONType = JSON().with_variant(JSONB(), "postgresql")

# The largest id the integer columns hold on PostgreSQL; larger numbers in URLs or
# searches are refused or match nothing instead of failing in the database.
MAX_ID = 2**31 - 1


class User(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    password_hash: str = Field(default="", max_length=255)
    is_manager: bool = False
    is_admin: bool = False
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # An IANA name ("Europe/Berlin"): the zone pages show this person's times in. Taken
    # from their browser as they sign in, changed on their profile; None shows UTC.
    time_zone: str | None = Field(default=None, max_length=64)


class Team(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True, index=True)
    name: str = Field(max_length=120)


class Membership(SQLModel, table=True):
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)
    is_lead: bool = False


class LoginSession(SQLModel, table=True):
    """A signed-in browser. Only a keyed hash of the cookie's token is stored, so a
    leaked database does not hand out live sessions."""

    __tablename__ = "login_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class Ordering(StrEnum):
    enforced = "enforced"
    flexible = "flexible"


class Service(SQLModel, table=True):
    """A kind of request. Its name, category and description mirror the current
    version so that the catalog is one query."""

    id: int = Field(default=None, primary_key=True)
    slug: str = Field(max_length=80, unique=True, index=True)
    name: str = Field(max_length=120)
    category: str = Field(max_length=80)
    description: str = ""
    ordering: str = Field(default=Ordering.enforced, max_length=16)
    is_active: bool = True
    current_version_id: int | None = Field(default=None)


class ServiceVersion(SQLModel, table=True):
    """An immutable snapshot of a service's form and steps (the whole definition)."""

    __tablename__ = "service_version"
    __table_args__ = (UniqueConstraint("service_id", "number"),)

    id: int = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    number: int
    definition: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class RequestState(StrEnum):
    open = "open"
    completed = "completed"
    rejected = "rejected"
    cancelled = "cancelled"


def request_number(request_id: int | None) -> str:
    """How people quote a request: REQ-42."""
    return f"REQ-{request_id}"


class ServiceRequest(SQLModel, table=True):
    """One filled-in service. Named so as not to collide with Starlette's Request."""

    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_requester", "requester_id", "id"),
        # A form's one-time key: the same form sent twice (a double click, a retry after
        # a cut-off answer) files one request. NULLs (no key) never collide.
        Index("uq_service_request_submission_key", "requester_id", "submission_key",
              unique=True),
        *report_indexes(),  # the typed-answer report's, one set per database
    )

    id: int = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    version_id: int = Field(foreign_key="service_version.id")
    requester_id: int = Field(foreign_key="user.id")
    title: str = Field(max_length=300)
    answers: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    state: str = Field(default=RequestState.open, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    submission_key: str | None = Field(default=None, max_length=64)

    @property
    def number(self) -> str:
        return request_number(self.id)


class TaskState(StrEnum):
    waiting = "waiting"
    open = "open"
    claimed = "claimed"
    done = "done"
    approved = "approved"
    rejected = "rejected"
    skipped = "skipped"
    cancelled = "cancelled"


ACTIVE_TASK_STATES = (TaskState.waiting, TaskState.open, TaskState.claimed)
QUEUED_TASK_STATES = (TaskState.open, TaskState.claimed)
FINISHED_TASK_STATES = (TaskState.done, TaskState.approved, TaskState.skipped)


# The predicate of the task table's partial indexes, written out in SQL: SQLite and
# PostgreSQL use a partial index only for a query that says the same words (a bound
# parameter would not do; PostgreSQL's generic plans would not know its value), so
# queries say it with `is_queued()`. The indexes hold open and claimed tasks only: a few
# percent of the table, however many requests have ever been filed.
QUEUED_PREDICATE = "state IN ('open', 'claimed')"


def is_queued() -> ColumnElement[bool]:
    """`task.state IN ('open', 'claimed')` with the states inline, as QUEUED_PREDICATE."""
    return Task.__table__.c.state.in_(  # type: ignore[attr-defined,no-any-return]
        [literal_column(f"'{state}'") for state in QUEUED_TASK_STATES])


def _queued_index(name: str, *columns: str | TextClause) -> Index:
    return Index(name, *columns, sqlite_where=text(QUEUED_PREDICATE),
                 postgresql_where=text(QUEUED_PREDICATE))


class StepKind(StrEnum):
    task = "task"
    approval = "approval"


class Task(SQLModel, table=True):
    """One step of one request, owned by a team. Step name, kind and service are copied
    from the (immutable) version so queues and the overview need no joins to render."""

    __table_args__ = (
        # The queue: a team's open/claimed tasks, oldest first, keyset-paginated.
        Index("ix_task_queue", "team_id", "state", "opened_at", "id"),
        Index("ix_task_assignee", "assignee_id", "state"),
        Index("ix_task_request", "request_id", "position"),
        # Queued tasks only (see QUEUED_PREDICATE): a team's queue in order, and the
        # oldest and the overdue of a team or a step for the overview, each one seek.
        # The state and title make it covering: a search of a queue's titles counts its
        # matches from this index alone, not by reading each task (SQLite then chose it
        # unasked; 1M requests: 27 -> 4.5 ms on SQLite, 28 -> 9 ms on PostgreSQL).
        _queued_index("ix_task_queued_team", "team_id", "opened_at", "id", "state",
                      "request_title"),
        _queued_index("ix_task_queued_team_due", "team_id", "due_at"),
        # A team's queue by due time, undated last (the order queues.py asks for).
        _queued_index("ix_task_queued_team_by_due", "team_id", text("(due_at IS NULL)"),
                      "due_at", "id"),
        # Every team's queued tasks oldest first: the overview's drill-down lists.
        _queued_index("ix_task_queued_all", "opened_at", "id"),
        _queued_index("ix_task_queued_step", "service_id", "position", "step_name",
                      "opened_at"),
        _queued_index("ix_task_queued_step_due", "service_id", "position", "step_name",
                      "due_at"),
        # What changed in a team's queue since a moment: the live queue's poll.
        _queued_index("ix_task_queued_team_changed", "team_id", "state_changed_at"),
    )

    id: int = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id")
    service_id: int = Field(foreign_key="service.id")
    team_id: int = Field(foreign_key="team.id")
    position: int
    stage: int
    step_name: str = Field(max_length=120)
    kind: str = Field(default=StepKind.task, max_length=16)
    state: str = Field(default=TaskState.waiting, max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    opened_at: datetime | None = None
    # From the step's target duration when the task opens; display and sorting only.
    due_at: datetime | None = None
    state_changed_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    # The request's title (never changed after submission), copied so that searching a
    # queue by title words reads the team's queued tasks alone, not every request.
    request_title: str = Field(default="", max_length=300)


class OpenWorkCount(SQLModel, table=True):
    """How many of one step's tasks in one team are open and claimed: the overview's
    counts, kept exact by app.storage.work_counts in the transaction of every change, so that
    the overview reads a few hundred counters instead of counting every open task.
    `due_count`: how many of those have a due time, so that the overdue ones are that
    less the ones not due yet (app.reads.overview)."""

    __tablename__ = "open_work_count"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id", primary_key=True)
    position: int = Field(primary_key=True)
    step_name: str = Field(max_length=120, primary_key=True)
    open_count: int = 0
    claimed_count: int = 0
    due_count: int = 0


class EventKind(StrEnum):
    submitted = "submitted"
    task_opened = "task_opened"
    task_skipped = "task_skipped"
    claimed = "claimed"
    released = "released"
    handed = "handed"
    assigned = "assigned"  # by a team's lead, to a member (app.rules.tasks.assign_task)
    completed = "completed"
    approved = "approved"
    rejected = "rejected"
    task_cancelled = "task_cancelled"
    request_completed = "request_completed"
    request_rejected = "request_rejected"
    request_cancelled = "request_cancelled"
    comment = "comment"
    note = "note"


# Comments and internal notes, in the words of their partial index (as QUEUED_PREDICATE).
COMMENT_PREDICATE = "kind IN ('comment', 'note')"


def is_comment() -> ColumnElement[bool]:
    """`timeline_event.kind IN ('comment', 'note')`, inline, as COMMENT_PREDICATE."""
    return TimelineEvent.__table__.c.kind.in_(  # type: ignore[attr-defined,no-any-return]
        [literal_column(f"'{kind}'") for kind in (EventKind.comment, EventKind.note)])


class TimelineEvent(SQLModel, table=True):
    """Append-only: nothing in Baton updates or deletes a row of this table."""

    __tablename__ = "timeline_event"
    __table_args__ = (
        Index("ix_timeline_request", "request_id", "id"),
        # One person's latest comments and notes, for the limit on how many a minute
        # (app.rules.requests.add_comment); the other events are left out of it.
        Index("ix_timeline_actor_comments", "actor_id", "created_at",
              sqlite_where=text(COMMENT_PREDICATE), postgresql_where=text(COMMENT_PREDICATE)),
    )

    id: int = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id")
    task_id: int | None = Field(default=None, foreign_key="task.id")
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    kind: str = Field(max_length=32)
    note: str = ""
    is_internal: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    via: str | None = Field(default=None, max_length=80)  # "API token <name>": app.rules.acting


class Attachment(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    field_key: str = Field(max_length=60)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=120)
    size: int
    storage_path: str = Field(max_length=255)
    uploaded_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class QueueVersion(SQLModel, table=True):
    """A team's queue version: raised with every change to one of the team's tasks
    (app.storage.page_versions). No row yet: version 0."""

    __tablename__ = "queue_version"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    version: int = 0


class DirectoryVersion(SQLModel, table=True):
    """One row: raised with every change to a team, a membership, a person or a service
    (app.storage.page_versions). No row yet: version 0."""

    __tablename__ = "directory_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class AdminEvent(SQLModel, table=True):
    """The admin audit log: every change an admin makes to services, teams and people.
    Append-only, like the timeline."""

    __tablename__ = "admin_event"

    id: int = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=60)
    subject: str = Field(max_length=200)
    detail: str = ""
    created_at: datetime = Field(default_factory=utcnow, index=True)


class TaskDuration(SQLModel, table=True):
    """The insights' figures (this and the next three tables) are kept exact by
    app.storage.flow_figures in the transaction of each change. This: one decided task,
    the seconds it waited and was worked, whether it finished by its due time (None: it
    had none); its index covers a step's percentiles over a window."""

    __tablename__ = "task_duration"
    __table_args__ = (
        Index("ix_task_duration_step", "service_id", "position", "finished_at",
              "waited_seconds", "worked_seconds"),
        Index("ix_task_duration_team", "team_id", "finished_at"),
        Index("ix_task_duration_team_took", "team_id", text("(waited_seconds + worked_seconds)"),
              "finished_at", "waited_seconds", "worked_seconds", "service_id", "position"),
        Index("ix_task_duration_step_keys", "service_id", "position", "finished_at",
              "waited_seconds", "worked_seconds", "task_id").ddl_if(dialect="postgresql"),
    )

    task_id: int = Field(foreign_key="task.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id")
    position: int
    team_id: int = Field(foreign_key="team.id")
    finished_at: datetime
    waited_seconds: int
    worked_seconds: int
    within_target: bool | None = None


class RequestLeadTime(SQLModel, table=True):
    """One completed request: seconds from submitted to completed."""

    __tablename__ = "request_lead_time"
    __table_args__ = (
        Index("ix_request_lead_time_service", "service_id", "completed_at", "lead_seconds"),
    )

    request_id: int = Field(foreign_key="service_request.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id")
    completed_at: datetime
    lead_seconds: int


class StepWeek(SQLModel, table=True):
    """One step's finished tasks of one team in one ISO week (`week`: its Monday, UTC)."""

    __tablename__ = "step_week"
    __table_args__ = (Index("ix_step_week_team", "team_id", "week", "finished_count"),)

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    position: int = Field(primary_key=True)
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    week: date = Field(primary_key=True)
    finished_count: int = 0
    waited_seconds: int = Field(default=0, sa_type=BigInteger)
    worked_seconds: int = Field(default=0, sa_type=BigInteger)
    targeted_count: int = 0  # of those finished, how many had a due time
    within_target_count: int = 0  # and finished by it


class ServiceWeek(SQLModel, table=True):
    """One service's requests submitted and completed in one ISO week (its Monday)."""

    __tablename__ = "service_week"

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    week: date = Field(primary_key=True)
    submitted_count: int = 0
    completed_count: int = 0
    lead_seconds: int = Field(default=0, sa_type=BigInteger)  # of those completed
