"""How long a service usually takes: the calculation on known figures (percentiles,
business time, the words, too little history) and the reads from the kept figures."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import select as sa_select
from sqlmodel import col

from app.format.targets import add_business_days, business_seconds, timestamp_of
from app.reads import expected_finish
from app.reads.expected_finish import (
    TOO_FEW_FINISHED,
    TOO_FEW_PICKED_UP,
    TOO_FEW_REQUESTS,
    Epoch,
    lead_business_seconds,
    middle_half,
    nearest_rank,
    request_expectation,
    service_expectation,
    service_expectation_of,
    span_words,
    step_business_seconds,
    step_sentence,
    within_words,
)
from app.rules.tasks import claim_task
from app.storage.models import RequestLeadTime, TaskState

HOUR = 3600
DAY = 24 * HOUR
MONDAY = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00 UTC
FRIDAY = MONDAY + timedelta(days=4)


# --- percentiles -----------------------------------------------------------------------

def test_the_nearest_rank_percentile_is_the_ceiling_of_share_times_count_smallest():
    values = list(range(1, 13))  # 1..12
    assert nearest_rank(values, 0.25) == 3
    assert nearest_rank(values, 0.5) == 6
    assert nearest_rank(values, 0.75) == 9
    assert nearest_rank([7], 0.25) == 7 and nearest_rank([7], 0.75) == 7


def test_the_middle_half_runs_from_the_25th_to_the_75th_percentile_whatever_the_order():
    assert middle_half([13, 2, 9, 4, 11, 6, 5, 8, 12, 3, 10, 7]) == (4, 10)
    assert middle_half([5.0] * 10) == (5.0, 5.0)


# --- business time ---------------------------------------------------------------------

def test_business_time_leaves_out_saturday_and_sunday():
    assert business_seconds(MONDAY, MONDAY + timedelta(hours=8)) == 8 * HOUR
    # Friday noon to Monday noon: twelve hours each side of the weekend.
    assert business_seconds(FRIDAY + timedelta(hours=4), MONDAY + timedelta(days=7, hours=4)
                            ) == DAY
    saturday = FRIDAY + timedelta(days=1)
    assert business_seconds(saturday, saturday + timedelta(hours=30)) == 0
    assert business_seconds(MONDAY, MONDAY + timedelta(days=14)) == 10 * DAY
    assert business_seconds(MONDAY + timedelta(hours=1), MONDAY) == 0  # end first


def test_business_time_counts_as_add_business_days_does():
    for start in (MONDAY, FRIDAY, MONDAY + timedelta(days=2, hours=17)):
        for days in (1, 3, 5, 8):
            assert business_seconds(start, add_business_days(start, days)) == days * DAY


def test_a_lead_time_and_a_steps_times_are_counted_in_business_time():
    # Filed Friday 08:00, completed Monday 08:00: three days, one business day.
    assert lead_business_seconds((MONDAY + timedelta(days=7)).timestamp(), 3 * DAY) == DAY
    # Opened Friday 20:00, picked up Monday 10:00 (4 + 10 hours of weekdays), worked
    # two hours until 12:00.
    finished = (MONDAY + timedelta(days=7, hours=4)).timestamp()
    assert step_business_seconds(finished, 62 * HOUR, 2 * HOUR) == (14 * HOUR, 2 * HOUR)


# --- the words -------------------------------------------------------------------------

@pytest.mark.parametrize(("low", "high", "words"), [
    (3.2 * DAY, 5.5 * DAY, "in 3–6 business days"),
    (1 * DAY, 2 * DAY, "in 1–2 business days"),
    (3 * DAY, 3 * DAY, "in 3 business days"),
    (DAY, DAY, "in a business day"),
    (0.5 * DAY, 2.1 * DAY, "within 3 business days"),
    (4 * HOUR, 10 * HOUR, "in 4–10 hours"),
    (0.4 * HOUR, 4.5 * HOUR, "within 5 hours"),
    (600, 3000, "within an hour"),
])
def test_the_middle_half_is_said_in_whole_hours_or_business_days_rounded_outwards(
        low, high, words):
    assert span_words(low, high) == words


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "within an hour"), (HOUR, "within an hour"), (5.1 * HOUR, "within 6 hours"),
    (DAY, "within a business day"), (1.2 * DAY, "within 2 business days"),
])
def test_a_usual_time_is_said_as_within_whole_hours_or_business_days(seconds, words):
    assert within_words(seconds) == words


def test_fewer_than_ten_completed_requests_are_too_few_to_tell():
    rows = [((MONDAY + timedelta(hours=n + 1)).timestamp(), (n + 1) * HOUR)
            for n in range(9)]
    expectation = service_expectation_of(rows)
    assert expectation.words is None
    assert expectation.sentence == TOO_FEW_REQUESTS
    assert expectation.basis == ""


def test_ten_completed_requests_are_enough_and_the_window_is_said():
    completed = (MONDAY + timedelta(hours=12)).timestamp()
    rows = [(completed, (n + 1) * HOUR) for n in range(12)]  # 1..12 h
    expectation = service_expectation_of(rows)
    assert expectation.sentence == "Usually done in 3–9 hours."
    assert expectation.basis.startswith("Half of the last 12 completed requests took that long")


def test_a_step_says_how_soon_it_is_picked_up_or_once_picked_up_finished():
    finished = (MONDAY + timedelta(hours=14)).timestamp()
    rows = [(finished, (n + 1) * HOUR, 2 * HOUR) for n in range(12)]  # waited 1..12 h
    assert step_sentence(TaskState.open, rows) == "This step is usually picked up within 9 hours."
    assert step_sentence(TaskState.claimed, rows) == (
        "Once picked up, this step is usually finished within 2 hours.")
    assert step_sentence(TaskState.open, rows[:9]) == TOO_FEW_PICKED_UP
    assert step_sentence(TaskState.claimed, rows[:9]) == TOO_FEW_FINISHED


def test_a_steps_sentence_counts_the_business_time_step_business_seconds_counts():
    # Over a weekend, so that the waiting and the working each cross one somewhere.
    friday = (MONDAY + timedelta(days=4, hours=20)).timestamp()
    rows = [(friday + n * 7 * HOUR, (n % 5 + 1) * 11 * HOUR, (n % 7 + 1) * 5 * HOUR)
            for n in range(20)]
    for which, state in ((0, TaskState.open), (1, TaskState.claimed)):
        usual = nearest_rank(sorted(step_business_seconds(*row)[which] for row in rows), 0.75)
        assert within_words(usual) in step_sentence(state, rows)


# --- the reads, from the figures kept as tasks finish ------------------------------------

@pytest.fixture
def history(make):  # type: ignore[no-untyped-def]
    """Twelve requests of a one-step service on one Monday: waited 1..12 hours, worked one
    hour, so their lead times are 2..13 hours."""
    service = make.service(slug="badge", steps=[("security", "task")])
    rita = make.user("Rita")
    sam = make.user("Sam", teams=("security",))
    make.finished_history(service, rita, sam, start=MONDAY,
                          waits=[timedelta(hours=n + 1) for n in range(12)],
                          worked=timedelta(hours=1))

    class History:
        badge = service
        requester = rita
        worker = sam
    return History


def test_the_service_figure_is_the_middle_half_of_its_completed_requests(session, history):
    expectation = service_expectation(session, history.badge.id)
    assert expectation.count == 12
    assert expectation.sentence == "Usually done in 4–10 hours."


def test_the_database_reads_a_moment_as_the_same_unix_timestamp_python_does(
        session, history):
    rows = session.execute(
        sa_select(col(RequestLeadTime.completed_at), Epoch(col(RequestLeadTime.completed_at)))
    ).all()
    assert len(rows) == 12
    for moment, timestamp in rows:
        assert timestamp == pytest.approx(timestamp_of(moment), abs=0.001)


def test_only_the_last_completed_requests_count(session, history, monkeypatch):
    monkeypatch.setattr(expected_finish, "WINDOW", 10)
    expectation = service_expectation(session, history.badge.id)
    assert expectation.count == 10  # lead times 4..13 hours: the two first left out
    assert expectation.sentence == "Usually done in 6–11 hours."


def test_a_service_without_completed_requests_is_too_new_to_tell(session, make):
    service = make.service(slug="fresh")
    assert service_expectation(session, service.id).sentence == TOO_FEW_REQUESTS


def test_an_open_request_gets_a_sentence_for_each_step_now_with_a_team(
        session, make, history):
    request = make.request(history.badge, history.requester)
    [task] = make.tasks(request)
    expectation = request_expectation(session, history.badge.id, [task])
    assert expectation.whole.sentence == "Usually done in 4–10 hours."
    assert expectation.steps == {task.id: "This step is usually picked up within 9 hours."}
    claim_task(session, task=task, by=history.worker)
    expectation = request_expectation(session, history.badge.id, [task])
    assert expectation.steps == {
        task.id: "Once picked up, this step is usually finished within an hour."}


def test_steps_of_several_positions_are_read_in_one_statement(session, make):
    service = make.service(slug="desk-move", ordering="flexible",
                           steps=[("it", "task"), ("facilities", "task"), ("hr", "task")])
    request = make.request(service, make.user("Rita"))
    tasks = make.tasks(request)
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args):  # type: ignore[no-untyped-def]
        statements.append(args[2])
    event.listen(engine, "before_cursor_execute", count)
    try:
        expectation = request_expectation(session, service.id, tasks)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The sums the figures are remembered by, then the lead times and every open step's
    # durations in one statement.
    assert len(statements) == 2
    assert set(expectation.steps.values()) == {TOO_FEW_PICKED_UP}
    assert len(expectation.steps) == 3


def test_the_sentences_are_remembered_until_a_figure_of_the_service_is_added(
        session, make, history):
    expected_finish._remembered.clear()  # what other tests' databases left
    request = make.request(history.badge, history.requester)
    [task] = make.tasks(request)
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args):  # type: ignore[no-untyped-def]
        if "task_duration" in args[2] or "service_week" in args[2]:
            statements.append(args[2])

    def expect() -> tuple[str, str]:
        expectation = request_expectation(session, history.badge.id, [task])
        return expectation.whole.sentence, expectation.steps[task.id]

    event.listen(engine, "before_cursor_execute", count)
    try:
        first = expect()
        assert len(statements) == 2
        assert expect() == first
        assert len(statements) == 3  # the sums alone: nothing was added since
        make.finished_history(history.badge, history.requester, history.worker,
                              start=MONDAY, waits=[timedelta(hours=30)] * 12,
                              worked=timedelta(hours=1))
        statements.clear()
        later = expect()
        assert len(statements) == 2  # a request completed: read again
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first == ("Usually done in 4–10 hours.",
                     "This step is usually picked up within 9 hours.")
    assert later == ("Usually done within 2 business days.",  # waits of 30 hours added
                     "This step is usually picked up within 2 business days.")



def test_no_more_sentences_are_remembered_than_the_cache_holds(
        session, make, history, monkeypatch):
    monkeypatch.setattr(expected_finish, "CACHE_SIZE", 1)
    expected_finish._remembered.clear()
    request = make.request(history.badge, history.requester)
    [task] = make.tasks(request)
    request_expectation(session, history.badge.id, [task])
    claim_task(session, task=task, by=history.worker)  # another state: another entry
    expectation = request_expectation(session, history.badge.id, [task])
    assert len(expected_finish._remembered) == 1
    assert expectation.steps == {
        task.id: "Once picked up, this step is usually finished within an hour."}
