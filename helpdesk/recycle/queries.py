"""Reads of the recycle bin."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.recycle import policies
from helpdesk.recycle.models import RecycleEntry


@dataclass
class BinPage:
    entries: list[RecycleEntry]
    next_before: int | None


def bin_page(kind: str = "", before: int | None = None, limit: int = 50) -> BinPage:
    """Entries newest first, optionally of one kind, continuing below id `before`."""
    stmt = select(RecycleEntry).options(selectinload(RecycleEntry.deleted_by))
    if kind in policies.KINDS:
        stmt = stmt.where(RecycleEntry.kind == kind)
    if before:
        stmt = stmt.where(RecycleEntry.id < before)
    rows = list(db.session.scalars(stmt.order_by(RecycleEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return BinPage(rows, rows[-1].id if more else None)


def get_entry(entry_id: int) -> RecycleEntry:
    entry = db.session.get(RecycleEntry, entry_id)
    if entry is None:
        raise NotFound(f"No recycle bin entry {entry_id}; it may have been restored or purged.")
    return entry


def expiry(entry: RecycleEntry, retention_days: int) -> datetime:
    return policies.expires_at(entry.deleted_at, retention_days)
