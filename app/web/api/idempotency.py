"""Idempotency-Key on every POST of /api/v1: the same key, from the same token, with the
same request (method, address and body) is answered with the first answer again,
replayed from the database; the same key with another request is a 422 problem. Keys
are kept 24 hours (per token: two tokens' keys never meet).

The first answer is stored in the transaction of the change it answers, so a change is
never made without its answer kept nor kept without its change: the change's rule runs
inside app.rules.acting's context, and when it commits, a before_commit hook adds the
answer (built from what the rule recorded). Answers that changed nothing (a refusal, a
request filed earlier with the same key) are stored on their own afterwards, except a
refusal that passes with time (429, or one with a Retry-After), which is not kept. Two
sends of one key at once: the second's insert of the key fails at its commit, which
rolls its change back, and it answers with the first's stored answer (or the key-reused
problem, when the first was another request).
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import delete, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from app.rules.acting import Acting, acting_via
from app.rules.errors import DomainError
from app.storage.api_tables import MAX_IDEMPOTENCY_KEY, IdempotentAnswer
from app.storage.db import begin_write
from app.storage.models import utcnow
from app.web.api.caller import ApiCaller, Caller
from app.web.api.problems import PROBLEM_TYPE, ApiProblem, domain_problem, problem_body
from app.web.session import SessionDep

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
T = TypeVar("T")


@dataclass(frozen=True)
class IdempotencyKey:
    token_id: int
    key: str
    fingerprint: str


class Replay(Exception):
    def __init__(self, stored: IdempotentAnswer):
        super().__init__(stored.key)
        self.status, self.body = stored.status, stored.body


def replayed(replay: Replay) -> Response:
    return Response(replay.body, status_code=replay.status,
                    media_type=PROBLEM_TYPE if replay.status >= 400 else "application/json",
                    headers={"Idempotent-Replayed": "true"})


def _stored(session: Session, token_id: int, key: str) -> IdempotentAnswer | None:
    return session.exec(select(IdempotentAnswer).where(
        IdempotentAnswer.token_id == token_id, IdempotentAnswer.key == key,
        IdempotentAnswer.created_at > utcnow() - KEPT_FOR,
    ).execution_options(populate_existing=True)).first()


async def idempotency_key(request: Request, caller: Caller,
                          session: SessionDep) -> IdempotencyKey | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not (key.isascii() and key.isprintable()):
        raise ApiProblem(422, f"An {HEADER} is 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII "
                              "characters.", kind="invalid",
                         errors={HEADER: "1 to 255 printable ASCII characters."})
    body = await request.body()  # read whole, within its bound, by app.web.request_body
    fingerprint = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode()
                                 + b"\n" + _canonical(body)).hexdigest()
    stored = await run_in_threadpool(_stored, session, caller.token_id, key)
    if stored is not None:
        raise _replay_of(stored, fingerprint)
    return IdempotencyKey(caller.token_id, key, fingerprint)


def _canonical(body: bytes) -> bytes:
    """The same JSON sent again with its keys in another order or other spacing is the
    same request; a body that is not JSON is compared as it is."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's depth
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()


def _replay_of(stored: IdempotentAnswer, fingerprint: str) -> Replay | ApiProblem:
    """The stored answer to send again, or the key-reused problem when the key was
    kept with another request."""
    if stored.fingerprint != fingerprint:
        return ApiProblem(422, f"This {HEADER} was sent before with another request: "
                               "use a new key for a new request.", kind="key-reused",
                          errors={HEADER: "Used before with another request."})
    return Replay(stored)


def _first_answer(session: Session, key: IdempotencyKey) -> Response | None:
    """After another send of this key kept its answer first (at once with this one):
    that answer, or the key-reused problem when that send's request was another."""
    first = _stored(session, key.token_id, key.key)
    if first is None:
        return None
    found = _replay_of(first, key.fingerprint)
    if isinstance(found, ApiProblem):
        raise found
    return replayed(found)


KeyDep = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
Answer = tuple[int, Any]


def _row(key: IdempotencyKey, status: int, body: str) -> IdempotentAnswer:
    return IdempotentAnswer(token_id=key.token_id, key=key.key, fingerprint=key.fingerprint,
                            status=status, body=body, created_at=utcnow())


def _forget_old(session: Session) -> None:
    session.execute(delete(IdempotentAnswer).where(
        col(IdempotentAnswer.created_at) <= utcnow() - KEPT_FOR))


def _store_alone(session: Session, key: IdempotencyKey, status: int, body: str) -> Response:
    """Keeps an answer that changed nothing; returns what to answer (the first answer,
    when another send of the same key got there first)."""
    begin_write(session)
    try:
        _forget_old(session)
        session.add(_row(key, status, body))
        session.commit()
    except IntegrityError:
        session.rollback()
        first = _first_answer(session, key)
        if first is not None:
            return first
        raise
    return _response(status, body)


def _response(status: int, body: str) -> Response:
    return Response(body, status_code=status,
                    media_type=PROBLEM_TYPE if status >= 400 else "application/json")


def _encoded(content: Any) -> str:
    return json.dumps(jsonable_encoder(content), separators=(",", ":"))


def run_change(session: Session, caller: ApiCaller, key: IdempotencyKey | None,
               change: Callable[[], T], answer: Callable[[T | None, Acting], Answer]
               ) -> Response:
    """Runs `change` (one rule) as the caller's token, and answers with `answer` (given
    the rule's result, or None when called at its commit, and what it recorded)."""
    acting = Acting(via=caller.via)
    kept: dict[str, str] = {}
    status_of: dict[str, int] = {}

    def keep_with_commit(committing: Session) -> None:
        if acting.events == 0 or kept or key is None:
            return  # not the rule's own commit (a read ended first), or nothing to keep
        committing.flush()
        status, content = answer(None, acting)
        kept["body"], status_of["status"] = _encoded(content), status
        _forget_old(committing)
        committing.add(_row(key, status, kept["body"]))

    event.listen(session, "before_commit", keep_with_commit)
    try:
        with acting_via(acting):
            result = change()
    except DomainError as refused:
        if key is None:
            raise
        found = domain_problem(refused)
        body = _encoded(problem_body(found.status, found.detail, kind=found.kind,
                                     errors=found.errors))
        if found.status == 429 or getattr(refused, "retry_after", None):
            # A refusal that passes with time is not the key's answer: the same send,
            # after the wait, is tried again.
            response = _response(found.status, body)
        else:
            response = _store_alone(session, key, found.status, body)
        response.headers.update(found.headers)
        return response
    except IntegrityError:
        # Another send of this key committed first; this one's change was rolled back.
        first = _first_answer(session, key) if key else None
        if first is None:
            raise
        return first
    finally:
        event.remove(session, "before_commit", keep_with_commit)
    if kept:
        return _response(status_of["status"], kept["body"])
    status, content = answer(result, acting)
    body = _encoded(content)
    if key is None:
        return _response(status, body)
    return _store_alone(session, key, status, body)
