"""Who calls /api/v1: a bearer token, and nothing else.

The API takes `Authorization: Bearer <token>` only; a browser's session cookie is not
read here at all. So the API needs no CSRF token and can be ridden by no cross-site form:
CSRF exists because a browser attaches cookies to any request on its own, and it never
attaches this header on its own. (The pages keep their cookies and their CSRF tokens:
app.web.auth.require_csrf guards every route of the main application, and the API is
a separate application mounted beside them, so none of the pages' routes is exempt.)

Every call is counted against its token's rate limit (app.rules.api_tokens.count_use,
kept in the database); past the limit it is answered 429 with Retry-After.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import col
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import get_settings
from app.rules.acting import token_label
from app.rules.api_tokens import TokenUse, count_use, live_token
from app.storage.api_tables import ApiToken
from app.storage.directory_cache import note_directory_version
from app.storage.models import User, utcnow
from app.storage.page_versions import directory_version
from app.web.api.problems import ApiProblem, problem, problem_body, unauthenticated
from app.web.session import SessionDep
from app.web.viewer import TEAMS_OF_USER, team_ids_of

# A token is "baton_" and 43 characters; anything much longer is no token of ours.
MAX_TOKEN_LENGTH = 200
NO_TOKEN = "Send a personal access token: `Authorization: Bearer <token>` (make one on your " \
           "profile page in Baton)."


@dataclass(frozen=True)
class ApiCaller:
    user: User  # a snapshot, as the pages' viewer (app.web.viewer)
    token_id: int
    token_name: str
    read_only: bool
    team_ids: frozenset[int]

    @property
    def via(self) -> str:
        return token_label(self.token_name)


def _secret_of(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise unauthenticated(NO_TOKEN)
    if len(secret) > MAX_TOKEN_LENGTH:
        raise unauthenticated("That is not a Baton token.", invalid=True)
    return secret


def get_caller(request: Request, session: SessionDep) -> ApiCaller:
    secret = _secret_of(request)
    now = utcnow()
    # The token, its person, their teams and the directory version in one statement, in
    # the request's read.
    row = session.execute(live_token(secret, now)
                          .add_columns(User, TEAMS_OF_USER, directory_version)
                          .join(User, col(User.id) == ApiToken.user_id)).first()
    if row is None:
        raise unauthenticated("This token is unknown, expired or revoked.", invalid=True)
    token_id, _user_id, name, read_only, user, teams, directory = row
    if user.is_active:
        # What the call reads of the directory may come from memory, as read at this
        # version (app.storage.directory_cache).
        note_directory_version(session, directory)
    use = TokenUse(token_id=token_id, user_id=user.id, name=name, read_only=read_only,
                   window_start=now.replace(second=0, microsecond=0),
                   count=count_use(session, token_id=token_id, secret=secret, now=now))
    limit = get_settings().api_requests_per_minute
    if use.count > limit:
        raise ApiProblem(429, f"This token made more than {limit} requests this minute: "
                              "wait and try again.", kind="rate-limited",
                         headers={"Retry-After": str(use.retry_after(now))})
    if not user.is_active:
        # Deactivating revokes a person's tokens; this only covers the moment between.
        raise unauthenticated("This token's person is deactivated.", invalid=True)
    caller = ApiCaller(user=User(**user.model_dump()), token_id=token_id, token_name=name,
                       read_only=read_only, team_ids=team_ids_of(teams))
    request.state.api_caller = caller
    return caller


Caller = Annotated[ApiCaller, Depends(get_caller)]


async def get_writer(caller: Caller) -> ApiCaller:
    if caller.read_only:
        raise ApiProblem(403, "This token is read-only: make a read-and-write token to "
                              "change anything.", kind="read-only-token")
    return caller


Writer = Annotated[ApiCaller, Depends(get_writer)]


class RequireToken:
    """Anonymous callers (no Authorization header at all) get a 401 problem for every
    address under /api/v1, known or not, before routing: nothing of the API, not even
    which addresses exist, is told to them but how to authenticate."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(
                name == b"authorization" for name, _ in scope.get("headers", ())):
            body = problem_body(401, NO_TOKEN, kind="unauthenticated")
            await problem(401, body["detail"], kind="unauthenticated",
                          headers={"WWW-Authenticate": 'Bearer realm="baton"'})(
                scope, receive, send)
            return
        await self.app(scope, receive, send)
