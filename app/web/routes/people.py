"""The person picker's suggestions."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.rules.directory import find_people
from app.web.auth import CurrentUser
from app.web.render import render
from app.web.session import SessionDep

router = APIRouter()


@router.get("/people/search", name="people.search")
def search_people(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    # The picker sends its own input under the field's key, whatever that key is.
    text = next(iter(request.query_params.values()), "")[:100]
    return render(request, "_people_options.html", {"people": find_people(session, text)})
