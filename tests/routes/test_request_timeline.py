"""The request page's timeline a page at a time, and the limit on how many comments one
person posts in a minute (issue 12, item 15)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, func, select

from app.format.definitions import parse_service
from app.reads.request_detail import TIMELINE_PAGE
from app.rules.catalog import save_service
from app.rules.errors import TooManyComments
from app.rules.requests import COMMENTS_PER_MINUTE, add_comment, cancel_request
from app.storage.clock import frozen_at
from app.storage.models import EventKind, ServiceRequest, TimelineEvent, User
from tests.factories import Factory
from tests.web import text_of

NOTE = re.compile(r'<div class="prose note">([^<]*)</div>')


@pytest.fixture
def rita(make: Factory) -> User:
    return make.user("Rita")


@pytest.fixture
def wendy(make: Factory) -> User:
    return make.user("Wendy", teams=("it",))


@pytest.fixture
def filed(make: Factory, rita: User, wendy: User) -> ServiceRequest:
    service = make.service(steps=[("it", "task")])
    return make.request(service, rita, {"summary": "A light laptop"})


def add_events(session: Session, request: ServiceRequest, by: User, count: int, *,
               internal_every: int = 0) -> None:
    """`count` comments written straight into the timeline ("Comment 1" …), every
    `internal_every`th one an internal note."""
    for n in range(1, count + 1):
        internal = bool(internal_every) and n % internal_every == 0
        session.add(TimelineEvent(
            request_id=request.id, actor_id=by.id, note=f"Comment {n}",
            kind=EventKind.note if internal else EventKind.comment, is_internal=internal,
        ))
    session.flush()


def notes(html: str) -> list[str]:
    return NOTE.findall(html)


def earlier_link(html: str) -> str | None:
    found = re.search(r'<li class="earlier"[^>]*>\s*<a class="button" href="([^"]+)"\s+'
                      r'hx-get="([^"]+)" hx-target="closest li" hx-swap="outerHTML"', html)
    if found is None:
        return None
    href, hx_get = found.groups()
    assert href == f"{hx_get}#timeline"
    return hx_get


# --- the timeline a page at a time ------------------------------------------------------


def test_the_page_shows_the_newest_events_oldest_first_with_a_way_to_earlier_ones(
    web, session, filed, rita, wendy
):
    add_events(session, filed, wendy, 120)

    page = web.login(rita).get(f"/requests/{filed.id}").text

    assert notes(page) == [f"Comment {n}" for n in range(121 - TIMELINE_PAGE, 121)]
    link = earlier_link(page)
    first_shown = session.exec(select(TimelineEvent.id).where(
        TimelineEvent.request_id == filed.id, TimelineEvent.note == "Comment 71")).one()
    assert link == f"/requests/{filed.id}?before={first_shown}"
    assert "Show the newest events" not in page


def test_show_earlier_loads_the_page_before_in_place_and_then_the_rest(
    web, session, filed, rita, wendy
):
    add_events(session, filed, wendy, 120)
    web.login(rita)
    link = earlier_link(web.get(f"/requests/{filed.id}").text)
    assert link

    fragment = web.get(link, htmx=True)

    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "Add a comment" not in fragment.text
    assert notes(fragment.text) == [f"Comment {n}" for n in range(21, 71)]
    rest = web.get(earlier_link(fragment.text), htmx=True)  # type: ignore[arg-type]
    # The oldest page: the submission, the task that opened, comments 1 to 20; no more.
    assert notes(rest.text) == [f"Comment {n}" for n in range(1, 21)]
    assert "asked for this" in text_of(rest) and "asked for this" not in fragment.text
    assert earlier_link(rest.text) is None


def test_without_htmx_show_earlier_opens_the_page_of_those_events(
    web, session, filed, rita, wendy
):
    add_events(session, filed, wendy, 60)
    web.login(rita)
    link = earlier_link(web.get(f"/requests/{filed.id}").text)

    page = web.get(link)  # type: ignore[arg-type]

    assert page.status_code == 200
    assert notes(page.text) == [f"Comment {n}" for n in range(1, 11)]
    assert "asked for this" in text_of(page)
    assert f'<a href="/requests/{filed.id}#timeline">Show the newest events</a>' in page.text
    assert "Add a comment" in page.text


def test_earlier_pages_keep_internal_notes_from_the_requester(
    web, session, filed, rita, wendy
):
    add_events(session, filed, wendy, 130, internal_every=2)
    web.login(rita)

    newest = web.get(f"/requests/{filed.id}").text
    earlier = web.get(earlier_link(newest), htmx=True).text  # type: ignore[arg-type]

    shown = notes(newest) + notes(earlier)
    assert shown and all(int(note.split()[1]) % 2 == 1 for note in shown)
    assert "internal note" not in newest + earlier
    web.login(wendy)
    assert "Comment 130" in web.get(f"/requests/{filed.id}").text


def test_what_older_events_say_still_shows_past_the_newest_page(
    web, session, make, rita
):
    make.team("it")
    make.team("hr")
    service, _ = save_service(session, definition=parse_service({
        "slug": "chair", "name": "Chair", "category": "Office",
        "fields": [{"key": "summary", "label": "Summary", "type": "text"},
                   {"key": "new_hire", "label": "New hire", "type": "checkbox"}],
        "steps": [{"name": "Order", "team": "it"},
                  {"name": "Welcome pack", "team": "hr", "condition": "new_hire is true"}],
    }))
    session.commit()
    filed = make.request(service, rita, {"summary": "Chair"})
    cancel_request(session, service_request=filed, by=rita, reason="Found one in storage")
    add_events(session, filed, rita, TIMELINE_PAGE + 5)

    page = text_of(web.login(rita).get(f"/requests/{filed.id}"))

    # The newest page only: not the submission, the cancelling or the first comments.
    assert "asked for this" not in page and "cancelled the request" not in page
    assert "Comment 5 " not in page and "Comment 6 " in page
    assert "Cancelled by Rita : “Found one in storage”" in page
    assert "Not needed: only for requests where New hire is ticked." in page


@pytest.mark.parametrize("before", ["0", "-1", "abc", "99999999999999999999"])
def test_a_broken_show_earlier_address_is_a_clear_4xx(web, filed, rita, before):
    response = web.login(rita).get(f"/requests/{filed.id}?before={before}")

    assert 400 <= response.status_code < 500


# --- how many comments a minute -------------------------------------------------------


def comments_by(session: Session, user: User) -> int:
    return session.exec(select(func.count()).select_from(TimelineEvent).where(
        TimelineEvent.actor_id == user.id, col(TimelineEvent.kind).in_(["comment", "note"]))
    ).one()


def test_one_person_may_post_only_so_many_comments_a_minute_over_all_requests(
    session, make, filed, rita, wendy
):
    other = make.request(make.service(steps=[("it", "task")]), rita)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for n in range(COMMENTS_PER_MINUTE):
        with frozen_at(start + timedelta(seconds=n)):
            add_comment(session, service_request=filed if n % 2 else other, by=rita,
                        body=f"Comment {n}", internal=False, is_team_member=False)

    with frozen_at(start + timedelta(seconds=30)), pytest.raises(TooManyComments) as refused:
        add_comment(session, service_request=filed, by=rita, body="One more",
                    internal=False, is_team_member=False)

    assert refused.value.status_code == 429
    # The first of the ten is a minute old at 9:01:00, thirty seconds on.
    assert refused.value.retry_after == 30
    assert comments_by(session, rita) == COMMENTS_PER_MINUTE
    # Someone else is not held back by Rita's comments.
    with frozen_at(start + timedelta(seconds=30)):
        add_comment(session, service_request=filed, by=wendy, body="Working on it",
                    internal=True, is_team_member=True)
    # A minute after the first, one more is accepted.
    with frozen_at(start + timedelta(seconds=60, microseconds=1)):
        add_comment(session, service_request=filed, by=rita, body="One more",
                    internal=False, is_team_member=False)
    assert comments_by(session, rita) == COMMENTS_PER_MINUTE + 1


def test_internal_notes_count_toward_the_limit(session, filed, wendy):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with frozen_at(start):
        for n in range(COMMENTS_PER_MINUTE):
            add_comment(session, service_request=filed, by=wendy, body=f"Note {n}",
                        internal=n % 2 == 0, is_team_member=True)
        with pytest.raises(TooManyComments):
            add_comment(session, service_request=filed, by=wendy, body="And another",
                        internal=True, is_team_member=True)


def _post_up_to_the_limit(web, filed: ServiceRequest) -> None:  # type: ignore[no-untyped-def]
    for n in range(COMMENTS_PER_MINUTE):
        assert web.post(f"/requests/{filed.id}/comments", {"body": f"C{n}"}).status_code == 303


def test_a_comment_past_the_limit_is_refused_with_the_text_kept(web, session, filed, rita):
    web.login(rita)
    _post_up_to_the_limit(web, filed)

    response = web.post(f"/requests/{filed.id}/comments",
                        {"body": "A long thought I do not want to type again"})

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = re.search(r'<p class="field-error" id="comment-body-error">([^<]*)</p>',
                      response.text)
    assert error and error.group(1).startswith(
        f"You have posted {COMMENTS_PER_MINUTE} comments in the last minute: wait")
    assert ">A long thought I do not want to type again</textarea>" in response.text
    assert comments_by(session, rita) == COMMENTS_PER_MINUTE


def test_over_htmx_a_comment_past_the_limit_is_a_toast(web, session, filed, rita):
    web.login(rita)
    _post_up_to_the_limit(web, filed)

    response = web.post(f"/requests/{filed.id}/comments", {"body": "Again"}, htmx=True)

    assert response.status_code == 429
    assert response.headers["HX-Reswap"] == "none"
    assert "comments in the last minute" in response.headers["HX-Trigger"]
    assert "Retry-After" in response.headers
    assert comments_by(session, rita) == COMMENTS_PER_MINUTE
