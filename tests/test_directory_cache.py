"""The directory cache (app.storage.directory_cache): what a page reads of the directory
is kept per directory version, and nobody is shown what a change since has made untrue;
and the queue page's rows, written by Python (app.web.task_row_html), escape what they
show."""

from typing import Any

import pytest
from sqlmodel import Session

from app.config import get_settings
from app.format.definitions import parse_service
from app.rules import catalog
from app.rules.catalog import current_version, definition_of, kept_definition, save_service
from app.rules.teams import remove_team_member, rename_team
from app.storage import directory_cache
from app.storage.directory_cache import directory_kept, note_directory_version
from tests.factories import Factory
from tests.web import WebClient


def _reader(values: list[Any]) -> Any:
    calls: list[int] = []

    def read() -> Any:
        calls.append(1)
        return values[len(calls) - 1]

    read.calls = calls  # type: ignore[attr-defined]
    return read


def test_a_read_is_kept_at_its_version_and_read_again_at_a_newer_one(session: Session):
    read = _reader(["first", "second", "third"])
    note_directory_version(session, 5)
    assert directory_kept(session, ("k",), read) == "first"
    assert directory_kept(session, ("k",), read) == "first"
    note_directory_version(session, 6)
    assert directory_kept(session, ("k",), read) == "second"
    # A request that read an older version reads afresh and keeps nothing.
    note_directory_version(session, 5)
    assert directory_kept(session, ("k",), read) == "third"
    note_directory_version(session, 6)
    assert directory_kept(session, ("k",), read) == "second"
    assert len(read.calls) == 3


def test_nothing_is_kept_without_a_version_or_with_the_switch_off(
        session: Session, monkeypatch: pytest.MonkeyPatch):
    read = _reader(["a", "b", "c"])
    assert directory_kept(session, ("k",), read) == "a"
    assert directory_kept(session, ("k",), read) == "b"
    monkeypatch.setattr(get_settings(), "directory_cache", False)
    note_directory_version(session, 1)
    assert directory_kept(session, ("k",), read) == "c"
    assert directory_cache.kept_entries() == 0


def test_a_session_that_changes_the_directory_reads_afresh(session: Session, make: Factory):
    note_directory_version(session, 1)
    directory_kept(session, ("k",), lambda: "kept")
    make.team("new-team")  # flushed: a change to the directory, not yet counted
    assert directory_cache.kept_entries() == 0
    assert directory_kept(session, ("k",), lambda: "fresh") == "fresh"
    assert directory_cache.kept_entries() == 0  # no version noted since


def _datalist(page: str) -> str:
    start = page.index('<datalist id="teammates-')
    return page[start:page.index("</datalist>", start)]


def test_a_member_who_left_is_no_longer_offered_nor_a_team_under_its_old_name(
        web: WebClient, session: Session, make: Factory):
    ivan = make.user("Ivan", teams=("it",))
    olga = make.user("Olga", teams=("it",))
    admin = make.user("Ada", admin=True)
    service = make.service(steps=[("it", "task")])
    make.request(service, make.user("Rita"))
    web.login(ivan)
    for _ in range(2):  # the second from memory
        page = web.get("/queues/it").text
        assert olga.email in _datalist(page)
    remove_team_member(session, team=make.team("it"), person=olga, by=admin)
    page = web.get("/queues/it").text
    assert olga.email not in _datalist(page) and ivan.email in _datalist(page)
    rename_team(session, team=make.team("it"), name="Helpdesk", by=admin)
    assert "<h1>Helpdesk" in web.get("/queues/it").text


def test_a_service_form_kept_in_memory_follows_a_new_version_and_a_retirement(
        web: WebClient, session: Session, make: Factory):
    service = make.service(slug="laptop", steps=[("it", "task")])
    web.login(make.user("Rita"))
    for _ in range(2):  # the second from memory
        assert "Cost centre" not in web.get("/services/laptop").text
    assert directory_cache.kept_entries() > 0
    changed = definition_of(current_version(session, service)).to_data()
    changed["fields"].append({"key": "cost_centre", "label": "Cost centre", "type": "text"})
    save_service(session, definition=parse_service(changed))
    session.commit()
    assert "Cost centre" in web.get("/services/laptop").text
    changed["active"] = False
    save_service(session, definition=parse_service(changed))
    session.commit()
    assert web.get("/services/laptop").status_code == 404


def test_a_version_s_definition_is_checked_once_and_each_version_has_its_own(
        session: Session, make: Factory, monkeypatch: pytest.MonkeyPatch):
    laptop = current_version(session, make.service(slug="laptop", steps=[("it", "task")]))
    desk = current_version(session, make.service(slug="desk", steps=[("facilities", "task")]))
    checked: list[int | None] = []
    monkeypatch.setattr(catalog, "definition_of",
                        lambda version: checked.append(version.id) or definition_of(version))
    note_directory_version(session, 1)
    assert kept_definition(session, laptop) is kept_definition(session, laptop)
    assert kept_definition(session, desk).steps[0].team == "facilities"
    assert kept_definition(session, laptop).steps[0].team == "it"
    assert checked == [laptop.id, desk.id]


def test_a_row_escapes_what_it_shows(web: WebClient, make: Factory):
    ivan = make.user("Ivan <b>", teams=("it",))
    service = make.service(steps=[("it", "task")])
    make.request(service, make.user('Rita "R" <i>'), {"summary": "<script>x</script>"})
    page = web.login(ivan).get("/queues/it").text
    row = page[page.index('<tr id="task-'):]
    row = row[:row.index("</tr>")]
    assert "<script>" not in row and "<i>" not in row
    assert "Rita &#34;R&#34; &lt;i&gt;" in row
    assert ">Claim</button>" in row
    # The "Hand to" suggestions (app.web.task_row_html.teammate_lists) escape names too.
    suggestions = page[page.index('<datalist id="teammates-'):]
    suggestions = suggestions[:suggestions.index("</datalist>")]
    assert "<b>" not in suggestions and ">Ivan &lt;b&gt;</option>" in suggestions
