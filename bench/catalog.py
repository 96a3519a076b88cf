"""The benchmark organisation: 40 teams, 60 services and 20,000 people, made through
Baton's own rules (definitions are parsed and saved like any catalog file).

One team is "hot": the first step of a third of the services, which carry most of the
traffic, so its queue becomes the worst one (about 20,000 open tasks at a million
requests)."""

import random
from dataclasses import dataclass

from sqlmodel import Session

from app.format.definitions import ServiceDefinition, parse_service
from app.rules.catalog import save_service
from app.storage.models import Team

HOT_TEAM = "service-desk"
APPROVERS = "department-heads"

TEAMS = [
    (HOT_TEAM, "IT Service Desk"), ("it-infrastructure", "IT Infrastructure"),
    ("network", "Network"), ("identity-access", "Identity & Access"),
    ("endpoint", "Endpoint Management"), ("app-support", "Application Support"),
    ("data-platform", "Data Platform"), ("hr-operations", "HR Operations"),
    ("payroll", "Payroll"), ("recruiting", "Recruiting"), ("learning", "Learning"),
    ("facilities", "Facilities"), ("workplace", "Workplace Services"),
    ("mailroom", "Mailroom"), ("travel", "Travel Desk"),
    ("accounts-payable", "Accounts Payable"), ("accounts-receivable", "Accounts Receivable"),
    ("procurement", "Procurement"), ("treasury", "Treasury"), ("tax", "Tax"),
    ("legal", "Legal"), ("compliance", "Compliance"), ("privacy", "Privacy Office"),
    ("security-office", "Security Office"), ("risk", "Risk"),
    ("marketing-ops", "Marketing Operations"), ("brand", "Brand"), ("events", "Events"),
    ("communications", "Communications"), ("sales-ops", "Sales Operations"),
    ("customer-success", "Customer Success"), ("platform", "Engineering Platform"),
    ("devops", "DevOps"), ("quality", "Quality Assurance"), ("design", "Design"),
    ("research", "Research"), (APPROVERS, "Department heads"),
    ("cfo-office", "CFO's office"), ("executive-office", "Executive Office"),
    ("fleet", "Fleet"),
]

_THINGS = [
    "a laptop", "a monitor", "a software licence", "VPN access", "a shared mailbox",
    "a new hire's onboarding", "an employee's offboarding", "a desk move", "a parking permit",
    "a business trip", "a purchase", "a contract review", "a data export",
    "a firewall change", "a database", "a phone", "a training course", "an event booth",
    "a press release", "a customer refund", "an invoice", "a salary change",
    "a building access badge", "a meeting room", "a security review", "a privacy assessment",
    "a design review", "a test environment", "a company car", "a conference ticket",
]
_VERBS = ["Request", "Change"]
CATEGORIES = ["IT", "People", "Workplace", "Finance", "Legal & Compliance", "Marketing",
              "Engineering", "Travel"]
FIRST_NAMES = ["Ana", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines",
               "Jonas", "Kira", "Luca", "Mira", "Nils", "Olga", "Pavel", "Quinn", "Rosa",
               "Sven", "Tara", "Umar", "Vera", "Wim", "Xenia", "Yusuf", "Zoe"]
LAST_NAMES = ["Alvarez", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia",
              "Hansen", "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak",
              "Olsen", "Petrov", "Quist", "Rossi", "Schmidt", "Tanaka", "Urban", "Varga",
              "Weber", "Young", "Zimmer"]


@dataclass
class SeedService:
    """A saved service with what request generation needs at hand."""

    id: int
    version_id: int
    definition: ServiceDefinition
    weight: int  # how many times more requests it gets than a quiet service


def _fields(rng: random.Random, with_amount: bool) -> list[dict]:
    fields: list[dict] = [
        {"key": "summary", "label": "Summary", "type": "text", "required": True,
         "max_length": 120},
        {"key": "priority", "label": "Priority", "type": "select", "required": True,
         "options": ["Low", "Normal", "High"]},
        {"key": "reason", "label": "Why is it urgent?", "type": "text",
         "show_if": 'priority == "High"'},
        {"key": "details", "label": "Details", "type": "long_text"},
    ]
    if with_amount:
        fields.append({"key": "amount", "label": "Amount (EUR)", "type": "number",
                       "required": True, "min": 1, "max": 1_000_000})
    if rng.random() < 0.5:
        fields.append({"key": "needed_by", "label": "Needed by", "type": "date"})
    return fields


def _target(rng: random.Random) -> dict:
    return ({"target_hours": rng.choice([4, 8, 24])} if rng.random() < 0.5
            else {"target_business_days": rng.choice([1, 2, 3, 5])})


def _steps(rng: random.Random, index: int, *, hot: bool, flexible: bool,
           with_amount: bool) -> list[dict]:
    others = [slug for slug, _ in TEAMS if slug not in (HOT_TEAM, APPROVERS)]
    steps: list[dict] = []
    if hot:
        steps.append({"name": "Triage", "team": HOT_TEAM, **_target(rng)})
    if with_amount:
        approval = {"name": "Budget approval", "team": APPROVERS, "kind": "approval",
                    **_target(rng)}
        if not flexible:
            approval["condition"] = "amount > 1000"
        steps.append(approval)
    for number in range(rng.randint(1, 3)):
        step = {"name": f"Fulfil part {number + 1}", "team": rng.choice(others),
                **_target(rng)}
        if number == 1 and not flexible and rng.random() < 0.3:
            step["condition"] = 'priority == "High"'
        steps.append(step)
    if not flexible and len(steps) >= 3 and index % 4 == 0:
        # The last two steps run in parallel: they share a stage.
        stage = len(steps) - 1
        for position, step in enumerate(steps):
            step["stage"] = min(position + 1, stage)
    return steps


def service_definitions(rng: random.Random, count: int = 60) -> list[tuple[dict, int]]:
    """(definition data, weight) for `count` services: a third start in the hot team and
    get three times the traffic; a third have a budget approval; a quarter are flexible."""
    made = []
    for index in range(count):
        thing = _THINGS[index % len(_THINGS)]
        verb = _VERBS[index // len(_THINGS) % len(_VERBS)]
        hot = index % 3 == 0
        flexible = index % 4 == 1
        with_amount = index % 3 == 1 or thing in ("a purchase", "a business trip")
        data = {
            "slug": f"bench-{index + 1:02d}", "name": f"{verb} {thing}",
            "category": CATEGORIES[index % len(CATEGORIES)],
            "description": f"{verb} {thing}. Fill in the form; the teams take it from there.",
            "ordering": "flexible" if flexible else "enforced",
            "fields": _fields(rng, with_amount),
            "steps": _steps(rng, index, hot=hot, flexible=flexible, with_amount=with_amount),
        }
        made.append((data, 3 if hot else 1))
    return made


def save_catalog(session: Session, rng: random.Random) -> tuple[dict[str, int], list[SeedService]]:
    """Teams and services, through save_service. Returns team ids by slug and the services."""
    teams = {}
    for slug, name in TEAMS:
        team = Team(slug=slug, name=name)
        session.add(team)
        session.flush()
        teams[slug] = team.id
    services = []
    for data, weight in service_definitions(rng):
        definition = parse_service(data)
        service, version = save_service(session, definition=definition)
        assert version is not None
        services.append(SeedService(service.id, version.id, definition, weight))
    session.commit()
    return teams, services
