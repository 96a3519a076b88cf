"""A health check for load balancers: answers only when the database does."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.storage.db import RETRY_AFTER_SECONDS
from app.web.session import SessionDep

router = APIRouter()

# How long a client is asked to wait (Retry-After) when the database is not answering;
# app.main's handler for database outages says the same.


@router.get("/healthz", name="health")
def healthz(session: SessionDep) -> JSONResponse:
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError:
        return JSONResponse({"status": "database unavailable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return JSONResponse({"status": "ok"})
