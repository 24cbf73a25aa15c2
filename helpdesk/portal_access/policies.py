"""Pure rules of portal access: roles, passwords, who may sign up."""
from __future__ import annotations

MEMBER = "member"
ORG_MANAGER = "org_manager"
ROLES = (MEMBER, ORG_MANAGER)
PASSWORD_MIN = 10
PASSWORD_MAX = 200
SIGNUP_MODES = ("off", "domains", "open")


def may_sign_up(mode: str, email_domain: str, organization_domains: set[str]) -> bool:
    """Self sign-up: never when off; for "domains" only addresses of a known organization's domain."""
    if mode == "open":
        return True
    if mode == "domains":
        return email_domain.lower() in {d.lower() for d in organization_domains if d}
    return False


def is_org_manager(contact) -> bool:
    return contact.portal_role == ORG_MANAGER and contact.organization_id is not None


def sees_organization(contact, organization_id: int | None) -> bool:
    """An organization manager sees the organization's cases, assets and contracts."""
    return organization_id is not None and is_org_manager(contact) and organization_id == contact.organization_id


def may_see_case(contact, case) -> bool:
    if case.deleted_at is not None:
        return False
    return case.contact_id == contact.id or sees_organization(contact, case.organization_id)
