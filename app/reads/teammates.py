"""Whom a task can be handed to, for the pages that list tasks (a team's queue, my work,
the overview's lists and a re-rendered row)."""

from collections.abc import Collection

from sqlmodel import Session

from app.rules.teams import Member, active_members_of
from app.storage.directory_cache import directory_kept


class Teammates:
    """Whom a task can be handed to. Each team's people are written once per page, as a
    <datalist> the rows' "Hand to" boxes share (a list of a sixty-person team in every
    claimed row made a queue page mostly <option>s and tripled its rendering time)."""

    def __init__(self, members: dict[int, list[Member]]):
        # Possibly shared with other requests (app.storage.directory_cache): only read.
        self.members = members

    def lists(self) -> list[tuple[int, list[Member]]]:
        return [(team_id, people) for team_id, people in sorted(self.members.items()) if people]

    def others(self, team_id: int, holder_id: int | None) -> bool:
        """Whether anyone but the holder could take this team's task."""
        return any(person.id != holder_id for person in self.members.get(team_id, []))


def teammates_of(session: Session, team_ids: Collection[int], *,
                 at_most: int | None = None) -> Teammates:
    """The active members of these teams (no statement for no teams); `at_most`: only the
    first ones, in all. Kept per directory version (app.storage.directory_cache)."""
    if not team_ids:
        return Teammates({})
    teams = frozenset(team_ids)
    return Teammates(directory_kept(session, ("teammates", teams, at_most),
                                    lambda: active_members_of(session, teams, at_most)))
