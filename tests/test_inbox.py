"""The inbox's items (issue 14, rule 8): who gets one for each kind of event, per role, and
that nothing reaches anyone who may not see it (rule 6); mentions, follows, team news and
marking read."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from app.reads.inbox import bell_of, inbox_page, team_news
from app.reads.inbox import unread_count as bell_statement_count
from app.reads.request_detail import request_detail
from app.rules.errors import NotAllowed
from app.rules.following import followers, is_following
from app.rules.inbox import (
    look_at_team,
    mark_all_read,
    mark_read,
    open_item,
    set_following,
)
from app.rules.mentions import InvalidMention, mentionable_people
from app.rules.progress import record_event
from app.rules.requests import add_comment, cancel_request
from app.rules.tasks import assign_task, claim_task, complete_task, hand_task, reject_task
from app.rules.teams import remove_team_member
from app.storage.clock import frozen_at
from app.storage.models import (
    EventKind,
    InboxItem,
    Membership,
    Mention,
    ServiceRequest,
    TeamLook,
    TeamNotice,
    TimelineEvent,
    User,
    utcnow,
)
from tests.factories import Factory


def unread_count(session: Session, *, user_id: int, team_ids: frozenset[int]) -> int:
    """The bell's count both ways: its own statement (bound teams; app.web.page_cache's
    check) and the column of the viewer's statement (app.web.viewer, every page), which
    must agree for every case below."""
    alone = bell_statement_count(session, user_id=user_id, team_ids=team_ids)
    with_viewer = session.exec(select(bell_of(col(User.id))).where(col(User.id) == user_id)).one()
    assert with_viewer == alone
    return alone


@dataclass
class People:
    requester: User
    worker: User
    teammate: User
    facilities: User
    other_team: User
    manager: User
    admin: User
    outsider: User

    def everyone(self) -> list[User]:
        return [self.requester, self.worker, self.teammate, self.facilities,
                self.other_team, self.manager, self.admin, self.outsider]


@pytest.fixture
def people(make: Factory) -> People:
    make.team("it", "IT Support")
    make.team("facilities", "Facilities")
    make.team("hr", "People Operations")
    return People(
        requester=make.user("Rita Requester"),
        worker=make.user("Wendy Worker", teams=("it",)),
        teammate=make.user("Tom Teammate", teams=("it",)),
        facilities=make.user("Fay Facilities", teams=("facilities",)),
        other_team=make.user("Hank Hr", teams=("hr",)),
        manager=make.user("Maria Manager", manager=True),
        admin=make.user("Adam Admin", admin=True),
        outsider=make.user("Otto Outsider"),
    )


@pytest.fixture
def filed(make: Factory, people: People) -> ServiceRequest:
    service = make.service(name="New laptop", steps=[("it", "task"), ("facilities", "task")])
    return make.request(service, people.requester, {"summary": "A light one"})


def items(session: Session, person: User) -> list[tuple[str, str]]:
    """(reason, event kind) of each of the person's items, oldest first."""
    return [(reason, kind) for reason, kind in session.exec(
        select(InboxItem.reason, TimelineEvent.kind)
        .join(TimelineEvent, col(TimelineEvent.id) == InboxItem.event_id)
        .where(InboxItem.user_id == person.id).order_by(col(InboxItem.id)))]


def who_got(session: Session, people: People) -> dict[str, list[tuple[str, str]]]:
    return {person.name.split()[0]: items(session, person) for person in people.everyone()
            if items(session, person)}


def team_ids(session: Session, person: User) -> frozenset[int]:
    return frozenset(session.exec(select(Membership.team_id)
                                  .where(Membership.user_id == person.id)).all())


def comment(session: Session, request: ServiceRequest, by: User, body: str,
            internal: bool = False, member: bool = True) -> TimelineEvent:
    return add_comment(session, service_request=request, by=by, body=body, internal=internal,
                       is_team_member=member)


# --- what reaches whom ------------------------------------------------------------------


def test_filing_a_request_tells_no_one(session, people, filed):
    assert who_got(session, people) == {}


def test_a_task_handed_on_reaches_its_new_holder_only(session, make, people, filed):
    task = make.tasks(filed)[0]
    claim_task(session, task=task, by=people.worker)
    hand_task(session, task=task, by=people.worker, to=people.teammate)
    assert who_got(session, people) == {"Tom": [("handed", "handed")]}


def test_a_comment_reaches_the_requester_and_who_worked_on_it_and_no_one_else(
    session, make, people, filed
):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    comment(session, filed, people.worker, "On it", member=True)
    comment(session, filed, people.requester, "Thanks", member=False)
    # Tom is on the team but never touched it; Hank, the admin and Otto cannot see it;
    # the manager sees it but does not follow it.
    assert who_got(session, people) == {"Rita": [("comment", "comment")],
                                        "Wendy": [("comment", "comment")]}


def test_an_internal_note_never_reaches_the_requester(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    set_following(session, user=people.teammate, request=filed, following=True)
    comment(session, filed, people.teammate, "Their manager approved by phone",
            internal=True)
    assert who_got(session, people) == {"Wendy": [("note", "note")]}


def test_a_requester_on_the_request_s_team_gets_no_note_either(session, make, people):
    service = make.service(steps=[("it", "task")])
    own = make.request(service, people.teammate, {"summary": "Mine"})
    claim_task(session, task=make.tasks(own)[0], by=people.worker)
    comment(session, own, people.worker, "Internal only", internal=True)
    assert items(session, people.teammate) == []


def test_the_request_moving_on_reaches_its_requester(session, make, people, filed):
    complete_task(session, task=make.tasks(filed)[0], by=people.worker)
    assert who_got(session, people) == {"Rita": [("moved", "task_opened")]}
    page = inbox_page(session, user=people.requester, team_ids=frozenset(), unread_only=True)
    assert page.lines[0].step_name == "Step 2" and page.lines[0].visible


def test_the_request_moving_on_does_not_reach_a_requester_no_longer_active(
    session, make, people, filed
):
    people.requester.is_active = False
    session.commit()
    complete_task(session, task=make.tasks(filed)[0], by=people.worker)
    assert who_got(session, people) == {}


def test_the_request_completed_reaches_its_followers(session, make, people, filed):
    first, second = make.tasks(filed)
    complete_task(session, task=first, by=people.worker)
    complete_task(session, task=second, by=people.facilities)
    got = who_got(session, people)
    assert got["Rita"] == [("moved", "task_opened"), ("finished", "request_completed")]
    assert got["Wendy"] == [("finished", "request_completed")]
    assert set(got) == {"Rita", "Wendy"}


def test_a_rejected_request_reaches_its_requester(session, make, people):
    service = make.service(steps=[("it", "approval")])
    request = make.request(service, people.requester, {"summary": "Please"})
    reject_task(session, task=make.tasks(request)[0], by=people.worker, reason="No budget")
    assert who_got(session, people) == {"Rita": [("finished", "request_rejected")]}


def test_a_cancelled_request_reaches_who_worked_on_it(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    cancel_request(session, service_request=filed, by=people.requester, reason="Not needed")
    assert who_got(session, people) == {"Wendy": [("finished", "request_cancelled")]}


# --- mentions ---------------------------------------------------------------------------


def test_a_mention_reaches_the_person_and_reads_as_their_name(session, people, filed):
    event = comment(session, filed, people.worker, f"@{people.teammate.email} can you look?")
    assert event.note == "@Tom Teammate can you look?"
    assert who_got(session, people) == {"Rita": [("comment", "comment")],
                                        "Tom": [("mention", "comment")]}


def test_a_mention_by_the_part_before_the_at_sign_finds_the_one_person(session, people,
                                                                       filed):
    handle = people.manager.email.split("@")[0]
    event = comment(session, filed, people.requester, f"Hello @{handle}.", member=False)
    assert event.note == "Hello @Maria Manager."
    assert items(session, people.manager) == [("mention", "comment")]


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider"])
def test_mentioning_someone_who_cannot_see_the_request_is_refused_before_posting(
    session, people, filed, who
):
    person = getattr(people, who)
    with pytest.raises(InvalidMention, match=f"{person.name} cannot see this request"):
        comment(session, filed, people.worker, f"@{person.email} see this")
    assert session.exec(select(TimelineEvent).where(TimelineEvent.kind == "comment")).all() == []
    assert who_got(session, people) == {}


def test_an_internal_note_may_not_mention_the_requester(session, people, filed):
    with pytest.raises(InvalidMention, match="cannot see internal notes"):
        comment(session, filed, people.worker, f"@{people.requester.email} fyi",
                internal=True)
    assert session.exec(select(TimelineEvent).where(TimelineEvent.kind == "note")).all() == []


def test_an_internal_note_reaches_a_mentioned_manager(session, people, filed):
    comment(session, filed, people.worker, f"@{people.manager.email} stuck", internal=True)
    assert who_got(session, people) == {"Maria": [("mention", "note")]}


@pytest.mark.parametrize("text", [
    "Decorators like @property are fine",
    "@nobody here?",
    "Write to @someone@nowhere.example",
])
def test_a_word_after_an_at_sign_that_names_no_one_posts_as_plain_text(session, people,
                                                                       filed, text):
    event = comment(session, filed, people.worker, text)
    assert event.note == text
    assert session.exec(select(Mention)).all() == []


def test_an_escaped_at_sign_writes_a_plain_at_and_mentions_no_one(session, people, filed):
    handle = people.teammate.email.split("@")[0]
    event = comment(session, filed, people.worker, f"Plain \\@{handle}, but @{handle} too")
    assert event.note == f"Plain @{handle}, but @Tom Teammate too"
    assert [mention.user_id for mention in session.exec(select(Mention))] == [
        people.teammate.id]


def test_an_escaped_at_sign_before_someone_who_cannot_see_posts(session, people, filed):
    event = comment(session, filed, people.worker, f"\\@{people.outsider.email} is away")
    assert event.note == f"@{people.outsider.email} is away"


def test_a_mention_of_someone_who_cannot_see_says_how_to_write_it_plainly(session, people,
                                                                         filed):
    with pytest.raises(InvalidMention, match=r"write \\@ before it"):
        comment(session, filed, people.worker, f"@{people.outsider.email} hi")


def test_a_mention_of_several_is_refused(session, make, people, filed):
    twin = people.worker.email.split("@")[0]
    make.user("Twin")  # another address; now make a clash on the part before the @
    clash = User(email=f"{twin}@elsewhere.example", name="Wendy Twin")
    session.add(clash)
    session.flush()
    with pytest.raises(InvalidMention, match=f"Several people are @{twin}"):
        comment(session, filed, people.teammate, f"@{twin} hi")


def test_an_address_in_the_text_is_not_a_mention(session, people, filed):
    event = comment(session, filed, people.worker, "Write to rita@example.com please")
    assert event.note == "Write to rita@example.com please"


# --- following --------------------------------------------------------------------------


def test_following_brings_comments_and_unfollowing_stops_them(session, make, people, filed):
    set_following(session, user=people.teammate, request=filed, following=True)
    set_following(session, user=people.manager, request=filed, following=True)
    set_following(session, user=people.requester, request=filed, following=False)
    comment(session, filed, people.worker, "Ordered")
    assert who_got(session, people) == {"Tom": [("comment", "comment")],
                                        "Maria": [("comment", "comment")]}


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider"])
def test_someone_who_cannot_see_a_request_cannot_follow_it(session, people, filed, who):
    with pytest.raises(NotAllowed):
        set_following(session, user=getattr(people, who), request=filed, following=True)


def test_is_following_says_for_one_person_what_followers_says(session, make, people, filed):
    """The request page asks one person's following with its other columns; followers()
    lists everyone the inbox tells: they agree for each way of following and not."""
    first = make.tasks(filed)[0]
    claim_task(session, task=first, by=people.worker)
    hand_task(session, task=first, by=people.worker, to=people.teammate)  # holds, no event
    comment(session, filed, people.facilities, "Desk is ready")  # worked on it
    set_following(session, user=people.manager, request=filed, following=True)
    set_following(session, user=people.requester, request=filed, following=False)
    everyone = followers(session, request=filed)
    assert {person.name for person in people.everyone()
            if is_following(session, user=person, request=filed)} == {
        "Wendy Worker", "Tom Teammate", "Fay Facilities", "Maria Manager"}
    for person in people.everyone():
        assert is_following(session, user=person, request=filed) == (person.id in everyone)
        # The request page reads it with its head (request_detail's `follower`).
        assert request_detail(session, service_request=filed, with_internal_notes=False,
                              follower=person).following == (person.id in everyone)
    set_following(session, user=people.teammate, request=filed, following=False)
    assert not is_following(session, user=people.teammate, request=filed)


def test_a_worker_who_unfollows_hears_no_more(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    set_following(session, user=people.worker, request=filed, following=False)
    comment(session, filed, people.requester, "Any news?", member=False)
    assert items(session, people.worker) == []


# --- a manager's comment, and team news -------------------------------------------------


def test_a_manager_s_comment_on_an_unclaimed_task_reaches_its_team_once(
    session, make, people, filed
):
    comment(session, filed, people.manager, "Why is this waiting?", member=False)
    notices = session.exec(select(TeamNotice)).all()
    assert [(notice.team_id, notice.request_id) for notice in notices] == [
        (make.team("it").id, filed.id)]  # one row for the team, none per member
    for member in (people.worker, people.teammate):
        news = team_news(session, user_id=member.id, team_ids=team_ids(session, member))
        assert [n.excerpt for n in news[0].notices] == ["Why is this waiting?"]
    assert team_news(session, user_id=people.other_team.id,
                     team_ids=team_ids(session, people.other_team)) == []
    assert who_got(session, people) == {"Rita": [("comment", "comment")]}


def test_a_manager_s_comment_on_a_claimed_task_reaches_its_assignee(session, make, people,
                                                                    filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    comment(session, filed, people.manager, "Why is this taking so long?", member=False)
    assert items(session, people.worker) == [("comment", "comment")]
    assert session.exec(select(TeamNotice)).all() == []


def test_new_tasks_in_a_team_s_queue_are_gathered_in_one_entry(session, make, people):
    service = make.service(steps=[("it", "task")])
    look_at_team(session, by=people.worker, team_id=make.team("it").id)
    for number in range(5):
        make.request(service, people.requester, {"summary": f"Laptop {number}"})
    teams = team_ids(session, people.worker)
    news = team_news(session, user_id=people.worker.id, team_ids=teams)
    assert [(n.team_name, n.new_tasks) for n in news] == [("IT Support", 5)]
    assert items(session, people.worker) == []  # not one item each
    assert unread_count(session, user_id=people.worker.id, team_ids=teams) == 1
    look_at_team(session, by=people.worker, team_id=make.team("it").id)
    assert team_news(session, user_id=people.worker.id, team_ids=teams) == []
    assert unread_count(session, user_id=people.worker.id, team_ids=teams) == 0
    # Another member who never looked sees them all; another team sees none.
    assert team_news(session, user_id=people.teammate.id,
                     team_ids=team_ids(session, people.teammate))[0].new_tasks == 5
    assert unread_count(session, user_id=people.other_team.id,
                        team_ids=team_ids(session, people.other_team)) == 0


def test_a_claimed_task_is_no_longer_new(session, make, people):
    service = make.service(steps=[("it", "task")])
    look_at_team(session, by=people.worker, team_id=make.team("it").id)
    request = make.request(service, people.requester, {"summary": "Laptop"})
    claim_task(session, task=make.tasks(request)[0], by=people.teammate)
    assert team_news(session, user_id=people.worker.id,
                     team_ids=team_ids(session, people.worker)) == []


def test_only_a_member_looks_at_a_team(session, make, people):
    with pytest.raises(NotAllowed):
        look_at_team(session, by=people.other_team, team_id=make.team("it").id)


# --- reading ----------------------------------------------------------------------------


def test_marking_one_read_and_then_all(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    for text in ("One", "Two", "Three"):
        comment(session, filed, people.worker, text)
    rita = people.requester
    assert unread_count(session, user_id=rita.id, team_ids=frozenset()) == 3
    page = inbox_page(session, user=rita, team_ids=frozenset(), unread_only=True)
    assert [line.excerpt for line in page.lines] == ["Three", "Two", "One"]
    assert not mark_read(session, by=people.worker, item_id=page.lines[0].item_id)
    assert mark_read(session, by=rita, item_id=page.lines[0].item_id)
    assert not mark_read(session, by=rita, item_id=page.lines[0].item_id)  # read already
    assert unread_count(session, user_id=rita.id, team_ids=frozenset()) == 2
    unread = inbox_page(session, user=rita, team_ids=frozenset(), unread_only=True)
    assert [line.excerpt for line in unread.lines] == ["Two", "One"]
    everything = inbox_page(session, user=rita, team_ids=frozenset(), unread_only=False)
    assert [line.is_read for line in everything.lines] == [True, False, False]
    mark_all_read(session, by=rita)
    assert unread_count(session, user_id=rita.id, team_ids=frozenset()) == 0
    assert inbox_page(session, user=rita, team_ids=frozenset(), unread_only=True).lines == []


def test_marking_all_read_also_clears_team_news(session, make, people):
    service = make.service(steps=[("it", "task")])
    make.request(service, people.requester, {"summary": "Laptop"})
    teams = team_ids(session, people.worker)
    assert unread_count(session, user_id=people.worker.id, team_ids=teams) == 1
    mark_all_read(session, by=people.worker)
    assert unread_count(session, user_id=people.worker.id, team_ids=teams) == 0


def test_an_item_of_a_request_one_can_no_longer_see_shows_nothing_of_it(
    session, make, people, filed
):
    set_following(session, user=people.teammate, request=filed, following=True)
    comment(session, filed, people.worker, "A secret plan")
    remove_team_member(session, team=make.team("it"), person=people.teammate,
                       by=people.admin)
    line = inbox_page(session, user=people.teammate, team_ids=frozenset(),
                      unread_only=True).lines[0]
    assert not line.visible and line.title == "" and line.excerpt == ""


def test_the_page_goes_on_with_older_items(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    start = datetime.now(UTC)
    for number in range(35):  # a minute apart: under the limit of comments a minute
        with frozen_at(start + timedelta(minutes=number)):
            comment(session, filed, people.worker, f"Update {number}")
    rita = people.requester
    first = inbox_page(session, user=rita, team_ids=frozenset(), unread_only=True)
    assert len(first.lines) == 30 and first.next_before == first.lines[-1].item_id
    rest = inbox_page(session, user=rita, team_ids=frozenset(), unread_only=True,
                      before=first.next_before)
    assert [line.excerpt for line in rest.lines] == [f"Update {n}" for n in range(4, -1, -1)]
    assert rest.next_before is None


# --- who the comment box suggests -------------------------------------------------------


def test_the_comment_box_suggests_only_people_who_may_see_the_request(session, make, people,
                                                                    filed):
    make.user("Paula Gone", teams=("it",), active=False)
    everyone = {person.id for person in mentionable_people(
        session, request=filed, text="example.com", limit=50)}
    # The requester, the team with a task on it (IT and Facilities), managers: rule 6.
    assert everyone == {people.requester.id, people.worker.id, people.teammate.id,
                        people.facilities.id, people.manager.id}
    notes = {person.id for person in mentionable_people(
        session, request=filed, text="example.com", internal=True, limit=50)}
    assert notes == everyone - {people.requester.id}  # never the requester for a note


@pytest.mark.parametrize("who", ["other_team", "admin", "outsider"])
def test_someone_who_cannot_see_the_request_is_never_suggested(session, people, filed, who):
    person = getattr(people, who)
    assert mentionable_people(session, request=filed, text=person.name.split()[0]) == []


def test_suggestions_are_bounded_and_need_two_letters(session, make, people, filed):
    for number in range(12):
        make.user(f"Ivy Itworker {number}", teams=("it",))
    assert len(mentionable_people(session, request=filed, text="itworker")) == 10
    assert mentionable_people(session, request=filed, text="i") == []


# --- following an item's link ------------------------------------------------------------


def test_opening_an_item_marks_it_read_once_and_only_the_reader_s(session, people, filed):
    comment(session, filed, people.worker, "Ordered", member=True)
    [item] = session.exec(select(InboxItem).where(InboxItem.user_id == people.requester.id))
    assert open_item(session, by=people.worker, item_id=item.id) is None  # not theirs
    session.refresh(item)
    assert item.read_at is None
    opened = open_item(session, by=people.requester, item_id=item.id)
    assert opened is not None and opened.read_at is not None
    first = opened.read_at
    again = open_item(session, by=people.requester, item_id=item.id)
    assert again is not None and again.read_at == first  # idempotent
    assert unread_count(session, user_id=people.requester.id, team_ids=frozenset()) == 0


# --- one event, one item a person ---------------------------------------------------------


def test_a_follower_on_the_team_gets_a_manager_s_comment_once(session, make, people, filed):
    it = make.team("it")
    set_following(session, user=people.teammate, request=filed, following=True)
    for member in (people.worker, people.teammate):
        look_at_team(session, by=member, team_id=it.id)
    comment(session, filed, people.manager, "Why is this waiting?", member=False)
    # Tom follows it: his own item, and the team's notice is not shown to him too.
    assert items(session, people.teammate) == [("comment", "comment")]
    tom_teams = team_ids(session, people.teammate)
    assert team_news(session, user_id=people.teammate.id, team_ids=tom_teams) == []
    assert unread_count(session, user_id=people.teammate.id, team_ids=tom_teams) == 1
    # Wendy does not follow it: the team's notice alone.
    wendy_teams = team_ids(session, people.worker)
    assert items(session, people.worker) == []
    news = team_news(session, user_id=people.worker.id, team_ids=wendy_teams)
    assert [notice.excerpt for notice in news[0].notices] == ["Why is this waiting?"]
    assert unread_count(session, user_id=people.worker.id, team_ids=wendy_teams) == 1


def test_a_team_member_mentioned_by_a_manager_gets_the_mention_alone(session, make, people,
                                                                     filed):
    look_at_team(session, by=people.worker, team_id=make.team("it").id)
    comment(session, filed, people.manager, f"@{people.worker.email} can you take it?",
            member=False)
    assert items(session, people.worker) == [("mention", "comment")]
    teams = team_ids(session, people.worker)
    assert team_news(session, user_id=people.worker.id, team_ids=teams) == []
    assert unread_count(session, user_id=people.worker.id, team_ids=teams) == 1


def test_no_event_gives_anyone_two_items(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    set_following(session, user=people.teammate, request=filed, following=True)
    set_following(session, user=people.manager, request=filed, following=True)
    comment(session, filed, people.worker, f"@{people.teammate.email} @{people.manager.email}")
    cancel_request(session, service_request=filed, by=people.requester, reason="Done")
    pairs = session.exec(select(InboxItem.user_id, InboxItem.event_id)).all()
    assert pairs and len(pairs) == len(set(pairs))


# --- a lead assigns -----------------------------------------------------------------------


@pytest.fixture
def lead(session, make, people) -> User:
    lena = make.user("Lena Lead", teams=("it",))
    membership = session.get(Membership, (make.team("it").id, lena.id))
    assert membership is not None
    membership.is_lead = True
    session.commit()
    return lena


def test_an_assignment_reads_assigned_you_and_tells_whoever_held_the_task(
    session, make, people, filed, lead
):
    task = make.tasks(filed)[0]
    claim_task(session, task=task, by=people.worker)
    assign_task(session, task=task, by=lead, to=people.teammate)
    assert items(session, people.teammate) == [("handed", "assigned")]
    assert items(session, people.worker) == [("taken", "assigned")]
    [line] = inbox_page(session, user=people.worker, team_ids=team_ids(session, people.worker),
                        unread_only=True).lines
    assert line.reason == "taken" and line.given_to == "Tom Teammate"
    assert line.step_name == "Step 1"


def test_a_lead_who_takes_a_task_for_themselves_tells_its_holder(session, make, people,
                                                                 filed, lead):
    task = make.tasks(filed)[0]
    claim_task(session, task=task, by=people.worker)
    assign_task(session, task=task, by=lead, to=lead)
    assert items(session, people.worker) == [("taken", "assigned")]
    assert items(session, lead) == []  # never the one who did it
    [line] = inbox_page(session, user=people.worker, team_ids=frozenset(),
                        unread_only=True).lines
    assert line.given_to == ""


def test_assigning_an_open_task_tells_only_its_new_holder(session, make, people, filed, lead):
    assign_task(session, task=make.tasks(filed)[0], by=lead, to=people.worker)
    assert who_got(session, people) == {"Wendy": [("handed", "assigned")]}


def test_a_task_handed_by_its_holder_tells_no_one_it_was_taken(session, make, people, filed):
    task = make.tasks(filed)[0]
    claim_task(session, task=task, by=people.worker)
    hand_task(session, task=task, by=people.worker, to=people.teammate)
    assert items(session, people.worker) == []


# --- Mark all read marks what the page showed ----------------------------------------------


def test_marking_all_read_leaves_what_came_after_the_page(session, make, people, filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    start = utcnow()
    with frozen_at(start):
        comment(session, filed, people.worker, "Seen")
    shown = inbox_page(session, user=people.requester, team_ids=frozenset(),
                       unread_only=True)
    with frozen_at(start + timedelta(minutes=1)):
        comment(session, filed, people.worker, "Came later")
    mark_all_read(session, by=people.requester, up_to=shown.lines[0].item_id,
                  seen_at=start)
    unread = inbox_page(session, user=people.requester, team_ids=frozenset(),
                        unread_only=True)
    assert [line.excerpt for line in unread.lines] == ["Came later"]


def test_marking_all_read_leaves_a_team_s_tasks_that_came_after_the_page(session, make,
                                                                         people):
    service = make.service(steps=[("it", "task")])
    start = utcnow()
    with frozen_at(start - timedelta(minutes=5)):
        make.request(service, people.requester, {"summary": "Shown"})
    with frozen_at(start + timedelta(minutes=1)):
        make.request(service, people.requester, {"summary": "Came later"})
    with frozen_at(start + timedelta(minutes=2)):
        mark_all_read(session, by=people.worker, up_to=0, seen_at=start)
    teams = team_ids(session, people.worker)
    assert [n.new_tasks for n in team_news(session, user_id=people.worker.id,
                                           team_ids=teams)] == [1]


def test_a_mark_never_moves_back(session, make, people):
    it = make.team("it")
    look_at_team(session, by=people.worker, team_id=it.id)
    mark_all_read(session, by=people.worker, up_to=0, seen_at=utcnow() - timedelta(hours=1))
    look = session.get(TeamLook, (people.worker.id, it.id))
    assert look is not None and look.looked_at > utcnow() - timedelta(minutes=5)


# --- a rolled-back savepoint delivers nothing ----------------------------------------------


def test_a_rolled_back_savepoint_delivers_no_items_for_its_events(session, make, people,
                                                                  filed):
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    with pytest.raises(RuntimeError), session.begin_nested():
        record_event(session, filed, kind=EventKind.comment, by=people.requester,
                     note="Gone", at=utcnow())
        session.flush()
        raise RuntimeError("changed my mind")
    session.commit()  # nothing else in it: no item may point at the event that is gone
    assert session.exec(select(InboxItem)).all() == []
    record_event(session, filed, kind=EventKind.comment, by=people.requester, note="Kept",
                 at=utcnow())
    session.commit()
    assert who_got(session, people) == {"Wendy": [("comment", "comment")]}
    [line] = inbox_page(session, user=people.worker, team_ids=team_ids(session, people.worker),
                        unread_only=True).lines
    assert line.excerpt == "Kept"


def test_a_released_savepoint_s_items_go_with_a_rollback_around_it(session, make, people,
                                                                   filed):
    """A savepoint's release delivers its events' items inside the transaction around it
    (before_commit runs for a savepoint too), so rolling that one back takes them."""
    claim_task(session, task=make.tasks(filed)[0], by=people.worker)
    with session.begin_nested():
        record_event(session, filed, kind=EventKind.comment, by=people.requester,
                     note="Kept", at=utcnow())
    with pytest.raises(RuntimeError), session.begin_nested():
        with session.begin_nested():
            record_event(session, filed, kind=EventKind.comment, by=people.requester,
                         note="Gone with the outer savepoint", at=utcnow())
        raise RuntimeError("changed my mind")
    session.commit()
    assert len(session.exec(select(InboxItem)).all()) == 1
    assert [line.excerpt for line in inbox_page(
        session, user=people.worker, team_ids=team_ids(session, people.worker),
        unread_only=True).lines] == ["Kept"]
