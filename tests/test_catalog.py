"""The catalog as files: importing, versioning, exporting, and finding services."""

import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from sqlmodel import Session, col, delete, func, select

from app.format.definitions import parse_service
from app.rules.catalog import (
    CatalogFileError,
    active_services,
    current_version,
    definition_of,
    export_catalog,
    get_service_by_slug,
    import_catalog,
    save_service,
)
from app.storage.models import Service, ServiceRequest, ServiceVersion, Team
from tests.factories import Factory

SERVICES = Path(__file__).parent.parent / "services"


def service_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.toml") if p.name != "teams.toml")


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def service_data(slug: str, *, team: str = "it", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": slug, "name": slug.replace("-", " ").capitalize(), "category": "General",
        "fields": [{"key": "summary", "label": "Summary", "type": "text", "required": True}],
        "steps": [{"name": "Do it", "team": team}],
    }
    data.update(overrides)
    return data


def write_catalog(
    folder: Path, services: dict[str, dict[str, Any]],
    teams: tuple[tuple[str, str], ...] = (("it", "IT Support"),),
) -> Path:
    """Writes teams.toml and one file per service (named by the dict's keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "teams.toml").write_text(
        tomli_w.dumps({"teams": [{"slug": s, "name": n} for s, n in teams]})
    )
    for filename, data in services.items():
        (folder / filename).write_text(tomli_w.dumps(data))
    return folder


def import_errors(session: Session, folder: Path) -> list[str]:
    with pytest.raises(CatalogFileError) as raised:
        import_catalog(session, folder)
    assert str(raised.value) == "\n".join(raised.value.problems)
    return raised.value.problems


def test_importing_the_example_catalog_creates_its_teams_and_services(session):
    report = import_catalog(session, SERVICES)
    slugs = [path.stem for path in service_files(SERVICES)]
    assert len(slugs) >= 6
    assert sorted(report.services_created) == slugs
    assert report.services_versioned == [] and report.services_unchanged == []
    assert report.teams_created >= 4
    assert report.teams_created == count(session, Team)
    services = session.exec(select(Service).order_by(col(Service.slug))).all()
    assert [service.slug for service in services] == slugs
    for service in services:
        version = current_version(session, service)
        assert version.number == 1 and version.service_id == service.id
        assert definition_of(version).slug == service.slug
        assert definition_of(version).name == service.name
    assert count(session, ServiceVersion) == len(slugs)


def test_an_imported_service_mirrors_its_definition(session):
    import_catalog(session, SERVICES)
    service = get_service_by_slug(session, "software-install")
    assert service is not None
    with (SERVICES / "software-install.toml").open("rb") as handle:
        definition = parse_service(tomllib.load(handle))
    assert (service.name, service.category, service.description, service.ordering) == (
        definition.name, definition.category, definition.description, definition.ordering
    )
    assert service.is_active is definition.active
    assert current_version(session, service).definition == definition.to_data()


def test_importing_the_same_folder_again_changes_nothing(session):
    first = import_catalog(session, SERVICES)
    versions = count(session, ServiceVersion)
    teams = count(session, Team)
    again = import_catalog(session, SERVICES)
    assert sorted(again.services_unchanged) == sorted(first.services_created)
    assert again.services_created == [] and again.services_versioned == []
    assert again.teams_created == 0
    assert count(session, ServiceVersion) == versions
    assert count(session, Team) == teams


def test_a_changed_definition_gets_a_new_version_and_old_requests_keep_theirs(
    session, make: Factory, tmp_path
):
    folder = tmp_path / "catalog"
    shutil.copytree(SERVICES, folder)
    import_catalog(session, folder)
    service = get_service_by_slug(session, "software-install")
    first = current_version(session, service)
    first_definition = dict(first.definition)
    request = make.request(service, make.user(), {
        "software": "Wireshark 4.2", "asset_tag": "LT-04512",
        "licence": "Free or open source", "purpose": "Debugging the office network.",
    })
    old_steps = [task.step_name for task in make.tasks(request)]
    assert old_steps == ["Review and install"]

    path = folder / "software-install.toml"
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    data["steps"][0]["name"] = "Review"
    data["steps"].append({"name": "Install", "team": "it"})
    path.write_text(tomli_w.dumps(data))
    report = import_catalog(session, folder)

    assert report.services_versioned == ["software-install"]
    assert report.services_created == []
    assert "software-install" not in report.services_unchanged
    assert len(report.services_unchanged) == len(service_files(folder)) - 1
    second = current_version(session, session.get(Service, service.id))
    assert second.number == 2 and second.id != first.id
    assert [step.name for step in definition_of(second).steps] == ["Review", "Install"]
    session.expire_all()
    stored = session.get(ServiceRequest, request.id)
    assert stored.version_id == first.id
    assert [task.step_name for task in make.tasks(stored)] == old_steps
    assert session.get(ServiceVersion, first.id).definition == first_definition

    newer = make.request(service, make.user(), {
        "software": "Inkscape", "asset_tag": "LT-00001",
        "licence": "Free or open source", "purpose": "Drawing the new floor plan.",
    })
    assert newer.version_id == second.id
    assert [task.step_name for task in make.tasks(newer)] == ["Review", "Install"]


def test_a_changed_name_or_category_moves_to_the_service(session, tmp_path):
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk")})
    import_catalog(session, folder)
    write_catalog(tmp_path, {"desk.toml": service_data(
        "desk", name="A standing desk", category="Workplace", active=False)})
    import_catalog(session, folder)
    service = get_service_by_slug(session, "desk")
    assert (service.name, service.category, service.is_active) == (
        "A standing desk", "Workplace", False
    )


def test_a_bad_file_names_the_file_and_the_key_and_nothing_is_imported(session, tmp_path):
    folder = write_catalog(tmp_path, {
        "desk.toml": service_data("desk", team="legal"),
        "chair.toml": service_data("chair", fields=[
            {"key": "colour", "label": "Colour", "type": "select"},
        ]),
    }, teams=(("it", "IT Support"), ("legal", "Legal")))
    assert import_errors(session, folder) == [
        f"{folder / 'chair.toml'}: fields.0.options: "
        "a select field needs a non-empty 'options' list",
    ]
    assert count(session, Team) == 0
    assert count(session, Service) == 0
    assert count(session, ServiceVersion) == 0


def test_a_bad_file_leaves_existing_services_as_they_were(session, tmp_path):
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk")})
    import_catalog(session, folder)
    write_catalog(tmp_path, {
        "desk.toml": service_data("desk", name="Changed desk"),
        "chair.toml": service_data("chair", steps=[]),
    }, teams=(("it", "IT"), ("hr", "HR")))
    problems = import_errors(session, folder)
    assert [p.split(": ")[:2] for p in problems] == [[str(folder / "chair.toml"), "steps"]]
    service = get_service_by_slug(session, "desk")
    assert service.name == "Desk" and current_version(session, service).number == 1
    assert session.exec(select(Team.slug, Team.name)).all() == [("it", "IT Support")]


def test_every_bad_file_is_reported_at_once(session, tmp_path):
    folder = write_catalog(tmp_path, {
        "a.toml": {**service_data("a"), "slug": "A"},
        "b.toml": service_data("b", colour="red"),
        "c.toml": service_data("c"),
    })
    problems = import_errors(session, folder)
    assert [problem.split(": ")[:2] for problem in problems] == [
        [str(folder / "a.toml"), "slug"], [str(folder / "b.toml"), "colour"],
    ]
    assert count(session, Service) == 0


def test_an_unknown_team_is_reported_at_its_step(session, tmp_path):
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk", steps=[
        {"name": "Approve", "team": "it"},
        {"name": "Deliver", "team": "movers"},
    ])})
    assert import_errors(session, folder) == [
        f"{folder / 'desk.toml'}: steps.1.team: unknown team 'movers'",
    ]
    assert count(session, Team) == 0


def test_a_team_may_come_from_the_database_or_the_folders_teams_file(
    session, make: Factory, tmp_path
):
    make.team("movers")
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk", steps=[
        {"name": "Approve", "team": "it"},
        {"name": "Deliver", "team": "movers"},
    ])})
    report = import_catalog(session, folder)
    assert report.services_created == ["desk"]
    assert report.teams_created == 1


def test_a_file_whose_name_differs_from_its_slug_is_reported(session, tmp_path):
    folder = write_catalog(tmp_path, {"standing-desk.toml": service_data("desk")})
    assert import_errors(session, folder) == [
        f"{folder / 'standing-desk.toml'}: slug: 'desk' does not match the file name",
    ]
    assert count(session, Service) == 0


def test_invalid_toml_is_reported_with_the_file_name(session, tmp_path):
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk")})
    (folder / "chair.toml").write_text('slug = "chair"\nname = "Chair\n')
    [problem] = import_errors(session, folder)
    assert problem.startswith(f"{folder / 'chair.toml'}: not valid TOML: ")
    assert count(session, Service) == 0


def test_a_bad_teams_file_is_reported_with_its_name(session, tmp_path):
    folder = write_catalog(tmp_path, {"desk.toml": service_data("desk")},
                           teams=(("it", "IT"), ("Bad Team", "Bad")))
    problems = import_errors(session, folder)
    assert problems[0] == (
        f"{folder / 'teams.toml'}: teams.1.slug: use lower-case letters, digits and hyphens"
    )
    assert count(session, Team) == 0


def test_a_folder_without_service_files_is_an_error(session, tmp_path):
    folder = write_catalog(tmp_path, {})
    assert import_errors(session, folder) == [f"{folder}: no service files (*.toml) found"]
    assert count(session, Team) == 0


def test_an_exported_catalog_re_imports_unchanged(session, tmp_path):
    first = import_catalog(session, SERVICES)
    written = export_catalog(session, tmp_path / "export")
    assert sorted(path.name for path in written) == sorted(
        path.name for path in SERVICES.glob("*.toml")
    )
    again = import_catalog(session, tmp_path / "export")
    assert sorted(again.services_unchanged) == sorted(first.services_created)
    assert again.services_versioned == [] and again.services_created == []
    assert again.teams_created == 0


def test_exported_files_hold_the_same_definitions_as_the_originals(session, tmp_path):
    import_catalog(session, SERVICES)
    export = tmp_path / "export"
    export_catalog(session, export)
    for original in service_files(SERVICES):
        with original.open("rb") as handle:
            expected = parse_service(tomllib.load(handle)).to_data()
        with (export / original.name).open("rb") as handle:
            assert parse_service(tomllib.load(handle)).to_data() == expected
    with (SERVICES / "teams.toml").open("rb") as handle:
        teams = sorted((t["slug"], t["name"]) for t in tomllib.load(handle)["teams"])
    with (export / "teams.toml").open("rb") as handle:
        assert sorted((t["slug"], t["name"]) for t in tomllib.load(handle)["teams"]) == teams


def test_an_exported_catalog_fills_an_empty_database(session, tmp_path):
    import_catalog(session, SERVICES)
    export_catalog(session, tmp_path / "export")
    expected = {s.slug: current_version(session, s).definition
                for s in session.exec(select(Service))}
    # Empty the catalog, as if the files were taken to a new installation.
    for model in (ServiceVersion, Service, Team):
        session.exec(delete(model))  # type: ignore[call-overload]
    session.expire_all()
    assert count(session, Service) == 0
    report = import_catalog(session, tmp_path / "export")
    assert sorted(report.services_created) == sorted(expected)
    assert {s.slug: current_version(session, s).definition
            for s in session.exec(select(Service))} == expected


def catalog_of(session: Session, make: Factory) -> None:
    make.service(slug="laptop", name="Request a laptop", category="IT & equipment",
                 description="A new or replacement machine.")
    make.service(slug="desk-move", name="Office or desk move", category="Workplace",
                 description="Move your desk, chair and screens.")
    make.service(slug="purchase", name="Purchase request", category="Purchasing",
                 description="Buy goods from a vendor, like a new Laptop bag.")
    make.team("it")
    retired = parse_service(service_data("old-laptop", name="Old laptop form", active=False))
    save_service(session, definition=retired)


@pytest.mark.parametrize(
    ("search", "slugs"),
    [
        ("", ["laptop", "purchase", "desk-move"]),
        ("laptop", ["laptop", "purchase"]),
        ("LAPTOP", ["laptop", "purchase"]),
        ("workplace", ["desk-move"]),
        ("chair", ["desk-move"]),
        ("laptop bag", ["purchase"]),
        ("  Desk   MOVE ", ["desk-move"]),
        ("printer", []),
    ],
)
def test_active_services_are_found_by_words_in_name_description_or_category(
    session, make: Factory, search, slugs
):
    catalog_of(session, make)
    found = active_services(session, search=search)
    assert sorted(service.slug for service in found) == sorted(slugs)
    assert all(service.is_active for service in found)


def test_active_services_are_listed_by_category_then_name(session, make: Factory):
    catalog_of(session, make)
    assert [s.slug for s in active_services(session)] == ["laptop", "purchase", "desk-move"]


@pytest.mark.parametrize("search", ["%", "_", "desk%move"])
def test_wildcards_in_a_search_are_taken_literally(session, make: Factory, search):
    catalog_of(session, make)
    assert active_services(session, search=search) == []


def test_the_example_catalog_shows_conditions_stages_and_targets(session):
    import_catalog(session, SERVICES)
    purchase = definition_of(
        current_version(session, get_service_by_slug(session, "purchase-request")))
    assert [(s.name, s.condition) for s in purchase.steps] == [
        ("Department head approval", "amount > 1000"),
        ("CFO approval", "amount > 25000"),
        ("Place order", None),
    ]
    onboarding = definition_of(
        current_version(session, get_service_by_slug(session, "onboard-new-hire")))
    assert onboarding.stages() == [1, 2, 3, 3, 4]
    assert [f.show_if for f in onboarding.fields if f.key == "monitor_size"] == [
        'equipment includes "Monitor"']
    assert all(s.target_business_days for s in onboarding.steps[:4])


def test_an_import_that_changes_the_catalog_is_written_to_the_admin_audit_log(session):
    from app.storage.models import AdminEvent

    import_catalog(session, SERVICES)
    import_catalog(session, SERVICES)  # unchanged: nothing to record
    entries = session.exec(select(AdminEvent)).all()
    assert [entry.action for entry in entries] == ["catalog.imported"]
    assert "onboard-new-hire" in entries[0].detail
