"""State changes to products and assets. Each function flushes; the caller commits."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.assets import policies
from helpdesk.assets.models import Asset, AssetStatus, Product
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization, User
from helpdesk.types import utcnow

NOTES_MAX = 5000


def save_product(actor: User | None, product: Product | None, *, name: str, code: str, category: str = "") -> Product:
    errors: dict[str, str] = {}
    name = " ".join(str(name or "").split())
    code = " ".join(str(code or "").split())
    category = " ".join(str(category or "").split())
    if not name:
        errors["name"] = "Give the product a name."
    elif len(name) > 200:
        errors["name"] = "At most 200 characters."
    if not code:
        errors["code"] = "Give the product a code (e.g. PRN-200)."
    elif len(code) > 60:
        errors["code"] = "At most 60 characters."
    elif _taken(Product, func.lower(Product.code) == code.lower(), product):
        errors["code"] = f"Another product already has the code {code}."
    if len(category) > 100:
        errors["category"] = "At most 100 characters."
    if errors:
        raise ValidationFailed(errors)
    if product is None:
        product = Product()
        db.session.add(product)
    product.name, product.code, product.category, product.updated_at = name, code, category, utcnow()
    _flush_unique("code", f"Another product already has the code {code}.")
    return product


def save_asset(actor: User | None, asset: Asset | None, data: dict) -> Asset:
    """Create or update an asset; a serial number already used (even by a deleted asset) is refused."""
    errors: dict[str, str] = {}
    serial = policies.clean_serial(data.get("serial_number"))
    if not serial:
        errors["serial_number"] = "Give the serial number."
    elif len(serial) > policies.SERIAL_MAX:
        errors["serial_number"] = f"At most {policies.SERIAL_MAX} characters."
    else:
        other = db.session.scalar(select(Asset).where(Asset.serial_number == serial,
                                                      Asset.id != (asset.id if asset and asset.id else None)))
        if other is not None:
            where = " (in the recycle bin)" if other.deleted_at is not None else ""
            errors["serial_number"] = f"Serial number {serial} is already registered{where}."
    product = _load(Product, data.get("product_id"), "product_id", errors)
    if product is None and "product_id" not in errors:
        errors["product_id"] = "Choose the product."
    contact = _load(Contact, data.get("contact_id"), "contact_id", errors)
    organization = _load(Organization, data.get("organization_id"), "organization_id", errors)
    if contact is not None and organization is None:
        organization = contact.organization
    try:
        status = AssetStatus(data.get("status") or AssetStatus.IN_SERVICE.value)
    except ValueError:
        errors["status"] = "Choose a status."
        status = AssetStatus.IN_SERVICE
    sold = _parse_date(data.get("date_sold"), "date_sold", errors)
    warranty = _parse_date(data.get("warranty_end"), "warranty_end", errors)
    if sold and warranty and warranty < sold:
        errors["warranty_end"] = "The warranty cannot end before the asset was sold."
    notes = str(data.get("notes") or "").strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"At most {NOTES_MAX} characters."
    if errors:
        raise ValidationFailed(errors)
    if asset is None:
        asset = Asset()
        db.session.add(asset)
    asset.serial_number, asset.product, asset.contact, asset.organization = serial, product, contact, organization
    asset.status, asset.date_sold, asset.warranty_end, asset.notes = status, sold, warranty, notes
    asset.updated_at = utcnow()
    _flush_unique("serial_number", f"Serial number {serial} is already registered.")
    return asset


def _taken(model, condition, current) -> bool:
    stmt = select(model.id).where(condition)
    if current is not None and current.id is not None:
        stmt = stmt.where(model.id != current.id)
    return db.session.scalar(stmt.limit(1)) is not None


def _flush_unique(field: str, message: str) -> None:
    # The check above answers the usual case; the unique index answers two saves at once.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed({field: message}) from None


def _load(model, raw, name: str, errors: dict):
    if raw in (None, "", "none"):
        return None
    obj = db.session.get(model, int(raw)) if str(raw).isdigit() else None
    if obj is None or getattr(obj, "deleted_at", None) is not None:
        errors[name] = f"No such {model.__name__.lower()}: {raw}."
        return None
    return obj


def _parse_date(raw, name: str, errors: dict) -> date | None:
    if isinstance(raw, date):
        return raw
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{text!r} is not a date (YYYY-MM-DD)."
        return None
