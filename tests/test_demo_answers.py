"""The demo reads true (issue 16 item 9): every request's answers come from its own
service's scenarios, people's e-mail addresses are made from their names, no request or
sentence is repeated, and dates lie after the day a request was filed."""

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from app.demo import scenarios, seed_demo, words
from app.demo.answers import asset_tag_of, email_local_part
from app.storage.models import Service, ServiceRequest, User

SERVICES = Path(__file__).resolve().parent.parent / "services"

POOLS = {
    "facilities-issue": scenarios.FACILITIES,
    "laptop-request": scenarios.LAPTOPS,
    "offboarding": scenarios.OFFBOARDINGS,
    "office-move": scenarios.OFFICE_MOVES,
    "purchase-request": scenarios.PURCHASES,
    "software-install": scenarios.SOFTWARE,
    "system-access": scenarios.SYSTEM_ACCESS,
}
# Answers that are not a scenario's words but follow from other answers or people.
DERIVED = {"asset_tag", "full_name", "personal_email", "job_title", "notes", "keyboard_layout"}
DATES = {"start_date", "needed_by", "last_day", "move_date", "needed_until"}


def test_the_demo_reads_true(session: Session, attachments_dir: Path) -> None:
    """One demo made (it takes seconds), every property checked on it."""
    seed_demo(session, services_dir=SERVICES, attachments_dir=attachments_dir)
    demo = list(session.exec(
        select(Service.slug, ServiceRequest)
        .join(ServiceRequest, col(ServiceRequest.service_id) == Service.id)
        .order_by(col(ServiceRequest.id))).all())
    assert len(demo) > 100
    every_person_s_e_mail_address_is_made_from_their_name(session)
    no_two_requests_repeat_their_answers_title_or_a_sentence(demo)
    each_text_answer_is_drawn_from_its_own_service_s_pool(session, demo)
    every_date_answer_lies_after_the_day_its_request_was_filed(demo)
    a_colleague_is_deactivated_once_offboarded_and_gone(session, demo)
    a_new_hire_in_an_office_job_does_not_work_fully_remotely(demo)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def every_person_s_e_mail_address_is_made_from_their_name(session: Session) -> None:
    for user in session.exec(select(User)):
        local = user.email.split("@")[0]
        first = email_local_part(user.name).split(".")[0]
        assert local in (first, email_local_part(user.name)), (user.name, user.email)


def no_two_requests_repeat_their_answers_title_or_a_sentence(demo: list) -> None:
    answers = Counter(json.dumps(request.answers, sort_keys=True) for _, request in demo)
    assert answers.most_common(1)[0][1] == 1
    titles = Counter(request.title for _, request in demo)
    assert titles.most_common(1)[0][1] == 1, titles.most_common(3)
    long_texts = Counter(
        value for _, request in demo for key, value in request.answers.items()
        if key in ("details", "notes", "justification", "purpose") and _text(value))
    assert long_texts and long_texts.most_common(1)[0][1] == 1, long_texts.most_common(3)


def each_text_answer_is_drawn_from_its_own_service_s_pool(session: Session,
                                                         demo: list) -> None:
    people = {user.id: user for user in session.exec(select(User))}
    leavers = set(words.LEAVERS)
    for slug, request in demo:
        answers = request.answers
        requester = people[request.requester_id]
        if slug == "onboard-new-hire":
            name = answers["full_name"]
            first, last = name.split(" ", 1)
            assert first in words.FIRST_NAMES and last in words.LAST_NAMES
            assert answers["personal_email"].split("@")[0] == email_local_part(name)
            assert answers["job_title"] in words.JOB_TITLES[answers["department"]]
            assert answers.get("notes") in (None, *words.ONBOARDING_NOTES)
            continue
        pool = POOLS[slug]
        person = answers.get("user")
        first = (people[person["id"]] if person else requester).name.split()[0]
        texts = {key: value for key, value in answers.items()
                 if _text(value) and key not in DERIVED | DATES}
        matching = [scenario for scenario in pool if all(
            isinstance(scenario.get(key), str) and scenario[key].format(first=first) == value
            for key, value in texts.items())]
        assert matching, (slug, request.title, texts)
        if slug == "offboarding":
            assert answers["full_name"] in leavers
            assert people[answers["employee"]["id"]].name == answers["full_name"]
        if slug == "software-install":
            assert answers["asset_tag"] == asset_tag_of(requester)


def every_date_answer_lies_after_the_day_its_request_was_filed(demo: list) -> None:
    for _, request in demo:
        for key in DATES & request.answers.keys():
            if request.answers[key]:
                assert date.fromisoformat(request.answers[key]) > request.created_at.date(), (
                    request.title, key)


def a_colleague_is_deactivated_once_offboarded_and_gone(session: Session, demo: list) -> None:
    people = {user.id: user for user in session.exec(select(User))}
    today = datetime.now(UTC).date()
    gone = {request.answers["employee"]["id"] for slug, request in demo
            if slug == "offboarding" and request.state == "completed"
            and date.fromisoformat(request.answers["last_day"]) < today}
    assert gone  # the history has some
    assert {user.id for user in people.values() if not user.is_active} == gone


def a_new_hire_in_an_office_job_does_not_work_fully_remotely(demo: list) -> None:
    hires = [request.answers for slug, request in demo if slug == "onboard-new-hire"]
    assert any(answers["remote"] for answers in hires)  # some do work remotely
    assert not [answers["full_name"] for answers in hires
                if answers["job_title"] in words.ON_SITE_TITLES and answers["remote"]]
