"""The demo: teams, people, the example catalog, a few dozen requests in every state and
twelve weeks of finished work before them, all made through the same rules as real work,
at moments spread over the past.

The history tells one story for the insights page: onboarding's IT step ("IT account &
laptop") waits days in IT's queue while every other step is picked up within hours, so
it is plainly the bottleneck, and the latest onboarding requests still wait there."""

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

import app.demo.words as words
from app.demo.answers import DemoAnswers, Filing, email_local_part
from app.rules.catalog import current_version, definition_of, import_catalog, teams_by_slug
from app.rules.errors import DomainError
from app.rules.intake import validate_intake
from app.rules.people import create_person, deactivate_person
from app.rules.requests import cancel_request
from app.rules.submission import submit_request
from app.rules.tasks import approve_task, claim_task, complete_task, reject_task
from app.rules.teams import active_members, add_member
from app.storage.clock import frozen_at, utcnow
from app.storage.models import Service, ServiceRequest, Task, TaskState, User

DEMO_PASSWORD = "baton-demo"
HISTORY_WEEKS = 12
BOTTLENECK_SERVICE = "onboard-new-hire"
BOTTLENECK_STEP = "IT account & laptop"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    role: str
    teams: tuple[str, ...] = ()
    manager: bool = False
    admin: bool = False


DEMO_PEOPLE = (
    DemoPerson("ana@example.com", "Ana Alvarez", "Employee: files requests"),
    DemoPerson("ben@example.com", "Ben Becker", "Employee: files requests"),
    DemoPerson("ivan@example.com", "Ivan Ivanov", "IT Support", ("it",)),
    DemoPerson("iris@example.com", "Iris Ito", "IT Support", ("it",)),
    DemoPerson("hana@example.com", "Hana Hoffmann", "People & HR", ("hr",)),
    DemoPerson("fatima@example.com", "Fatima Farah", "Facilities", ("facilities",)),
    DemoPerson("felix@example.com", "Felix Fischer", "Finance", ("finance",)),
    DemoPerson("sam@example.com", "Sam Sato", "Security & Access", ("security",)),
    DemoPerson("dana@example.com", "Dana Dubois", "Department head: approvals",
               ("approvers",)),
    DemoPerson("maria@example.com", "Maria Moreau", "Manager: sees all open work",
               manager=True),
    DemoPerson("adam@example.com", "Adam Admin", "Admin: services, teams, people",
               admin=True),
)


def demo_accounts(session: Session) -> list[DemoPerson]:
    """The demo people that exist in this database (for the demo login page)."""
    existing = set(session.exec(select(User.email)))
    return [person for person in DEMO_PEOPLE if person.email in existing]


def seed_people(session: Session) -> dict[str, User]:
    teams = teams_by_slug(session)
    people: dict[str, User] = {}
    # One lead a team, its first person listed (Ivan for IT): a lead's queue rows carry an
    # Assign box, and a queue where everyone leads shows it on every row to everyone.
    led: set[str] = set()
    for person in DEMO_PEOPLE:
        user = session.exec(select(User).where(User.email == person.email)).first()
        if user is None:
            user = create_person(session, email=person.email, name=person.name,
                                 password=DEMO_PASSWORD, manager=person.manager,
                                 admin=person.admin)
        for slug in person.teams:
            add_member(session, team=teams[slug], user=user, lead=slug not in led)
            led.add(slug)
        people[person.email] = user
    # Every team gets at least one member, so no demo queue is orphaned.
    for slug, team in teams.items():
        if not any(slug in person.teams for person in DEMO_PEOPLE):
            add_member(session, team=team, user=people["maria@example.com"])
    session.commit()
    return people


def seed_leavers(session: Session) -> list[User]:
    """The people the offboarding requests are about: colleagues in the directory (so the
    form's person field names them) who are not demo accounts and cannot sign in."""
    leavers = []
    for name in words.LEAVERS:
        email = f"{email_local_part(name)}@example.com"
        user = session.exec(select(User).where(User.email == email)).first()
        leavers.append(user or create_person(session, email=email, name=name,
                                             password=secrets.token_urlsafe(16)))
    session.commit()
    return leavers


def _member_for(session: Session, task: Task, rng: random.Random) -> User:
    return rng.choice(active_members(session, task.team_id))


def _play(session: Session, request_id: int, *, steps: int, end: str, rng: random.Random,
          clock: list, requester: User) -> None:
    """Move a request forward `steps` actions, then end it as `end` says."""
    def tick() -> None:
        # Never past the real now: the demo shows history, not the future.
        latest = utcnow() - timedelta(minutes=1)
        clock[0] = min(clock[0] + timedelta(minutes=rng.randint(15, 60 * 9)), latest)

    for _ in range(steps):
        open_tasks = list(session.exec(
            select(Task).where(Task.request_id == request_id,
                               col(Task.state).in_([TaskState.open, TaskState.claimed]))
            .order_by(col(Task.position))
        ))
        if not open_tasks:
            return
        task = rng.choice(open_tasks)
        worker = _member_for(session, task, rng)
        tick()
        with frozen_at(clock[0]):
            if task.state == TaskState.open:
                claim_task(session, task=task, by=worker)
        tick()
        with frozen_at(clock[0]):
            if task.kind == "approval":
                if end == "rejected":
                    reject_task(session, task=task, by=worker,
                                reason=_rejection(session, task, rng))
                    return
                approve_task(session, task=task, by=worker, note=rng.choice(["", "Approved."]))
            else:
                complete_task(session, task=task, by=worker, note=_work_note(task, rng))
    if end == "cancelled":
        tick()
        with frozen_at(clock[0]):
            cancel_request(session, service_request=_request(session, request_id),
                           by=requester, reason=rng.choice(words.CANCELS))
    elif end == "claimed":
        waiting_for_claim = session.exec(select(Task).where(
            Task.request_id == request_id, Task.state == TaskState.open)).first()
        if waiting_for_claim is not None:
            tick()
            with frozen_at(clock[0]):
                claim_task(session, task=waiting_for_claim,
                           by=_member_for(session, waiting_for_claim, rng))


def _rejection(session: Session, task: Task, rng: random.Random) -> str:
    service = session.get_one(Service, task.service_id)
    return rng.choice(words.REJECTIONS.get(service.slug, ["Not needed after all."]))


def _work_note(task: Task, rng: random.Random) -> str:
    notes = words.STEP_NOTES.get(task.step_name, ["", "", "Done."])
    return rng.choice(notes).format(n=rng.randint(1000, 9999))


def _request(session: Session, request_id: int) -> ServiceRequest:
    return session.get_one(ServiceRequest, request_id)


@dataclass(frozen=True)
class _Plan:
    """One demo request to file: when, which service, and how it goes on."""

    start: datetime
    service_index: int
    end: str  # an ending of the recent requests, or "history": played through on time
    index: int = -1  # its place among the recent requests (-1 for history)


def _history(services: list[Service], rng: random.Random) -> list[_Plan]:
    """Requests filed over the last HISTORY_WEEKS weeks, among the recent ones: two or
    three onboardings a week and now and then one of every other service (few, so the
    demo loads in seconds)."""
    now = utcnow()
    plans = []
    for week in range(HISTORY_WEEKS):
        week_start = now - timedelta(days=7 * (HISTORY_WEEKS - week))
        for service_index, service in enumerate(services):
            many = (rng.randint(2, 3) if service.slug == BOTTLENECK_SERVICE
                    else rng.choice([0, 0, 1]))
            for _ in range(many):
                start = week_start + timedelta(days=rng.uniform(0, 7))
                if start < now - timedelta(hours=1):
                    plans.append(_Plan(start, service_index, "history"))
    return plans


def _step_times(service: Service, task: Task, rng: random.Random) -> tuple[timedelta, timedelta]:
    """How long a history task waits in its queue and is then worked: hours everywhere,
    except days in the queue for the bottleneck step."""
    if service.slug == BOTTLENECK_SERVICE and task.step_name == BOTTLENECK_STEP:
        return (timedelta(hours=rng.uniform(40, 190)), timedelta(hours=rng.uniform(1, 5)))
    return (timedelta(minutes=rng.uniform(20, 60 * 7)), timedelta(minutes=rng.uniform(15, 60 * 4)))


def _play_history(session: Session, request_id: int, *, service: Service, requester: User,
                  rng: random.Random) -> None:
    """Claim and finish each task as it opens, at the times _step_times gives, the earliest
    first; what would finish after now stays open or claimed, as real work does."""
    latest = utcnow() - timedelta(minutes=1)
    planned: dict[int, tuple[datetime, datetime]] = {}
    while True:
        tasks = list(session.exec(
            select(Task).where(Task.request_id == request_id,
                               col(Task.state).in_([TaskState.open, TaskState.claimed]))))
        for task in tasks:
            if task.id not in planned:
                opened = task.opened_at or latest
                opened = opened if opened.tzinfo else opened.replace(tzinfo=UTC)
                wait, work = _step_times(service, task, rng)
                planned[task.id] = (opened + wait, opened + wait + work)  # type: ignore[index]
        if not tasks:
            return
        task = min(tasks, key=lambda t: planned[t.id])  # type: ignore[index]
        claim_at, done_at = planned[task.id]  # type: ignore[index]
        if claim_at > latest:
            return
        team = active_members(session, task.team_id)
        worker = rng.choice([m for m in team if m.id != requester.id] or team)
        if task.state == TaskState.open:
            with frozen_at(claim_at):
                claim_task(session, task=task, by=worker)
        else:
            worker = session.get_one(User, task.assignee_id)
        if done_at > latest:
            return
        with frozen_at(done_at):
            if task.kind == "approval":
                approve_task(session, task=task, by=worker, note=rng.choice(["", "Approved."]))
            else:
                complete_task(session, task=task, by=worker, note=_work_note(task, rng))


def seed_demo(session: Session, *, services_dir: Path, attachments_dir: Path,
              requests: int = 60, seed: int = 7) -> int:
    """Import the catalog, add the demo people, HISTORY_WEEKS weeks of history and
    `requests` recent requests. Returns how many requests were made (0 when the database
    already had demo people)."""
    import_catalog(session, services_dir)
    if session.exec(select(User).where(User.email == DEMO_PEOPLE[0].email)).first():
        return 0
    people = seed_people(session)
    everyone = list(people.values())
    requesters = [people["ana@example.com"], people["ben@example.com"]] + everyone[2:6]
    rng = random.Random(seed)
    history_rng = random.Random(seed + 1)
    # The people requests are about (a laptop's user, a hiring manager): not the admin or
    # the manager, whose accounts show those roles.
    colleagues = [user for user in everyone if not (user.is_admin or user.is_manager)]
    answers = DemoAnswers(random.Random(seed + 2), people=colleagues,
                          leavers=seed_leavers(session))
    services = list(session.exec(select(Service).order_by(col(Service.slug))))
    endings = ["open", "claimed", "completed", "open", "claimed", "rejected", "cancelled"]
    starts = sorted(utcnow() - timedelta(days=rng.uniform(0.2, 24), hours=rng.uniform(0, 12))
                    for _ in range(requests))
    plans = [_Plan(start, index % len(services), endings[index % len(endings)], index)
             for index, start in enumerate(starts)] + _history(services, history_rng)
    # Filed in date order, so request numbers grow with time as they would in real use.
    plans.sort(key=lambda plan: plan.start)
    made = 0
    for number, plan in enumerate(plans):
        service = services[plan.service_index]
        version = current_version(session, service)
        definition = definition_of(version)
        recent = plan.end != "history"
        requester = requesters[(plan.index if recent else number) % len(requesters)]
        if 0 <= plan.index < len(services):
            requester = people["ana@example.com"]
        values = answers.for_service(service.slug, definition, Filing(requester, plan.start))
        intake = validate_intake(session, definition=definition, values=values, uploads={},
                                 max_upload_mb=20)
        with frozen_at(plan.start):
            created = submit_request(session, service=service, version=version,
                                     requester=requester, intake=intake,
                                     attachments_dir=attachments_dir)
        try:
            if recent:
                # How far an unfinished request got: its service's successive recent
                # requests stop at its first, second, third step in turn, so every queue
                # of a service's steps holds some of its requests (the browser journeys
                # claim an offboarding at IT's step, its second).
                turn = plan.index // len(services)
                steps = {"open": turn % 3, "claimed": turn % 3, "completed": 99,
                         "rejected": 99, "cancelled": turn % 2}[plan.end]
                _play(session, created.id, steps=steps, end=plan.end, rng=rng,  # type: ignore[arg-type]
                      clock=[plan.start], requester=requester)
            else:
                _play_history(session, created.id, service=service,  # type: ignore[arg-type]
                              requester=requester, rng=history_rng)
        except DomainError:
            session.rollback()
        made += 1
    _deactivate_leavers_gone(session, admin=people["adam@example.com"])
    return made


def _deactivate_leavers_gone(session: Session, *, admin: User) -> None:
    """A colleague whose offboarding is complete and whose last day has passed can no
    longer be picked in a form: the admin deactivated them that evening."""
    today = utcnow().date()
    gone: dict[int, date] = {}
    for answers in session.exec(
        select(ServiceRequest.answers).join(Service, col(Service.id) == ServiceRequest.service_id)
        .where(Service.slug == "offboarding", ServiceRequest.state == "completed")
    ):
        employee, last_day = answers.get("employee"), answers.get("last_day")
        if employee and last_day and date.fromisoformat(last_day) < today:
            gone[employee["id"]] = date.fromisoformat(last_day)
    for user_id, last_day in gone.items():
        person = session.get_one(User, user_id)
        if person.is_active:
            with frozen_at(datetime.combine(last_day, time(18), UTC)):
                deactivate_person(session, person=person, by=admin)
