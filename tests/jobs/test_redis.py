"""The Redis mode, against a real redis-server and real `rq worker` and `rq cron` processes."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from helpdesk import jobs
from helpdesk.extensions import db
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.mail.services import queue_email
from helpdesk.people.models import LoginThrottle
from helpdesk.types import utcnow
from tests.services import free_port, redis_server, smtp_server, stop_process

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")


@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def redis_app(make_app, redis_url):
    # Retries at once, so a burst worker works through all of them.
    return make_app(REDIS_URL=redis_url, JOB_RETRY_INTERVALS=[0])


def process_env(app, **extra) -> dict:
    """The HELPDESK_* environment of a worker or cron process that shares the app's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(
        HELPDESK_ENV="testing",
        HELPDESK_SECRET_KEY="test-secret",
        HELPDESK_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        HELPDESK_REDIS_URL=app.config["REDIS_URL"],
        HELPDESK_INSTANCE_PATH=app.instance_path,
        HELPDESK_ATTACHMENT_DIR=app.config["ATTACHMENT_DIR"],
        HELPDESK_OUTBOX_DIR=app.config["OUTBOX_DIR"],
        HELPDESK_EDGE_PACKAGES=",",  # none: an empty value would mean the default list
        **extra,
    )
    return env


def run_worker(app, *queues, worker_class="helpdesk.jobs.Worker", **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [RQ, "worker", "--burst", "--worker-class", worker_class, "--url", app.config["REDIS_URL"], *queues],
        cwd=ROOT, env=process_env(app, **env), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def default_queue(app) -> Queue:
    return Queue("default", connection=jobs.redis_connection(app))


def add_old_throttle(key="old"):
    db.session.add(LoginThrottle(key=key, failures=5, first_failure_at=utcnow() - timedelta(days=3)))


def test_a_job_reaches_its_queue_only_when_the_transaction_commits(redis_app):
    queue = default_queue(redis_app)
    with redis_app.app_context():
        add_old_throttle()
        jobs.enqueue(jobs.prune_login_throttles)
        assert queue.count == 0
        db.session.commit()
        assert queue.count == 1

        add_old_throttle("another")
        jobs.enqueue(jobs.prune_login_throttles)
        db.session.rollback()
        assert queue.count == 1
    assert queue.jobs[0].func_name == "helpdesk.jobs.prune_login_throttles"


@pytest.mark.parametrize("worker_class", ["helpdesk.jobs.Worker", "rq.Worker"])
def test_a_worker_process_runs_the_job_against_the_same_database(redis_app, worker_class):
    queue = default_queue(redis_app)
    with redis_app.app_context():
        add_old_throttle()
        db.session.add(LoginThrottle(key="recent", failures=1))
        jobs.enqueue(jobs.prune_login_throttles)
        db.session.commit()
    (job_id,) = queue.job_ids

    run_worker(redis_app, "default", worker_class=worker_class)

    job = Job.fetch(job_id, connection=queue.connection)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 1
    with redis_app.app_context():
        assert db.session.get(LoginThrottle, "old") is None
        assert db.session.get(LoginThrottle, "recent") is not None


def test_a_worker_sends_queued_mail_to_the_smtp_server(redis_app):
    with redis_app.app_context():
        email = queue_email(to="ann@customer.example", subject="Your printer", body_text="Fixed.")
        db.session.commit()
        email_id = email.id
    with smtp_server() as listener:
        run_worker(redis_app, "default", HELPDESK_SMTP_HOST=listener.host, HELPDESK_SMTP_PORT=str(listener.port))
    assert [r.message["Subject"] for r in listener.received] == ["Your printer"]
    with redis_app.app_context():
        assert db.session.get(OutboundEmail, email_id).status == EmailStatus.SENT


def test_a_failing_job_is_retried_then_lands_in_the_failed_registry(redis_app):
    queue = default_queue(redis_app)
    with redis_app.app_context():
        email = queue_email(to="ann@customer.example", subject="Your printer", body_text="Fixed.")
        db.session.commit()
        email_id = email.id
    (job_id,) = queue.job_ids
    assert Job.fetch(job_id, connection=queue.connection).retries_left == 5

    run_worker(redis_app, "default", HELPDESK_SMTP_HOST="127.0.0.1", HELPDESK_SMTP_PORT=str(free_port()))

    assert FailedJobRegistry(queue=queue).get_job_ids() == [job_id]
    job = Job.fetch(job_id, connection=queue.connection)
    assert job.get_status() == JobStatus.FAILED
    assert "ConnectionRefusedError" in job.latest_result().exc_string
    with redis_app.app_context():
        email = db.session.get(OutboundEmail, email_id)
        assert (email.status, email.attempts) == (EmailStatus.FAILED, 6)
        assert email.last_error.startswith("ConnectionRefusedError")


def test_rq_cron_enqueues_every_periodic_job_and_a_worker_runs_them(redis_app, tmp_path):
    queue = default_queue(redis_app)
    with redis_app.app_context():
        add_old_throttle()
        db.session.commit()
        expected = {p.name for p in jobs.periodic_jobs(redis_app)}
    assert "helpdesk.jobs.prune_login_throttles" in expected

    log = open(tmp_path / "cron.log", "w")
    cron = subprocess.Popen(
        [RQ, "cron", "--url", redis_app.config["REDIS_URL"], "helpdesk/cron.py"],
        cwd=ROOT, env=process_env(redis_app), stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and {j.func_name for j in queue.jobs} != expected:
            assert cron.poll() is None, (tmp_path / "cron.log").read_text()
            time.sleep(0.1)
        assert {j.func_name for j in queue.jobs} == expected, (tmp_path / "cron.log").read_text()
        (scheduler,) = CronScheduler.all(queue.connection)
        assert {c.name for c in scheduler.get_jobs()} == expected
        prune = next(c for c in scheduler.get_jobs() if c.name == "helpdesk.jobs.prune_login_throttles")
        assert prune.interval == 3600
    finally:
        stop_process(cron)
        log.close()

    run_worker(redis_app, "default")
    assert FailedJobRegistry(queue=queue).get_job_ids() == []
    with redis_app.app_context():
        assert db.session.get(LoginThrottle, "old") is None
