"""The daily email digest of unread notifications."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.jobs import job, periodic
from helpdesk.notifications.models import Digest, Notification, NotificationSetting
from helpdesk.notifications.queries import digest_subscribers
from helpdesk.people.models import User
from helpdesk.types import utcnow

DIGEST_EVERY = timedelta(days=1)
DIGEST_MAX_ITEMS = 50


@periodic(every=timedelta(hours=1))
def send_notification_digests() -> int:
    """Queue a digest for every subscriber whose day has passed; return how many were queued."""
    sent = 0
    for setting in digest_subscribers():
        if setting.last_digest_at is None or utcnow() - setting.last_digest_at >= DIGEST_EVERY - timedelta(minutes=5):
            sent += bool(send_digest(setting.user_id))
    return sent


@job
def send_digest(user_id: int) -> bool:
    """One email listing the unread notifications since the last digest; safe to run twice
    (the dedupe key names the user and the day)."""
    from helpdesk.mail.services import queue_email

    setting = db.session.get(NotificationSetting, user_id)
    user = db.session.get(User, user_id)
    if setting is None or user is None or not user.active or setting.digest != Digest.DAILY:
        return False
    now = utcnow()
    since = setting.last_digest_at or now - DIGEST_EVERY
    rows = list(db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None), Notification.created_at > since)
        .order_by(Notification.id.desc()).limit(DIGEST_MAX_ITEMS + 1)))
    setting.last_digest_at = now
    if not rows:
        db.session.commit()
        return False
    base = current_app.config.get("BASE_URL", "")
    more = len(rows) > DIGEST_MAX_ITEMS
    lines = [f"Hello {user.name},", "", "Here is what happened since your last digest:", ""]
    for n in rows[:DIGEST_MAX_ITEMS]:
        lines.append(f"- {n.title}")
        if n.body:
            lines.append(f"  {n.body[:200]}")
        if n.url:
            lines.append(f"  {base}{n.url}")
    if more:
        lines += ["", "…and more in the notification center."]
    lines += ["", f"All notifications: {base}/notifications",
              f"Stop these emails: {base}/notifications/settings"]
    count = f"{DIGEST_MAX_ITEMS}+" if more else str(len(rows))
    queue_email(to=[user.email], subject=f"Help desk: {count} unread notification{'s' if count != '1' else ''}",
                body_text="\n".join(lines), auto_submitted="auto-generated",
                dedupe_key=f"digest:{user_id}:{now:%Y-%m-%d}")
    db.session.commit()
    return True
