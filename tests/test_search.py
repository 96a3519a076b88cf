"""Search across requests (app/reads/search.py) on the index app/storage/search_index.py
keeps: what each role finds, internal notes, filters, keyset pages, words-only queries,
and the index in step with the rows after every rule and after a rebuild."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.reads.search import (
    SearchFilters,
    number_in,
    request_by_number,
    search_requests,
    words_of,
)
from app.rules.requests import add_comment, cancel_request
from app.rules.tasks import complete_task
from app.rules.teams import teams_of
from app.storage import search_index
from app.storage.models import Service, ServiceRequest, TimelineEvent, User, utcnow
from tests.factories import Factory


@dataclass
class World:
    laptop: Service
    payroll: Service
    rita: User  # asks for a laptop
    sam: User  # asks for a payroll change
    ivan: User  # IT
    hana: User  # HR
    mona: User  # manager
    rita_laptop: ServiceRequest
    sam_payroll: ServiceRequest


@pytest.fixture
def world(make: Factory) -> World:
    laptop = make.service(slug="laptop", steps=[("it", "task")])
    payroll = make.service(slug="payroll", steps=[("hr", "task")])
    rita, sam = make.user("Rita Requester"), make.user("Sam Sender")
    ivan = make.user("Ivan Tech", teams=("it",))
    hana = make.user("Hana People", teams=("hr",))
    mona = make.user("Mona Manager", manager=True)
    return World(laptop, payroll, rita, sam, ivan, hana, mona,
                 make.request(laptop, rita, {"summary": "keyboard broken"}),
                 make.request(payroll, sam, {"summary": "keyboard allowance"}))


def found(session: Session, user: User, query: str, **filters) -> list[int]:  # type: ignore[no-untyped-def]
    team_ids = [team.id for team in teams_of(session, user)]
    page = search_requests(session, user=user, team_ids=team_ids, words=words_of(query),
                           filters=SearchFilters(**filters), limit=100)
    return [result.id for result in page.results]


def test_a_requester_finds_only_their_own_requests(session, world):
    assert found(session, world.rita, "keyboard") == [world.rita_laptop.id]
    assert found(session, world.sam, "keyboard") == [world.sam_payroll.id]


def test_a_team_member_finds_the_requests_with_a_task_of_their_teams(session, world):
    assert found(session, world.ivan, "keyboard") == [world.rita_laptop.id]
    assert found(session, world.hana, "keyboard") == [world.sam_payroll.id]


def test_a_manager_finds_every_request(session, world):
    assert found(session, world.mona, "keyboard") == [world.sam_payroll.id,
                                                      world.rita_laptop.id]


def test_someone_with_no_request_and_no_team_finds_nothing(session, make, world):
    assert found(session, make.user("Otto Outsider"), "keyboard") == []


def test_words_search_titles_answers_comments_and_requester_names(session, world):
    add_comment(session, service_request=world.rita_laptop, by=world.rita,
                body="The spacebar sticks", internal=False, is_team_member=False)
    for words in ("broken", "spacebar", "Requester", "rita keyboard", "Laptop"):
        assert found(session, world.mona, words) == [world.rita_laptop.id], words
    assert found(session, world.mona, "keyboard spacebar missing") == []  # every word


def test_internal_notes_find_a_request_for_its_teams_and_never_for_its_requester(
        session, make, world):
    add_comment(session, service_request=world.rita_laptop, by=world.ivan,
                body="Vendor quoted zanzibar pricing", internal=True, is_team_member=True)
    assert found(session, world.ivan, "zanzibar") == [world.rita_laptop.id]
    assert found(session, world.mona, "zanzibar") == [world.rita_laptop.id]
    assert found(session, world.rita, "zanzibar") == []
    assert found(session, world.rita, "keyboard zanzibar") == []


def test_a_requester_on_a_team_of_their_own_request_never_finds_it_by_its_notes(
        session, make, world):
    both = make.user("Bea Both", teams=("it",))
    own = make.request(world.laptop, both, {"summary": "monitor flicker"})
    add_comment(session, service_request=own, by=world.ivan, body="zanzibar",
                internal=True, is_team_member=True)
    assert found(session, both, "zanzibar") == []
    assert found(session, world.ivan, "zanzibar") == [own.id]
    manager_own = make.request(world.laptop, world.mona, {"summary": "dock"})
    add_comment(session, service_request=manager_own, by=world.ivan, body="zanzibar",
                internal=True, is_team_member=True)
    assert found(session, world.mona, "zanzibar") == [own.id]


def test_a_snippet_shows_the_words_and_never_a_note_to_the_requester(session, world):
    add_comment(session, service_request=world.rita_laptop, by=world.ivan,
                body="keyboard vendor is zanzibar", internal=True, is_team_member=True)
    rita_page = search_requests(session, user=world.rita, team_ids=[],
                                words=["keyboard"])
    shown = "".join(part for part, _ in rita_page.results[0].snippet)
    assert "zanzibar" not in shown and not rita_page.results[0].in_note
    # The word is in the title (made of the answer): marked there, not said again.
    assert ("keyboard", True) in rita_page.results[0].title_parts
    assert rita_page.results[0].snippet == []
    ivan_page = search_requests(session, user=world.ivan,
                                team_ids=[t.id for t in teams_of(session, world.ivan)],
                                words=["zanzibar"])
    assert ivan_page.results[0].in_note
    assert ("zanzibar", True) in ivan_page.results[0].snippet
    assert ivan_page.results[0].snippet_label == "Internal note by Ivan Tech"


def test_filters_by_state_service_and_filing_date(session, world):
    cancel_request(session, service_request=world.rita_laptop, by=world.rita, reason="Not needed")
    assert found(session, world.mona, "keyboard", state="cancelled") == [world.rita_laptop.id]
    assert found(session, world.mona, "keyboard", state="open") == [world.sam_payroll.id]
    assert found(session, world.mona, "keyboard",
                 service_id=world.payroll.id) == [world.sam_payroll.id]
    today = utcnow().date()
    assert len(found(session, world.mona, "keyboard", filed_from=today,
                     filed_until=today)) == 2
    assert found(session, world.mona, "keyboard",
                 filed_until=today - timedelta(days=1)) == []
    assert found(session, world.mona, "keyboard",
                 filed_from=today + timedelta(days=1)) == []


def test_filing_dates_find_requests_of_earlier_months(session, world):
    # The index narrows dates by the months requests were filed in (scope words).
    session.execute(text("UPDATE service_request SET created_at = :at WHERE id = :id"), {
        "at": utcnow().replace(year=2025, month=1, day=15), "id": world.rita_laptop.id})
    search_index.note_request(session, world.rita_laptop.id)
    session.commit()
    agree(session)
    january = {"filed_from": date(2025, 1, 1), "filed_until": date(2025, 1, 31)}
    assert found(session, world.mona, "keyboard", **january) == [world.rita_laptop.id]
    assert found(session, world.mona, "keyboard", filed_from=date(2025, 1, 16),
                 filed_until=date(2025, 1, 31)) == []  # to the day, not the month
    assert found(session, world.mona, "keyboard",
                 filed_until=date(2025, 2, 1)) == [world.rita_laptop.id]
    assert found(session, world.mona, "keyboard", filed_from=date(2025, 2, 1)) == [
        world.sam_payroll.id]
    assert found(session, world.mona, "keyboard", filed_from=date(2020, 1, 1)) == [
        world.sam_payroll.id, world.rita_laptop.id]  # a span too long to narrow
    assert found(session, world.mona, "keyboard", filed_from=date(2025, 3, 1),
                 filed_until=date(2025, 2, 1)) == []


def test_keyset_pages_join_up_with_nothing_twice(session, make, world):
    ids = [make.request(world.laptop, world.rita, {"summary": f"dock {n}"}).id
           for n in range(7)]
    seen: list[int] = []
    before = None
    while True:
        page = search_requests(session, user=world.ivan,
                               team_ids=[t.id for t in teams_of(session, world.ivan)],
                               words=["dock"], before=before, limit=3)
        seen += [result.id for result in page.results]
        assert page.count == 7 and page.count_is_exact
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == sorted(ids, reverse=True)


def test_a_count_past_the_limit_says_more_than(session, make, world, monkeypatch):
    monkeypatch.setattr("app.reads.search.COUNT_LIMIT", 3)
    for n in range(5):
        make.request(world.laptop, world.rita, {"summary": f"dock {n}"})
    page = search_requests(session, user=world.mona, team_ids=[], words=["dock"], limit=2)
    assert (page.count, page.count_is_exact) == (3, False)
    page = search_requests(session, user=world.mona, team_ids=[], words=["dock"], limit=10)
    assert (page.count, page.count_is_exact) == (5, True)


@pytest.mark.parametrize("query", [
    '"', '""', "*", "NEAR", "NEAR(a b)", "a OR b", "-keyboard", "keyboard*", "'", "\\",
    "a:b", "{public}: x", "^x", "AND", "NOT keyboard", "(", ")", "&|!", "<->", "ü" * 300,
    "clé", "日本語", "🙂", "\x00", "x" * 5000,
])
def test_what_is_typed_is_only_words_never_query_syntax(session, world, query):
    words = words_of(query)
    assert all(word.isalnum() for word in words)
    search_requests(session, user=world.mona, team_ids=[], words=words)  # no error


def test_query_words_are_bounded_and_keywords_are_plain_words(session, make, world):
    assert words_of("x" * 5000) == ["x" * 60]
    assert len(words_of(" ".join(f"w{n}" for n in range(50)))) == 8
    near = make.request(world.laptop, world.rita, {"summary": "near or not"})
    assert found(session, world.mona, "NEAR OR NOT") == [near.id]
    assert found(session, world.mona, '"keyboard" -broken') == [world.rita_laptop.id]


def test_a_number_is_recognised_in_its_usual_forms():
    for query in ("REQ-42", "req42", " 42 ", "#42", "REQ 42", "req-#42"):
        assert number_in(query) == 42, query
    for query in ("42 laptops", "REQ-", "4 2", "REQ-42x"):
        assert number_in(query) is None, query


def test_a_number_finds_a_request_only_for_those_who_may_see_it(session, world):
    number = world.rita_laptop.id
    assert request_by_number(session, user=world.rita, number=number) == world.rita_laptop
    assert request_by_number(session, user=world.ivan, number=number) == world.rita_laptop
    assert request_by_number(session, user=world.mona, number=number) == world.rita_laptop
    assert request_by_number(session, user=world.sam, number=number) is None
    assert request_by_number(session, user=world.hana, number=number) is None
    assert request_by_number(session, user=world.rita, number=10**11) is None


def agree(session: Session) -> dict:  # type: ignore[type-arg]
    documents = search_index.from_rows(session)
    assert search_index.stored(session) == documents
    return documents


def test_the_index_follows_every_change_in_its_transaction(session, make):
    laptop = make.service(slug="laptop", steps=[("it", "task"), ("hr", "task")])
    rita, ivan = make.user("Rita"), make.user("Ivan", teams=("it",))
    agree(session)
    first = make.request(laptop, rita, {"summary": "first one"})
    teams = sorted({task.team_id for task in make.tasks(first)})
    assert agree(session)[first.id][2] == (f"u{rita.id} s{laptop.id} m{first.created_at:%Y%m} "
                                           + " ".join(f"t{team}" for team in teams))
    add_comment(session, service_request=first, by=rita, body="public words",
                internal=False, is_team_member=False)
    assert "public words" in agree(session)[first.id][0]
    add_comment(session, service_request=first, by=ivan, body="secret words",
                internal=True, is_team_member=True)
    assert agree(session)[first.id][1] == "secret words"
    complete_task(session, task=make.tasks(first)[0], by=ivan)
    agree(session)
    cancel_request(session, service_request=first, by=rita, reason="No longer needed")
    agree(session)
    rita.name = "Rita Renamed"
    session.add(rita)
    session.commit()
    assert "Rita Renamed" in agree(session)[first.id][0]


def test_a_change_rolled_back_leaves_the_index_as_it_was(session, make, world):
    before = search_index.stored(session)
    session.add(TimelineEvent(request_id=world.rita_laptop.id, actor_id=world.rita.id,
                              kind="comment", note="never kept"))
    session.flush()  # noted for the index, then thrown away
    session.rollback()
    make.request(world.laptop, world.sam, {"summary": "next one"})
    stored = search_index.stored(session)
    assert stored == search_index.from_rows(session)
    assert stored[world.rita_laptop.id] == before[world.rita_laptop.id]
    assert "never kept" not in stored[world.rita_laptop.id][0]


def test_a_rebuild_makes_the_index_what_the_rows_say(session, world):
    table = "search_text" if session.get_bind().dialect.name == "sqlite" else "search_document"
    session.execute(text(f"DELETE FROM {table}"))
    assert search_index.stored(session) == {}
    assert found(session, world.mona, "keyboard") == []
    assert search_index.rebuild(session) == len(search_index.from_rows(session))
    agree(session)
    assert len(found(session, world.mona, "keyboard")) == 2


def test_the_index_keeps_up_in_a_process_that_never_imports_the_search_page():
    # The demo and other commands file requests without importing app.reads.search:
    # the listeners must come with the tables.
    import subprocess
    import sys
    code = ("import sys, app.storage.models; "
            "assert 'app.storage.search_index' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def laptop_form(make: Factory) -> Service:
    return make.service(slug="new-laptop", name="New laptop", fields=[
        {"key": "summary", "label": "Summary", "type": "text", "required": True},
        {"key": "model", "label": "Laptop model", "type": "text"},
        {"key": "why", "label": "Why", "type": "long_text"},
        {"key": "retire", "label": "Retirement date", "type": "date"},
    ])


def _first(session: Session, user: User, query: str):  # type: ignore[no-untyped-def]
    team_ids = [team.id for team in teams_of(session, user)]
    return search_requests(session, user=user, team_ids=team_ids,
                           words=words_of(query)).results[0]


def test_a_snippet_is_the_answer_holding_the_words_with_its_label(session, make, world,
                                                                   laptop_form):
    make.request(laptop_form, world.rita, {
        "summary": "For Fatima", "model": "Docking station",
        "why": "The old one broke", "retire": "2026-12-14"})
    result = _first(session, world.mona, "docking")
    assert result.snippet_label == "Laptop model"
    assert result.snippet == [("Docking", True), (" station", False)]
    assert result.title_parts == (("New laptop: For Fatima", False),)
    # The answer with the most of the words wins; the title's answer is never repeated.
    result = _first(session, world.mona, "old broke fatima")
    assert result.snippet_label == "Why"
    assert [part for part, hit in result.snippet if hit] == ["old", "broke"]
    assert ("Fatima", True) in result.title_parts


def test_a_long_answer_is_cut_around_the_words(session, make, world, laptop_form):
    words = " ".join(f"w{n}" for n in range(40))
    make.request(laptop_form, world.rita, {"summary": "Long", "why": f"{words} zebra {words}"})
    result = _first(session, world.mona, "zebra")
    shown = "".join(part for part, _ in result.snippet)
    assert shown.startswith("…w37 w38 w39 zebra w0") and shown.endswith("…")
    assert len(shown.split()) == 16


def test_a_comment_is_shown_by_its_author_and_a_title_match_shows_none(session, make, world,
                                                                       laptop_form):
    filed = make.request(laptop_form, world.rita, {"summary": "Spare charger"})
    add_comment(session, service_request=filed, by=world.rita,
                body="The workshop is where I work", internal=False, is_team_member=False)
    result = _first(session, world.mona, "Workshop")
    assert result.snippet_label == "Comment by Rita Requester"
    assert ("workshop", True) in result.snippet
    result = _first(session, world.mona, "charger")
    assert result.snippet == [] and result.snippet_label is None
    assert ("charger", True) in result.title_parts
