"""Reads about people, and the One View of a customer: key figures and one keyset-paged timeline."""
from __future__ import annotations

import heapq
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import case as sql_case
from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, ContactRole, CustomerActivity, Group, Organization, User


def get_or_404(model, obj_id):
    obj = db.session.get(model, obj_id)
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        raise NotFound(f"No {model.__name__.lower()} {obj_id}.")
    return obj


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))


def all_groups() -> list[Group]:
    return list(db.session.scalars(select(Group).order_by(Group.name)))


def all_organizations() -> list[Organization]:
    return list(db.session.scalars(select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.name)))


def _live_contacts():
    return select(Contact).where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))


def search_contacts(q: str = "", limit: int = 50, *, role: str = "", organization_id: int | None = None,
                    offset: int = 0) -> list[Contact]:
    stmt = _live_contacts().options(selectinload(Contact.organization)).order_by(Contact.name, Contact.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.email.ilike(like), Contact.phone.ilike(like)))
    if role:
        try:
            stmt = stmt.where(Contact.role == ContactRole(role))
        except ValueError:
            raise ValidationFailed({"role": "Choose one of the listed roles."}) from None
    if organization_id:
        stmt = stmt.where(Contact.organization_id == organization_id)
    return list(db.session.scalars(stmt.offset(offset).limit(limit)))


def search_organizations(q: str = "", limit: int = 50, offset: int = 0) -> list[Organization]:
    stmt = select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.name)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Organization.name.ilike(like), Organization.domain.ilike(like)))
    return list(db.session.scalars(stmt.offset(offset).limit(limit)))


def organization_contacts(org: Organization, limit: int = 200) -> list[Contact]:
    return list(db.session.scalars(_live_contacts().where(Contact.organization_id == org.id)
                                   .order_by(Contact.name, Contact.id).limit(limit)))


def contact_counts(org_ids: list[int]) -> dict[int, int]:
    if not org_ids:
        return {}
    rows = db.session.execute(select(Contact.organization_id, func.count()).where(
        Contact.organization_id.in_(org_ids), Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
        .group_by(Contact.organization_id))
    return dict(rows.all())


# --- One View: key figures ---------------------------------------------------------------------------


@dataclass
class KeyFigures:
    open_cases: int = 0
    sla_breaches: int = 0
    remaining_units: list[tuple[str, float]] = field(default_factory=list)  # per tracking unit
    active_contracts: int = 0
    ratings: int = 0
    satisfaction: float | None = None  # mean score 1-5
    satisfied_percent: int | None = None  # share of 4 and 5


def _case_scope(contact: Contact | None, organization: Organization | None):
    from helpdesk.cases.models import Case

    column = Case.contact_id if contact is not None else Case.organization_id
    return column == (contact or organization).id


def key_figures(contact: Contact | None = None, organization: Organization | None = None) -> KeyFigures:
    from helpdesk.cases.models import Case
    from helpdesk.sla.models import SLAEvent

    scope = _case_scope(contact, organization)
    figures = KeyFigures()
    figures.open_cases = db.session.scalar(select(func.count()).select_from(Case).where(
        scope, Case.is_open.is_(True), Case.deleted_at.is_(None), Case.merged_into_id.is_(None))) or 0
    figures.sla_breaches = db.session.scalar(
        select(func.count()).select_from(SLAEvent).join(Case, SLAEvent.case_id == Case.id)
        .where(scope, SLAEvent.kind == "breached", Case.deleted_at.is_(None))) or 0
    _contract_figures(figures, contact, organization)
    _rating_figures(figures, scope)
    return figures


def _contract_figures(figures: KeyFigures, contact: Contact | None, organization: Organization | None) -> None:
    try:
        from helpdesk.contracts import queries as contracts
        from helpdesk.contracts.models import ContractStatus
    except ImportError:  # service contracts not installed
        return
    live = contracts.customer_contracts(contact.id if contact else None, organization.id if organization else None)
    remaining: dict[str, float] = {}
    for contract in live:
        if contract.status == ContractStatus.ACTIVE:
            figures.active_contracts += 1
            unit = contract.tracking_unit.label.lower()
            remaining[unit] = round(remaining.get(unit, 0) + contract.remaining_units, 2)
    figures.remaining_units = sorted(remaining.items())


def _rating_figures(figures: KeyFigures, scope) -> None:
    try:
        from helpdesk.satisfaction.models import Rating
    except ImportError:
        return
    from helpdesk.cases.models import Case

    count, mean, good = db.session.execute(
        select(func.count(Rating.id), func.avg(Rating.score), func.sum(sql_case((Rating.score >= 4, 1), else_=0)))
        .join(Case, Rating.case_id == Case.id).where(scope, Case.deleted_at.is_(None))).one()
    figures.ratings = count or 0
    if count:
        figures.satisfaction = round(float(mean), 1)
        figures.satisfied_percent = round(100 * (good or 0) / count)


# --- One View: the timeline ----------------------------------------------------------------------------

# Filter name -> the event kinds it shows. Case history that repeats another event (opened,
# replied, noted) is left out of "activity": the case and message events already say it.
FILTERS = {
    "cases": ("case",),
    "messages": ("message",),
    "chats": ("chat",),
    "assets": ("asset",),
    "contracts": ("contract",),
    "time": ("timelog",),
    "ratings": ("rating",),
    "activity": ("activity", "history"),
}
FILTER_LABELS = {"cases": "Cases", "messages": "Messages", "chats": "Chats", "assets": "Assets",
                 "contracts": "Contracts", "time": "Time logs", "ratings": "Ratings", "activity": "Activity"}
REPEATED_ACTIONS = ("opened", "replied", "added_note", "customer_replied")
TIMELINE_PAGE = 30
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Cursor:
    at: datetime
    kind: str
    id: int

    def encode(self) -> str:
        # Microseconds since the epoch: exact, and safe in a URL as it is.
        return f"{(self.at - EPOCH) // timedelta(microseconds=1)}~{self.kind}~{self.id}"

    @classmethod
    def decode(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        try:
            micros, kind, id_ = raw.split("~")
            return cls(EPOCH + timedelta(microseconds=int(micros)), kind, int(id_))
        except (ValueError, OverflowError):
            raise ValidationFailed({"cursor": "That page link is broken; start from the top."}) from None


@dataclass
class Event:
    kind: str
    at: datetime
    id: int
    obj: object = None  # the row it shows (Case, Message, Activity, ...)
    case: object = None  # the case of an activity, time log or rating


@dataclass
class TimelinePage:
    events: list[Event]
    next_cursor: str | None
    kinds: tuple[str, ...]


def _sources(contact: Contact | None, organization: Organization | None) -> dict:
    """Per event kind: (model, time column, extra joins and conditions) selecting the customer's rows."""
    from helpdesk.cases.models import Activity, Case, Message

    scope = _case_scope(contact, organization)
    live_case = Case.deleted_at.is_(None)
    sources = {
        "case": (Case, Case.created_at, [], [scope, live_case]),
        "message": (Message, Message.created_at, [(Case, Message.case_id == Case.id)], [scope, live_case]),
        "activity": (Activity, Activity.created_at, [(Case, Activity.case_id == Case.id)],
                     [scope, live_case, Activity.action.not_in(REPEATED_ACTIONS)]),
    }
    if contact is not None:
        sources["history"] = (CustomerActivity, CustomerActivity.created_at, [], [CustomerActivity.contact_id == contact.id])
    else:
        members = select(Contact.id).where(Contact.organization_id == organization.id)
        sources["history"] = (CustomerActivity, CustomerActivity.created_at, [],
                              [or_(CustomerActivity.organization_id == organization.id, CustomerActivity.contact_id.in_(members))])
    owner = (lambda model: model.contact_id == contact.id) if contact is not None else \
        (lambda model: model.organization_id == organization.id)
    try:
        from helpdesk.assets.models import Asset

        sources["asset"] = (Asset, Asset.created_at, [], [owner(Asset), Asset.deleted_at.is_(None)])
    except ImportError:
        pass
    try:
        from helpdesk.contracts.models import ServiceContract, TimeLog

        sources["contract"] = (ServiceContract, ServiceContract.created_at, [],
                               [owner(ServiceContract), ServiceContract.deleted_at.is_(None)])
        sources["timelog"] = (TimeLog, TimeLog.started_at, [(Case, TimeLog.case_id == Case.id)], [scope, live_case])
    except ImportError:
        pass
    try:
        from helpdesk.satisfaction.models import Rating

        sources["rating"] = (Rating, Rating.created_at, [(Case, Rating.case_id == Case.id)], [scope, live_case])
    except ImportError:
        pass
    chat = _chat_source(contact, organization)
    if chat:
        sources["chat"] = chat
    return sources


def _chat_source(contact: Contact | None, organization: Organization | None):
    """Chat transcripts attach to contacts once live chat is installed (helpdesk/chat, registered in
    helpdesk/models.py); until then there is no chat filter."""
    module = sys.modules.get("helpdesk.chat.models")
    if module is None or not hasattr(module, "ChatSession"):
        return None
    chat = module.ChatSession
    owner = chat.contact_id == contact.id if contact is not None else chat.organization_id == organization.id
    return (chat, chat.created_at, [], [owner])


def available_filters(contact: Contact | None = None, organization: Organization | None = None) -> list[tuple[str, str]]:
    kinds = set(_sources(contact, organization))
    return [(name, FILTER_LABELS[name]) for name, ks in FILTERS.items() if kinds & set(ks)]


def timeline(contact: Contact | None = None, organization: Organization | None = None, *,
             show: list[str] | tuple[str, ...] = (), cursor: str | None = None,
             limit: int = TIMELINE_PAGE) -> TimelinePage:
    """Newest first, everything about the customer (or only the kinds in `show`), keyset-paged on
    (time, kind, id): each kind's query reads at most one page through its index, the pages are
    merged here, and only the events shown are loaded in full."""
    if (contact is None) == (organization is None):
        raise ValueError("give a contact or an organization")
    sources = _sources(contact, organization)
    wanted = [k for name in (show or FILTERS) if name in FILTERS for k in FILTERS[name] if k in sources]
    after = Cursor.decode(cursor)
    streams: list[list[tuple]] = []
    # Messages and case history are the bulk. Every change to a case moves its updated_at (the
    # case services' _Change), so once the other kinds have given a page's worth of events no
    # older than T, only cases updated since T can add to this page: their index narrows it.
    # Each group of kinds is one UNION ALL of per-kind, index-ordered, limited subqueries.
    for group in ([k for k in wanted if k not in BOUNDED_BY_CASE], [k for k in wanted if k in BOUNDED_BY_CASE]):
        if group:
            floor = _floor(streams, limit) if group[0] in BOUNDED_BY_CASE else None
            streams += _streams(group, sources, after, floor, limit)
    merged = list(heapq.merge(*streams, key=lambda t: (t[0], t[1], t[2]), reverse=True))
    page = merged[:limit]
    events = [Event(kind, at, id_) for at, kind, id_ in page]
    _load(events, sources)
    next_cursor = Cursor(*page[-1]).encode() if len(merged) > limit and page else None
    return TimelinePage(events, next_cursor, tuple(wanted))


BOUNDED_BY_CASE = ("message", "activity")


def _floor(streams: list[list[tuple]], limit: int) -> datetime | None:
    """The time of the (limit+1)-th newest event found so far: nothing older can reach this page."""
    found = sorted((row for stream in streams for row in stream), reverse=True)
    return found[limit][0] if len(found) > limit else None


def _streams(kinds: list[str], sources: dict, after: Cursor | None, floor: datetime | None,
             limit: int) -> list[list[tuple]]:
    """Each kind's newest limit+1 events (after the cursor, from the floor on), in one statement."""
    from helpdesk.cases.models import Case

    parts = []
    for kind in kinds:
        model, at, joins, where = sources[kind]
        stmt = select(literal(kind).label("kind"), at.label("at"), model.id.label("id")).select_from(model)
        for target, on in joins:
            stmt = stmt.join(target, on)
        stmt = stmt.where(*where)
        if floor is not None:
            stmt = stmt.where(at >= floor, Case.updated_at >= floor)
        if after is not None:
            if kind < after.kind:
                stmt = stmt.where(at <= after.at)
            elif kind == after.kind:
                stmt = stmt.where(or_(at < after.at, (at == after.at) & (model.id < after.id)))
            else:
                stmt = stmt.where(at < after.at)
        sub = stmt.order_by(at.desc(), model.id.desc()).limit(limit + 1).subquery()
        parts.append(select(sub.c.kind, sub.c.at, sub.c.id))
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    by_kind: dict[str, list[tuple]] = {kind: [] for kind in kinds}
    for kind, at, id_ in db.session.execute(statement).all():
        by_kind[kind].append((at, kind, id_))
    return [sorted(rows, reverse=True) for rows in by_kind.values()]


def _load(events: list[Event], sources: dict) -> None:
    """Fill each event's row, one IN query per kind, with what its template shows."""
    from helpdesk.cases.models import Activity, Case, Message

    options = {  # many-to-one: joined into the same query
        "message": [joinedload(Message.case), joinedload(Message.author_user), joinedload(Message.author_contact)],
        "activity": [joinedload(Activity.actor_user), joinedload(Activity.actor_contact)],
        "case": [joinedload(Case.assignee)],
        "history": [joinedload(CustomerActivity.actor_user), joinedload(CustomerActivity.contact)],
    }
    for kind, (model, *_rest) in sources.items():
        if kind in ("asset", "timelog") and kind not in options:
            options[kind] = [joinedload(getattr(model, "product" if kind == "asset" else "user"))]
    by_kind: dict[str, list[Event]] = {}
    for event in events:
        by_kind.setdefault(event.kind, []).append(event)
    for kind, group in by_kind.items():
        model = sources[kind][0]
        rows = db.session.scalars(select(model).where(model.id.in_([e.id for e in group]))
                                  .options(*options.get(kind, []))).all()
        found = {row.id: row for row in rows}
        for event in group:
            event.obj = found.get(event.id)
    case_ids = {getattr(e.obj, "case_id", None) for e in events if e.kind in ("activity", "timelog", "rating")}
    case_ids.discard(None)
    if case_ids:
        cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(case_ids)))}
        for event in events:
            if event.kind in ("activity", "timelog", "rating"):
                event.case = cases.get(event.obj.case_id)
