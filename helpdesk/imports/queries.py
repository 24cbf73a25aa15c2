"""Reads for import and export: past runs, and every exported list as rows of cells, streamed."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from helpdesk.cases import queries as case_queries
from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.imports.models import ImportRun
from helpdesk.people.models import Contact, ContactRole, Organization, User

YIELD = 1000


def recent_runs(limit: int = 20) -> list[ImportRun]:
    return list(db.session.scalars(select(ImportRun).options(selectinload(ImportRun.user))
                                   .order_by(ImportRun.id.desc()).limit(limit)))


def _stream(stmt) -> Iterator:
    # yield_per keeps memory flat on big lists; the relationships load per batch.
    yield from db.session.scalars(stmt.execution_options(yield_per=YIELD))


CASE_COLUMNS = ["Number", "Subject", "Status", "Priority", "Channel", "Contact name", "Contact email", "Organization",
                "Group", "Assignee", "Tags", "Created", "Updated", "SLA due"]


def case_rows(user: User, f: case_queries.CaseFilter) -> Iterator[list]:
    """The workspace list with its filters and sort, every page of it."""
    columns = case_queries._sort_columns(f.sort)
    stmt = case_queries.filtered_cases(user, f).order_by(*case_queries._order(f.sort, columns)).options(
        selectinload(Case.contact), selectinload(Case.organization), selectinload(Case.group),
        selectinload(Case.assignee), selectinload(Case.tags))
    for c in _stream(stmt):
        yield [c.number, c.subject, c.status.label, c.priority.label, c.channel.label,
               c.contact.name if c.contact else "", c.contact.email if c.contact else "",
               c.organization.name if c.organization else "", c.group.name if c.group else "",
               c.assignee.name if c.assignee else "", ", ".join(t.name for t in c.tags),
               c.created_at, c.updated_at, c.sla_due_at]


CONTACT_COLUMNS = ["Name", "Email", "Phone", "Organization", "Role", "Job title", "Created"]


def contacts_stmt(q: str = "", role: str = "", organization_id: int | None = None):
    """The contact list's filters (q on name, email and phone; role; organization), live contacts only."""
    stmt = (select(Contact).where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
            .options(selectinload(Contact.organization)).order_by(Contact.name, Contact.id))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Contact.name.ilike(like), Contact.email.ilike(like), Contact.phone.ilike(like)))
    if role in ContactRole._value2member_map_:
        stmt = stmt.where(Contact.role == ContactRole(role))
    if organization_id:
        stmt = stmt.where(Contact.organization_id == organization_id)
    return stmt


def contact_rows(q: str = "", role: str = "", organization_id: int | None = None) -> Iterator[list]:
    for c in _stream(contacts_stmt(q, role, organization_id)):
        yield [c.name, c.email, c.phone, c.organization.name if c.organization else "",
               c.role.label if c.role else "", c.job_title or "", c.created_at]


def contacts(q: str = "", role: str = "", organization_id: int | None = None) -> Iterator[Contact]:
    return _stream(contacts_stmt(q, role, organization_id))


ORGANIZATION_COLUMNS = ["Name", "Email domain", "Phone", "Website", "Created"]


def organization_rows(q: str = "") -> Iterator[list]:
    stmt = select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.name, Organization.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Organization.name.ilike(like), Organization.domain.ilike(like)))
    for o in _stream(stmt):
        yield [o.name, o.domain, o.phone, o.website, o.created_at]


PRODUCT_COLUMNS = ["Name", "Code", "Category", "Created"]


def product_rows(q: str = "") -> Iterator[list]:
    from helpdesk.assets.models import Product

    stmt = select(Product).where(Product.deleted_at.is_(None)).order_by(Product.name, Product.id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Product.name.ilike(like), Product.code.ilike(like), Product.category.ilike(like)))
    for p in _stream(stmt):
        yield [p.name, p.code, p.category, p.created_at]


ASSET_COLUMNS = ["Serial number", "Product", "Product name", "Contact email", "Organization", "Status", "Date sold",
                 "Warranty end", "Notes"]


def asset_rows(args) -> Iterator[list]:
    """The asset list with its filters (helpdesk.assets' own), walked page by page."""
    from helpdesk.assets import queries as asset_queries

    f = asset_queries.AssetFilter.from_args(args)
    while True:
        page, after = asset_queries.assets(f, limit=YIELD)
        for a in page:
            yield [a.serial_number, a.product.code if a.product else "", a.product.name if a.product else "",
                   a.contact.email if a.contact else "", a.organization.name if a.organization else "",
                   a.status.label, a.date_sold, a.warranty_end, a.notes]
        if not after:
            return
        f.after = after


CONTRACT_COLUMNS = ["Name", "Contact", "Organization", "Start", "End", "Unit", "Total units", "Used units",
                    "Remaining units", "Status"]


def contract_rows(args) -> Iterator[list]:
    """The contract list with its filters (helpdesk.contracts' own), every row of it."""
    from helpdesk.contracts import queries as contract_queries

    f = contract_queries.ContractFilter.from_args(args)
    for c in contract_queries.contracts(f, limit=None):
        yield [c.name, c.contact.name if c.contact else "", c.organization.name if c.organization else "",
               c.start_date, c.end_date, c.tracking_unit.label, c.total_units, c.used_units, c.remaining_units,
               c.status.label]
