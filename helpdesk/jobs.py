"""The one job dispatcher: rq queues on Redis when configured, otherwise in-process after the commit."""
from __future__ import annotations

import functools
import importlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.helpers import get_debug_flag
from redis import Redis
from rq import Queue, Retry
from rq import Worker as RQWorker
from sqlalchemy import delete, event, or_
from werkzeug.serving import is_running_from_reloader

from helpdesk.extensions import db
from helpdesk.types import utcnow

QUEUES = ("mailroom", "search", "default")
# Seconds before the retries under rq, the last retry waiting longest; extra retries wait the first value.
_EXTENSION = "helpdesk.jobs"
_PENDING = "helpdesk.jobs.pending"  # keys in Session.info
_READY = "helpdesk.jobs.ready"


@dataclass(frozen=True)
class PeriodicJob:
    func: Callable
    every: timedelta
    queue: str

    @property
    def name(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def seconds(self) -> int:
        return max(1, int(self.every.total_seconds()))


# Filled by @periodic as modules are imported; read by the ticker and helpdesk/cron.py.
PERIODIC: dict[str, PeriodicJob] = {}


@dataclass(frozen=True)
class _Call:
    func: Callable
    args: tuple
    kwargs: dict


def job(queue: str | Callable = "default", retry: int = 3):
    """Mark a function as a job: `@job`, or `@job(queue="mailroom", retry=5)`.

    The function takes ids, reloads, checks state, is safe to run twice and raises on
    failure. Called where no app context is active (an rq worker), it runs inside the
    process's own app, built once from the HELPDESK_* environment.
    """
    if callable(queue):
        return job()(queue)
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def run(*args, **kwargs):
            if has_app_context():
                return func(*args, **kwargs)
            with process_app().app_context():
                return func(*args, **kwargs)

        run.job_queue = queue
        run.job_retry = retry
        return run

    return decorate


def periodic(every: timedelta | int | float, queue: str = "default"):
    """Run a job every so often: by `rq cron` with Redis, by the ticker without."""
    every = every if isinstance(every, timedelta) else timedelta(seconds=every)
    if every.total_seconds() < 1:
        raise ValueError("a periodic job runs at most once a second")

    def decorate(func: Callable) -> Callable:
        # No retries: the next run comes soon enough.
        wrapped = func if hasattr(func, "job_queue") else job(queue=queue, retry=0)(func)
        entry = PeriodicJob(wrapped, every, wrapped.job_queue)
        PERIODIC[entry.name] = entry
        return wrapped

    return decorate


def enqueue(func: Callable, *args: Any, **kwargs: Any) -> None:
    """Run a job once the current transaction commits; never if it rolls back.

    With no transaction in progress the job is dispatched at once.
    """
    if not hasattr(func, "job_queue"):
        raise TypeError(f"{func!r} is not a job; decorate it with @job")
    after_commit(_dispatch, _Call(func, args, kwargs))


def after_commit(deliver: Callable[[Flask, list], None], item: Any) -> None:
    """Hand `item` to `deliver(app, items)` once the current transaction commits: the outermost
    one (a released savepoint waits for it), with the connection back in the pool; never when
    the transaction or savepoint that added it rolls back. With no transaction in progress it
    is delivered at once. Jobs use it, and so does the chat's publishing of committed messages.
    """
    session = db.session()
    if not session.in_transaction():
        deliver(current_app._get_current_object(), [item])
        return
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, deliver, item))


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions[_EXTENSION] = Redis.from_url(url) if url else None


def redis_connection(app: Flask | None = None) -> Redis | None:
    """The app's Redis connection, or None in the embedded mode."""
    app = app or current_app
    if _EXTENSION not in app.extensions:
        init_app(app)
    return app.extensions[_EXTENSION]


# --- after the commit ----------------------------------------------------------------------


@event.listens_for(db.session, "after_commit")
def _after_commit(session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: its jobs wait for the outermost commit
    pending = session.info.pop(_PENDING, [])
    session.info.setdefault(_READY, []).extend((deliver, item) for _, deliver, item in pending)


@event.listens_for(db.session, "after_soft_rollback")
def _after_soft_rollback(session, previous_transaction) -> None:
    def rolled_back(transaction) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [entry for entry in pending if not rolled_back(entry[0])]


@event.listens_for(db.session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    if transaction.parent is not None:
        return
    # Here the commit is final and the connection is back in the pool.
    ready = session.info.pop(_READY, [])
    session.info.pop(_PENDING, None)  # the transaction ended without a commit
    if ready:
        batches: dict[Callable, list] = {}  # one call per kind of work, in the order first asked
        for deliver, item in ready:
            batches.setdefault(deliver, []).append(item)
        app = current_app._get_current_object()
        for deliver, items in batches.items():
            deliver(app, items)


def _dispatch(app: Flask, calls: list[_Call]) -> None:
    connection = redis_connection(app)
    for call in calls:
        if connection is None:
            run_now(app, call.func, *call.args, **call.kwargs)
            continue
        try:
            Queue(call.func.job_queue, connection=connection).enqueue_call(
                func=call.func, args=call.args, kwargs=call.kwargs, retry=_retry(app, call.func.job_retry)
            )
        except Exception:
            # The commit stands; raising here would report a saved change as failed.
            app.logger.exception("Could not put job %s on the %r queue", _name(call.func), call.func.job_queue)


def run_now(app: Flask, func: Callable, *args: Any, **kwargs: Any) -> bool:
    """Run a job here and now; log a failure instead of raising it.

    A fresh app context gives the job its own session, as a worker process would.
    """
    with app.app_context():
        try:
            func(*args, **kwargs)
            return True
        except Exception:
            db.session.rollback()
            app.logger.exception("Job %s%r failed", _name(func), args)
            return False


def _retry(app: Flask, times: int) -> Retry | None:
    if not times:
        return None
    return Retry(max=times, interval=list(app.config["JOB_RETRY_INTERVALS"]))


def _name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


# --- the process's own app (rq workers, rq cron) ---------------------------------------------

_process_app: Flask | None = None
_process_app_lock = threading.Lock()


def process_app() -> Flask:
    """The app of a process that has none of its own, built once from the environment."""
    global _process_app
    with _process_app_lock:
        if _process_app is None:
            from helpdesk import create_app

            _process_app = create_app()
            os.register_at_fork(after_in_child=_forget_inherited_connections)
        return _process_app


def _forget_inherited_connections() -> None:
    # A forked job must not share the parent's database sockets.
    with _process_app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


class Worker(RQWorker):
    """rq's forking worker with the app built once, before the fork, so each job starts warm.

    `rq worker --worker-class helpdesk.jobs.Worker --with-scheduler mailroom search default`
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        process_app()


def periodic_jobs(app: Flask | None = None) -> list[PeriodicJob]:
    """Every periodic job of the core and the edge packages, found by importing their modules."""
    app = app or (current_app._get_current_object() if has_app_context() else process_app())
    packages = ("helpdesk", *app.config["EDGE_PACKAGES"])
    for package in packages:
        _import_job_modules(package)
    # A package imported for another app in this process is not this app's to run.
    mine = [p for p in PERIODIC.values() if p.func.__module__.split(".")[0] in packages]
    return sorted(mine, key=lambda p: p.name)


def _import_job_modules(package: str) -> None:
    # Periodic jobs register when their module is imported; create_app() imports the
    # services through the views, and here every `jobs` module one or two levels down.
    root = importlib.import_module(package)
    for folder in map(Path, root.__path__):
        if (folder / "jobs.py").is_file():
            importlib.import_module(f"{package}.jobs")
        for sub in sorted(folder.iterdir()):
            if (sub / "jobs.py").is_file() and (sub / "__init__.py").is_file():
                importlib.import_module(f"{package}.{sub.name}.jobs")


# --- the ticker: periodic jobs without Redis -----------------------------------------------


class Ticker:
    """A thread that runs due periodic jobs, for the embedded mode's single serving process."""

    def __init__(self, app: Flask, seconds: float):
        self.app = app
        self.seconds = seconds
        self.last_run: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file = None
        self._jobs: list[PeriodicJob] | None = None

    def start(self) -> Ticker:
        self._thread = threading.Thread(target=self._loop, name="helpdesk-ticker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tick(self) -> list[str]:
        """Run every job that is due (each runs at once the first time); return their names."""
        if self._jobs is None:
            with self.app.app_context():
                self._jobs = periodic_jobs(self.app)
        ran = []
        for entry in [p for p in self._jobs if self._due(p)]:
            if self._stopping.is_set():
                break
            self.last_run[entry.name] = time.monotonic()
            run_now(self.app, entry.func)
            ran.append(entry.name)
        return ran

    def _due(self, entry: PeriodicJob) -> bool:
        last = self.last_run.get(entry.name)
        return last is None or time.monotonic() - last >= entry.seconds

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._hold_instance_lock():
                    self.tick()
            except Exception:
                self.app.logger.exception("The ticker failed; it will try again")
            self._stopping.wait(self.seconds)

    def _hold_instance_lock(self) -> bool:
        # Several serving processes on one instance folder (gunicorn -w 4): one ticks.
        if self._lock_file is not None:
            return True
        try:
            import fcntl
        except ImportError:
            return True
        handle = open(Path(self.app.instance_path) / "ticker.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True


_ticker: Ticker | None = None
_ticker_lock = threading.Lock()


def start_ticker(app: Flask) -> Ticker | None:
    """Start the process's ticker when this process serves the embedded mode; else do nothing."""
    global _ticker
    if app.testing or app.config.get("ENV") == "testing" or app.config.get("REDIS_URL"):
        return None
    if not _serving_process():
        return None
    with _ticker_lock:
        if _ticker is None or not _ticker.running:
            _ticker = Ticker(app, app.config["TICKER_SECONDS"]).start()
        return _ticker


def stop_ticker() -> None:
    global _ticker
    with _ticker_lock:
        if _ticker is not None:
            _ticker.stop()
            _ticker = None


def _serving_process() -> bool:
    # wsgi.py is also imported by `flask db upgrade`, `flask shell` and the reloader's
    # watching parent; only the process that serves requests should tick.
    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        return True
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command.name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()


# --- a core periodic job ---------------------------------------------------------------------


@periodic(every=timedelta(hours=1))
def prune_login_throttles() -> int:
    """Forget failed-login counters that have not mattered for a day."""
    from helpdesk.people.models import LoginThrottle

    cutoff = utcnow() - timedelta(days=1)
    result = db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.first_failure_at < cutoff,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < cutoff),
        )
    )
    db.session.commit()
    return result.rowcount
