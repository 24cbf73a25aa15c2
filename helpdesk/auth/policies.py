"""Who may do what: every staff permission is decided here."""
from __future__ import annotations

from helpdesk.people.models import Role, User

# Each action names the least role that may take it.
_MIN_ROLE = {
    "case.view": Role.AGENT,
    "case.create": Role.AGENT,
    "case.reply": Role.AGENT,
    "case.note": Role.AGENT,
    "case.update": Role.AGENT,
    "case.assign": Role.AGENT,
    "case.merge": Role.AGENT,
    "case.split": Role.AGENT,
    "case.bulk": Role.AGENT,
    "case.reopen_closed": Role.MANAGER,
    "contact.view": Role.AGENT,
    "contact.edit": Role.AGENT,
    "insights.view": Role.MANAGER,
    "admin.users": Role.ADMIN,
    "admin.groups": Role.ADMIN,
    "admin.custom_fields": Role.ADMIN,
    "admin.sla": Role.ADMIN,
}
_RANK = {Role.AGENT: 1, Role.MANAGER: 2, Role.ADMIN: 3}


def can(user: User | None, action: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if action not in _MIN_ROLE:
        raise KeyError(f"unknown permission {action!r}")
    return _RANK[user.role] >= _RANK[_MIN_ROLE[action]]


def require(user: User | None, action: str) -> None:
    from helpdesk.errors import PermissionDenied

    if not can(user, action):
        raise PermissionDenied(f"You may not do this ({action}).")
