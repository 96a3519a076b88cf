"""The JSON API's tables (issue 15): personal access tokens and the answers kept for
Idempotency-Key. Apart from app.storage.models only to keep that module within the
size tests/test_layers allows; app.storage imports it, so its tables are registered
wherever the models are."""

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.storage.clock import utcnow

MAX_TOKEN_NAME = 60
MAX_IDEMPOTENCY_KEY = 255


class ApiToken(SQLModel, table=True):
    """A person's personal access token. Only the SHA-256 of its secret is kept: the
    secret is 32 random bytes, so a fast hash is enough (nothing to guess from it), and
    a leaked table hands out no live token. `revoked_at` is set by revoking it and by
    deactivating its person; a token is never deleted, so its events keep their name.

    `window_start` and `window_count` are the rate limit's (app.rules.api_tokens): the
    requests counted in the minute that began at `window_start`; `last_used_at` moves
    only when a new window begins, so at most once a minute."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id", "id"),)

    id: int = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    name: str = Field(max_length=MAX_TOKEN_NAME)
    secret_hash: str = Field(max_length=64, unique=True)
    read_only: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    window_start: datetime | None = None
    window_count: int = 0


class IdempotentAnswer(SQLModel, table=True):
    """The first answer to a POST sent with an Idempotency-Key, per token and key, kept
    24 hours: `fingerprint` is the SHA-256 of the method, path and body it answered."""

    __tablename__ = "idempotent_answer"
    __table_args__ = (Index("ix_idempotent_answer_created", "created_at"),)

    token_id: int = Field(foreign_key="api_token.id", primary_key=True)
    key: str = Field(max_length=MAX_IDEMPOTENCY_KEY, primary_key=True)
    fingerprint: str = Field(max_length=64)
    status: int
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
