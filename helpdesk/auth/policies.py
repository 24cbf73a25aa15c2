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
    # Live chat: agents answer their groups' chats, managers watch any chat and keep the
    # topics and canned replies.
    "chat.answer": Role.AGENT,
    "chat.watch": Role.MANAGER,
    "chat.admin": Role.MANAGER,
    "contact.view": Role.AGENT,
    "contact.edit": Role.AGENT,
    # Merging moves another customer's cases, assets, contracts and portal access: a manager's call.
    "contact.merge": Role.MANAGER,
    "insights.view": Role.MANAGER,
    # Products and contracts are commercial terms (managers); assets are customer facts any
    # agent records on a call; every agent logs time, a manager corrects anyone's.
    "product.view": Role.AGENT,
    "product.edit": Role.MANAGER,
    "asset.view": Role.AGENT,
    "asset.edit": Role.AGENT,
    "contract.view": Role.AGENT,
    "contract.edit": Role.MANAGER,
    "time.log": Role.AGENT,
    "time.edit_any": Role.MANAGER,
    "time.report": Role.MANAGER,
    # Deleting or restoring a record also needs the right to edit its kind (helpdesk/recycle);
    # deleting for good is for admins. Imports write many records at once: managers.
    "recycle.view": Role.AGENT,
    "recycle.purge": Role.ADMIN,
    "data.import": Role.MANAGER,
    "data.export": Role.AGENT,
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
