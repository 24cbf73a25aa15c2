"""Product and Asset."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Product(db.Model):
    """Something the company sells or supports; cases and assets point to it."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    category: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the recycle bin; every query here leaves such rows out.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AssetStatus(str, enum.Enum):
    IN_SERVICE = "in_service"
    IN_REPAIR = "in_repair"
    OUT_OF_SERVICE = "out_of_service"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Asset(db.Model):
    """One unit of a product, known by its serial number, owned by a contact and/or an organization."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_warranty_end", "warranty_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(120), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[AssetStatus] = mapped_column(string_enum(AssetStatus), default=AssetStatus.IN_SERVICE)
    date_sold: Mapped[date | None] = mapped_column(Date)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship()
    contact: Mapped[Contact | None] = relationship()
    organization: Mapped[Organization | None] = relationship()

    def under_warranty(self, today: date) -> bool:
        return self.warranty_end is not None and self.warranty_end >= today

    @property
    def customer_name(self) -> str:
        names = [x.name for x in (self.contact, self.organization) if x is not None]
        return " · ".join(names) or "—"

    @property
    def label(self) -> str:
        return f"{self.serial_number} ({self.product.name})" if self.product else self.serial_number

    def __str__(self) -> str:
        return self.label
