"""Saved views (issue 14, item 6): a person's named filters of one page (a team's queue,
the overview's drill-down), shown as tabs on that page. Apart from app.storage.models
only to keep that module within the size tests/test_layers allows; models imports it."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.storage.clock import utcnow

MAX_VIEW_NAME = 60
MAX_VIEW_QUERY = 1000


class SavedView(SQLModel, table=True):
    """`page`: which list ("queue:<team id>" or "overview"); `query`: its filters as the
    page's own query string (only the filters the page knows, sorted by name). A name is
    unique per person and page; the constraint's index is also how a page reads the
    viewer's views (user_id, page)."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("user_id", "page", "name",
                                       name="uq_saved_view_user_page_name"),)

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    page: str = Field(max_length=40)
    name: str = Field(max_length=MAX_VIEW_NAME)
    query: str = Field(default="", max_length=MAX_VIEW_QUERY)
    created_at: datetime = Field(default_factory=utcnow)
