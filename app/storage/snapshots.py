"""A row's object made from its columns, without the ORM: for pages that only show it.

Loading an object through the session (its state, its place in the identity map, the
ORM's result handling) cost more than the statement that read it: on the request page,
its four objects cost about a quarter of a millisecond on SQLite. A snapshot is the same
class with the same values, made as read (no validation: the columns are the row's own),
and held by no session: read it, never set its attributes nor hand it to a session (either
raises), nor compare it with `==` to an object of the session (never equal). A rule that
changes the row reads it again through the session."""

from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast

from sqlmodel import SQLModel

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
