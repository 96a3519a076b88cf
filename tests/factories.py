"""Factories: people, teams, services and requests made through Baton's own rules."""

from datetime import datetime, timedelta
from itertools import count
from typing import Any

from sqlmodel import Session, col, select

from app.config import get_settings
from app.format.definitions import parse_service
from app.rules.catalog import current_version, definition_of, save_service
from app.rules.intake import IncomingFile, validate_intake
from app.rules.people import create_person
from app.rules.submission import submit_request
from app.rules.teams import add_member
from app.storage.models import Service, ServiceRequest, Task, Team, User

_serial = count(1)


class Factory:
    def __init__(self, session: Session):
        self.session = session

    def team(self, slug: str | None = None, name: str | None = None) -> Team:
        slug = slug or f"team-{next(_serial)}"
        existing = self.session.exec(select(Team).where(Team.slug == slug)).first()
        if existing:
            return existing
        team = Team(slug=slug, name=name or slug.replace("-", " ").title())
        self.session.add(team)
        self.session.flush()
        return team

    def user(
        self, name: str | None = None, *, teams: tuple[str, ...] = (), manager: bool = False,
        admin: bool = False, password: str = "correct horse battery", active: bool = True,
    ) -> User:
        name = name or f"Person {next(_serial)}"
        email = f"{name.lower().replace(' ', '.')}.{next(_serial)}@example.com"
        user = create_person(self.session, email=email, name=name, password=password,
                             manager=manager, admin=admin)
        user.is_active = active
        for slug in teams:
            add_member(self.session, team=self.team(slug), user=user)
        self.session.flush()
        return user

    def service(
        self, *, slug: str | None = None, ordering: str = "enforced",
        steps: list[tuple[str, str]] | None = None, fields: list[dict[str, Any]] | None = None,
        name: str | None = None, category: str = "General", description: str = "",
        target_hours: int | None = None,
    ) -> Service:
        """steps: (team slug, kind) pairs; teams are created as needed. target_hours: every
        step's target (none by default)."""
        slug = slug or f"service-{next(_serial)}"
        steps = steps if steps is not None else [("it", "task")]
        for team_slug, _kind in steps:
            self.team(team_slug)
        definition = parse_service({
            "slug": slug, "name": name or slug.replace("-", " ").title(),
            "category": category, "description": description, "ordering": ordering,
            "fields": fields if fields is not None else [
                {"key": "summary", "label": "Summary", "type": "text", "required": True},
            ],
            "steps": [
                {"name": f"Step {index + 1}", "team": team_slug, "kind": kind,
                 **({"target_hours": target_hours} if target_hours else {})}
                for index, (team_slug, kind) in enumerate(steps)
            ],
        })
        service, _version = save_service(self.session, definition=definition)
        self.session.commit()
        return service

    def request(
        self, service: Service, requester: User, answers: dict[str, Any] | None = None,
        uploads: dict[str, list[IncomingFile]] | None = None,
    ) -> ServiceRequest:
        """Files a request with raw answers as a form would send them (strings or lists)."""
        values = {
            key: value if isinstance(value, list) else [str(value)]
            for key, value in (answers if answers is not None else {"summary": "Help"}).items()
        }
        version = current_version(self.session, service)
        settings = get_settings()
        intake = validate_intake(self.session, definition=definition_of(version),
                                 values=values, uploads=uploads or {},
                                 max_upload_mb=settings.max_upload_mb)
        return submit_request(self.session, service=service, version=version,
                              requester=requester, intake=intake,
                              attachments_dir=settings.attachments_dir)

    def tasks(self, request: ServiceRequest) -> list[Task]:
        return list(self.session.exec(
            select(Task).where(Task.request_id == request.id).order_by(col(Task.position))
        ))

    def onboarding_history(self, start: datetime) -> tuple[Service, list[ServiceRequest]]:
        """Three onboarding requests filed at `start`, each through HR (waits 1 h, worked
        1 h), IT (waits 1, 2 and 3 days, worked 1 h) and facilities (finished as it is
        picked up, 1 h after IT): lead times 28, 52 and 76 hours; IT is the bottleneck.
        Every step's target is 4 hours. The people are Hana (hr), Ivan (it), Fay
        (facilities), and Rita, who asks."""
        from app.rules.tasks import claim_task, complete_task
        from app.storage.clock import frozen_at

        service = self.service(slug="onboarding", name="Onboarding", target_hours=4,
                               steps=[("hr", "task"), ("it", "task"), ("facilities", "task")])
        steps = [step.name for step in definition_of(current_version(self.session,
                                                                     service)).steps]
        assert len(steps) == 3
        hana = self.user("Hana", teams=("hr",))
        ivan = self.user("Ivan", teams=("it",))
        fay = self.user("Fay", teams=("facilities",))
        rita = self.user("Rita")
        hour = timedelta(hours=1)
        requests = []
        for n in range(3):
            with frozen_at(start):
                request = self.request(service, rita)
            hr, it, facilities = self.tasks(request)
            with frozen_at(start + hour):
                claim_task(self.session, task=hr, by=hana)
            with frozen_at(start + 2 * hour):
                complete_task(self.session, task=hr, by=hana)
            it_claimed = start + 2 * hour + timedelta(days=n + 1)
            with frozen_at(it_claimed):
                claim_task(self.session, task=it, by=ivan)
            with frozen_at(it_claimed + hour):
                complete_task(self.session, task=it, by=ivan)
            with frozen_at(it_claimed + 2 * hour):
                complete_task(self.session, task=facilities, by=fay)
            requests.append(request)
        return service, requests

    def finished_history(
        self, service: Service, requester: User, worker: User, *, start: datetime,
        waits: list[timedelta], worked: timedelta,
    ) -> list[ServiceRequest]:
        """One request of a one-step `service` per wait, each filed at `start`, picked up
        by `worker` after its wait and completed `worked` later: lead time wait + worked."""
        from app.rules.tasks import claim_task, complete_task
        from app.storage.clock import frozen_at

        requests = []
        for wait in waits:
            with frozen_at(start):
                request = self.request(service, requester)
            [task] = self.tasks(request)
            with frozen_at(start + wait):
                claim_task(self.session, task=task, by=worker)
            with frozen_at(start + wait + worked):
                complete_task(self.session, task=task, by=worker)
            requests.append(request)
        return requests
