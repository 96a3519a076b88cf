"""The catalog: services, their versions, and the files that define them."""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.format.definitions import (
    DefinitionError,
    ServiceDefinition,
    TeamDefinition,
    parse_service,
    parse_teams,
)
from app.rules.audit import record_admin_action
from app.storage.db import one_transaction
from app.storage.directory_cache import directory_kept
from app.storage.models import Service, ServiceVersion, Team, User

TEAMS_FILE = "teams.toml"


def active_services(session: Session, *, search: str = "") -> list[Service]:
    query = select(Service).where(Service.is_active == True)  # noqa: E712
    for word in search.lower().split():
        query = query.where(
            or_(
                func.lower(Service.name).contains(word, autoescape=True),
                func.lower(Service.description).contains(word, autoescape=True),
                func.lower(Service.category).contains(word, autoescape=True),
            )
        )
    return list(session.exec(query.order_by(Service.category, Service.name)))


def get_service_by_slug(session: Session, slug: str) -> Service | None:
    return session.exec(select(Service).where(Service.slug == slug)).first()


def definition_of(version: ServiceVersion) -> ServiceDefinition:
    return ServiceDefinition.model_validate(version.definition)


def kept_definition(session: Session, version: ServiceVersion) -> ServiceDefinition:
    """definition_of, kept in memory (app.storage.directory_cache) for the pages and the
    filing that only read it: a saved version never changes, and checking its definition
    again cost a twentieth of a millisecond each time (three times a filing). Never
    change what it returns."""
    if version.id is None:
        return definition_of(version)
    return directory_kept(session, ("definition", version.id), lambda: definition_of(version))


def kept_definition_by_id(session: Session, version_id: int) -> ServiceDefinition:
    """kept_definition with only the version's id at hand: the version is read only when
    its definition is not kept."""
    return directory_kept(session, ("definition", version_id),
                          lambda: definition_of(session.get_one(ServiceVersion, version_id)))


def current_version(session: Session, service: Service) -> ServiceVersion:
    version = (session.get(ServiceVersion, service.current_version_id)
               if service.current_version_id is not None else None)
    if version is None:  # save_service makes a service with its first version
        raise LookupError(f"The service {service.slug} has no current version.")
    return version


def kept_service(session: Session, slug: str) -> Service | None:
    """get_service_by_slug for the form and its filing, which change no service: from
    memory while the directory version the session read is current (a service's every
    change raises it: app.storage.directory_cache), as a copy of the service's own.
    Every service is kept in one entry, read in one statement, so that addresses of no
    service keep nothing (nor push out what other pages keep)."""
    found = directory_kept(session, ("services by slug",), lambda: {
        service.slug: service.model_dump() for service in session.exec(select(Service))
    }).get(slug)
    return None if found is None else Service.model_construct(**found)


def kept_current_version(session: Session, service: Service) -> ServiceVersion:
    """current_version, as kept_service keeps the service: a version never changes, and
    which one is current is a change to its service."""
    found = directory_kept(session, ("current version", service.id, service.current_version_id),
                           lambda: current_version(session, service).model_dump())
    return ServiceVersion.model_construct(**found)


def teams_by_slug(session: Session) -> dict[str, Team]:
    return {team.slug: team for team in session.exec(select(Team))}


def unknown_teams(definition: ServiceDefinition, known: set[str]) -> list[str]:
    return [
        f"steps.{index}.team: unknown team '{step.team}'"
        for index, step in enumerate(definition.steps)
        if step.team not in known
    ]


def save_service(
    session: Session, *, definition: ServiceDefinition, by: User | None = None
) -> tuple[Service, ServiceVersion | None]:
    """Create the service or give it a new version; an identical definition changes
    nothing and returns None as the version. The caller commits."""
    problems = unknown_teams(definition, set(teams_by_slug(session)))
    if problems:
        raise DefinitionError(problems)
    data = definition.to_data()
    service = get_service_by_slug(session, definition.slug)
    if service is None:
        service = Service(slug=definition.slug, name=definition.name, category="")
        session.add(service)
        session.flush()
        number = 1
    else:
        latest = current_version(session, service)
        if latest.definition == data:
            return service, None
        number = latest.number + 1
    version = ServiceVersion(
        service_id=service.id, number=number, definition=data,
        created_by_id=by.id if by else None,
    )
    session.add(version)
    session.flush()
    service.name = definition.name
    service.category = definition.category
    service.description = definition.description
    service.ordering = definition.ordering
    service.is_active = definition.active
    service.current_version_id = version.id
    session.add(service)
    return service, version


def save_teams(session: Session, teams: list[TeamDefinition]) -> int:
    known = teams_by_slug(session)
    created = 0
    for team in teams:
        if team.slug in known:
            known[team.slug].name = team.name
        else:
            session.add(Team(slug=team.slug, name=team.name))
            created += 1
    session.flush()
    return created


@dataclass
class ImportReport:
    teams_created: int = 0
    services_created: list[str] = field(default_factory=list)
    services_versioned: list[str] = field(default_factory=list)
    services_unchanged: list[str] = field(default_factory=list)


class CatalogFileError(Exception):
    """Problems in catalog files, each line naming the file and the key."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError([f"not valid TOML: {error}"]) from None


@one_transaction
def import_catalog(session: Session, folder: Path, *, by: User | None = None) -> ImportReport:
    """Load `teams.toml` and every service file of a folder in one transaction: every
    file is checked first, and one bad file imports nothing."""
    problems: list[str] = []
    teams: list[TeamDefinition] = []
    teams_path = folder / TEAMS_FILE
    if teams_path.exists():
        try:
            teams = parse_teams(_read_toml(teams_path))
        except DefinitionError as error:
            problems += [f"{teams_path}: {p}" for p in error.problems]
    definitions: list[tuple[Path, ServiceDefinition]] = []
    for path in sorted(folder.glob("*.toml")):
        if path.name == TEAMS_FILE:
            continue
        try:
            definition = parse_service(_read_toml(path))
        except DefinitionError as error:
            problems += [f"{path}: {p}" for p in error.problems]
            continue
        if path.stem != definition.slug:
            problems.append(f"{path}: slug: '{definition.slug}' does not match the file name")
        definitions.append((path, definition))
    known_teams = set(teams_by_slug(session)) | {team.slug for team in teams}
    for path, definition in definitions:
        problems += [f"{path}: {p}" for p in unknown_teams(definition, known_teams)]
    if not definitions and not problems:
        problems.append(f"{folder}: no service files (*.toml) found")
    if problems:
        raise CatalogFileError(problems)

    report = ImportReport(teams_created=save_teams(session, teams))
    for _path, definition in definitions:
        existed = get_service_by_slug(session, definition.slug) is not None
        _service, version = save_service(session, definition=definition, by=by)
        if version is None:
            report.services_unchanged.append(definition.slug)
        elif existed:
            report.services_versioned.append(definition.slug)
        else:
            report.services_created.append(definition.slug)
    if report.teams_created or report.services_created or report.services_versioned:
        record_admin_action(
            session, by=by, action="catalog.imported", subject=str(folder.name or folder),
            detail=f"teams created: {report.teams_created}; "
                   f"new services: {', '.join(report.services_created) or 'none'}; "
                   f"new versions: {', '.join(report.services_versioned) or 'none'}",
        )
    session.commit()
    return report


def service_to_toml(definition: ServiceDefinition) -> str:
    return tomli_w.dumps(definition.to_data(), multiline_strings=True)


def export_catalog(session: Session, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    teams = session.exec(select(Team).order_by(col(Team.slug))).all()
    teams_path = folder / TEAMS_FILE
    teams_path.write_text(
        tomli_w.dumps({"teams": [{"slug": t.slug, "name": t.name} for t in teams]})
    )
    written.append(teams_path)
    for service in session.exec(select(Service).order_by(col(Service.slug))):
        path = folder / f"{service.slug}.toml"
        path.write_text(service_to_toml(definition_of(current_version(session, service))))
        written.append(path)
    return written
