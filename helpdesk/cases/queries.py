"""Reads for the workspace: queues with filters and keyset pages, a case's timeline."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone

from sqlalchemy import Select, and_, false, func, or_, select, tuple_
from sqlalchemy.orm import selectinload

from helpdesk.cases.models import (
    Activity,
    Case,
    CasePresence,
    Channel,
    Message,
    Priority,
    SavedView,
    Status,
    Tag,
    case_tags,
)
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.people.models import User
from helpdesk.types import utcnow

QUEUES = {
    "mine": "My open",
    "unassigned": "Unassigned",
    "groups": "My groups",
    "open": "All open",
    "recent": "Recently updated",
}
SORTS = {
    "updated": "Last updated",
    "created": "Newest",
    "priority": "Priority",
    "due": "SLA due soonest",
}
# The due-time filter, on the stored SLA deadlines (times in UTC, as the pages show them).
DUE_WINDOWS = {
    "overdue": "Overdue",
    "hour": "Due within the hour",
    "today": "Due today (before midnight UTC)",
    "at_risk": "At risk (past the warning threshold)",
}


@dataclass
class CaseFilter:
    """Everything a queue URL can say; parsed from request args, printed back into links."""

    queue: str = "mine"
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    group: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    tag: str = ""
    channel: str = ""
    organization: str = ""
    q: str = ""
    due: str = ""  # a key of DUE_WINDOWS
    sort: str = "updated"

    @classmethod
    def from_args(cls, args) -> CaseFilter:
        f = cls()
        for fl in fields(cls):
            if fl.name in ("status", "priority"):
                setattr(f, fl.name, [v for v in args.getlist(fl.name) if v])
            elif args.get(fl.name):
                setattr(f, fl.name, args.get(fl.name).strip())
        if f.queue not in QUEUES:
            f.queue = "mine"
        if f.sort not in SORTS:
            f.sort = "updated"
        if f.due not in DUE_WINDOWS:
            f.due = ""
        return f

    def to_args(self, **changes) -> dict:
        out = {}
        for fl in fields(self):
            value = changes.get(fl.name, getattr(self, fl.name))
            if value and value != fl.default:
                out[fl.name] = value
        return out

    @property
    def active_count(self) -> int:
        return sum(1 for n in ("status", "priority", "group", "assignee", "tag", "channel", "organization", "q", "due") if getattr(self, n))

    @property
    def due_choices(self) -> dict[str, str]:
        return DUE_WINDOWS


def _int(raw: str) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def filtered_cases(user: User, f: CaseFilter) -> Select:
    stmt = select(Case).where(Case.deleted_at.is_(None), Case.merged_into_id.is_(None))
    if f.queue == "mine":
        stmt = stmt.where(Case.assignee_id == user.id, Case.is_open.is_(True))
    elif f.queue == "unassigned":
        stmt = stmt.where(Case.assignee_id.is_(None), Case.is_open.is_(True))
    elif f.queue == "groups":
        # A literal list keeps the planner on the group index (a subquery made it scan).
        stmt = stmt.where(Case.group_id.in_([g.id for g in user.groups]), Case.is_open.is_(True))
    elif f.queue == "open":
        stmt = stmt.where(Case.is_open.is_(True))
    statuses = [Status(s) for s in f.status if s in Status._value2member_map_]
    if statuses:
        stmt = stmt.where(Case.status.in_(statuses))
    priorities = [Priority(int(p)) for p in f.priority if p.isdigit() and int(p) in Priority._value2member_map_]
    if priorities:
        stmt = stmt.where(Case.priority.in_(priorities))
    if f.group == "none":
        stmt = stmt.where(Case.group_id.is_(None))
    elif _int(f.group):
        stmt = stmt.where(Case.group_id == _int(f.group))
    if f.assignee == "me":
        stmt = stmt.where(Case.assignee_id == user.id)
    elif f.assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif _int(f.assignee):
        stmt = stmt.where(Case.assignee_id == _int(f.assignee))
    if f.tag:
        stmt = stmt.where(_tagged(f.tag))
    if f.channel in Channel._value2member_map_:
        stmt = stmt.where(Case.channel == Channel(f.channel))
    if _int(f.organization):
        stmt = stmt.where(Case.organization_id == _int(f.organization))
    if f.q:
        stmt = stmt.where(_text_match(f.q))
    if f.due in DUE_WINDOWS:
        stmt = stmt.where(Case.is_open.is_(True), *_due_window(f.due, utcnow()))
    return stmt


def _due_window(due: str, now: datetime) -> list:
    """Ranges on sla_due_at (the soonest running deadline; none while paused), so the
    (is_open, sla_due_at) index serves them."""
    if due == "overdue":
        return [Case.sla_due_at < now]
    if due == "hour":
        return [Case.sla_due_at >= now, Case.sla_due_at < now + timedelta(hours=1)]
    if due == "today":
        midnight = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return [Case.sla_due_at >= now, Case.sla_due_at < midnight]
    return [Case.sla_due_at >= now, Case.sla_warn_at <= now]  # at risk: warned, not yet overdue


TAG_LIST_LIMIT = 2000


def _tagged(name: str):
    """Cases carrying a tag. A rare tag becomes a list of ids (the planner starts from
    them); a common one stays a subquery whose `id + 0` keeps the planner walking the
    queue's own index instead of sorting every tagged case."""
    tag_id = db.session.scalar(select(Tag.id).where(Tag.name == name.strip().lower()))
    if tag_id is None:
        return false()
    tagged = select(case_tags.c.case_id).where(case_tags.c.tag_id == tag_id)
    ids = db.session.scalars(tagged.limit(TAG_LIST_LIMIT + 1)).all()
    if len(ids) <= TAG_LIST_LIMIT:
        return Case.id.in_(ids)
    return (Case.id + 0).in_(tagged)


def _text_match(q: str):
    q = q.strip()
    number = q.upper()
    conditions = [Case.number == number]
    if q.isdigit():
        conditions.append(Case.id == int(q))
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    conditions.append(Case.subject.ilike(like, escape="\\"))
    return or_(*conditions)


def _sort_columns(sort: str):
    if sort == "created":
        return [Case.id]
    if sort == "priority":
        return [Case.priority, Case.updated_at, Case.id]
    if sort == "due":
        return [Case.sla_due_at, Case.id]
    return [Case.updated_at, Case.id]


def _encode_cursor(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else None if v is None else int(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list | None:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        columns = _sort_columns(sort)
        if not isinstance(raw, list) or len(raw) != len(columns):
            return None
        return [None if v is None and col is Case.sla_due_at else datetime.fromisoformat(v)
                if col in (Case.updated_at, Case.sla_due_at) else int(v) for v, col in zip(raw, columns)]
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


@dataclass
class Page:
    cases: list[Case]
    next_cursor: str | None


def case_page(user: User, f: CaseFilter, cursor: str | None = None, limit: int = 50) -> Page:
    """One page of a queue, newest first, continuing after `cursor` (keyset: no OFFSET)."""
    columns = _sort_columns(f.sort)
    stmt = filtered_cases(user, f)
    after = _decode_cursor(cursor, f.sort) if cursor else None
    if after is not None:
        stmt = stmt.where(_after(f.sort, columns, after))
    stmt = stmt.order_by(*_order(f.sort, columns)).limit(limit + 1)
    stmt = stmt.options(
        selectinload(Case.assignee), selectinload(Case.group), selectinload(Case.contact),
        selectinload(Case.organization), selectinload(Case.tags), selectinload(Case.sla_policy),
    )
    rows = list(db.session.scalars(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor([getattr(last, c.key) for c in columns])
    return Page(rows, next_cursor)


def _order(sort: str, columns, reverse: bool = False) -> list:
    """Every sort runs descending, except SLA due: soonest first, cases without a running
    deadline last."""
    if sort == "due":
        if reverse:
            return [Case.sla_due_at.desc().nulls_first(), Case.id.desc()]
        return [Case.sla_due_at.asc().nulls_last(), Case.id.asc()]
    return [c.asc() if reverse else c.desc() for c in columns]


def _after(sort: str, columns, values):
    """The rows that come after `values` in the sort's order."""
    if sort != "due":
        return _tuple_less(columns, values)
    due, case_id = values
    if due is None:
        return and_(Case.sla_due_at.is_(None), Case.id > case_id)
    return or_(Case.sla_due_at > due, and_(Case.sla_due_at == due, Case.id > case_id), Case.sla_due_at.is_(None))


def _before(sort: str, columns, values):
    if sort != "due":
        return _tuple_greater(columns, values)
    due, case_id = values
    if due is None:
        return or_(Case.sla_due_at.is_not(None), and_(Case.sla_due_at.is_(None), Case.id < case_id))
    return or_(Case.sla_due_at < due, and_(Case.sla_due_at == due, Case.id < case_id))


def _tuple_less(columns, values):
    """(a, b, c) < (x, y, z) as a row value: PostgreSQL then starts the index scan at the
    cursor instead of filtering from the top, so deep pages cost what the first does."""
    return tuple_(*columns) < tuple(values)


def _tuple_greater(columns, values):
    return tuple_(*columns) > tuple(values)


def queue_counts(user: User, cap: int = 1000) -> dict[str, int]:
    """How many cases each queue holds, counting at most `cap` so big queues stay cheap."""
    out = {}
    for key in QUEUES:
        if key == "recent":
            continue
        sub = filtered_cases(user, CaseFilter(queue=key)).with_only_columns(Case.id).limit(cap + 1).subquery()
        out[key] = db.session.scalar(select(func.count()).select_from(sub))
    return out


def get_case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or case.deleted_at is not None:
        raise NotFound(f"No case {case_id}.")
    return case


def get_case_by_number(number: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.number == number.upper(), Case.deleted_at.is_(None)))


def get_message(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        raise NotFound(f"No message {message_id}.")
    return message


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "message" or "activity"
    item: Message | Activity


def timeline(case: Case, public_only: bool = False) -> list[TimelineEntry]:
    """The conversation and the history on one line, oldest first."""
    msgs = db.session.scalars(
        select(Message).where(Message.case_id == case.id).order_by(Message.created_at, Message.id)
        .options(selectinload(Message.attachments), selectinload(Message.author_user), selectinload(Message.author_contact))
    ).all()
    entries = [TimelineEntry(m.created_at, "message", m) for m in msgs if not public_only or m.is_public]
    if not public_only:
        acts = db.session.scalars(
            select(Activity).where(Activity.case_id == case.id).order_by(Activity.created_at, Activity.id)
            .options(selectinload(Activity.actor_user), selectinload(Activity.actor_contact))
        ).all()
        entries += [TimelineEntry(a.created_at, "activity", a) for a in acts if a.action not in ("replied", "added_note", "customer_replied")]
    entries.sort(key=lambda e: (e.at, 0 if e.kind == "activity" else 1, e.item.id))
    return entries


def neighbours(user: User, f: CaseFilter, case: Case) -> tuple[int | None, int | None]:
    """The previous and next case around `case` in the queue the agent came from."""
    columns = _sort_columns(f.sort)
    values = [getattr(case, c.key) for c in columns]
    base = filtered_cases(user, f).with_only_columns(Case.id)
    newer = base.where(_before(f.sort, columns, values))
    prev_id = db.session.scalar(newer.order_by(*_order(f.sort, columns, reverse=True)).limit(1))
    next_id = db.session.scalar(base.where(_after(f.sort, columns, values)).order_by(*_order(f.sort, columns)).limit(1))
    return prev_id, next_id


def viewers(case: Case, exclude_user: User, seconds: int = 45) -> list[CasePresence]:
    cutoff = utcnow() - timedelta(seconds=seconds)
    return list(db.session.scalars(
        select(CasePresence).where(
            CasePresence.case_id == case.id, CasePresence.user_id != exclude_user.id, CasePresence.seen_at >= cutoff
        ).options(selectinload(CasePresence.user))
    ))


def saved_views(user: User) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.name)))


def active_agents() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))

