"""Service versions as the admin pages show them: who saved which, and what changed
between two of them (fields and steps added, removed, changed, reordered)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.format.numbers import number_text
from app.storage.models import Service, ServiceVersion, User

# --- what changed between two versions --------------------------------------------------


@dataclass(frozen=True)
class Change:
    attribute: str
    old: Any  # None: not set
    new: Any


@dataclass
class ItemChange:
    name: str  # the field's key or the step's name, as in the newer version
    title: str  # the field's label, or the step's name
    changes: list[Change]


@dataclass
class SectionDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[ItemChange] = field(default_factory=list)
    order: tuple[list[str], list[str]] | None = None  # before, after; when it changed

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.order)


@dataclass
class DefinitionDiff:
    service: list[Change]
    fields: SectionDiff
    steps: SectionDiff

    @property
    def is_empty(self) -> bool:
        return not (self.service or self.fields or self.steps)


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], *,
             skip: tuple[str, ...] = ()) -> list[Change]:
    names = [*new, *(name for name in old if name not in new)]
    return [Change(name, old.get(name), new.get(name)) for name in names
            if name not in skip and old.get(name) != new.get(name)]


def _diff_section(old: list[dict[str, Any]], new: list[dict[str, Any]], identity: str,
                  title: str) -> SectionDiff:
    old_ids = [item.get(identity) for item in old]
    new_ids = [item.get(identity) for item in new]
    # Items are the same item when they share their key (fields) or name (steps). One
    # removed and one added at the same place is one item renamed.
    pairs = {name: name for name in old_ids if name in new_ids}
    for index, name in enumerate(old_ids):
        if (name not in pairs and index < len(new)
                and new_ids[index] not in old_ids and new_ids[index] not in pairs.values()):
            pairs[name] = new_ids[index]
    diff = SectionDiff(
        removed=[item for item, name in zip(old, old_ids, strict=True) if name not in pairs],
        added=[item for item, name in zip(new, new_ids, strict=True)
               if name not in pairs.values()],
    )
    old_by_id = dict(zip(old_ids, old, strict=True))
    new_by_id = dict(zip(new_ids, new, strict=True))
    renamed = {after: before for before, after in pairs.items()}
    for name in new_ids:
        if name in renamed:
            before, after = old_by_id[renamed[name]], new_by_id[name]
            if changes := _changes(before, after):
                diff.changed.append(ItemChange(str(name), str(after.get(title, name)), changes))
    kept_before = [str(pairs[name]) for name in old_ids if name in pairs]
    kept_after = [str(name) for name in new_ids if name in renamed]
    if kept_before != kept_after:
        diff.order = (kept_before, kept_after)
    return diff


def diff_definitions(old: Mapping[str, Any], new: Mapping[str, Any]) -> DefinitionDiff:
    """What changed from one definition (as stored data) to another: the service's own
    attributes, and fields and steps added, removed, changed (attribute by attribute)
    and reordered. Fields are matched by key, steps by name."""
    return DefinitionDiff(
        service=_changes(old, new, skip=("fields", "steps")),
        fields=_diff_section(list(old.get("fields", [])), list(new.get("fields", [])),
                             "key", "label"),
        steps=_diff_section(list(old.get("steps", [])), list(new.get("steps", [])),
                            "name", "name"),
    )


def shown_value(value: Any) -> str:
    """A definition's value as the versions page shows it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, str) and value == "":
        return "empty"
    return str(value)


# --- what the admin pages list -----------------------------------------------------------


@dataclass
class ServiceLine:
    service: Service
    version: ServiceVersion
    saved_by: str | None


def service_lines(session: Session) -> list[ServiceLine]:
    """Every service, retired ones too, by category and name, with its current version
    and who saved it."""
    rows = session.exec(
        select(Service, ServiceVersion, User.name)
        .join(ServiceVersion, col(ServiceVersion.id) == Service.current_version_id)
        .outerjoin(User, col(User.id) == ServiceVersion.created_by_id)
        .order_by(col(Service.category), col(Service.name))
    )
    return [ServiceLine(service, version, name) for service, version, name in rows]


def versions_of(session: Session, service: Service) -> list[tuple[ServiceVersion, str | None]]:
    """The service's versions, newest first, with who saved each."""
    return list(session.exec(
        select(ServiceVersion, User.name)
        .outerjoin(User, col(User.id) == ServiceVersion.created_by_id)
        .where(ServiceVersion.service_id == service.id)
        .order_by(col(ServiceVersion.number).desc())
    ))
