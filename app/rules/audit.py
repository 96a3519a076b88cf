"""The admin audit log: who changed which service, team or person, and how."""

from sqlmodel import Session, col, select

from app.storage.models import AdminEvent, User, utcnow


def record_admin_action(
    session: Session, *, by: User | None, action: str, subject: str, detail: str = ""
) -> AdminEvent:
    """Adds one entry to the log; the caller's transaction commits it with the change."""
    event = AdminEvent(actor_id=by.id if by else None, action=action, subject=subject[:200],
                       detail=detail, created_at=utcnow())
    session.add(event)
    return event


def recent_admin_actions(
    session: Session, *, before: int | None = None, limit: int = 50
) -> list[tuple[AdminEvent, str | None]]:
    """Newest first, keyset-paginated by id, with the actor's name."""
    query = select(AdminEvent, User.name).outerjoin(User, col(User.id) == AdminEvent.actor_id)
    if before is not None:
        query = query.where(col(AdminEvent.id) < before)
    return list(session.exec(query.order_by(col(AdminEvent.id).desc()).limit(limit)))
