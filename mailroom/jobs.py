"""Mailroom jobs: process one stored mail; poll the IMAP mailboxes; pick up mail a dead worker left."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

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


