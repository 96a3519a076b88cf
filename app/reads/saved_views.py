"""A person's saved views of one page (app.rules.saved_views), for its tabs."""

from sqlmodel import Session, col, select

from app.storage.models import SavedView


def views_of(session: Session, *, user_id: int, page: str) -> list[SavedView]:
    """A person's views of one page, in the order they were saved: one seek along the
    (user_id, page, name) unique index."""
    return list(session.exec(select(SavedView).where(
        SavedView.user_id == user_id, SavedView.page == page).order_by(col(SavedView.id))))
