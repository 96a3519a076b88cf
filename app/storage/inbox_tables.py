"""The inbox's tables (issue 14; app.rules.inbox's docstring has the design and its
costs), apart from app.storage.models only to keep that module within the size
tests/test_layers allows; models imports them, so they are Baton's tables like the others."""

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from app.storage.clock import utcnow

# An inbox item's unread rows, in the words of their partial index (as QUEUED_PREDICATE).
UNREAD_PREDICATE = "read_at IS NULL"


class InboxItem(SQLModel, table=True):
    """One event of a request's timeline that concerns one person (`reason`: handed,
    comment, note, mention, moved, finished), written in the transaction of the event."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        Index("ix_inbox_item_user", "user_id", "id"),
        # An event's items: whether a person was told of it in person (a team's notice
        # is then not shown to them), and who was given a task taken from its holder.
        Index("ix_inbox_item_event", "event_id", "user_id"),
        # The bell: a person's unread items, counted from this index alone.
        Index("ix_inbox_item_unread", "user_id", "id", sqlite_where=text(UNREAD_PREDICATE),
              postgresql_where=text(UNREAD_PREDICATE)),
    )

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    event_id: int = Field(foreign_key="timeline_event.id")
    request_id: int = Field(foreign_key="service_request.id")
    reason: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None


class TeamNotice(SQLModel, table=True):
    """An event for a whole team (a manager's comment on a request none of the team has
    claimed): one row per team, read by each member through their TeamLook."""

    __tablename__ = "team_notice"
    __table_args__ = (Index("ix_team_notice_team", "team_id", "created_at"),)

    id: int = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    event_id: int = Field(foreign_key="timeline_event.id")
    request_id: int = Field(foreign_key="service_request.id")
    created_at: datetime = Field(default_factory=utcnow)


class TeamLook(SQLModel, table=True):
    """When a person last looked at a team's news in their inbox: what is newer is unread."""

    __tablename__ = "team_look"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    looked_at: datetime


class RequestFollow(SQLModel, table=True):
    """A person's own choice to follow (or, `following` false, to stop following) a
    request; without a row, the requester and those who worked on it follow it."""

    __tablename__ = "request_follow"

    request_id: int = Field(foreign_key="service_request.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)
    following: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Mention(SQLModel, table=True):
    """A person @mentioned in a comment or note."""

    event_id: int = Field(foreign_key="timeline_event.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True)
