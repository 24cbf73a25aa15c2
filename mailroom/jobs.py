"""Mailroom jobs: process stored mail, one or a batch; poll the IMAP mailboxes; pick up mail a dead worker left."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from helpdesk import jobs
from helpdesk.extensions import db
from helpdesk.jobs import job, periodic
from mailroom import services
from mailroom.models import Mailbox

log = logging.getLogger(__name__)


@job(queue="mailroom", retry=2)
def process_inbound_email(inbound_id: int) -> str:
    """Parse, screen, thread and file one stored mail; safe to run twice.

    Any error rolls the work back, leaves the mail failed with its reason and traceback, and
    is raised again so rq's retry and failed registry see it.
    """
    try:
        inbound = services.claim(inbound_id)
        if inbound is None:
            db.session.rollback()
            return "nothing to do"
        status = services.process_inbound(inbound)
        db.session.commit()
        return status.value
    except Exception as exc:
        db.session.rollback()
        services.record_failure(inbound_id, exc)
        raise


# Mails per transaction in a batch: few enough that a commit comes often (a SQLite writer
# waits for it), enough that the commit and the batch's reads are shared.
CHUNK = 25


@job(queue="mailroom", retry=2)
def process_inbound_batch(inbound_ids: list[int]) -> dict[str, int]:
    """Process stored mails CHUNK to a transaction, each mail inside its own savepoint.

    One bad mail rolls back only its savepoint: it is marked failed with its reason, the others
    go on, and it is queued again alone (with rq's retries). A worker killed mid-chunk commits
    nothing of that chunk, so its mail is still queued for the next run or requeue_stale; the
    claim (a conditional UPDATE) keeps a second worker off mail that is taken. Safe to run twice.
    """
    lookups = services.Lookups()
    tally: Counter[str] = Counter()
    failed: list[int] = []
    for start in range(0, len(inbound_ids), CHUNK):
        for inbound in services.claim_many(inbound_ids[start:start + CHUNK]):
            inbound_id = inbound.id
            try:
                with db.session.begin_nested():
                    tally[services.process_inbound(inbound, lookups=lookups).value] += 1
            except Exception as exc:
                log.warning("Inbound email %s failed: %s", inbound_id, exc)
                services.mark_failed(inbound_id, exc)
                failed.append(inbound_id)
                tally["failed"] += 1
        db.session.commit()
    for inbound_id in failed:
        jobs.enqueue(process_inbound_email, inbound_id)
    return dict(tally)


@periodic(every=timedelta(minutes=1), queue="mailroom")
def poll_mailboxes() -> int:
    """Fetch new mail from every mailbox that has an IMAP server; one failing server skips only itself."""
    from mailroom.fetchers.imap import poll_mailbox

    ids = list(db.session.scalars(select(Mailbox.id).where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None))))
    db.session.rollback()
    stored = 0
    for mailbox_id in ids:
        try:
            stored += poll_mailbox(mailbox_id)
        except Exception:
            db.session.rollback()
            log.exception("Polling mailbox %s failed; the others go on", mailbox_id)
    return stored


@periodic(every=timedelta(minutes=10), queue="mailroom")
def requeue_stale_inbound() -> int:
    """Mail stored but never processed (its worker died) is queued again."""
    count = services.requeue_stale()
    db.session.commit()
    return count


