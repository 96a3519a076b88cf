"""The login throttle's table (app.rules.login_throttle), apart from app.storage.models
only to keep that module within the size tests/test_layers allows; models imports it, so
it is one of Baton's tables like the others."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins of one account (the e-mail typed, lower-cased, whether or not
    it exists) or one client address: one row per key, updated in place and swept once
    expires_at has passed (app.rules.login_throttle)."""

    __tablename__ = "login_throttle"

    kind: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=254)
    failures: int = 0
    blocks: int = 0
    window_start: datetime
    blocked_until: datetime | None = None
    expires_at: datetime = Field(index=True)
