"""The demo's answers (issue 16 item 9): each request's answers drawn from its own service's
scenarios (app/words.py), with the people, e-mail addresses and dates that fit
them: a new hire's personal address is made from their name, a start date or a move date
lies after the day the request was filed, an offboarding names the person leaving."""

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import app.demo.scenarios as scenarios
import app.demo.words as words
from app.format.definitions import FieldDefinition, ServiceDefinition
from app.storage.models import User


def email_local_part(name: str) -> str:
    """"Peter de Vries" -> "peter.devries": the firstname.lastname the IT step creates."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, _, rest = plain.lower().partition(" ")
    letters = "".join(ch for ch in rest if ch.isalnum())
    return f"{first}.{letters}" if letters else first


def asset_tag_of(person: User) -> str:
    """The tag on a person's own laptop, the same in every request that names it."""
    return f"LT-{4000 + 37 * person.id:05d}"


class _Deck:
    """Items dealt in a shuffled order, each once; shuffled again when all are dealt."""

    def __init__(self, items: list[Any], rng: random.Random) -> None:
        self._items, self._rng, self._left = list(items), rng, list[Any]()

    def deal(self) -> Any:
        if not self._left:
            self._left = self._rng.sample(self._items, len(self._items))
        return self._left.pop()


@dataclass
class Filing:
    """One request to answer: who files it and when."""

    requester: User
    filed: datetime


@dataclass
class DemoAnswers:
    """Deals every service's scenarios in turn; one per seed_demo run."""

    rng: random.Random
    people: list[User]  # the demo accounts, for person fields
    leavers: list[User]
    _decks: dict[str, _Deck] = field(default_factory=dict)
    _notes_left: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._notes_left = self.rng.sample(words.ONBOARDING_NOTES,
                                           len(words.ONBOARDING_NOTES))

    def _deal(self, name: str, items: list[Any]) -> Any:
        if name not in self._decks:
            self._decks[name] = _Deck(items, self.rng)
        return self._decks[name].deal()

    def _someone_else(self, filing: Filing) -> User:
        return self.rng.choice([p for p in self.people if p.id != filing.requester.id])

    def _days_after(self, filing: Filing, low: int, high: int) -> str:
        return (filing.filed + timedelta(days=self.rng.randint(low, high))).date().isoformat()

    def for_service(self, slug: str, definition: ServiceDefinition,
                    filing: Filing) -> dict[str, list[str]]:
        """The answers, as the form would post them."""
        maker = _MAKERS.get(slug)
        raw = maker(self, filing) if maker else {
            f.key: _generic(f, self.rng, self.people) for f in definition.fields}
        return {key: _as_posted(value) for key, value in raw.items()}

    def _facilities(self, filing: Filing) -> dict[str, Any]:
        return dict(self._deal("facilities-issue", scenarios.FACILITIES))

    def _laptop(self, filing: Filing) -> dict[str, Any]:
        scenario = dict(self._deal("laptop-request", scenarios.LAPTOPS))
        user = self._someone_else(filing) if scenario.pop("for_other", False) else None
        first = (user or filing.requester).name.split()[0]
        answers = {key: value.format(first=first) if isinstance(value, str) else value
                   for key, value in scenario.items()}
        answers["user"] = user.email if user else None
        if answers["reason"].startswith("Replacement"):
            answers["asset_tag"] = asset_tag_of(user or filing.requester)
        answers["keyboard_layout"] = self.rng.choice(["US international", "UK", "German",
                                                      "French", "Dutch"])
        answers["needed_by"] = self._days_after(filing, 7, 30)
        return answers

    def _offboarding(self, filing: Filing) -> dict[str, Any]:
        answers = dict(self._deal("offboarding", scenarios.OFFBOARDINGS))
        leaver = self._deal("leavers", self.leavers)
        answers |= {"full_name": leaver.name, "employee": leaver.email,
                    "last_day": self._days_after(filing, 10, 40),
                    "mailbox_delegate": filing.requester.email}
        return answers

    def _office_move(self, filing: Filing) -> dict[str, Any]:
        answers = dict(self._deal("office-move", scenarios.OFFICE_MOVES))
        # A Friday at least two weeks ahead, as the form asks.
        day = (filing.filed + timedelta(days=14 + self.rng.randint(0, 14))).date()
        day += timedelta(days=(4 - day.weekday()) % 7)
        answers |= {"move_date": day.isoformat(), "contact": filing.requester.email}
        return answers

    def _onboarding(self, filing: Filing) -> dict[str, Any]:
        name = self._deal("new hires", [f"{first} {last}" for first in words.FIRST_NAMES
                                        for last in words.LAST_NAMES])
        department = self.rng.choice(sorted(words.JOB_TITLES))
        remote = self.rng.random() < 0.2
        equipment = ["Laptop", "Headset"] + self.rng.sample(
            ["Monitor", "Docking station", "Keyboard & mouse", "Mobile phone"], k=2)
        answers: dict[str, Any] = {
            "full_name": name,
            "personal_email": (f"{email_local_part(name)}@"
                               f"{self.rng.choice(words.PERSONAL_DOMAINS)}"),
            "start_date": self._days_after(filing, 14, 42),
            "department": department,
            "job_title": self.rng.choice(words.JOB_TITLES[department]),
            "hiring_manager": filing.requester.email,
            "equipment": equipment,
        }
        # Decided after the title (the draws stay in their order, so the rest of the demo
        # is the same): an office manager working fully remotely did not read true.
        answers["remote"] = remote and answers["job_title"] not in words.ON_SITE_TITLES
        if "Monitor" in equipment:
            answers["monitor_size"] = "32 inch" if department == "Product" else "27 inch"
        # A note now and then, each at most once in the whole demo.
        if self._notes_left and self.rng.random() < 0.35:
            answers["notes"] = self._notes_left.pop()
        return answers

    def _purchase(self, filing: Filing) -> dict[str, Any]:
        answers = dict(self._deal("purchase-request", scenarios.PURCHASES))
        if self.rng.random() < 0.7:
            answers["needed_by"] = self._days_after(filing, 14, 60)
        return answers

    def _software(self, filing: Filing) -> dict[str, Any]:
        answers = dict(self._deal("software-install", scenarios.SOFTWARE))
        answers["asset_tag"] = asset_tag_of(filing.requester)
        return answers

    def _system_access(self, filing: Filing) -> dict[str, Any]:
        answers = dict(self._deal("system-access", scenarios.SYSTEM_ACCESS))
        days = answers.pop("days", None)
        if days:
            answers["needed_until"] = (filing.filed + timedelta(days=days)).date().isoformat()
        return answers


_MAKERS: dict[str, Callable[[DemoAnswers, Filing], dict[str, Any]]] = {
    "facilities-issue": DemoAnswers._facilities,
    "laptop-request": DemoAnswers._laptop,
    "offboarding": DemoAnswers._offboarding,
    "office-move": DemoAnswers._office_move,
    "onboard-new-hire": DemoAnswers._onboarding,
    "purchase-request": DemoAnswers._purchase,
    "software-install": DemoAnswers._software,
    "system-access": DemoAnswers._system_access,
}


def _as_posted(value: Any) -> list[str]:
    if value is None or value is False:
        return []
    if value is True:
        return ["on"]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def _generic(field: FieldDefinition, rng: random.Random, people: list[User]) -> Any:
    """An answer for a service outside the example catalog (`baton demo --services`):
    its placeholder's example where it has one, else something valid."""
    example = (field.placeholder or "").removeprefix("e.g.").strip()
    kind = field.type
    if kind in ("text", "long_text"):
        text = example if example and not example.endswith("…") else f"Demo answer: {field.label}"
        if field.min_length and len(text) < field.min_length:
            text = text.ljust(field.min_length, ".")
        return text[: field.max_length] if field.max_length else text
    if kind == "number":
        low = field.min if field.min is not None else 1
        return int(low)
    if kind == "date":
        return (date.today() + timedelta(days=rng.randint(7, 30))).isoformat()
    if kind in ("select", "multi_select"):
        options = field.options or []
        if not options:
            return None
        return rng.choice(options) if kind == "select" else [rng.choice(options)]
    if kind == "checkbox":
        return bool(field.required)
    if kind == "email":
        person = rng.choice(people)
        return person.email
    if kind == "person":
        return rng.choice(people).email
    return None
