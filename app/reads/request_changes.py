"""The live request page (issue 14): what changed on a request since its page was
rendered.

A request page's version is the id of the newest timeline event its viewer may see.
Every change of state writes a timeline event (PRODUCT.md rule 5), so a page whose
viewer has no event newer than that is up to date (its ages and due times age, which
the page's own clock words do not need a poll for). The "nothing changed" answer is
one statement (poll_request): the request's requester by its key, whether one of the
viewer's teams has a task of it (`ix_task_request`), and the first event past the
page's version, with and without internal notes (`ix_timeline_request`: request_id, id).

A requester's version counts only the events they may see (rule 6): an internal note
is neither shown to them nor wakes their page.
"""

from dataclasses import dataclass

from sqlalchemy import Integer, bindparam
from sqlmodel import Session, col, select

from app.reads.request_detail import TimelineLine, TimelinePage, events_of, lines_of
from app.rules.policy import team_on_request
from app.storage.driver_reads import DriverRead
from app.storage.models import ServiceRequest, TimelineEvent

# The most new events one poll appends; a page further behind shows the newest ones and
# a link to reload (see newer_events).
NEWER_AT_MOST = 50


def _visible(query, *, with_internal_notes: bool):  # type: ignore[no-untyped-def]
    if not with_internal_notes:
        query = query.where(TimelineEvent.is_internal == False)  # noqa: E712
    return query


@dataclass(frozen=True)
class PollAnswer:
    """What the poll needs to know, read at once: who asked for the request, whether
    one of the viewer's teams works on it, and whether an event (any, or one that is
    not an internal note) is newer than the page's version."""

    requester_id: int
    on_team: bool
    newer: bool
    newer_public: bool


# The poll's one statement, built once with bound parameters: building it again at each
# poll (every open request page asks every 15 s) cost about as much as running it.
_REQUEST = bindparam("request_id", type_=Integer)
_NEWER = select(TimelineEvent.id).where(TimelineEvent.request_id == _REQUEST,
                                        col(TimelineEvent.id) > bindparam("since", type_=Integer))
# Whether the viewer is on a team of the request: app.rules.policy's EXISTS, through
# their memberships. (It asked `task.team_id IN (<the viewer's teams>)` before: without
# the database's statistics SQLite then read the team's whole queue index rather than
# the request's few tasks, 250-290 ms a poll of an older request at 1M requests.)
_POLL = select(  # type: ignore[call-overload]
    ServiceRequest.requester_id,
    team_on_request(bindparam("user_id", type_=Integer), _REQUEST),
    _NEWER.limit(1).scalar_subquery(),
    _NEWER.where(TimelineEvent.is_internal == False).limit(1).scalar_subquery(),  # noqa: E712
).where(ServiceRequest.id == _REQUEST)
_POLL_READ = DriverRead(_POLL)


def poll_request(session: Session, *, request_id: int, since: int,
                 user_id: int) -> PollAnswer | None:
    """None when there is no such request."""
    row = _POLL_READ.first(session.connection(), {"request_id": request_id, "since": since,
                                                  "user_id": user_id})
    if row is None:
        return None
    requester_id, is_on_team, first_newer, first_public = row
    return PollAnswer(requester_id, bool(is_on_team), first_newer is not None,
                      first_public is not None)


def newer_events(session: Session, *, service_request: ServiceRequest, since: int,
                 with_internal_notes: bool) -> tuple[list[TimelineLine], bool]:
    """The viewer's events after `since`, oldest first (at most NEWER_AT_MOST, the newest
    ones), and whether more were left out."""
    query = _visible(events_of(service_request.id), with_internal_notes=with_internal_notes)
    lines = lines_of(session, query.where(col(TimelineEvent.id) > since)
                     .order_by(col(TimelineEvent.id).desc()).limit(NEWER_AT_MOST + 1))
    lines.reverse()
    return lines[-NEWER_AT_MOST:], len(lines) > NEWER_AT_MOST


def page_version(timeline: TimelinePage) -> int:
    """The version of a request page that shows the newest page of its timeline."""
    return timeline.lines[-1].event.id if timeline.lines else 0
