"""Pure rules of the recycle bin: which records it takes, what goes with each, how long it keeps them."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    plural: str
    model_path: str  # "module:Class", imported when first needed: the domains land separately
    # Records deleted together with one of this kind: (child kind, the child's column pointing here).
    children: tuple[tuple[str, str], ...] = ()
    list_endpoint: str | None = None  # where to go after deleting one
    show_endpoint: str | None = None  # (endpoint, its id argument)
    show_arg: str = "id"
    edit_permission: str = "case.update"  # needed to delete or restore one

    @property
    def model(self):
        module, _, name = self.model_path.partition(":")
        try:
            model = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            return None
        return model if hasattr(model, "deleted_at") else None


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("organization", "Organization", "organizations", "helpdesk.people.models:Organization",
         children=(("contact", "organization_id"), ("case", "organization_id"), ("asset", "organization_id"),
                   ("contract", "organization_id")),
         list_endpoint="people.organizations", show_endpoint="people.organization", show_arg="organization_id",
         edit_permission="contact.edit"),
    Kind("contact", "Contact", "contacts", "helpdesk.people.models:Contact",
         children=(("case", "contact_id"), ("asset", "contact_id"), ("contract", "contact_id")),
         list_endpoint="people.contacts", show_endpoint="people.contact", show_arg="contact_id",
         edit_permission="contact.edit"),
    Kind("product", "Product", "products", "helpdesk.assets.models:Product",
         children=(("asset", "product_id"),),
         list_endpoint="assets.products", show_endpoint="assets.product", show_arg="product_id",
         edit_permission="product.edit"),
    Kind("asset", "Asset", "assets", "helpdesk.assets.models:Asset",
         list_endpoint="assets.assets", show_endpoint="assets.asset", show_arg="asset_id",
         edit_permission="asset.edit"),
    Kind("contract", "Service contract", "service contracts", "helpdesk.contracts.models:ServiceContract",
         list_endpoint="contracts.contracts", show_endpoint="contracts.contract", show_arg="contract_id",
         edit_permission="contract.edit"),
    Kind("case", "Case", "cases", "helpdesk.cases.models:Case",
         list_endpoint="cases.index", show_endpoint="cases.show", show_arg="case_id"),
)}


def available_kinds() -> list[Kind]:
    """The kinds whose model exists and carries deleted_at."""
    return [k for k in KINDS.values() if k.model is not None]


def kind_of_table(table_name: str) -> Kind | None:
    for kind in available_kinds():
        if kind.model.__tablename__ == table_name:
            return kind
    return None


def expires_at(deleted_at: datetime, retention_days: int) -> datetime:
    return deleted_at + timedelta(days=retention_days)


def is_expired(deleted_at: datetime, retention_days: int, now: datetime) -> bool:
    return now >= expires_at(deleted_at, retention_days)


def describe_counts(counts: dict[str, int]) -> str:
    """{"contact": 3, "case": 1} -> "3 contacts, 1 case" (in the order of KINDS)."""
    parts = []
    for key, kind in KINDS.items():
        n = counts.get(key, 0)
        if n:
            parts.append(f"{n} {kind.label.lower() if n == 1 else kind.plural}")
    return ", ".join(parts)


def label_of(obj) -> str:
    """How a deleted record is named in the bin."""
    for attr in ("number", "serial_number"):
        value = getattr(obj, attr, None)
        if value:
            extra = getattr(obj, "subject", None) or ""
            return f"{value} {extra}".strip()[:300]
    return (str(getattr(obj, "name", None) or obj))[:300]
