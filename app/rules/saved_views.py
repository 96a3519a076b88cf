"""Saved views (issue 14, item 6): a person names a page's filters to come back to them
in one click. Each view is its owner's alone: nobody sees, opens or deletes another's.

A view keeps only the filters its page knows (`keys`), each bounded, as a query string
sorted by name, so that the page can tell which view it is showing."""

from collections.abc import Collection, Mapping
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from app.rules.errors import DomainError, InvalidNote
from app.storage.db import one_transaction
from app.storage.models import User
from app.storage.saved_view_tables import MAX_VIEW_NAME, MAX_VIEW_QUERY, SavedView

# The most views one person keeps on one page (tabs past this are no longer a glance).
MAX_VIEWS_PER_PAGE = 20
MAX_FILTER_VALUE = 200

# The filters each page's views keep (what its links carry), and the pages' names.
QUEUE_KEYS = ("service", "state", "overdue", "q", "sort")
OVERVIEW_KEYS = ("team", "service", "step", "state", "overdue", "sort")
OVERVIEW_PAGE = "overview"


def queue_page(team_id: int) -> str:
    return f"queue:{team_id}"


class ViewNameTaken(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(f"You have a view named “{name}” here already: pick another "
                         "name, or delete that one first.")


class NoSuchView(DomainError):
    status_code = 404

    def __init__(self) -> None:
        super().__init__("There is no such saved view.")


def view_query(filters: Mapping[str, str], keys: Collection[str]) -> str:
    """The filters a view keeps, as its page's query string: the known keys with a
    value, sorted by name, each value bounded."""
    kept = sorted((key, value.strip()[:MAX_FILTER_VALUE]) for key, value in filters.items()
                  if key in keys and value and value.strip())
    return urlencode(kept)


def clean_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise InvalidNote("Name the view.")
    if len(text) > MAX_VIEW_NAME:
        raise InvalidNote(f"Use at most {MAX_VIEW_NAME} characters for the name (this has "
                          f"{len(text)}).")
    return text


@one_transaction
def save_view(session: Session, *, user: User, page: str, name: str,
              filters: Mapping[str, str], keys: Collection[str]) -> SavedView:
    """`page` and `keys`: which list, and the filters it knows (the caller, which
    checked that `user` may see that list)."""
    name = clean_name(name)
    query = view_query(filters, keys)
    if len(query) > MAX_VIEW_QUERY:
        raise InvalidNote("These filters are too long to save.")
    mine = (SavedView.user_id == user.id, SavedView.page == page)
    if session.exec(select(SavedView.id).where(*mine, SavedView.name == name)).first():
        raise ViewNameTaken(name)
    if session.exec(select(func.count()).select_from(SavedView).where(*mine)).one() \
            >= MAX_VIEWS_PER_PAGE:
        raise InvalidNote(f"You have {MAX_VIEWS_PER_PAGE} views here: delete one first.")
    view = SavedView(user_id=user.id, page=page, name=name, query=query)
    session.add(view)
    try:
        session.commit()
    except IntegrityError:  # the same name saved a moment ago, from another tab
        session.rollback()
        raise ViewNameTaken(name) from None
    return view


@one_transaction
def delete_view(session: Session, *, user: User, view_id: int) -> SavedView:
    """Deletes one of `user`'s views; another's is not found, as one that does not exist."""
    view = session.exec(select(SavedView).where(
        SavedView.id == view_id, SavedView.user_id == user.id)).first()
    if view is None:
        raise NoSuchView()
    session.delete(view)
    session.commit()
    return view

