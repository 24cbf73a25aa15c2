"""Reads about products and assets; deleted rows (in the recycle bin) never show."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from helpdesk.assets import policies
from helpdesk.assets.models import Asset, AssetStatus, Product
from helpdesk.cases.models import Case
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization
from helpdesk.types import utcnow

PAGE = 50


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound(f"No product {product_id}.")
    return product


def get_asset(asset_id: int) -> Asset:
    asset = db.session.get(Asset, asset_id)
    if asset is None or asset.deleted_at is not None:
        raise NotFound(f"No asset {asset_id}.")
    return asset


def products(q: str = "", limit: int = 500) -> list[Product]:
    stmt = select(Product).where(Product.deleted_at.is_(None)).order_by(Product.name, Product.id).limit(limit)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Product.name.ilike(like), Product.code.ilike(like), Product.category.ilike(like)))
    return list(db.session.scalars(stmt))


@dataclass
class AssetFilter:
    """What the asset list URL can say."""

    q: str = ""  # serial number or notes
    product: str = ""  # a product id
    contact: str = ""  # a contact id
    organization: str = ""  # an organization id
    status: str = ""
    warranty: str = ""  # "active", "ending", "expired", "none"
    after: str = ""  # keyset cursor: the last id of the previous page

    @classmethod
    def from_args(cls, args) -> AssetFilter:
        f = cls(**{fl.name: (args.get(fl.name) or "").strip() for fl in fields(cls)})
        for name in ("product", "contact", "organization", "after"):
            if not getattr(f, name).isdigit():
                setattr(f, name, "")
        if f.status not in AssetStatus._value2member_map_:
            f.status = ""
        if f.warranty not in ("active", "ending", "expired", "none"):
            f.warranty = ""
        return f

    def to_args(self, **changes) -> dict:
        return {fl.name: v for fl in fields(self) if (v := changes.get(fl.name, getattr(self, fl.name)))}


def assets(f: AssetFilter, limit: int = PAGE) -> tuple[list[Asset], str | None]:
    """A page of assets, newest first, and the cursor of the next page (None on the last)."""
    stmt = (select(Asset).where(Asset.deleted_at.is_(None))
            .options(selectinload(Asset.product), selectinload(Asset.contact), selectinload(Asset.organization))
            .order_by(Asset.id.desc()).limit(limit + 1))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(Asset.serial_number.ilike(like), Asset.notes.ilike(like)))
    if f.product:
        stmt = stmt.where(Asset.product_id == int(f.product))
    if f.contact:
        stmt = stmt.where(Asset.contact_id == int(f.contact))
    if f.organization:
        stmt = stmt.where(Asset.organization_id == int(f.organization))
    if f.status:
        stmt = stmt.where(Asset.status == AssetStatus(f.status))
    if f.warranty:
        today = utcnow().date()
        soon = today + timedelta(days=policies.WARRANTY_SOON_DAYS)
        stmt = stmt.where({
            "active": Asset.warranty_end >= today,
            "ending": Asset.warranty_end.between(today, soon),
            "expired": Asset.warranty_end < today,
            "none": Asset.warranty_end.is_(None),
        }[f.warranty])
    if f.after:
        stmt = stmt.where(Asset.id < int(f.after))
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)


def customer_assets(contact_id: int | None, organization_id: int | None, limit: int = 100) -> list[Asset]:
    """A customer's assets (for the case panel's picker)."""
    who = []
    if contact_id is not None:
        who.append(Asset.contact_id == contact_id)
    if organization_id is not None:
        who.append(Asset.organization_id == organization_id)
    if not who:
        return []
    return list(db.session.scalars(
        select(Asset).where(or_(*who), Asset.deleted_at.is_(None)).options(selectinload(Asset.product))
        .order_by(Asset.serial_number).limit(limit)))


def asset_cases(asset: Asset, limit: int = 100) -> list[Case]:
    return list(db.session.scalars(
        select(Case).where(Case.asset_id == asset.id, Case.deleted_at.is_(None))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def product_cases(product: Product, limit: int = 50) -> list[Case]:
    return list(db.session.scalars(
        select(Case).where(Case.product_id == product.id, Case.deleted_at.is_(None))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)))


def product_assets(product: Product, limit: int = 100) -> list[Asset]:
    return list(db.session.scalars(
        select(Asset).where(Asset.product_id == product.id, Asset.deleted_at.is_(None))
        .options(selectinload(Asset.contact), selectinload(Asset.organization))
        .order_by(Asset.serial_number).limit(limit)))


def contact_options() -> list[Contact]:
    return list(db.session.scalars(select(Contact).order_by(Contact.name).limit(1000)))


def organization_options() -> list[Organization]:
    return list(db.session.scalars(select(Organization).order_by(Organization.name).limit(1000)))
