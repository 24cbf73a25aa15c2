"""Reads about follows and notifications."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from sqlalchemy import func, select

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.notifications.models import Digest, Notification, NotificationSetting
from helpdesk.people.models import User

# What can be followed, and where its model lives (assets and contracts load once they exist).
TARGETS = {
    "case": "helpdesk.cases.models:Case",
    "contact": "helpdesk.people.models:Contact",
    "organization": "helpdesk.people.models:Organization",
    "asset": "helpdesk.assets.models:Asset",
    "contract": "helpdesk.contracts.models:ServiceContract",
    "product": "helpdesk.assets.models:Product",
}
BADGE_CAP = 99


def target_model(target_type: str):
    spec = TARGETS.get(target_type)
    if spec is None:
        raise ValidationFailed({"target_type": f"{target_type!r} cannot be followed."})
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValidationFailed({"target_type": f"{target_type!r} cannot be followed yet."}) from None


def get_target_or_404(target_type: str, target_id: int):
    """The followed record itself; deleted (recycle-bin) records count as gone."""
    obj = db.session.get(target_model(target_type), target_id)
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        raise NotFound(f"No {target_type} {target_id}.")
    return obj


def unread_count(user: User, cap: int = BADGE_CAP) -> int:
    """Unread notifications, counted up to cap+1 so a flood never makes the badge slow."""
    capped = (select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None))
              .limit(cap + 1).subquery())
    return db.session.scalar(select(func.count()).select_from(capped)) or 0


@dataclass
class NotificationPage:
    items: list[Notification]
    next_cursor: int | None


def notification_page(user: User, *, before: int | None = None, unread_only: bool = False,
                      limit: int = 30) -> NotificationPage:
    """The newest notifications first, keyset-paged on id."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before:
        stmt = stmt.where(Notification.id < before)
    rows = list(db.session.scalars(stmt.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationPage(rows, rows[-1].id if more and rows else None)


def setting_for(user: User) -> NotificationSetting:
    """The user's settings, or unsaved defaults."""
    return db.session.get(NotificationSetting, user.id) or NotificationSetting(user_id=user.id, digest=Digest.OFF)


def digest_subscribers() -> list[NotificationSetting]:
    return list(db.session.scalars(
        select(NotificationSetting).join(User, User.id == NotificationSetting.user_id)
        .where(NotificationSetting.digest == Digest.DAILY, User.active.is_(True))
        .order_by(NotificationSetting.user_id)))
