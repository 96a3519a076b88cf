"""Filing a request (app.rules.submission.submit_request): under exactly the version its answers
were checked against, and once per form however often the form is sent."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import app.rules.submission
from app.config import get_settings
from app.format.definitions import parse_service
from app.rules.catalog import current_version, definition_of, save_service
from app.rules.errors import InvalidTransition, ServiceChanged
from app.rules.intake import Intake, validate_intake
from app.rules.submission import submit_request
from app.storage.models import Service, ServiceRequest, ServiceVersion, Task, TimelineEvent, User
from tests.factories import Factory

KEY = "k" * 32


def checked(session: Session, version: ServiceVersion, summary: str = "A desk") -> Intake:
    return validate_intake(session, definition=definition_of(version),
                           values={"summary": [summary]}, uploads={}, max_upload_mb=20)


def file(session: Session, service: Service, requester: User, *,
         version: ServiceVersion | None = None, key: str | None = None) -> ServiceRequest:
    version = version or current_version(session, service)
    return submit_request(session, service=service, version=version, requester=requester,
                          intake=checked(session, version),
                          attachments_dir=get_settings().attachments_dir, submission_key=key)


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def publish_with_a_new_required_field(session: Session, service: Service) -> None:
    changed = definition_of(current_version(session, service)).to_data()
    changed["fields"].append({"key": "cost_centre", "label": "Cost centre", "type": "text",
                              "required": True})
    save_service(session, definition=parse_service(changed))
    session.commit()


# --- the version --------------------------------------------------------------------------


def test_a_request_is_filed_under_the_version_its_answers_were_checked_against(
    session: Session, make: Factory
):
    service = make.service()
    version = current_version(session, service)
    created = file(session, service, make.user(), version=version)
    assert created.version_id == version.id


def test_filing_under_a_version_that_is_no_longer_current_files_nothing(
    session: Session, make: Factory
):
    # The race of validating against one version while another is published, played
    # in order: the answers were checked against `stale`, then a version came that
    # requires a field they do not have.
    service = make.service(steps=[("it", "task")])
    stale = current_version(session, service)
    intake = checked(session, stale)
    publish_with_a_new_required_field(session, service)
    with pytest.raises(ServiceChanged) as refused:
        submit_request(session, service=service, version=stale, requester=make.user(),
                       intake=intake, attachments_dir=get_settings().attachments_dir)
    assert refused.value.status_code == 409
    assert refused.value.message == ("This service changed while you were filling it in: "
                                     "check the form and submit again.")
    assert count(session, ServiceRequest) == 0
    assert count(session, Task) == 0
    assert count(session, TimelineEvent) == 0


def test_a_service_retired_after_its_form_was_checked_files_nothing(
    session: Session, make: Factory
):
    # The rule reads the service again under its lock: retired between the route's
    # check and the transaction, it takes nothing.
    service = make.service(steps=[("it", "task")])
    version = current_version(session, service)
    intake = checked(session, version)
    service.is_active = False
    session.add(service)
    session.commit()
    with pytest.raises(InvalidTransition, match="retired and takes no new requests"):
        submit_request(session, service=service, version=version, requester=make.user(),
                       intake=intake, attachments_dir=get_settings().attachments_dir)
    assert count(session, ServiceRequest) == 0
    assert count(session, Task) == 0


# --- the one-time key ---------------------------------------------------------------------


def test_the_same_key_sent_twice_returns_the_first_request_and_makes_nothing_more(
    session: Session, make: Factory
):
    service = make.service(steps=[("it", "task"), ("hr", "task")])
    requester = make.user()
    first = file(session, service, requester, key=KEY)
    again = file(session, service, requester, key=KEY)
    assert again.id == first.id
    assert first.submission_key == KEY
    assert count(session, ServiceRequest) == 1
    assert count(session, Task) == 2
    assert count(session, TimelineEvent) == 1


def test_a_key_belongs_to_its_requester_and_no_key_never_collides(
    session: Session, make: Factory
):
    service = make.service()
    one, other = make.user(), make.user()
    assert file(session, service, one, key=KEY).id != file(session, service, other, key=KEY).id
    assert file(session, service, one).id != file(session, service, one).id
    assert count(session, ServiceRequest) == 4


@pytest.fixture
def race(committed: Engine) -> Iterator[tuple[Engine, Service, User]]:
    with Session(committed, expire_on_commit=False) as setup:
        make = Factory(setup)
        service = make.service(steps=[("it", "task"), ("hr", "task")])
        requester = make.user()
        setup.commit()
    yield committed, service, requester


def test_two_sends_of_one_form_at_once_file_one_request(
    race: tuple[Engine, Service, User], monkeypatch: pytest.MonkeyPatch
):
    engine, service, requester = race
    senders = 2
    looked: threading.Barrier | None = None
    if engine.dialect.name == "postgresql":
        # Both look the key up before either inserts, so the unique index is what
        # decides. (On SQLite the write lock already lets one in at a time: a barrier
        # there would wait for a sender that waits for the lock.)
        looked = threading.Barrier(senders, timeout=30)
        first_look = app.rules.submission.submitted_with
        seen = threading.local()

        def look_then_wait(*args: Any, **kwargs: Any) -> ServiceRequest | None:
            found = first_look(*args, **kwargs)
            if not getattr(seen, "waited", False):
                seen.waited = True
                looked.wait()  # type: ignore[union-attr]
            return found

        monkeypatch.setattr(app.rules.submission, "submitted_with", look_then_wait)
    start = threading.Barrier(senders, timeout=30)
    made: list[int] = []
    failed: list[BaseException] = []

    def send() -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                start.wait()
                made.append(file(session, service, requester, key=KEY).id)
        except BaseException as error:  # noqa: BLE001 (reported below)
            failed.append(error)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failed == []
    assert len(made) == senders and len(set(made)) == 1
    with Session(engine) as check:
        assert count(check, ServiceRequest) == 1
        assert count(check, Task) == 2
        assert count(check, TimelineEvent) == 1
