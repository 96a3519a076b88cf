"""/api/v1/overview: a manager's figures of all open work, by team and by service and
step (the overview page's, from app.reads.overview, read at one moment)."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.reads.overview import WorkCount, open_work_by_step, open_work_by_team
from app.rules.policy import may_see_overview
from app.storage.models import utcnow
from app.web.api.caller import Caller
from app.web.api.problems import ApiProblem
from app.web.session import SessionDep

router = APIRouter()


class Work(BaseModel):
    open: int
    unclaimed: int
    claimed: int
    overdue: int
    oldest_opened_at: datetime | None


class TeamWork(Work):
    team_slug: str
    team_name: str


class StepWork(Work):
    service_slug: str
    service_name: str
    position: int
    step_name: str


class Overview(BaseModel):
    at: datetime
    by_team: list[TeamWork]
    by_step: list[StepWork]


def _work(work: WorkCount) -> dict[str, Any]:
    return {"open": work.count, "unclaimed": work.unclaimed, "claimed": work.claimed,
            "overdue": work.overdue, "oldest_opened_at": work.oldest_opened_at}


@router.get("/overview", response_model=Overview,
            summary="All open work by team and by service and step (managers)")
def show_overview(session: SessionDep, caller: Caller) -> Any:
    if not may_see_overview(caller.user):
        raise ApiProblem(403, "Only managers can see the overview.", kind="forbidden")
    now = utcnow()  # one moment for both, so their overdue numbers agree
    return {
        "at": now,
        "by_team": [{"team_slug": line.team.slug, "team_name": line.team.name,
                     **_work(line.work)} for line in open_work_by_team(session, now=now)],
        "by_step": [{"service_slug": line.service.slug, "service_name": line.service.name,
                     "position": line.position, "step_name": line.step_name,
                     **_work(line.work)} for line in open_work_by_step(session, now=now)],
    }
