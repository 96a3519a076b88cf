"""A row's object made from its columns, without the ORM: for pages that only show it
(Snapshot), or known in part, for a rule to load (known_in_session).

Loading an object through the session (its state, its place in the identity map, the
ORM's result handling) cost more than the statement that read it: on the request page,
its four objects cost about a quarter of a millisecond on SQLite. A snapshot is the same
class with the same values, made as read (no validation: the columns are the row's own),
and held by no session: read it, never set its attributes nor hand it to a session (either
raises), nor compare it with `==` to an object of the session (never equal). A rule that
changes the row reads it again through the session."""

from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel

Model = TypeVar("Model", bound=SQLModel)


class Snapshot(Generic[Model]):
    """The columns of `model`'s table, to put in a core statement, and the object made
    from a row's values of them (`made`, from where they start in the row)."""

    def __init__(self, model: type[Model]):
        self.model = model
        self.columns: tuple[Any, ...] = tuple(model.__table__.columns)  # type: ignore[attr-defined]
        self._fields = tuple(column.key for column in self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def made(self, row: Sequence[Any], start: int = 0) -> Model:
        values = row[start:start + len(self._fields)]
        made = self.model.model_construct(**dict(zip(self._fields, values, strict=True)))
        return cast(Model, made)


def known_in_session(session: Session, model: type[Model], **known: Any) -> Model:
    """The session's object of `model` whose primary key and other columns `known` are
    what was just read of its row (by a statement of the driver, say), the rest of its
    columns loaded when first read, or when a statement of the session reads the row
    again (a rule's reload under its lock, which every rule that changes it does).

    Unlike a snapshot it is the session's own: its changes are written as any object's.
    It costs about a sixth of loading the object (session.get: the ORM's statement,
    result and instance handling), for a route that needs of the row only what it checks
    before the rule. The object the session holds already, if any, is returned as is."""
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key(
        tuple(known[column.key] for column in mapper.primary_key))
    held = session.identity_map.get(key)
    if held is not None:
        return cast(Model, held)
    made = mapper.class_manager.new_instance()
    for name, value in known.items():
        set_committed_value(made, name, value)  # as loaded: nothing to write
    make_transient_to_detached(made)  # its other columns load when first read
    session.add(made)
    return cast(Model, made)
