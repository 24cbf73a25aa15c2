"""Customer-scoped reads: everything the portal shows comes through here.

Each function takes the signed-in contact and returns only what they may see; anything
else is NotFound, so a stranger's id looks exactly like an id that does not exist.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, false, or_, select, tuple_
from sqlalchemy.orm import selectinload

from helpdesk.cases.models import Attachment, Case, Message, MessageKind, Status
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.people.models import Contact
from helpdesk.portal_access.policies import is_org_manager, may_see_case, sees_organization

PAGE_SIZE = 20
STATES = ("open", "closed", "all")


def _case_scope(contact: Contact, scope: str):
    if scope == "all" and is_org_manager(contact):
        return Case.organization_id == contact.organization_id
    return Case.contact_id == contact.id


@dataclass
class CasePage:
    cases: list[Case]
    next_cursor: str | None


def _encode(case: Case) -> str:
    raw = json.dumps([case.updated_at.isoformat(), case.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None):
    if not cursor:
        return None
    try:
        stamp, case_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(stamp), int(case_id)
    except (ValueError, TypeError):
        return None


def cases_for_contact(contact: Contact, *, scope: str = "mine", state: str = "open", q: str = "",
                      after: str | None = None, limit: int = PAGE_SIZE) -> CasePage:
    """The contact's cases (or, for an organization manager with scope "all", the organization's),
    newest activity first, in keyset pages."""
    stmt: Select = select(Case).where(_case_scope(contact, scope), Case.deleted_at.is_(None))
    if state == "open":
        stmt = stmt.where(Case.is_open.is_(True))
    elif state == "closed":
        stmt = stmt.where(Case.is_open.is_(False))
    q = (q or "").strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')[:100]}%"
        stmt = stmt.where(or_(Case.subject.ilike(like), Case.number == q.upper()))
    position = _decode(after)
    if position is not None:
        stmt = stmt.where(tuple_(Case.updated_at, Case.id) < tuple_(*position))
    if scope == "all":  # the list names each case's contact
        stmt = stmt.options(selectinload(Case.contact))
    rows = db.session.scalars(stmt.order_by(Case.updated_at.desc(), Case.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return CasePage(rows, _encode(rows[-1]) if more and rows else None)


def case_for_contact(contact: Contact, case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not may_see_case(contact, case):
        raise NotFound("No such case.")
    return case


def public_messages(case: Case) -> list[Message]:
    """The conversation the customer may read: replies and their own messages, never notes."""
    return db.session.scalars(
        select(Message)
        .where(Message.case_id == case.id, Message.kind != MessageKind.NOTE)
        .options(selectinload(Message.attachments).selectinload(Attachment.blob),
                 selectinload(Message.author_user), selectinload(Message.author_contact))
        .order_by(Message.created_at, Message.id)
    ).all()


def attachment_for_contact(contact: Contact, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such file.")
    message = attachment.message
    if message.kind == MessageKind.NOTE or not may_see_case(contact, message.case):
        raise NotFound("No such file.")
    return attachment


def rateable(case: Case) -> bool:
    return case.status in (Status.RESOLVED, Status.CLOSED) and case.merged_into_id is None


# --- assets and contracts (helpdesk/assets, helpdesk/contracts) ----------------------------


def _owned_by(model, contact: Contact):
    mine = model.contact_id == contact.id
    if is_org_manager(contact):
        return or_(mine, model.organization_id == contact.organization_id)
    # A member also sees what belongs to their organization as a whole (no contact named).
    if contact.organization_id is not None:
        return or_(mine, and_(model.contact_id.is_(None), model.organization_id == contact.organization_id))
    return mine if contact.id else false()


def assets_for_contact(contact: Contact) -> list:
    from helpdesk.assets.models import Asset

    return db.session.scalars(
        select(Asset).where(_owned_by(Asset, contact), Asset.deleted_at.is_(None))
        .options(selectinload(Asset.product)).order_by(Asset.serial_number).limit(500)
    ).all()


def asset_for_contact(contact: Contact, asset_id: int):
    from helpdesk.assets.models import Asset

    asset = db.session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None or not _may_see_owned(contact, asset):
        raise NotFound("No such asset.")
    return asset


def contracts_for_contact(contact: Contact) -> list:
    from helpdesk.contracts.models import ServiceContract

    return db.session.scalars(
        select(ServiceContract).where(_owned_by(ServiceContract, contact), ServiceContract.deleted_at.is_(None))
        .order_by(ServiceContract.end_date.desc()).limit(500)
    ).all()


def contract_for_contact(contact: Contact, contract_id: int):
    from helpdesk.contracts.models import ServiceContract

    contract = db.session.get(ServiceContract, contract_id)
    if contract is None or contract.deleted_at is not None or not _may_see_owned(contact, contract):
        raise NotFound("No such contract.")
    return contract


def _may_see_owned(contact: Contact, thing) -> bool:
    if thing.contact_id == contact.id or sees_organization(contact, thing.organization_id):
        return True
    return (thing.contact_id is None and thing.organization_id is not None
            and thing.organization_id == contact.organization_id)


def products_for_contact(contact: Contact) -> list:
    """Products to pick on the new-case form: those of the customer's assets, else every product."""
    from helpdesk.assets.models import Product

    return db.session.scalars(
        select(Product).where(Product.deleted_at.is_(None)).order_by(Product.name).limit(200)
    ).all()
