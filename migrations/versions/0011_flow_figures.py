"""the insights' figures: task durations, request lead times, weekly sums per step and
service, filled from the history already there

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:30:00
"""
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As app.storage.flow_figures.DECIDED_STATES.
DECIDED = ('done', 'approved', 'rejected')
BATCH = 5000


def _utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite hands datetimes back as text to a text query
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _week(moment: datetime | str) -> date:
    day = _utc(moment).date()
    return day - timedelta(days=day.weekday())


def _seconds(start: datetime | str, end: datetime | str) -> int:
    return max(0, int((_utc(end) - _utc(start)).total_seconds()))


def _create_tables() -> None:
    op.create_table('task_duration',
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('waited_seconds', sa.Integer(), nullable=False),
    sa.Column('worked_seconds', sa.Integer(), nullable=False),
    sa.Column('within_target', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['task.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('task_id')
    )
    op.create_index('ix_task_duration_step', 'task_duration',
                    ['service_id', 'position', 'finished_at', 'waited_seconds',
                     'worked_seconds'], unique=False)
    op.create_index('ix_task_duration_team', 'task_duration', ['team_id', 'finished_at'],
                    unique=False)
    op.create_table('request_lead_time',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lead_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_index('ix_request_lead_time_service', 'request_lead_time',
                    ['service_id', 'completed_at', 'lead_seconds'], unique=False)
    op.create_table('step_week',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('finished_count', sa.Integer(), nullable=False),
    sa.Column('waited_seconds', sa.BigInteger(), nullable=False),
    sa.Column('worked_seconds', sa.BigInteger(), nullable=False),
    sa.Column('targeted_count', sa.Integer(), nullable=False),
    sa.Column('within_target_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('service_id', 'position', 'team_id', 'week')
    )
    op.create_table('service_week',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('submitted_count', sa.Integer(), nullable=False),
    sa.Column('completed_count', sa.Integer(), nullable=False),
    sa.Column('lead_seconds', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
    sa.PrimaryKeyConstraint('service_id', 'week')
    )


def _insert(name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    types = {"finished_at": sqlmodel.sql.sqltypes.UTCDateTime(),
             "completed_at": sqlmodel.sql.sqltypes.UTCDateTime(), "week": sa.Date()}
    table = sa.table(name, *(sa.column(key, types.get(key)) for key in rows[0]))
    for start in range(0, len(rows), BATCH):
        op.get_bind().execute(sa.insert(table), rows[start:start + BATCH])


def _fill() -> None:
    """The same figures app.storage.flow_figures.from_history computes (written out here
    so the migration does not change with the application's code)."""
    bind = op.get_bind()
    steps: dict[tuple[int, int, int, date], list[int]] = defaultdict(lambda: [0] * 5)
    durations = []
    decided = ", ".join(f"'{state}'" for state in DECIDED)
    for task_id, service, position, team, opened, closed, due, claimed in bind.execute(sa.text(
        "SELECT task.id, task.service_id, task.position, task.team_id, task.opened_at, "
        "task.closed_at, task.due_at, claims.claimed_at FROM task LEFT JOIN "
        "(SELECT task_id, max(created_at) AS claimed_at FROM timeline_event "
        " WHERE kind = 'claimed' GROUP BY task_id) AS claims ON claims.task_id = task.id "
        f"WHERE task.state IN ({decided}) AND task.opened_at IS NOT NULL "
        "AND task.closed_at IS NOT NULL"
    )):
        started = claimed or closed
        within = None if due is None else _utc(closed) <= _utc(due)
        waited, worked = _seconds(opened, started), _seconds(started, closed)
        durations.append({"task_id": task_id, "service_id": service, "position": position,
                          "team_id": team, "finished_at": _utc(closed),
                          "waited_seconds": waited, "worked_seconds": worked,
                          "within_target": within})
        sums = steps[(service, position, team, _week(closed))]
        for index, value in enumerate((1, waited, worked, int(within is not None),
                                       int(bool(within)))):
            sums[index] += value
    services: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0] * 3)
    leads = []
    for request_id, service, state, created, closed in bind.execute(sa.text(
        "SELECT id, service_id, state, created_at, closed_at FROM service_request"
    )):
        services[(service, _week(created))][0] += 1
        if state == 'completed' and closed is not None:
            lead = _seconds(created, closed)
            leads.append({"request_id": request_id, "service_id": service,
                          "completed_at": _utc(closed),
                          "lead_seconds": lead})
            sums = services[(service, _week(closed))]
            sums[1] += 1
            sums[2] += lead
    _insert('task_duration', durations)
    _insert('request_lead_time', leads)
    _insert('step_week', [
        {"service_id": s, "position": p, "team_id": t, "week": w, "finished_count": n,
         "waited_seconds": wa, "worked_seconds": wo, "targeted_count": ta,
         "within_target_count": wi}
        for (s, p, t, w), (n, wa, wo, ta, wi) in sorted(steps.items())])
    _insert('service_week', [
        {"service_id": s, "week": w, "submitted_count": n, "completed_count": c,
         "lead_seconds": le}
        for (s, w), (n, c, le) in sorted(services.items())])


def upgrade() -> None:
    _create_tables()
    _fill()


def downgrade() -> None:
    op.drop_table('service_week')
    op.drop_table('step_week')
    op.drop_index('ix_request_lead_time_service', table_name='request_lead_time')
    op.drop_table('request_lead_time')
    op.drop_index('ix_task_duration_team', table_name='task_duration')
    op.drop_index('ix_task_duration_step', table_name='task_duration')
    op.drop_table('task_duration')
