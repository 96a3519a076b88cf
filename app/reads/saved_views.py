"""A person's saved views of one page (app.rules.saved_views), for its tabs."""

from typing import NamedTuple

from sqlmodel import Session, col, select

from app.storage.directory_cache import directory_kept
from app.storage.models import SavedView


class ViewTab(NamedTuple):
    """A saved view as its tab shows it."""

    id: int
    name: str
    query: str


def views_of(session: Session, *, user_id: int, page: str) -> tuple[ViewTab, ...]:
    """A person's views of one page, in the order they were saved: one seek along the
    (user_id, page, name) unique index, kept per directory version, which saving or
    deleting a view raises (app.storage.directory_cache)."""
    def read() -> tuple[ViewTab, ...]:
        return tuple(ViewTab(*row) for row in session.exec(
            select(SavedView.id, SavedView.name, SavedView.query)
            .where(SavedView.user_id == user_id, SavedView.page == page)
            .order_by(col(SavedView.id))))

    return directory_kept(session, ("views", user_id, page), read)
