"""The embedded mode: with no Redis, a job runs in-process right after the commit that asked for it."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import click
import pytest
from sqlalchemy import select

from helpdesk import jobs
from helpdesk.extensions import db
from helpdesk.people.models import LoginThrottle
from helpdesk.types import utcnow

RAN: list[tuple] = []


@jobs.job
def record(label, **kwargs):
    """Notes that it ran, and what it saw of the committed throttle row named like its label."""
    row = db.session.get(LoginThrottle, label)
    RAN.append((label, row.failures if row else None, kwargs))


@jobs.job(queue="mailroom")
def explode(label):
    RAN.append((label, "exploding", {}))
    db.session.add(LoginThrottle(key=f"half-written-{label}"))
    db.session.flush()
    raise RuntimeError(f"boom {label}")


@jobs.job
def record_then_enqueue(label):
    RAN.append((label, "first", {}))
    db.session.add(LoginThrottle(key=f"chain-{label}", failures=7))
    jobs.enqueue(record, f"chain-{label}")
    db.session.commit()


@pytest.fixture(autouse=True)
def _clear():
    RAN.clear()
    yield
    RAN.clear()


def throttle(key, failures=1, **kw):
    row = LoginThrottle(key=key, failures=failures, **kw)
    db.session.add(row)
    db.session.flush()
    return row


def test_a_job_runs_after_the_commit_and_not_before(app):
    throttle("a", failures=3)
    jobs.enqueue(record, "a", flag=True)
    assert RAN == []
    db.session.commit()
    assert RAN == [("a", 3, {"flag": True})]


def test_a_job_is_dropped_when_the_transaction_rolls_back(app):
    throttle("b")
    jobs.enqueue(record, "b")
    db.session.rollback()
    db.session.commit()
    assert RAN == []


def test_a_job_is_dropped_when_the_session_closes_without_commit(app):
    throttle("c")
    jobs.enqueue(record, "c")
    db.session.close()
    db.session.commit()
    assert RAN == []


def test_a_rolled_back_savepoint_drops_only_its_own_jobs(app):
    throttle("outer")
    jobs.enqueue(record, "outer")
    savepoint = db.session.begin_nested()
    jobs.enqueue(record, "inner")
    savepoint.rollback()
    with db.session.begin_nested():
        jobs.enqueue(record, "kept")
    assert RAN == []
    db.session.commit()
    assert [label for label, *_ in RAN] == ["outer", "kept"]


def test_with_no_transaction_in_progress_the_job_runs_at_once(app):
    db.session.commit()
    assert not db.session().in_transaction()
    jobs.enqueue(record, "now")
    assert RAN == [("now", None, {})]


def test_jobs_run_in_the_order_they_were_asked_for_and_may_enqueue_more(app):
    jobs.enqueue(record, "one")
    jobs.enqueue(record_then_enqueue, "two")
    jobs.enqueue(record, "three")
    db.session.commit()
    assert RAN == [("one", None, {}), ("two", "first", {}), ("chain-two", 7, {}), ("three", None, {})]


def test_a_failing_job_is_logged_and_the_others_still_run(app, caplog):
    throttle("kept", failures=2)
    jobs.enqueue(explode, "x")
    jobs.enqueue(record, "kept")
    with caplog.at_level(logging.ERROR):
        db.session.commit()
    assert [r[:2] for r in RAN] == [("x", "exploding"), ("kept", 2)]
    failure = next(r for r in caplog.records if "explode" in r.getMessage())
    assert failure.exc_info and "boom x" in str(failure.exc_info[1])
    assert db.session.get(LoginThrottle, "half-written-x") is None
    assert db.session.get(LoginThrottle, "kept").failures == 2


def test_a_failing_job_does_not_break_the_request_that_committed(make_app, caplog):
    app = make_app()

    @app.post("/throttle/<key>")
    def add_throttle(key):
        db.session.add(LoginThrottle(key=key, failures=1))
        jobs.enqueue(explode, key)
        db.session.commit()
        return "saved"

    with caplog.at_level(logging.ERROR):
        response = app.test_client().post("/throttle/visitor")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "saved"
    with app.app_context():
        assert db.session.get(LoginThrottle, "visitor") is not None
        assert db.session.get(LoginThrottle, "half-written-visitor") is None
    assert any(r.exc_info and "boom visitor" in str(r.exc_info[1]) for r in caplog.records)


def test_only_jobs_can_be_enqueued(app):
    def plain(x):
        return x

    with pytest.raises(TypeError, match="not a job"):
        jobs.enqueue(plain, 1)


def test_a_job_names_a_known_queue():
    with pytest.raises(ValueError, match="queue must be one of"):
        jobs.job(queue="nowhere")


def test_a_job_called_outside_an_app_builds_the_process_app(make_app, monkeypatch):
    app = make_app()
    monkeypatch.setattr(jobs, "_process_app", app)
    with app.app_context():
        throttle("outside", failures=4)
        db.session.commit()
    record("outside")
    assert RAN == [("outside", 4, {})]


# --- periodic jobs ---------------------------------------------------------------------------


def _old_and_new_throttles():
    long_ago = utcnow() - timedelta(days=2)
    db.session.add_all([
        LoginThrottle(key="old", failures=5, first_failure_at=long_ago),
        LoginThrottle(key="old-lock-expired", failures=5, first_failure_at=long_ago,
                      locked_until=long_ago + timedelta(minutes=15)),
        LoginThrottle(key="old-but-locked", failures=9, first_failure_at=long_ago,
                      locked_until=utcnow() + timedelta(minutes=5)),
        LoginThrottle(key="recent", failures=1, first_failure_at=utcnow() - timedelta(hours=1)),
    ])
    db.session.commit()


def test_prune_login_throttles_forgets_what_no_longer_matters(app):
    _old_and_new_throttles()
    assert jobs.prune_login_throttles() == 2
    keys = set(db.session.scalars(select(LoginThrottle.key)))
    assert keys == {"old-but-locked", "recent"}


def test_periodic_jobs_are_registered_with_their_queue_and_interval(app):
    entries = {p.name: p for p in jobs.periodic_jobs(app)}
    prune = entries["helpdesk.jobs.prune_login_throttles"]
    assert (prune.queue, prune.seconds, prune.func) == ("default", 3600, jobs.prune_login_throttles)
    assert all(hasattr(p.func, "job_queue") for p in entries.values())


def test_the_ticker_runs_due_periodic_jobs_once_per_interval(make_app):
    app = make_app()
    with app.app_context():
        _old_and_new_throttles()
    ticker = jobs.Ticker(app, seconds=3600)
    assert "helpdesk.jobs.prune_login_throttles" in ticker.tick()
    assert "helpdesk.jobs.prune_login_throttles" not in ticker.tick()  # not due again for an hour
    with app.app_context():
        assert db.session.get(LoginThrottle, "old") is None


def test_the_ticker_thread_runs_a_due_job_and_stops(make_app):
    app = make_app()
    with app.app_context():
        _old_and_new_throttles()
    ticker = jobs.Ticker(app, seconds=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.get(LoginThrottle, "old") is None:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the ticker did not prune the old throttle")
    finally:
        ticker.stop()
    assert not ticker.running


def test_start_ticker_never_ticks_in_testing_or_with_redis(app, make_app):
    assert jobs.start_ticker(app) is None
    served = make_app(ENV="development", TESTING=False, REDIS_URL="redis://127.0.0.1:1/0")
    assert jobs.start_ticker(served) is None


def test_start_ticker_starts_one_ticker_per_process(make_app):
    app = make_app(ENV="development", TESTING=False, TICKER_SECONDS=3600)
    try:
        first = jobs.start_ticker(app)
        assert first is not None and first.running
        assert jobs.start_ticker(app) is first
    finally:
        jobs.stop_ticker()
    assert not first.running


@pytest.mark.parametrize(
    ("command", "reload", "from_reloader", "expected"),
    [
        ("run", False, False, True),  # flask run --no-reload
        ("run", True, False, False),  # the reloader's watching parent
        ("run", True, True, True),  # the reloader's serving child
        ("upgrade", None, False, False),  # flask db upgrade imports wsgi.py too
        ("shell", None, False, False),
    ],
)
def test_under_the_flask_cli_only_the_serving_process_ticks(monkeypatch, command, reload, from_reloader, expected):
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    if from_reloader:
        monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    else:
        monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    ctx = click.Context(click.Command(command))
    ctx.params["reload"] = reload
    with ctx:
        assert jobs._serving_process() is expected


def test_outside_the_flask_cli_the_process_serves(monkeypatch):
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    assert jobs._serving_process() is True
