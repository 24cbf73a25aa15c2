"""The mailroom against real services: the SMTP listener with smtplib, IMAP against dovecot,
and an rq worker killed with SIGKILL in the middle of a batch."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.cases.models import Case, Message
from helpdesk.extensions import db
from mailroom.models import InboundEmail, InboundStatus, Mailbox
from mailroom.services import Intake, create_mailbox, store_inbound
from tests.mailroom.conftest import build_mail
from tests.services import _wait_for_port, free_port, redis_server, stop_process

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
RQ = str(Path(sys.executable).parent / "rq")
DOVECOT = "/usr/sbin/dovecot"


def _count(status=None) -> int:
    query = select(func.count(InboundEmail.id))
    if status is not None:
        query = query.where(InboundEmail.status == status)
    return db.session.scalar(query)


# --- SMTP listener -------------------------------------------------------------------------------


def test_the_smtp_listener_stores_mail_for_our_mailboxes_and_refuses_the_rest(make_app):
    from mailroom.fetchers.smtp import start_listener

    app = make_app()
    with app.app_context():
        create_mailbox(None, address="support@helpdesk.example", auto_reply=False)
        create_mailbox(None, address="sales@helpdesk.example", auto_reply=False)
        db.session.commit()
    port = free_port()
    controller = start_listener(app, "127.0.0.1", port)
    try:
        raw = build_mail(to="support@helpdesk.example", cc="sales@helpdesk.example", message_id="<smtp1@x.example>")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            refused = client.sendmail("ann@customer.example", ["support+billing@helpdesk.example",
                                                               "sales@helpdesk.example"], raw)
            assert refused == {}
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("ann@customer.example", ["someone@elsewhere.example"], raw)
    finally:
        controller.stop()
    with app.app_context():
        rows = db.session.scalars(select(InboundEmail).order_by(InboundEmail.id)).all()
        assert [(r.channel, r.mailbox.address) for r in rows] == [("smtp", "support@helpdesk.example"),
                                                                  ("smtp", "sales@helpdesk.example")]
        assert sorted(r.status.value for r in rows) == ["duplicate", "processed"]
        assert db.session.scalar(select(func.count(Case.id))) == 1


def test_the_lmtp_listener_answers_once_per_recipient(make_app):
    from mailroom.fetchers.smtp import start_listener

    app = make_app()
    with app.app_context():
        create_mailbox(None, address="support@helpdesk.example", auto_reply=False)
        create_mailbox(None, address="sales@helpdesk.example", auto_reply=False)
        db.session.commit()
    port = free_port()
    controller = start_listener(app, "127.0.0.1", port, lmtp=True)
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            refused = client.sendmail("ann@customer.example", ["support@helpdesk.example", "sales@helpdesk.example"],
                                      build_mail(message_id="<lmtp1@x.example>"))
            assert refused == {}
            # smtplib reads only the first of LMTP's per-recipient answers; the second follows.
            assert client.getreply()[0] == 250
            assert client.noop()[0] == 250  # the conversation is still in step
    finally:
        controller.stop()
    with app.app_context():
        assert sorted(r.channel for r in db.session.scalars(select(InboundEmail))) == ["lmtp", "lmtp"]


# --- IMAP against dovecot ----------------------------------------------------------------------


@pytest.fixture
def dovecot():
    if not (shutil.which(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap")):
        pytest.fail("dovecot-imapd is not installed: run scripts/test, which installs it")
    # Dovecot's mail processes run as nobody, which cannot enter pytest's private tmp folders.
    workdir = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    workdir.chmod(0o755)
    for sub in ("mail", "run", "state"):
        (workdir / sub).mkdir()
    shutil.chown(workdir / "mail", "nobody", "nogroup")
    (workdir / "users").write_text("helpdesk:{PLAIN}secret\n")
    port = free_port()
    (workdir / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {workdir}/run
state_dir = {workdir}/state
log_path = {workdir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 65534
mail_location = maildir:{workdir}/mail/%n/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {workdir}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={workdir}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(workdir / "dovecot.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        stop_process(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _imap(port):
    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10)
    client.login("helpdesk", "secret")
    return client


@pytest.mark.parametrize("processed_folder", [None, "Processed"])
def test_imap_polling_peeks_stores_and_moves_or_flags(make_app, dovecot, processed_folder):
    from mailroom.fetchers.imap import poll_mailbox

    with _imap(dovecot) as client:
        for n in range(3):
            client.append("INBOX", build_mail(subject=f"imap {n}", message_id=f"<imap{n}@x.example>"))
    app = make_app()
    with app.app_context():
        box = create_mailbox(None, address="support@helpdesk.example", auto_reply=False, imap_host="127.0.0.1",
                             imap_port=dovecot, imap_security="none", imap_username="helpdesk",
                             imap_password="secret", imap_processed_folder=processed_folder)
        db.session.commit()
        assert poll_mailbox(box.id) == 3
        assert poll_mailbox(box.id) == 0  # nothing new: moved away, or below the last UID
        assert _count(InboundStatus.PROCESSED) == 3
        with _imap(dovecot) as client:
            client.append("INBOX", build_mail(subject="imap later", message_id="<imap9@x.example>"))
        assert poll_mailbox(box.id) == 1
        with _imap(dovecot) as client:
            client.select_folder("INBOX")
            if processed_folder:
                assert client.search(["ALL"]) == []
                client.select_folder(processed_folder)
                assert len(client.search(["ALL"])) == 4
            else:
                assert len(client.search(["SEEN"])) == 4
        mailbox = db.session.get(Mailbox, box.id)
        assert mailbox.imap_uidvalidity


def test_imap_uidvalidity_change_starts_over_without_duplicates(make_app, dovecot):
    from mailroom.fetchers.imap import poll_mailbox

    with _imap(dovecot) as client:
        client.append("INBOX", build_mail(message_id="<uv1@x.example>"))
    app = make_app()
    with app.app_context():
        box = create_mailbox(None, address="support@helpdesk.example", auto_reply=False, imap_host="127.0.0.1",
                             imap_port=dovecot, imap_security="none", imap_username="helpdesk", imap_password="secret")
        db.session.commit()
        assert poll_mailbox(box.id) == 1
        mailbox = db.session.get(Mailbox, box.id)
        mailbox.imap_uidvalidity = 1  # as if the server renumbered its mail
        db.session.commit()
        assert poll_mailbox(box.id) == 0  # fetched again, recognised by its Message-ID
        assert _count() == 1


# --- a worker killed mid-batch -----------------------------------------------------------------


def _worker_env(app, redis_url) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(HELPDESK_ENV="testing", HELPDESK_SECRET_KEY="test-secret",
               HELPDESK_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], HELPDESK_REDIS_URL=redis_url,
               HELPDESK_INSTANCE_PATH=app.instance_path, HELPDESK_ATTACHMENT_DIR=app.config["ATTACHMENT_DIR"],
               HELPDESK_OUTBOX_DIR=app.config["OUTBOX_DIR"], HELPDESK_EDGE_PACKAGES="mailroom")
    return env


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(make_app, tmp_path):
    with redis_server(tmp_path / "redis") as redis_url:
        app = make_app(REDIS_URL=redis_url, JOB_RETRY_INTERVALS=[0])
        total = 150
        with app.app_context():
            box = create_mailbox(None, address="support@helpdesk.example", auto_reply=False)
            db.session.commit()
            # As IMAP and maildir bring it: each mail committed, then queued in batch jobs of 50.
            with Intake(size=50) as intake:
                for n in range(total):
                    intake.store(build_mail(subject=f"batch {n}", message_id=f"<batch{n}@x.example>",
                                            sender=f"c{n}@customer.example"), box, "imap")
        env = _worker_env(app, redis_url)
        command = [RQ, "worker", "--worker-class", "helpdesk.jobs.Worker", "--url", redis_url, "mailroom"]
        worker = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            with app.app_context():
                while _count(InboundStatus.PROCESSED) < 20 and time.monotonic() < deadline:
                    db.session.rollback()
                    time.sleep(0.05)
                    assert worker.poll() is None, "the worker died on its own"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)  # the worker and the work horse it forked
            worker.wait(10)
        with app.app_context():
            db.session.rollback()
            done_before = _count(InboundStatus.PROCESSED)
            assert 20 <= done_before < total
        # Restarted: the queue's remaining jobs run, and `flask mailroom retry` queues the mail
        # whose job died with the worker (it is still "queued" in the database).
        subprocess.run([RQ, "worker", "--burst", "--worker-class", "helpdesk.jobs.Worker", "--url", redis_url,
                        "mailroom"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        retry = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "mailroom", "retry"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=60)
        assert retry.returncode == 0, retry.stderr
        subprocess.run([RQ, "worker", "--burst", "--worker-class", "helpdesk.jobs.Worker", "--url", redis_url,
                        "mailroom"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        with app.app_context():
            db.session.rollback()
            assert _count() == total
            assert _count(InboundStatus.PROCESSED) == total
            assert db.session.scalar(select(func.count(Case.id))) == total
            assert db.session.scalar(select(func.count(func.distinct(Message.email_message_id)))) == total
            assert db.session.scalar(select(func.count(Message.id))) == total
